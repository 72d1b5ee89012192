// The monitor live in the lab, on the client's LAN interface. With the tunnel dropped and
// restored, the leaked packets it reports are exactly those a reference tcpdump capture on the
// same interface shows under the same definitions; with the tunnel healthy and traffic flowing
// through it, it reports none; and lab run's monitor that cannot write its --write file is an
// error, not a clean result.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <sstream>
#include <thread>

#include "lab/context.hpp"
#include "lab/fault.hpp"
#include "lab/lab.hpp"
#include "lab/lan_monitor.hpp"
#include "monitor_test_process.hpp"
#include "test_support.hpp"

namespace vpnleak::testing {
namespace {

using std::chrono::milliseconds;

// What the monitor is told: the WireGuard endpoint, plus ARP, NDP, DHCP and multicast
// membership reports (the kernel sends MLD reports when an interface comes up).
std::vector<std::string> definitionArgs(const core::Endpoint& ep) {
  return {"--endpoint", ep.toString() + "/wireguard",
          "--allow",    "arp",
          "--allow",    "ndp",
          "--allow",    "dhcp",
          "--allow",    "mld",
          "--allow",    "igmp"};
}

// MLD after an 8-byte hop-by-hop header (as the kernel sends it) or directly; IGMP; hop limit 1.
const std::string kMembership =
    "(ip6 and ip6[7] = 1 and ((ip6[6] = 0 and ip6[40] = 58 and ip6[41] = 0 and (ip6[48] = 143 or "
    "(ip6[48] >= 130 and ip6[48] <= 132))) or (ip6[6] = 58 and (ip6[40] = 143 or (ip6[40] >= 130 "
    "and ip6[40] <= 132))))) or (igmp and ip[8] = 1)";

// The same definitions as a tcpdump filter (docs/monitor.md).
std::string leakFilter(const core::Endpoint& ep) {
  const auto h = ep.address.toString();
  const auto p = std::to_string(ep.port);
  const std::string tunnel =
      "(udp and ((dst host " + h + " and dst port " + p + ") or (src host " + h + " and src port " +
      p +
      ")) and udp[9:2] = 0 and udp[11] = 0 and ((udp[8] = 1 and udp[4:2] = 156) or (udp[8] = "
      "2 and udp[4:2] = 100) or (udp[8] = 3 and udp[4:2] = 72) or (udp[8] = 4 and udp[4:2] >= 40 "
      "and udp[4:2] & 15 = 8)))";
  const std::string allowed =
      "(arp or (udp and ((src port 68 and dst port 67) or (src port 67 and dst port 68) or (src "
      "port 546 and dst port 547) or (src port 547 and dst port 546))) or (icmp6 and ip6[40] >= "
      "133 and ip6[40] <= 137 and ip6[7] = 255) or " +
      kMembership + ")";
  return "(ip or ip6 or arp) and not " + tunnel + " and not " + allowed;
}

std::size_t tcpdumpCount(const std::string& file, const std::string& filter) {
  auto r = sh({"tcpdump", "-r", file, "-nn", filter});
  if (r.err.find("expression rejects all packets") != std::string::npos) return 0;
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return static_cast<std::size_t>(std::count(r.out.begin(), r.out.end(), '\n'));
}

// A leak event without its timestamp: what the packet was, for comparing two captures.
std::string packetKey(const core::Json& j) {
  return j.value("proto", std::string("?")) + " " + j["src"].dump() + ":" + j["sport"].dump() +
         " > " + j["dst"].dump() + ":" + j["dport"].dump() + " " + j["reason"].get<std::string>() +
         " " + j.value("dns_qname", std::string()) + " len " + j["length"].dump();
}

std::map<std::string, int> packetKeys(const std::vector<core::Json>& leaks) {
  std::map<std::string, int> m;
  for (const auto& j : leaks) ++m[packetKey(j)];
  return m;
}

class LabMonitor : public ::testing::Test {
 protected:
  void SetUp() override {
    VL_REQUIRE_ROOT();
    for (const char* tool : {"tcpdump", "dig", "ping", "curl"}) {
      ASSERT_TRUE(core::haveExecutable(tool)) << tool << " is required";
    }
    prefix_ = "vlm" + randomHex(3) + "-";
    ref_file_ = "/tmp/" + prefix_ + "ref.pcap";
    leaks_file_ = "/tmp/" + prefix_ + "leaks.pcapng";
  }
  void TearDown() override {
    // Processes first (they hold sockets in the namespaces), then the lab, then files.
    mon_.stop(SIGKILL);
    ref_.stop(SIGKILL);
    if (!prefix_.empty()) {
      EXPECT_TRUE(lab::down(prefix_).ok());
    }
    std::error_code ec;
    std::filesystem::remove(ref_file_, ec);
    std::filesystem::remove(leaks_file_, ec);
  }

