// The audit's judgement over hand-built snapshots: each finding, the clean case, and the routing
// decision itself (fwmark rules, suppress_prefixlength, throw, blackhole).
#include <gtest/gtest.h>

#include <algorithm>

#include "audit/analyze.hpp"
#include "audit/fib.hpp"
#include "test_support.hpp"

namespace vpnleak::audit {
namespace {

using core::IpAddress;
using core::Prefix;

IpAddress ip(const char* t) { return IpAddress::parse(t).value(); }

Interface iface(const char* name, const char* kind, std::vector<const char*> cidrs) {
  Interface i;
  i.name = name;
  i.kind = kind;
  i.up = true;
  i.loopback = std::string(name) == "lo";
  for (const char* c : cidrs) {
    const std::string s(c);
    const auto slash = s.find('/');
    i.addresses.push_back({ip(s.substr(0, slash).c_str()), std::stoi(s.substr(slash + 1))});
  }
  return i;
}

RouteEntry route(const char* dst, const char* dev, const char* via = nullptr,
                 std::uint32_t table = 254, const char* scope = "global",
                 const char* type = "unicast") {
  RouteEntry r;
  r.dst = Prefix::parse(dst).value();
  r.family = r.dst.family();
  r.dev = dev;
  if (via != nullptr) r.gateway = ip(via);
  r.table = table;
  r.scope = scope;
  r.type = type;
  return r;
}

RuleEntry rule(core::Family f, std::uint32_t prio, std::uint32_t table) {
  RuleEntry r;
  r.family = f;
  r.priority = prio;
  r.table = table;
  return r;
}

// A dual-stack LAN host with a wg-quick style IPv4-only WireGuard tunnel and a fail-closed
// firewall: the clean baseline that each case then breaks in one way.
Snapshot wgQuickHost() {
  Snapshot s;
  s.interfaces = {iface("lo", "", {"127.0.0.1/8", "::1/128"}),
                  iface("eth0", "veth", {"192.168.1.20/24", "2001:db8:1::20/64"}),
                  iface("wg0", "wireguard", {"10.8.0.2/24"})};
  s.routes = {route("192.168.1.0/24", "eth0", nullptr, 254, "link"),
              route("0.0.0.0/0", "eth0", "192.168.1.1"),
              route("10.8.0.0/24", "wg0", nullptr, 254, "link"),
              route("0.0.0.0/0", "wg0", nullptr, 51820),
              route("127.0.0.1/32", "lo", nullptr, 255, "host", "local"),
              route("::/0", "wg0", nullptr, 51820)};
  const auto v4 = core::Family::kV4;
  const auto v6 = core::Family::kV6;
  for (auto f : {v4, v6}) {
    s.rules.push_back(rule(f, 0, 255));
    auto sup = rule(f, 32764, 254);
    sup.suppress_prefixlength = 0;
    s.rules.push_back(sup);
    auto mark = rule(f, 32765, 51820);
    mark.fwmark = 51820;
    mark.invert = true;
    s.rules.push_back(mark);
    s.rules.push_back(rule(f, 32766, 254));
  }
  s.resolvers = {ip("10.8.0.1")};
  WireGuardIface w;
  w.name = "wg0";
  w.fwmark = 51820;
  w.peers.push_back({"wg0", core::Endpoint{ip("203.0.113.5"), 51820}, {Prefix::any(v4)}});
  s.wireguard = {w};
  s.nftables = core::Json::parse(R"({"nftables":[
      {"table":{"family":"inet","name":"vpnleak","handle":1}},
      {"chain":{"family":"inet","table":"vpnleak","name":"output","hook":"output","type":"filter","prio":0,"policy":"drop"}},
      {"rule":{"family":"inet","table":"vpnleak","chain":"output","expr":[{"match":{"left":{"meta":{"key":"oifname"}},"right":"wg0"}}]}},
      {"set":{"family":"inet","table":"vpnleak","name":"endpoints4","elem":["203.0.113.5"]}}]})");
  return s;
}

std::vector<std::string> ids(const Report& r) {
  std::vector<std::string> out;
  for (const auto& f : r.findings) out.push_back(f.id);
  return out;
}

const Finding* find(const Report& r, const std::string& id) {
  for (const auto& f : r.findings) {
    if (f.id == id) return &f;
  }
  return nullptr;
}

TEST(Fib, WgQuickPolicyRouting) {
  const auto s = wgQuickHost();
  // Unmarked traffic: the main table's default is suppressed, so table 51820 sends it to wg0.
  auto d = decide(s, Packet::to(ip("1.1.1.1")));
  ASSERT_TRUE(d.delivered());
  EXPECT_EQ(d.dev(), "wg0");
  EXPECT_EQ(d.table, 51820U);
  // The tunnel's own packets carry the mark and take the main table's default.
  Packet marked = Packet::to(ip("203.0.113.5"));
  marked.mark = 51820;
  d = decide(s, marked);
  EXPECT_EQ(d.dev(), "eth0");
  EXPECT_EQ(d.route->gateway, ip("192.168.1.1"));
  // More specific main-table routes survive suppress_prefixlength 0: the LAN stays reachable.
  d = decide(s, Packet::to(ip("192.168.1.7")));
  EXPECT_EQ(d.dev(), "eth0");
  EXPECT_EQ(d.table, 254U);
  // A bound socket only sees its interface's routes.
  Packet bound = Packet::to(ip("1.1.1.1"));
  bound.oif = "eth0";
  EXPECT_EQ(decide(s, bound).dev(), "eth0");
}

