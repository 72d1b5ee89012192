// Live capture on the loopback of a scratch namespace: events as they happen, Prometheus counters
// while running, SIGINT/SIGTERM ending the capture with a summary, --duration ending it alone.
#include <gtest/gtest.h>

#include "lab/context.hpp"
#include "monitor_test_process.hpp"
#include "pcapng_blocks.hpp"
#include "test_support.hpp"

namespace vpnleak::testing {
namespace {

using std::chrono::milliseconds;

class MonitorLive : public ::testing::Test {
 protected:
  void SetUp() override {
    VL_REQUIRE_ROOT();
    ns_ = std::make_unique<ScopedNetns>("monlive");
    // The "tunnel" port has a socket, so that datagrams to it draw no ICMP port unreachable.
    ASSERT_TRUE(sink_.start(lab::inNetns(
        ns_->name(),
        {"timeout", "30", "python3", "-c",
         "import socket, time\n"
         "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
         "s.bind(('127.0.0.1', 51820))\nprint('bound', flush=True)\ntime.sleep(30)"})));
    ASSERT_TRUE(sink_.waitFor("bound", milliseconds(5000))) << sink_.output();
  }

  std::vector<std::string> monitorArgv(std::vector<std::string> extra) const {
    std::vector<std::string> argv{vpnleakBinary(),       "monitor", "--iface",  "lo", "--endpoint",
                                  "127.0.0.1:51820/udp", "--json",  "--gap-ms", "100"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return lab::inNetns(ns_->name(), argv);
  }
  void send(const std::string& script) const {
    auto r = ns_->exec({"bash", "-c", script});
    EXPECT_EQ(r.exit_code, 0) << r.err;
  }

  std::unique_ptr<ScopedNetns> ns_;
  Background sink_;
};

TEST_F(MonitorLive, EventsMetricsAndSigintSummary) {
  Background mon;
  ASSERT_TRUE(mon.start(monitorArgv({"--metrics", "127.0.0.1:9469"})));
  ASSERT_TRUE(mon.waitFor("\"type\":\"start\"", milliseconds(5000))) << mon.output();
  // Two tunnel datagrams, then a DNS query (which also draws an ICMP port unreachable).
  send("echo a > /dev/udp/127.0.0.1/51820; echo b > /dev/udp/127.0.0.1/51820");
  (void)ns_->exec({"dig", "+tries=1", "+time=1", "@127.0.0.1", "live.leak.test"});
  ASSERT_TRUE(mon.waitFor("live.leak.test", milliseconds(3000))) << mon.output();
  ASSERT_TRUE(mon.waitFor("\"type\":\"window\"", milliseconds(3000))) << mon.output();
  const auto metrics = ns_->exec({"curl", "-s", "-m", "3", "http://127.0.0.1:9469/metrics"});
  EXPECT_NE(metrics.out.find("vpnleak_monitor_packets_total{verdict=\"tunnel\"} 2"),
            std::string::npos)
      << metrics.out;
  EXPECT_NE(metrics.out.find("vpnleak_monitor_leaks_total{reason=\"dns\"} 1"), std::string::npos);
  EXPECT_NE(metrics.out.find("vpnleak_monitor_leak_windows_total 1"), std::string::npos);
  const auto notfound = ns_->exec(
      {"curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-m", "3", "http://127.0.0.1:9469/"});
  EXPECT_EQ(notfound.out, "404");

  EXPECT_EQ(mon.stop(SIGINT), 1) << "leaks were seen";
  const auto lines = mon.jsonLines();
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines.front()["schema"], "vpnleak.monitor/1");
  const auto summary = ofType(lines, "summary");
  ASSERT_EQ(summary.size(), 1U) << mon.output();
  EXPECT_EQ(summary[0]["tunnel"], 2);
  EXPECT_EQ(summary[0]["reasons"]["dns"], 1);
  EXPECT_EQ(summary[0]["kernel_drops"], 0);
  const auto leaks = ofType(lines, "leak");
  EXPECT_EQ(summary[0]["leaks"], leaks.size());
  const auto dns =
      std::find_if(leaks.begin(), leaks.end(), [](const auto& j) { return j["reason"] == "dns"; });
  ASSERT_NE(dns, leaks.end());
  EXPECT_EQ((*dns)["iface"], "lo");
  EXPECT_EQ((*dns)["dport"], 53);
  EXPECT_EQ((*dns)["dns_qname"], "live.leak.test");
}

TEST_F(MonitorLive, SigtermWithoutLeaksExitsZero) {
  Background mon;
  ASSERT_TRUE(mon.start(monitorArgv({"--immediate"})));
  ASSERT_TRUE(mon.waitFor("\"type\":\"start\"", milliseconds(5000))) << mon.output();
  send("for i in 1 2 3; do echo x > /dev/udp/127.0.0.1/51820; done");
  std::this_thread::sleep_for(milliseconds(300));
  EXPECT_EQ(mon.stop(SIGTERM), 0) << mon.output();
  const auto summary = ofType(mon.jsonLines(), "summary");
  ASSERT_EQ(summary.size(), 1U) << mon.output();
  EXPECT_EQ(summary[0]["tunnel"], 3);
  EXPECT_EQ(summary[0]["leaks"], 0);
}

TEST_F(MonitorLive, DurationEndsTheCaptureAndPrefilterHidesTunnelTraffic) {
  Background mon;
  ASSERT_TRUE(mon.start(monitorArgv({"--duration", "1.5", "--prefilter"})));
  ASSERT_TRUE(mon.waitFor("\"type\":\"start\"", milliseconds(5000))) << mon.output();
  send("echo x > /dev/udp/127.0.0.1/51820; echo y > /dev/udp/127.0.0.1/9");
  const auto t0 = std::chrono::steady_clock::now();
  const int rc = mon.wait(milliseconds(5000));
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(rc, 1) << mon.output();
  EXPECT_LT(took, milliseconds(2500));
  const auto summary = ofType(mon.jsonLines(), "summary");
  ASSERT_EQ(summary.size(), 1U) << mon.output();
  EXPECT_EQ(summary[0]["tunnel"], 0) << "the kernel filter kept the tunnel's datagram";
  EXPECT_TRUE(summary[0]["prefilter"].get<bool>());
  EXPECT_GE(summary[0]["leaks"].get<int>(), 1);
}

// A WireGuard endpoint: the kernel filter counts each framed datagram with its length on the
// wire (eBPF; the classic fallback that cuts them short instead is tested without CAP_BPF in
// monitor_kernel_filter_test), and --prefilter leaves them in the kernel uncounted, but neither
// hides a datagram to the endpoint that is not WireGuard.
TEST_F(MonitorLive, KernelFilterCountsTunnelPacketsAndKeepsUnframedOnes) {
  for (const bool prefilter : {false, true}) {
    std::vector<std::string> argv{vpnleakBinary(),   "monitor", "--iface",    "lo", "--endpoint",
                                  "127.0.0.1:51820", "--json",  "--duration", "1.5"};
    if (prefilter) argv.emplace_back("--prefilter");
    Background mon;
    ASSERT_TRUE(mon.start(lab::inNetns(ns_->name(), argv)));
    ASSERT_TRUE(mon.waitFor("\"type\":\"start\"", milliseconds(5000))) << mon.output();
    const auto sent = ns_->exec(sendToWireGuardPort(3, "b'hello\\n'", false));
    ASSERT_EQ(sent.exit_code, 0) << sent.err;
    EXPECT_EQ(mon.wait(milliseconds(6000)), 1) << mon.output();
    const auto summary = ofType(mon.jsonLines(), "summary");
    ASSERT_EQ(summary.size(), 1U) << mon.output();
    EXPECT_EQ(summary[0]["reasons"]["endpoint-not-tunnel"], 1) << mon.output();
    EXPECT_EQ(summary[0]["leaks"], 1) << mon.output();
    // Ethernet 14 + IPv4 20 + UDP 8, and 1200 or 6 bytes of payload.
    EXPECT_EQ(summary[0]["tunnel"], prefilter ? 0 : 3) << mon.output();
    EXPECT_EQ(summary[0]["bytes"], prefilter ? 48 : 3 * 1242 + 48) << mon.output();
  }
}

TEST_F(MonitorLive, SeveralInterfacesAtOnce) {
  // A veth beside loopback (its peer in the same namespace, a static neighbour so that no ARP
  // is needed): what leaves each is reported with its name.
  ns_->mustExec({"ip", "link", "add", "vlmd0", "type", "veth", "peer", "name", "vlmd1"});
  ns_->mustExec({"ip", "addr", "add", "10.9.9.1/24", "dev", "vlmd0"});
  ns_->mustExec({"ip", "link", "set", "vlmd0", "up"});
  ns_->mustExec({"ip", "link", "set", "vlmd1", "up"});
  ns_->mustExec({"ip", "neigh", "add", "10.9.9.2", "lladdr", "02:00:00:00:00:02", "dev", "vlmd0"});
  // The leaked frames of both go to one pcapng file too (--write).
  const TempFile pcap("vlt-live-leaks.pcapng");
  Background mon;
  ASSERT_TRUE(
      mon.start(monitorArgv({"--iface", "vlmd0", "--duration", "2", "--write", pcap.path})));
  ASSERT_TRUE(mon.waitFor("\"type\":\"start\"", milliseconds(5000))) << mon.output();
  send("echo a > /dev/udp/10.9.9.2/9; echo b > /dev/udp/127.0.0.1/51820");
  (void)ns_->exec({"dig", "+tries=1", "+time=1", "@127.0.0.1", "lo.leak.test"});
  EXPECT_EQ(mon.wait(milliseconds(6000)), 1) << mon.output();
  const auto lines = mon.jsonLines();
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines.front()["sources"].size(), 2U);
  bool dummy = false;
  bool loopback = false;
  for (const auto& j : ofType(lines, "leak")) {
    dummy = dummy || (j["iface"] == "vlmd0" && j["dst"] == "10.9.9.2" && j["dport"] == 9);
    loopback = loopback || (j["iface"] == "lo" && j.value("dns_qname", "") == "lo.leak.test");
  }
  EXPECT_TRUE(dummy) << mon.output();
  EXPECT_TRUE(loopback) << mon.output();
  const auto summary = ofType(lines, "summary");
  ASSERT_EQ(summary.size(), 1U);
  EXPECT_EQ(summary[0]["tunnel"], 1);
  // The file holds exactly the leaked frames, and what they revealed.
  const auto leaks = summary[0]["leaks"].get<std::size_t>();
  auto dump = sh({"tcpdump", "-r", pcap.path, "-nn"});
  EXPECT_EQ(dump.exit_code, 0) << dump.err;