  void bringUp(bool tunnel_ipv6) {
    lab::LabOptions o;
    o.prefix = prefix_;
    o.tunnel_ipv6 = tunnel_ipv6;
    auto st = lab::up(o);
    ASSERT_TRUE(st.ok()) << st.error().message();
    plan_ = lab::makePlan(o);
    client_ = plan_.netns("client");
  }

  // The reference capture and the monitor, both on the client's lan0, outgoing packets.
  void startCaptures(std::vector<std::string> extra) {
    ASSERT_TRUE(
        ref_.start(lab::inNetns(client_, {"tcpdump", "-Z", "root", "-i", "lan0", "-Q", "out", "-nn",
                                          "-U", "-s", "0", "-w", ref_file_})));
    ASSERT_TRUE(ref_.waitFor("listening on", milliseconds(10000))) << ref_.output();
    std::vector<std::string> argv{vpnleakBinary(), "monitor", "--iface", "lan0", "--json"};
    for (const auto& a : definitionArgs(plan_.tunnel.endpoint)) argv.push_back(a);
    argv.insert(argv.end(), extra.begin(), extra.end());
    ASSERT_TRUE(mon_.start(lab::inNetns(client_, argv)));
    ASSERT_TRUE(mon_.waitFor("\"type\":\"start\"", milliseconds(10000))) << mon_.output();
  }

  // Runs a command in the client namespace; its failure is no test failure (leaks may time out).
  void client(const std::vector<std::string>& argv) const { (void)sh(lab::inNetns(client_, argv)); }
  void traffic(const std::string& tag) const {
    const auto server = plan_.server_v4.toString();
    client({"ping", "-c", "3", "-i", "0.2", "-W", "1", "-q", server});
    client({"dig", "+tries=1", "+time=1", tag + "." + plan_.options.zone});
    client({"bash", "-c",
            "for i in 1 2 3; do echo " + tag + " > /dev/udp/" + server + "/40001; done"});
  }

