// Acceptance 2 of the guard: with the kill switch up in the lab's client, traffic of every kind
// generated continuously while the tunnel is killed and restored 20 times; a capture on the
// router's LAN side must show nothing but the tunnel's own packets, DHCP and NDP, and the tunnel
// must carry traffic again after every restore.
#include <gtest/gtest.h>

#include "guard_test_support.hpp"
#include "lab/fault.hpp"
#include "lab/observe.hpp"

namespace vpnleak::testing {
namespace {

constexpr int kCycles = 20;

TEST(LabGuardReconnect, TwentyTunnelRestartsLeakNothing) {
  VL_REQUIRE_ROOT();
  ScopedLab lab;
  ASSERT_TRUE(lab.up().ok());
  auto plan = lab::load(lab.prefix());
  ASSERT_TRUE(plan.ok()) << plan.error().message();
  const std::string client = plan->netns("client");
  const std::string router = plan->netns("router");
  const auto& t = plan->tunnel;
  const TrafficGenerator::Targets targets{plan->server_v4, plan->server_v6, plan->isp_resolver_v4,
                                          plan->vpn_resolver_v4};
  const std::string filter = leakFilter(t.endpoint);

  // Control: without the guard, the same traffic leaks (so the capture can see leaks at all).
  {
    Capture cap(router, "lan0");
    ASSERT_TRUE(cap.start());
    TrafficGenerator gen(client, targets);
    gen.start();
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    gen.stop();
    cap.stop();
    const auto control = cap.packets(filter);
    std::cout << "[ guard ] unguarded control: leaked=" << control.size() << " in 500 ms\n";
    EXPECT_GT(control.size(), 0U) << "the unguarded control leaked nothing: the capture or the "
                                     "generator is broken; all captured:\n"
                                  << summarize(cap.packets("")) << gen.sent() << cap.log();
  }

  ASSERT_TRUE(t.fwmark.has_value()) << "a WireGuard lab has a fwmark";
  auto up = guardCli(
      client, {"up", "--tunnel", t.client_iface, "--endpoint", t.endpoint.toString() + "/udp",
               "--dns", plan->vpn_resolver_v4.toString(), "--fwmark", std::to_string(*t.fwmark)});
  ASSERT_EQ(up.exit_code, 0) << up.err;

  Capture cap(router, "lan0");
  ASSERT_TRUE(cap.start());
  TrafficGenerator gen(client, targets);
  gen.start();
  std::vector<double> restore_ms;
  for (int i = 0; i < kCycles; ++i) {
    SCOPED_TRACE("cycle " + std::to_string(i));
    ASSERT_TRUE(lab::dropTunnel(lab.prefix()).ok());
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // the reconnect window
    const auto t0 = std::chrono::steady_clock::now();
    auto st = lab::restoreTunnel(lab.prefix());
    ASSERT_TRUE(st.ok()) << st.error().message();
    restore_ms.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    // Through the tunnel end to end: the server sees the VPN's exit address.
    auto seen = lab::observeUdpSource(client, plan->netns("server"), plan->server_v4, 40000);
    ASSERT_TRUE(seen.ok()) << seen.error().message();
    ASSERT_TRUE(seen->has_value()) << "no traffic through the tunnel after restore";
    EXPECT_EQ(**seen, plan->vpn_public_v4);
  }
  gen.stop();
  cap.stop();

  const auto leaks = cap.packets(filter);
  const auto tunnel = cap.packets("udp and host " + t.endpoint.address.toString() + " and port " +
                                  std::to_string(t.endpoint.port));
  std::sort(restore_ms.begin(), restore_ms.end());
  std::cout << "[ guard ] cycles=" << kCycles << " sends_accepted=" << gen.sent()
            << " leaked=" << leaks.size() << " tunnel_packets=" << tunnel.size()
            << " tunnel_restore_ms_p50=" << restore_ms[restore_ms.size() / 2]
            << " tunnel_restore_ms_max=" << restore_ms.back() << "\n";
  EXPECT_EQ(leaks.size(), 0U) << "packets left the client outside the tunnel:\n"
                              << summarize(leaks);
  EXPECT_GT(tunnel.size(), 0U);

  // The guard did the blocking, by reason.
  auto status = guardCli(client, {"status", "--json"});
  ASSERT_EQ(status.exit_code, 0) << status.err;
  auto doc = core::parseJson(status.out, "guard status");
  ASSERT_TRUE(doc.ok());
  EXPECT_EQ((*doc)["schema"], "vpnleak.guard/1");
  EXPECT_TRUE((*doc)["matches"].get<bool>());
  EXPECT_GT((*doc)["counters"]["out"]["packets"].get<std::uint64_t>(), 0U);
  EXPECT_GT((*doc)["counters"]["dns"]["packets"].get<std::uint64_t>(), 0U);
  EXPECT_GT((*doc)["counters"]["ipv6"]["packets"].get<std::uint64_t>(), 0U);
  EXPECT_EQ(guardCli(client, {"down"}).exit_code, 0);
}

}  // namespace
}  // namespace vpnleak::testing
