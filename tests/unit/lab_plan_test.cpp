#include <gtest/gtest.h>

#include "test_support.hpp"

#include <set>

#include "lab/plan.hpp"
#include "lab/resolver.hpp"

namespace vpnleak::lab {
namespace {

struct ValidateCase {
  const char* prefix;
  const char* zone;
  bool ok;
};

class ValidateTest : public ::testing::TestWithParam<ValidateCase> {};

TEST_P(ValidateTest, AcceptsOrNamesTheBadValue) {
  const auto& c = GetParam();
  LabOptions o;
  o.prefix = c.prefix;
  o.zone = c.zone;
  auto st = validate(o);
  ASSERT_EQ(st.ok(), c.ok) << c.prefix << " " << c.zone;
  if (!c.ok) {
    const auto msg = st.error().message();
    EXPECT_TRUE(msg.find(std::string("'") + c.prefix + "'") != std::string::npos ||
                msg.find(std::string("'") + c.zone + "'") != std::string::npos)
        << msg;
    EXPECT_EQ(st.error().exitCode(), 2);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, ValidateTest,
    ::testing::Values(
        ValidateCase{"vl-", "leak.test", true}, ValidateCase{"lab2-", "leak.test.", true},
        ValidateCase{"abcdefgh", "a.b", true}, ValidateCase{"", "leak.test", false},
        ValidateCase{"abcdefghi", "leak.test", false}, ValidateCase{"-vl", "leak.test", false},
        ValidateCase{"VL-", "leak.test", false}, ValidateCase{"v/l", "leak.test", false},
        ValidateCase{"vl-", "", false}, ValidateCase{"vl-", "bad..zone", false},
        ValidateCase{"vl-", "-x.test", false}, ValidateCase{"vl-", "under_score.test", false}),
    VL_CASE_NAMES);

TEST(Plan, NamesFitTheKernelAndAreUniqueAcrossNamespaces) {
  LabOptions o;
  o.prefix = "abcdefgh";  // the longest prefix allowed
  const auto plan = makePlan(o);
  EXPECT_LE(plan.tunnel.client_iface.size(), 15U);
  EXPECT_NE(plan.tunnel.client_iface, plan.tunnel.server_iface);
  std::set<std::string> ns;
  for (const auto& n : plan.nodes) {
    EXPECT_EQ(n.netns, o.prefix + n.role);
    ns.insert(n.netns);
    for (const auto& i : n.ifaces) EXPECT_LE(i.name.size(), 15U);
  }
  EXPECT_EQ(ns.size(), roles().size());
}

TEST(Plan, EveryLinkJoinsDeclaredInterfaces) {
  const auto plan = makePlan({});
  for (const auto& l : plan.links) {
    auto has = [&](const std::string& role, const std::string& iface) {
      for (const auto& i : plan.node(role).ifaces) {
        if (i.name == iface) return true;
      }
      return false;
    };
    EXPECT_TRUE(has(l.a_role, l.a_iface)) << l.a_role << "/" << l.a_iface;
    EXPECT_TRUE(has(l.b_role, l.b_iface)) << l.b_role << "/" << l.b_iface;
  }
}

TEST(Plan, DnsModeAndTunnelFamiliesDecideResolversAndExits) {
  LabOptions o;
  auto vpn4 = makePlan(o);
  ASSERT_EQ(vpn4.clientResolvers().size(), 1U);
  EXPECT_EQ(vpn4.clientResolvers()[0].toString(), "10.77.0.1");
  EXPECT_EQ(vpn4.expectedExit(core::Family::kV4)->toString(), "203.0.113.2");
  EXPECT_FALSE(vpn4.expectedExit(core::Family::kV6).has_value());
  EXPECT_FALSE(vpn4.tunnel.client_v6.has_value());

  o.dns = DnsMode::kIsp;
  o.tunnel_ipv6 = true;
  auto isp6 = makePlan(o);
  ASSERT_EQ(isp6.clientResolvers().size(), 1U);
  EXPECT_EQ(isp6.clientResolvers()[0].toString(), "192.168.77.1");
  EXPECT_EQ(isp6.expectedExit(core::Family::kV6)->toString(), "2001:db8:203::2");
  ASSERT_TRUE(isp6.tunnel.client_v6.has_value());

  const auto j = planToJson(isp6);
  EXPECT_EQ(j["dns"]["mode"], "isp");
  EXPECT_EQ(j["tunnel"]["ipv6"], true);
  EXPECT_EQ(j["expected_exit"]["ipv6"], "2001:db8:203::2");
  EXPECT_TRUE(planToJson(vpn4)["expected_exit"]["ipv6"].is_null());
}

TEST(Resolver, UnboundConfigListensOnlyWhereToldAndStubsTheZone) {
  ResolverConfig cfg{"unbound-x",
                     {core::IpAddress::parse("10.77.0.1").value()},
                     "leak.test",
                     {core::IpAddress::parse("192.0.2.10").value()},
                     "/tmp/x"};
  const auto conf = unboundConfig(cfg);
  EXPECT_NE(conf.find("interface: 10.77.0.1\n"), std::string::npos);
  EXPECT_EQ(conf.find("interface: 0.0.0.0"), std::string::npos);
  EXPECT_NE(conf.find("stub-zone:\n  name: \"leak.test.\"\n  stub-addr: 192.0.2.10\n"),
            std::string::npos);
  // Caching would hide repeated queries from the test server.
  EXPECT_NE(conf.find("cache-max-ttl: 0"), std::string::npos);
  EXPECT_NE(conf.find("do-daemonize: no"), std::string::npos);
}

}  // namespace
}  // namespace vpnleak::lab
