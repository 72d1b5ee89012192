// Acceptance 3 of the guard, in the lab: `nft flush ruleset` under `guard watch` is undone within
// 100 ms with nothing escaping meanwhile; `kill -9` of the watcher leaves the rules in force; a
// more specific route pushed like DHCP option 121 (TunnelVision) carries nothing out; packets for
// the tunnel's address arriving from the LAN are dropped.
#include <gtest/gtest.h>

#include "guard/nft.hpp"
#include "guard/ruleset.hpp"
#include "guard_test_support.hpp"
#include "lab/fault.hpp"
#include "lab/observe.hpp"

namespace vpnleak::testing {
namespace {

using Clock = std::chrono::steady_clock;

struct LabGuardFault : ::testing::Test {
  void SetUp() override {
    VL_REQUIRE_ROOT();
    auto st = lab.up();
    ASSERT_TRUE(st.ok()) << st.error().message();
    auto p = lab::load(lab.prefix());
    ASSERT_TRUE(p.ok()) << p.error().message();
    plan = *p;
    client = plan.netns("client");
    router = plan.netns("router");
    filter = leakFilter(plan.tunnel.endpoint);
  }

  [[nodiscard]] std::vector<std::string> guardArgs() const {
    const auto& t = plan.tunnel;
    return {"--tunnel",   t.client_iface,
            "--endpoint", t.endpoint.toString() + "/udp",
            "--dns",      plan.vpn_resolver_v4.toString(),
            "--fwmark",   std::to_string(*t.fwmark)};
  }

  [[nodiscard]] TrafficGenerator::Targets targets() const {
    return {plan.server_v4, plan.server_v6, plan.isp_resolver_v4, plan.vpn_resolver_v4};
  }

  [[nodiscard]] core::Json status() const {
    auto r = guardCli(client, {"status", "--json"});
    auto j = core::parseJson(r.out, "guard status");
    return j ? *j : core::Json::object();
  }