TEST(Fib, ThrowBlackholeAndDefaultRules) {
  Snapshot s;
  s.interfaces = {iface("eth0", "", {"192.168.1.2/24"})};
  s.routes = {route("0.0.0.0/0", "eth0", "192.168.1.1"),
              route("10.0.0.0/8", "", nullptr, 100, "global", "throw"),
              route("0.0.0.0/0", "", nullptr, 100, "global", "blackhole")};
  // No rules in the snapshot: the kernel's defaults (local, main, default) apply.
  EXPECT_EQ(decide(s, Packet::to(ip("8.8.8.8"))).dev(), "eth0");
  s.rules = {rule(core::Family::kV4, 100, 100), rule(core::Family::kV4, 200, 254)};
  EXPECT_EQ(decide(s, Packet::to(ip("8.8.8.8"))).kind, Decision::Kind::kBlackhole);
  EXPECT_EQ(decide(s, Packet::to(ip("10.1.1.1"))).dev(), "eth0");  // thrown to the next rule
  auto unreachable = rule(core::Family::kV4, 50, 0);
  unreachable.action = "unreachable";
  unreachable.to = Prefix::parse("10.0.0.0/8").value();
  s.rules.push_back(unreachable);
  EXPECT_EQ(decide(s, Packet::to(ip("10.1.1.1"))).kind, Decision::Kind::kUnreachable);
  EXPECT_EQ(decide(s, Packet::to(ip("::1"))).kind, Decision::Kind::kNoRoute);
}

TEST(Audit, CleanHostHasNoFindings) {
  auto s = wgQuickHost();
  // No IPv6 on the LAN in the clean case.
  s.interfaces[1].addresses.pop_back();
  const auto r = analyze(s);
  EXPECT_TRUE(r.findings.empty()) << ::testing::PrintToString(ids(r));
  ASSERT_EQ(r.tunnel.interfaces, std::vector<std::string>{"wg0"});
  ASSERT_EQ(r.tunnel.endpoints.size(), 1U);
  EXPECT_EQ(r.tunnel.fwmark, 51820U);
}

struct Case {
  const char* name;
  void (*breakIt)(Snapshot&);
  const char* id;
  Severity severity;
  const char* detail_mentions;
  bool keep_firewall = false;  // route cases run without the baseline's fail-closed firewall
};

class AuditFindingTest : public ::testing::TestWithParam<Case> {};

TEST_P(AuditFindingTest, ReportsWhatWasBroken) {
  const auto& c = GetParam();
  auto s = wgQuickHost();
  s.interfaces[1].addresses.pop_back();  // start from the clean host
  c.breakIt(s);
  // With the baseline's guard table every route finding would be mitigated (low).
  if (!c.keep_firewall) s.nftables = core::Json::parse(R"({"nftables":[]})");
  const auto r = analyze(s);
  const Finding* f = find(r, c.id);
  ASSERT_NE(f, nullptr) << c.id << " not in " << ::testing::PrintToString(ids(r));
  EXPECT_EQ(f->severity, c.severity) << f->detail;
  EXPECT_NE(f->detail.find(c.detail_mentions), std::string::npos) << f->detail;
  EXPECT_FALSE(f->fix.empty());
}