  EXPECT_NE(dump.out.find("10.9.9.2.9:"), std::string::npos) << dump.out;
  EXPECT_NE(dump.out.find("lo.leak.test"), std::string::npos) << dump.out;
  EXPECT_EQ(dump.out.find(".51820:"), std::string::npos) << dump.out;  // no tunnel packet
  // Each frame is recorded on the interface it left by: the interface descriptions follow the
  // start line's sources, and each packet block names its description.
  const auto blocks = readPcapngBlocks(pcap.path);
  ASSERT_TRUE(blocks) << "block lengths do not add up";
  std::vector<std::string> idb_names;
  std::size_t to_dummy = 0;
  std::size_t dns_on_lo = 0;
  for (const auto& b : *blocks) {
    if (b.type == 1) idb_names.push_back(pcapngInterfaceName(b));
    if (b.type != 6) continue;
    const auto iface = idb_names.at(pcapngU32(b.body, 0));
    const auto frame = pcapngFrame(b);
    if (frame.find(std::string("\x0a\x09\x09\x02", 4)) != std::string::npos) {
      EXPECT_EQ(iface, "vlmd0");
      ++to_dummy;
    }
    if (frame.find("leak") != std::string::npos) {  // the DNS name's label
      EXPECT_EQ(iface, "lo");
      ++dns_on_lo;
    }
  }
  ASSERT_EQ(idb_names.size(), 2U);
  EXPECT_EQ(static_cast<std::size_t>(std::count_if(blocks->begin(), blocks->end(),
                                                   [](const auto& b) { return b.type == 6; })),
            leaks);
  EXPECT_EQ(idb_names[0], lines.front()["sources"][0]["name"]);
  EXPECT_EQ(idb_names[1], lines.front()["sources"][1]["name"]);
  EXPECT_GE(to_dummy, 1U);
  EXPECT_GE(dns_on_lo, 1U);
}

TEST_F(MonitorLive, TextOutputIsReadable) {
  Background mon;
  ASSERT_TRUE(mon.start(
      lab::inNetns(ns_->name(), {vpnleakBinary(), "monitor", "--iface", "lo", "--endpoint",
                                 "127.0.0.1:51820/udp", "--duration", "1"})));
  ASSERT_TRUE(mon.waitFor("monitoring lo", milliseconds(5000))) << mon.output();
  send("echo y > /dev/udp/127.0.0.1/9");
  EXPECT_EQ(mon.wait(milliseconds(5000)), 1);
  const auto out = mon.output();
  EXPECT_NE(out.find("leak   "), std::string::npos) << out;
  EXPECT_NE(out.find("127.0.0.1:9  ipv4"), std::string::npos) << out;
  EXPECT_NE(out.find("summary: "), std::string::npos) << out;
}

}  // namespace
}  // namespace vpnleak::testing