  ScopedLab lab;
  lab::LabPlan plan;
  std::string client, router, filter;
};

// How long until table inet vpnleak exists again, polled every millisecond for up to 1 s.
double msUntilTablePresent(guard::NftCtx& nft, Clock::time_point since) {
  for (int i = 0; i < 1000; ++i) {
    auto has = nft.hasTable(guard::kTable);
    if (has.ok() && *has) {
      return std::chrono::duration<double, std::milli>(Clock::now() - since).count();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return 1e9;
}

TEST_F(LabGuardFault, FlushUnderWatchIsRestoredWithoutLeakAndKillNineKeepsRules) {
  const TempFile log_file("vlg-watch.log");
  const std::string& log = log_file.path;
  const std::uint16_t port =
      static_cast<std::uint16_t>(19000 + std::stoi(randomHex(3), nullptr, 16));
  std::vector<std::string> argv{vpnleakBinary(),
                                "guard",
                                "--netns",
                                client,
                                "watch",
                                "--metrics",
                                "127.0.0.1:" + std::to_string(port)};
  for (const auto& a : guardArgs()) argv.push_back(a);
  auto pid = core::spawnDaemon(argv, log);
  ASSERT_TRUE(pid.ok());
  bool ready = false;
  for (int i = 0; i < 200 && !ready; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
    const auto s = status();
    ready = s.value("present", false) && s["watch"].value("shadow_table", false);
  }
  ASSERT_TRUE(ready) << "guard watch did not come up";

  // Created inside the client's namespace: its socket stays there after the thread returns.
  auto nft = [&]() -> core::Result<guard::NftCtx> {
    auto in = netlink::NetnsGuard::enter(client);
    if (!in) return in.error();
    return guard::NftCtx::create();
  }();
  ASSERT_TRUE(nft.ok());

  Capture cap(router, "lan0");
  ASSERT_TRUE(cap.start());
  TrafficGenerator gen(client, targets());
  gen.start();
  std::vector<double> restore_ms;
  for (int i = 0; i < 10; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
    const auto t0 = Clock::now();
    ASSERT_EQ(sh(lab::inNetns(client, {"nft", "flush", "ruleset"})).exit_code, 0);
    restore_ms.push_back(msUntilTablePresent(*nft, t0));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  gen.stop();
  cap.stop();
  const auto leaks = cap.packets(filter);
  std::sort(restore_ms.begin(), restore_ms.end());
  std::cout << "[ guard ] flushes=10 restore_ms_p50=" << restore_ms[5]
            << " restore_ms_max=" << restore_ms.back() << " leaked=" << leaks.size() << "\n";
  EXPECT_LT(restore_ms.back(), 100.0);
  EXPECT_EQ(leaks.size(), 0U) << summarize(leaks);

  auto metrics =
      sh(lab::inNetns(client, {"curl", "-s", "--max-time", "5",
                               "http://127.0.0.1:" + std::to_string(port) + "/metrics"}));
  EXPECT_NE(metrics.out.find("vpnleak_guard_restores_total 1"), std::string::npos) << metrics.out;
  EXPECT_NE(metrics.out.find("vpnleak_guard_table_present 1"), std::string::npos);
  EXPECT_NE(metrics.out.find("vpnleak_guard_dropped_packets_total{reason=\"dns\"}"),
            std::string::npos);

  // The watcher follows the WireGuard peer's endpoint: moved, then moved back.
  const auto& wgc = plan.tunnel.client_iface;
  const auto peer = sh(lab::inNetns(client, {"wg", "show", wgc, "peers"}));
  const std::string key = peer.out.substr(0, peer.out.find('\n'));
  const auto endpointsSet = [&] {
    return sh(lab::inNetns(client, {"nft", "list", "set", "inet", "vpnleak", "endpoints_v4"})).out;
  };
  const auto waitForSet = [&](const std::string& needle, bool present) {
    for (int i = 0; i < 100; ++i) {
      if ((endpointsSet().find(needle) != std::string::npos) == present) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  };
  const std::string ep = plan.tunnel.endpoint.address.toString();
  ASSERT_EQ(sh(lab::inNetns(client, {"wg", "set", wgc, "peer", key, "endpoint", ep + ":51821"}))
                .exit_code,
            0);
  EXPECT_TRUE(waitForSet("udp . 51821", true)) << endpointsSet();
  ASSERT_EQ(sh(lab::inNetns(client, {"wg", "set", wgc, "peer", key, "endpoint",
                                     plan.tunnel.endpoint.toString()}))
                .exit_code,
            0);
  EXPECT_TRUE(waitForSet("udp . 51821", false)) << endpointsSet();

  // kill -9: the shadow table goes with the process, the main table stays in force.
  ::kill(*pid, SIGKILL);
  core::terminate(*pid, std::chrono::milliseconds(500));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const auto s = status();
  EXPECT_TRUE(s.value("present", false));
  EXPECT_TRUE(s.value("matches", false));
  EXPECT_FALSE(s["watch"].value("running", true));
  EXPECT_FALSE(s["watch"].value("shadow_table", true));
  Capture cap2(router, "lan0");
  ASSERT_TRUE(cap2.start());
  TrafficGenerator gen2(client, targets());
  gen2.start();
  ASSERT_TRUE(lab::dropTunnel(lab.prefix()).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  gen2.stop();
  cap2.stop();
  EXPECT_EQ(cap2.packets(filter).size(), 0U) << summarize(cap2.packets(filter));
}

TEST_F(LabGuardFault, RoutePushedLikeDhcpOption121CarriesNothingOut) {
  // TunnelVision: a /24 beats the tunnel's default, and the main table is consulted first.
  ASSERT_EQ(sh({"ip", "-n", client, "route", "add", plan.server_v4.masked(24).toString() + "/24",
                "via", plan.isp_resolver_v4.toString(), "dev", "lan0"})
                .exit_code,
            0);
  auto before = lab::observeUdpSource(client, plan.netns("server"), plan.server_v4, 40001);
  ASSERT_TRUE(before.ok() && before->has_value());
  EXPECT_EQ(**before, plan.router_public_v4) << "control: the pushed route should leak unguarded";

  ASSERT_EQ(guardCli(client,
                     [&] {
                       auto a = guardArgs();
                       a.insert(a.begin(), "up");
                       return a;
                     }())
                .exit_code,
            0);
  Capture cap(router, "lan0");
  ASSERT_TRUE(cap.start());
  TrafficGenerator gen(client, targets());
  gen.start();
  auto after = lab::observeUdpSource(client, plan.netns("server"), plan.server_v4, 40002,
                                     std::chrono::milliseconds(1000));
  gen.stop();
  cap.stop();
  ASSERT_TRUE(after.ok());
  EXPECT_FALSE(after->has_value()) << "reached the server via " << (*after)->toString();
  const auto leaks = cap.packets(filter);
  EXPECT_EQ(leaks.size(), 0U) << summarize(leaks);
  std::cout << "[ guard ] option-121 route: leaked=" << leaks.size() << "\n";
  // The tunnel itself still works for everything the pushed route does not cover.
  EXPECT_EQ(sh(lab::inNetns(client, {"ping", "-c", "1", "-W", "2", "-n", "-q",
                                     plan.tunnel.server_v4.address.toString()}))
                .exit_code,
            0);
}

TEST_F(LabGuardFault, TunnelAddressReachedFromTheLanIsDropped) {
  const auto tunnel_ip = plan.tunnel.client_v4.address;
  ASSERT_EQ(
      sh({"ip", "-n", router, "route", "add", tunnel_ip.toString() + "/32", "via", "192.168.77.2"})
          .exit_code,
      0);
  auto before = lab::observeUdpSource(router, client, tunnel_ip, 40003);
  ASSERT_TRUE(before.ok());
  EXPECT_TRUE(before->has_value()) << "control: unguarded, the tunnel address answers on lan0";

  auto args = guardArgs();
  args.insert(args.begin(), "up");
  ASSERT_EQ(guardCli(client, args).exit_code, 0);
  auto after =
      lab::observeUdpSource(router, client, tunnel_ip, 40004, std::chrono::milliseconds(1000));
  ASSERT_TRUE(after.ok());
  EXPECT_FALSE(after->has_value());
  EXPECT_GT(status()["counters"]["spoofed"]["packets"].get<std::uint64_t>(), 0U);
}

}  // namespace
}  // namespace vpnleak::testing