INSTANTIATE_TEST_SUITE_P(
    Table, AuditFindingTest,
    ::testing::Values(
        Case{"no_tunnel", [](Snapshot& s) { s.interfaces.pop_back(); }, "no-tunnel",
             Severity::kInfo, "no VPN tunnel"},
        Case{"ipv6_native",
             [](Snapshot& s) {
               // The tunnel carries IPv4 only; the LAN gives a global address and a default.
               s.interfaces[1].addresses.push_back({ip("2001:db8:1::20"), 64});
               std::erase_if(s.routes, [](const RouteEntry& r) {
                 return r.table == 51820 && r.family == core::Family::kV6;
               });
               s.routes.push_back(route("::/0", "eth0", "fe80::1"));
             },
             "ipv6-outside-tunnel", Severity::kHigh, "2001:db8:1::20"},
        Case{"tunnelvision_option121",
             [](Snapshot& s) {
               auto r = route("198.51.100.0/24", "eth0", "192.168.1.1");
               r.protocol = "dhcp";
               s.routes.push_back(r);
             },
             "route-bypass", Severity::kHigh, "198.51.100.0/24"},
        Case{"private_bypass",
             [](Snapshot& s) { s.routes.push_back(route("10.20.0.0/16", "eth0", "192.168.1.1")); },
             "route-bypass", Severity::kMedium, "10.20.0.0/16"},
        Case{"tunnel_without_default",
             [](Snapshot& s) {
               std::erase_if(s.routes, [](const RouteEntry& r) { return r.table == 51820; });
             },
             "route-bypass", Severity::kHigh, "does not carry the default route"},
        Case{"isp_resolver", [](Snapshot& s) { s.resolvers = {ip("192.168.1.1")}; },
             "dns-outside-tunnel", Severity::kHigh, "192.168.1.1"},
        Case{"resolved_link_dns",
             [](Snapshot& s) {
               s.resolvers = {ip("127.0.0.53")};
               s.link_dns["eth0"] = {ip("192.168.1.1")};
             },
             "dns-outside-tunnel", Severity::kHigh, "192.168.1.1"},
        Case{"localnet_public_prefix",
             [](Snapshot& s) {
               s.interfaces[1].addresses.push_back({ip("8.8.8.1"), 24});
               s.routes.push_back(route("8.8.8.0/24", "eth0", nullptr, 254, "link"));
             },
             "localnet-exposure", Severity::kHigh, "8.8.8.0/24"},
        Case{
            "endpoint_host_route",
            [](Snapshot& s) { s.routes.push_back(route("203.0.113.5/32", "eth0", "192.168.1.1")); },
            "endpoint-exception-broad", Severity::kMedium, "ServerIP"},
        Case{
            "endpoint_broad_route",
            [](Snapshot& s) { s.routes.push_back(route("203.0.113.0/24", "eth0", "192.168.1.1")); },
            "endpoint-exception-broad", Severity::kHigh, "203.0.113.0/24"},
        Case{"no_firewall",
             [](Snapshot& s) { s.nftables = core::Json::parse(R"({"nftables":[]})"); },
             "no-killswitch", Severity::kHigh, "IPv4 and IPv6"},
        Case{
            "firewall_ipv4_only",
            [](Snapshot& s) {
              s.nftables = core::Json::parse(
                  R"({"nftables":[{"chain":{"family":"ip","table":"f","name":"o","hook":"output","policy":"drop"}}]})");
            },
            "no-killswitch", Severity::kHigh, "IPv6", true},
        Case{"firewall_unreadable", [](Snapshot& s) { s.nftables = nullptr; }, "no-killswitch",
             Severity::kMedium, "could not be read", true},
        Case{"stale_guard",
             [](Snapshot& s) { s.wireguard[0].peers[0].endpoint->address = ip("203.0.113.99"); },
             "guard-mismatch", Severity::kHigh, "203.0.113.99", true}),
    [](const ::testing::TestParamInfo<Case>& tc) { return std::string(tc.param.name); });

TEST(Audit, NoTunnelJudgesNothingElse) {
  auto s = wgQuickHost();
  s.interfaces.pop_back();
  s.resolvers = {ip("192.168.1.1")};
  EXPECT_EQ(ids(analyze(s)), std::vector<std::string>{"no-tunnel"});
}

TEST(Audit, JsonReportShape) {
  auto s = wgQuickHost();
  s.resolvers = {ip("192.168.1.1")};
  s.nftables = core::Json::parse(R"({"nftables":[]})");
  const auto j = toJson(analyze(s));
  EXPECT_EQ(j.begin().key(), "schema");
  EXPECT_EQ(j["schema"], "vpnleak.audit/1");
  EXPECT_EQ(j["summary"]["highest"], "high");
  ASSERT_FALSE(j["findings"].empty());
  for (const auto& f : j["findings"]) {
    for (const char* k : {"id", "severity", "detail", "fix", "evidence"}) {
      EXPECT_TRUE(f.contains(k)) << k;
    }
  }
  EXPECT_TRUE(parseSeverity("medium").ok());
  EXPECT_FALSE(parseSeverity("urgent").ok());
}

}  // namespace
}  // namespace vpnleak::audit

namespace vpnleak::audit {
namespace {

TEST(Audit, FailClosedFirewallMitigatesRouteFindings) {
  auto s = wgQuickHost();
  s.resolvers = {ip("192.168.1.1")};
  // The baseline's guard table: inet output policy drop covers both families.
  auto r = analyze(s);
  const Finding* dns = find(r, "dns-outside-tunnel");
  ASSERT_NE(dns, nullptr);
  EXPECT_EQ(dns->severity, Severity::kLow);
  EXPECT_NE(dns->detail.find("mitigated"), std::string::npos);
  EXPECT_EQ(dns->evidence["mitigated_by_firewall"], true);
  // An IPv4-only firewall leaves an IPv6 path a leak.
  s.nftables = core::Json::parse(
      R"({"nftables":[{"chain":{"family":"ip","table":"f","name":"o","hook":"output","policy":"drop"}}]})");
  s.resolvers = {ip("2001:db8:1::1")};
  s.interfaces[1].addresses.push_back({ip("2001:db8:1::20"), 64});
  s.routes.push_back(route("2001:db8:1::/64", "eth0", nullptr, 254, "link"));
  r = analyze(s);
  dns = find(r, "dns-outside-tunnel");
  ASSERT_NE(dns, nullptr) << ::testing::PrintToString(ids(r));
  EXPECT_EQ(dns->severity, Severity::kHigh);
}

}  // namespace
}  // namespace vpnleak::audit
