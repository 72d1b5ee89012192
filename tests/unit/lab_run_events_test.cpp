// `lab run`'s reading of the monitor: NDJSON events, leak classes, evidence lines, the runs cut
// at the fault times, and the digests of the audit and test documents at the defined points.
#include <gtest/gtest.h>

#include <numeric>

#include "lab/checkpoints.hpp"
#include "lab/leak_events.hpp"

namespace vpnleak::lab {
namespace {

TEST(LabRunEvents, ParsesUtcTimes) {
  struct Case {
    std::string text;
    std::optional<double> want;
  };
  const std::vector<Case> cases{
      {"1970-01-01T00:00:00Z", 0.0},
      {"2023-11-14T22:13:20Z", 1700000000.0},
      {"2023-11-14T22:13:20.123456Z", 1700000000.123456},
      {"2023-11-14T22:13:20.5Z", 1700000000.5},
      {"2023-11-14T22:13:20.123456789Z", 1700000000.123456789},
      {"2024-02-29T12:00:00.000001Z", 1709208000.000001},
      {"", std::nullopt},
      {"2023-11-14 22:13:20Z", std::nullopt},
      {"2023-11-14T22:13:20", std::nullopt},
      {"2023-11-14T22:13:20+01:00", std::nullopt},
      {"2023-13-14T22:13:20Z", std::nullopt},
      {"2023-11-14T25:13:20Z", std::nullopt},
      {"2023-11-14T22:13:20.Z", std::nullopt},
      {"2023-11-14T22:13:20.12a4Z", std::nullopt},
      {"2023-11-14T22:13:20.1234567890Z", std::nullopt},
      {"20x3-11-14T22:13:20Z", std::nullopt},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    const auto t = parseUtcTime(c.text);
    ASSERT_EQ(t.ok(), c.want.has_value());
    if (c.want) {
      EXPECT_NEAR(*t, *c.want, 1e-7);
    }
  }
}

TEST(LabRunEvents, ClassifiesMonitorReasons) {
  struct Case {
    std::string reason, family;
    LeakClass want;
  };
  const std::vector<Case> cases{
      {"dns", "ipv4", LeakClass::kDns},
      {"dns", "ipv6", LeakClass::kDns},
      {"stun", "ipv6", LeakClass::kStun},
      {"wireguard-elsewhere", "ipv4", LeakClass::kTunnelMisdirected},
      {"openvpn-elsewhere", "ipv4", LeakClass::kTunnelMisdirected},
      {"endpoint-not-tunnel", "ipv4", LeakClass::kTunnelMisdirected},
      {"ipv6", "ipv6", LeakClass::kIpv6},
      {"tls", "ipv6", LeakClass::kIpv6},
      {"ipv4", "ipv4", LeakClass::kIpv4},
      {"http", "ipv4", LeakClass::kIpv4},
      {"arp", "", LeakClass::kOther},
      {"mdns", "ipv4", LeakClass::kOther},
      {"llmnr", "ipv6", LeakClass::kOther},
      {"fragment", "ipv4", LeakClass::kOther},
      {"malformed", "ipv6", LeakClass::kOther},
      {"something-new", "", LeakClass::kOther},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.reason + "/" + c.family);
    EXPECT_EQ(classify(c.reason, c.family), c.want);
  }
  std::vector<std::string> names;
  for (const auto c : kLeakClasses) names.emplace_back(leakClassName(c));
  EXPECT_EQ(names, (std::vector<std::string>{"dns", "stun", "tunnel-misdirected", "ipv6", "ipv4",
                                             "other"}));
}

// What `vpnleak monitor --json` writes to the log, with a stderr line mixed in.
const char* const kLog =
    R"({"schema":"vpnleak.monitor/1","type":"start","sources":[{"name":"lan0","live":true}]})"
    "\n"
    R"({"type":"leak","ts":"2023-11-14T22:13:20.100000Z","iface":"lan0","family":"ipv4","proto":"udp","src":"192.168.77.2","dst":"192.168.77.1","sport":40000,"dport":53,"dns_qname":"lab-run.leak.test","reason":"dns","length":75})"
    "\n"
    R"({"type":"window","start":"2023-11-14T22:13:20.100000Z","end":"2023-11-14T22:13:20.100000Z","duration_ms":0,"packets":1})"
    "\n"
    R"({"type":"leak","ts":"2023-11-14T22:13:21Z","iface":"lan0","family":"ipv6","proto":"icmpv6","src":"2001:db8:77::2","dst":"2001:db8:192::10","sport":null,"dport":null,"reason":"ipv6","length":118,"icmp_type":128,"icmp_code":0})"
    "\n"
    R"({"type":"leak","ts":"2023-11-14T22:13:21.5Z","iface":"lan0","family":null,"proto":"arp","src":"192.168.77.2","dst":"192.168.77.9","sport":null,"dport":null,"reason":"arp","length":42})"
    "\n"
    R"({"type":"leak","ts":"2023-11-14T22:13:22Z","iface":"lan0","family":"ipv6","proto":"tcp","src":"2001:db8:77::2","dst":"2001:db8:192::10","sport":41000,"dport":443,"sni":"x.leak.test","reason":"tls","length":583})"
    "\n"
    "vpnleak: something said on stderr\n"
    R"({"type":"summary","packets":10,"tunnel":5,"allowed":1,"leaks":4,"other":0,"kernel_drops":2,"if_drops":1})"
    "\n";

TEST(LabRunEvents, ParsesTheMonitorsNdjson) {
  const auto out = parseMonitorOutput(kLog);
  ASSERT_TRUE(out.ok()) << out.error().message();
  EXPECT_TRUE(out->started);
  ASSERT_EQ(out->leaks.size(), 4U);
  const auto& dns = out->leaks[0];
  EXPECT_NEAR(dns.ts, 1700000000.1, 1e-6);
  EXPECT_EQ(dns.cls, LeakClass::kDns);
  EXPECT_EQ(dns.name, "lab-run.leak.test");
  EXPECT_EQ(dns.sport, 40000);
  EXPECT_EQ(dns.dport, 53);
  EXPECT_EQ(out->leaks[1].cls, LeakClass::kIpv6);
  EXPECT_FALSE(out->leaks[1].dport.has_value());
  EXPECT_EQ(out->leaks[2].cls, LeakClass::kOther);
  EXPECT_EQ(out->leaks[2].family, "");
  EXPECT_EQ(out->leaks[3].name, "x.leak.test");
  ASSERT_TRUE(out->summary.has_value());
  EXPECT_EQ(out->summary->packets, 10U);
  EXPECT_EQ(out->summary->leaks, 4U);
  EXPECT_EQ(out->summary->kernel_drops, 2U);
  EXPECT_EQ(out->summary->if_drops, 1U);
  EXPECT_EQ(out->error, "vpnleak: something said on stderr");
}

TEST(LabRunEvents, RejectsBrokenMonitorOutput) {
  EXPECT_FALSE(parseMonitorOutput("{\"type\":\"leak\"\n").ok());
  EXPECT_FALSE(parseMonitorOutput(R"({"type":"leak","ts":"yesterday","reason":"dns"})").ok());
  EXPECT_FALSE(parseMonitorOutput(R"({"type":"leak","reason":"dns"})").ok());
  // A monitor killed before its summary: parsed, but without one.
  const auto cut = parseMonitorOutput(R"({"type":"start"})"
                                      "\n");
  ASSERT_TRUE(cut.ok());
  EXPECT_TRUE(cut->started);
  EXPECT_FALSE(cut->summary.has_value());
  const auto failed = parseMonitorOutput("vpnleak: no such interface 'lan9'\n");
  ASSERT_TRUE(failed.ok());
  EXPECT_FALSE(failed->started);
  EXPECT_EQ(failed->error, "vpnleak: no such interface 'lan9'");
}

TEST(LabRunEvents, EvidenceLinesAreReadable) {
  const auto out = parseMonitorOutput(kLog).value();
  EXPECT_EQ(evidenceLine(out.leaks[0]),
            "dns udp 192.168.77.2:40000 > 192.168.77.1:53 lab-run.leak.test "
            "(2023-11-14T22:13:20.100000Z)");
  EXPECT_EQ(evidenceLine(out.leaks[1]),
            "ipv6 icmpv6 2001:db8:77::2 > 2001:db8:192::10 (2023-11-14T22:13:21Z)");
  EXPECT_EQ(evidenceLine(out.leaks[2]),
            "other arp 192.168.77.2 > 192.168.77.9 [arp] (2023-11-14T22:13:21.5Z)");
  EXPECT_EQ(evidenceLine(out.leaks[3]),
            "ipv6 tcp [2001:db8:77::2]:41000 > [2001:db8:192::10]:443 x.leak.test [tls] "
            "(2023-11-14T22:13:22Z)");
}

LeakEvent at(double ts, LeakClass cls) {
  LeakEvent e;
  e.ts = ts;
  e.cls = cls;
  return e;
}

std::uint64_t sum(const std::array<std::uint64_t, kLeakClasses.size()>& a) {
  return std::accumulate(a.begin(), a.end(), std::uint64_t{0});
}

TEST(LabRunEvents, RunsAreCutAtTheFaults) {
  using L = LeakClass;
  // Out of order on purpose; faults at 10 and 20.
  const std::vector<LeakEvent> events{at(20.5, L::kIpv4), at(9.0, L::kDns),   at(10.25, L::kDns),
                                      at(10.0, L::kIpv6), at(25.0, L::kIpv4), at(19.999, L::kStun)};
  const auto c = classifyRuns(events, {10.0, 20.0}, std::nullopt);
  EXPECT_EQ(c.before_first_fault, 1U);
  ASSERT_EQ(c.runs.size(), 2U);
  EXPECT_EQ(c.runs[0].leaked, 3U);
  EXPECT_NEAR(*c.runs[0].first_ms, 0.0, 1e-6);
  EXPECT_NEAR(*c.runs[0].last_ms, 9999.0, 1e-3);
  EXPECT_EQ(c.runs[1].leaked, 2U);
  EXPECT_NEAR(*c.runs[1].first_ms, 500.0, 1e-6);
  EXPECT_NEAR(*c.runs[1].last_ms, 5000.0, 1e-6);
  EXPECT_EQ(c.by_class[static_cast<std::size_t>(L::kDns)], 1U);
  EXPECT_EQ(c.by_class[static_cast<std::size_t>(L::kIpv4)], 2U);
  EXPECT_EQ(c.by_class[static_cast<std::size_t>(L::kIpv6)], 1U);
  EXPECT_EQ(c.by_class[static_cast<std::size_t>(L::kStun)], 1U);
  EXPECT_EQ(sum(c.by_class), c.runs[0].leaked + c.runs[1].leaked);
  EXPECT_EQ(sum(c.ignored), 0U);
  ASSERT_EQ(c.counted.size(), 5U);
  for (std::size_t i = 1; i < c.counted.size(); ++i) {
    EXPECT_LE(c.counted[i - 1].ts, c.counted[i].ts);
  }
}

TEST(LabRunEvents, OnlyCountsTheChosenClass) {
  using L = LeakClass;
  const std::vector<LeakEvent> events{at(10.1, L::kStun), at(10.2, L::kIpv6), at(10.3, L::kStun),
                                      at(9.0, L::kStun)};
  const auto c = classifyRuns(events, {10.0}, L::kStun);
  ASSERT_EQ(c.runs.size(), 1U);
  EXPECT_EQ(c.runs[0].leaked, 2U);
  EXPECT_EQ(sum(c.by_class), 2U);
  EXPECT_EQ(c.ignored[static_cast<std::size_t>(L::kIpv6)], 1U);
  EXPECT_EQ(c.before_first_fault, 1U);
  // No fault at all: nothing is counted.
  const auto none = classifyRuns(events, {}, std::nullopt);
  EXPECT_TRUE(none.runs.empty());
  EXPECT_EQ(none.before_first_fault, 4U);
  EXPECT_EQ(sum(none.by_class), 0U);
}

TEST(LabRunEvents, AuditAndTestDigests) {
  const auto audit = core::parseJson(R"({"schema":"vpnleak.audit/1","tunnel":{},
      "findings":[{"id":"dns-outside-tunnel","severity":"high","detail":"d","fix":"f"},
                  {"id":"no-killswitch","severity":"high","detail":"d","fix":"f"}]})",
                                     "audit")
                         .value();
  const auto a = auditDigest(audit);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ((*a)["findings"].size(), 2U);
  EXPECT_EQ((*a)["findings"][0]["id"], "dns-outside-tunnel");
  EXPECT_EQ((*a)["findings"][0]["severity"], "high");
  EXPECT_FALSE((*a)["findings"][0].contains("detail"));
  EXPECT_EQ(auditLine(*a), "dns-outside-tunnel(high) no-killswitch(high)");
  EXPECT_EQ(auditLine(core::Json{{"findings", core::Json::array()}}), "no findings");
  EXPECT_EQ(auditLine(core::Json{{"error", "boom"}}), "error: boom");

  const auto test = core::parseJson(R"({"schema":"vpnleak.test/1","checks":[
      {"id":"dns","status":"leak","explanation":"e","evidence":{}},
      {"id":"killswitch","status":"pass","explanation":"k","evidence":{}}],
      "summary":{"verdict":"leak","leaks":1}})",
                                    "test")
                        .value();
  const auto t = testDigest(test);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ((*t)["verdict"], "leak");
  EXPECT_EQ((*t)["checks"][1]["status"], "pass");
  EXPECT_EQ(testLine(*t), "dns=leak killswitch=pass");

  EXPECT_FALSE(auditDigest(test).ok());
  EXPECT_FALSE(testDigest(audit).ok());
  EXPECT_FALSE(testDigest(core::Json::array()).ok());
}

}  // namespace
}  // namespace vpnleak::lab
