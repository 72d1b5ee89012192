// Verdicts of `vpnleak test` from observations: every check, every outcome.
#include <gtest/gtest.h>

#include "probe/judge.hpp"
#include "probe/url.hpp"
#include "report/junit.hpp"
#include "test_support.hpp"

namespace vpnleak::probe {
namespace {

using core::IpAddress;

IpAddress ip(const char* t) { return IpAddress::parse(t).value(); }
core::Endpoint ep(const char* t) { return core::Endpoint::parse(t).value(); }

// The lab's default: IPv4-only tunnel exiting at 203.0.113.2, client's real IPv6 2001:db8:77::2.
Observations base() {
  Observations o;
  o.tunnel = "wg0";
  o.physical = "eth0";
  o.exit_v4 = ip("203.0.113.2");
  o.v4 = {true, ep("192.0.2.10:80"), ip("203.0.113.2"), ""};
  o.v6 = {true, ep("[2001:db8:192::10]:80"), std::nullopt, "connect: Network is unreachable"};
  o.names_sent = 20;
  o.names_resolved = 20;
  for (int i = 0; i < 20; ++i) o.dns.push_back({ip("203.0.113.2"), "n.x.leak.test", "A", "udp"});
  o.stun_available = true;
  o.stun = {{"wg0", ip("10.8.0.2"), ep("192.0.2.10:3478"), ep("203.0.113.2:4000"), ""},
            {"eth0", ip("192.168.1.2"), ep("192.0.2.10:3478"), std::nullopt, ""}};
  o.bound_http = {{core::Family::kV4, std::nullopt, "connect: Operation not permitted"}};
  o.ttl_send_errors = {"ttl 1: Operation not permitted"};
  return o;
}

TEST(Judge, CleanTunnelPassesEverything) {
  for (const auto& c : judgeAll(base(), {})) {
    EXPECT_EQ(c.status, "pass") << c.id << ": " << c.explanation;
    EXPECT_FALSE(c.explanation.empty());
  }
}

TEST(Judge, Ipv6AroundAnIpv4OnlyTunnelLeaksWithTheAddress) {
  auto o = base();
  o.v6.seen = ip("2001:db8:77::2");
  const auto r = judgeFamily(o, core::Family::kV6);
  EXPECT_EQ(r.status, "leak");
  EXPECT_NE(r.explanation.find("2001:db8:77::2"), std::string::npos);
  EXPECT_EQ(r.evidence["seen"], "2001:db8:77::2");
  EXPECT_TRUE(r.evidence["expected_exit"].is_null());
}

TEST(Judge, FamilyOutcomes) {
  auto o = base();
  o.v4.seen = ip("198.51.100.2");  // tunnel dropped: the router's address
  auto r = judgeFamily(o, core::Family::kV4);
  EXPECT_EQ(r.status, "leak");
  EXPECT_NE(r.explanation.find("198.51.100.2"), std::string::npos);
  EXPECT_NE(r.explanation.find("203.0.113.2"), std::string::npos);
  o.v6.attempted = false;
  EXPECT_EQ(judgeFamily(o, core::Family::kV6).status, "skip");
  o.exit_v6 = ip("2001:db8:203::2");
  o.v6 = {true, ep("[2001:db8:192::10]:80"), ip("2001:db8:203::2"), ""};
  EXPECT_EQ(judgeFamily(o, core::Family::kV6).status, "pass");
}

TEST(Judge, DnsAttributesEachResolver) {
  auto o = base();
  o.dns.push_back({ip("198.51.100.2"), "n1.x.leak.test", "AAAA", "udp"});
  auto r = judgeDns(o);
  EXPECT_EQ(r.status, "leak");
  EXPECT_NE(r.explanation.find("198.51.100.2"), std::string::npos);
  ASSERT_EQ(r.evidence["resolvers"].size(), 2U);
  for (const auto& res : r.evidence["resolvers"]) {
    EXPECT_EQ(res["inside_tunnel"], res["address"] == "203.0.113.2") << res.dump();
    EXPECT_EQ(res["queries"], res["address"] == "203.0.113.2" ? 20 : 1) << res.dump();
  }
  // An IPv6 resolver path counts as inside only when it is the tunnel's IPv6 exit.
  o = base();
  o.dns.push_back({ip("2001:db8:77::2"), "n1.x.leak.test", "A", "udp"});
  EXPECT_EQ(judgeDns(o).status, "leak");
  o.exit_v6 = ip("2001:db8:77::2");
  EXPECT_EQ(judgeDns(o).status, "pass");
  o.dns.clear();
  EXPECT_EQ(judgeDns(o).status, "error");
}

TEST(Judge, WebrtcLeaksAnyMappedAddressOutsideTheTunnel) {
  auto o = base();
  o.stun.push_back({"eth0", ip("2001:db8:77::2"), ep("[2001:db8:192::10]:3478"),
                    ep("[2001:db8:77::2]:5000"), ""});
  auto r = judgeWebrtc(o);
  EXPECT_EQ(r.status, "leak");
  EXPECT_NE(r.explanation.find("2001:db8:77::2 (from eth0)"), std::string::npos);
  o.stun_available = false;
  EXPECT_EQ(judgeWebrtc(o).status, "skip");
}

TEST(Judge, KillswitchLeaksOnAnyEscapedProbe) {
  auto o = base();
  o.bound_http[0].seen = ip("198.51.100.2");
  auto r = judgeKillswitch(o);
  EXPECT_EQ(r.status, "leak");
  EXPECT_NE(r.explanation.find("198.51.100.2"), std::string::npos);
  o = base();
  o.ttl_answers = {{1, ip("192.168.1.1"), 11, 0}};
  r = judgeKillswitch(o);
  EXPECT_EQ(r.status, "leak");
  EXPECT_NE(r.explanation.find("192.168.1.1"), std::string::npos);
  o.physical.clear();
  EXPECT_EQ(judgeKillswitch(o).status, "skip");
}

TEST(Judge, OnlySelectsChecksInOrder) {
  const auto r = judgeAll(base(), {"killswitch", "dns"});
  ASSERT_EQ(r.size(), 2U);
  EXPECT_EQ(r[0].id, "dns");
  EXPECT_EQ(r[1].id, "killswitch");
}

struct UrlCase {
  const char* text;
  bool ok;
  const char* host;
  int port;
  const char* base;
};

class UrlTest : public ::testing::TestWithParam<UrlCase> {};

TEST_P(UrlTest, ParsesOrNamesTheValue) {
  const auto& c = GetParam();
  auto u = parseServerUrl(c.text);
  ASSERT_EQ(u.ok(), c.ok) << c.text;
  if (!c.ok) {
    EXPECT_NE(u.error().message().find(std::string("'") + c.text + "'"), std::string::npos);
    EXPECT_EQ(u.error().exitCode(), 2);
    return;
  }
  EXPECT_EQ(u->host, c.host);
  EXPECT_EQ(u->port, c.port);
  EXPECT_EQ(u->base_path, c.base);
}

INSTANTIATE_TEST_SUITE_P(
    Table, UrlTest,
    ::testing::Values(UrlCase{"http://192.0.2.10", true, "192.0.2.10", 80, ""},
                      UrlCase{"http://192.0.2.10:8080/", true, "192.0.2.10", 8080, ""},
                      UrlCase{"http://[2001:db8::1]:81/leak", true, "2001:db8::1", 81, "/leak"},
                      UrlCase{"http://leak.example.org", true, "leak.example.org", 80, ""},
                      UrlCase{"https://leak.example.org", false, "", 0, ""},
                      UrlCase{"ftp://x", false, "", 0, ""}, UrlCase{"192.0.2.10", false, "", 0, ""},
                      UrlCase{"http://192.0.2.10:0", false, "", 0, ""},
                      UrlCase{"http://192.0.2.10:70000", false, "", 0, ""},
                      UrlCase{"http://192.0.2.10:", false, "", 0, ""},
                      UrlCase{"http://[2001:db8::1", false, "", 0, ""},
                      UrlCase{"http://[192.0.2.1]", false, "", 0, ""},
                      UrlCase{"http://user@host", false, "", 0, ""},
                      UrlCase{"http://host/?q=1", false, "", 0, ""},
                      UrlCase{"http://bad_host", false, "", 0, ""},
                      UrlCase{"http://", false, "", 0, ""}),
    VL_CASE_NAMES);

TEST(Junit, CountsAndEscapes) {
  const auto x =
      report::junitXml("suite <1>", {{"ipv4", "c", "pass", "", "", 0.5},
                                     {"ipv6", "c", "leak", "saw \"2001:db8::2\" & more", "{}", 0.5},
                                     {"dns", "c", "skip", "why", "", 0},
                                     {"webrtc", "c", "error", "e", "", 0}});
  EXPECT_NE(
      x.find("name=\"suite &lt;1&gt;\" tests=\"4\" failures=\"1\" errors=\"1\" skipped=\"1\""),
      std::string::npos)
      << x;
  EXPECT_NE(x.find("<failure type=\"leak\" message=\"saw &quot;2001:db8::2&quot; &amp; more\"/>"),
            std::string::npos);
  EXPECT_NE(x.find("<skipped message=\"why\"/>"), std::string::npos);
  EXPECT_EQ(report::xmlEscape(std::string("a\x01z")), "a?z");
}

}  // namespace
}  // namespace vpnleak::probe