  std::string prefix_, ref_file_, leaks_file_, client_;
  lab::LabPlan plan_;
  Background ref_, mon_;
};

TEST_F(LabMonitor, TunnelDropAndRestoreLeaksMatchTheReferenceCapture) {
  bringUp(false);
  ASSERT_NO_FATAL_FAILURE(
      startCaptures({"--gap-ms", "300", "--metrics", "127.0.0.1:9469", "--write", leaks_file_}));
  traffic("healthy1");  // through the tunnel: nothing leaks

  ASSERT_TRUE(lab::dropTunnel(prefix_).ok());
  traffic("dropped");
  client({"dig", "+tries=1", "+time=1", "@" + plan_.isp_resolver_v4.toString(),
          "isp." + plan_.options.zone});
  auto restored = lab::restoreTunnel(prefix_);
  ASSERT_TRUE(restored.ok()) << restored.error().message();
  traffic("healthy2");
  std::this_thread::sleep_for(milliseconds(800));  // quiet, and longer than the gap

  const auto metrics =
      sh(lab::inNetns(client_, {"curl", "-s", "-m", "3", "http://127.0.0.1:9469/metrics"}));
  EXPECT_NE(metrics.out.find("vpnleak_monitor_leak_windows_total"), std::string::npos);
  EXPECT_EQ(mon_.stop(SIGINT), 1) << mon_.output();
  ref_.stop(SIGINT);

  const auto lines = mon_.jsonLines();
  const auto leaks = ofType(lines, "leak");
  const auto summary = ofType(lines, "summary");
  ASSERT_EQ(summary.size(), 1U) << mon_.output();
  const auto reference = tcpdumpCount(ref_file_, leakFilter(plan_.tunnel.endpoint));
  std::cout << "[ monitor ] live leaks=" << leaks.size() << " reference=" << reference
            << " tunnel=" << summary[0]["tunnel"] << " windows=" << summary[0]["windows"]
            << " max_window_ms=" << summary[0]["max_window_ms"] << "\n";
  EXPECT_GE(leaks.size(), 8U) << "3 pings, 2 DNS queries and 3 datagrams at least";
  EXPECT_EQ(leaks.size(), reference);
  EXPECT_EQ(summary[0]["leaks"], leaks.size());
  EXPECT_EQ(summary[0]["kernel_drops"], 0);
  EXPECT_GT(summary[0]["tunnel"].get<int>(), 0);
  EXPECT_GE(summary[0]["windows"].get<int>(), 1);
  // Packet by packet: the monitor reading the reference file reports the same leaks as live.
  std::vector<std::string> offline_argv{vpnleakBinary(), "monitor", "--read", ref_file_, "--json"};
  for (const auto& x : definitionArgs(plan_.tunnel.endpoint)) offline_argv.push_back(x);
  auto offline = sh(offline_argv);
  std::vector<core::Json> offline_leaks;
  std::istringstream in(offline.out);
  for (std::string line; std::getline(in, line);) {
    auto j = core::parseJson(line, "offline");
    if (j.ok() && (*j)["type"] == "leak") offline_leaks.push_back(*j);
  }
  EXPECT_EQ(packetKeys(leaks), packetKeys(offline_leaks));
  // Byte for byte: the frames the monitor saved (--write) are those the reference capture's leak
  // filter selects. Compared as sets of packets: two sockets may see packets sent at the same
  // moment from two CPUs in different orders.
  const auto frames = [](const std::string& file, const std::string& filter) {
    auto r = sh({"tcpdump", "-r", file, "-nn", "-t", "-xx", filter});
    EXPECT_EQ(r.exit_code, 0) << file << ": " << r.err;
    std::vector<std::string> packets;  // a line not starting with a tab starts a packet
    std::istringstream dump(r.out);
    for (std::string line; std::getline(dump, line);) {
      if (line.empty() || line[0] != '\t' || packets.empty()) packets.emplace_back();
      packets.back() += line + "\n";
    }
    std::sort(packets.begin(), packets.end());
    return packets;
  };
  const auto saved = frames(leaks_file_, "");
  EXPECT_EQ(saved.size(), leaks.size());
  EXPECT_EQ(saved, frames(ref_file_, leakFilter(plan_.tunnel.endpoint)));
  bool saw_isp_query = false;
  for (const auto& j : leaks) {
    saw_isp_query = saw_isp_query || j.value("dns_qname", "") == "isp." + plan_.options.zone;
    EXPECT_NE(j.value("dns_qname", ""), "healthy1." + plan_.options.zone);
    EXPECT_NE(j.value("dns_qname", ""), "healthy2." + plan_.options.zone);
  }
  EXPECT_TRUE(saw_isp_query);
}

TEST_F(LabMonitor, HealthyTunnelWithTrafficHasNoLeaks) {
  bringUp(true);  // IPv6 through the tunnel as well, so that nothing has a reason to leak
  ASSERT_NO_FATAL_FAILURE(startCaptures({"--duration", "6"}));
  const auto t0 = std::chrono::steady_clock::now();
  for (int round = 0; round < 3 && std::chrono::steady_clock::now() - t0 < std::chrono::seconds(4);
       ++round) {
    traffic("bg" + std::to_string(round));
    client({"ping", "-6", "-c", "3", "-i", "0.2", "-W", "1", "-q", plan_.server_v6.toString()});
  }
  const int rc = mon_.wait(milliseconds(15000));
  ref_.stop(SIGINT);
  const auto summary = ofType(mon_.jsonLines(), "summary");
  ASSERT_EQ(summary.size(), 1U) << mon_.output();
  std::cout << "[ monitor ] healthy: packets=" << summary[0]["packets"]
            << " tunnel=" << summary[0]["tunnel"] << " allowed=" << summary[0]["allowed"]
            << " leaks=" << summary[0]["leaks"] << "\n";
  EXPECT_EQ(rc, 0) << mon_.output();
  EXPECT_EQ(summary[0]["leaks"], 0) << mon_.output();
  EXPECT_GE(summary[0]["tunnel"].get<int>(), 15);
  EXPECT_EQ(summary[0]["kernel_drops"], 0);
  EXPECT_EQ(tcpdumpCount(ref_file_, leakFilter(plan_.tunnel.endpoint)), 0U);

  // lab run's monitor: one whose --write file cannot be written ends early, and that is an
  // error, never the summary of a capture that watched nothing.
  lab::LanMonitor failing(vpnleakBinary(), plan_, "monitor-full", "/dev/full");
  ASSERT_TRUE(failing.start().ok());
  std::this_thread::sleep_for(milliseconds(500));
  const auto out = failing.stop();
  ASSERT_FALSE(out.ok()) << "a monitor that could not write its file passed for a clean one";
  EXPECT_NE(out.error().message().find("exit 3"), std::string::npos) << out.error().message();
  EXPECT_NE(out.error().message().find("cannot write --write '/dev/full'"), std::string::npos)
      << out.error().message();
}

}  // namespace
}  // namespace vpnleak::testing
