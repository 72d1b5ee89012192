// Snapshots as files: round trip, strict reading of malformed input, and the text sources.
#include <gtest/gtest.h>

#include "audit/snapshot.hpp"
#include "test_support.hpp"

namespace vpnleak::audit {
namespace {

using core::IpAddress;

Snapshot sample() {
  Snapshot s;
  Interface eth;
  eth.name = "eth0";
  eth.kind = "veth";
  eth.up = true;
  eth.addresses = {{IpAddress::parse("192.168.1.2").value(), 24},
                   {IpAddress::parse("2001:db8::2").value(), 64}};
  s.interfaces = {eth};
  RouteEntry r;
  r.dst = core::Prefix::parse("0.0.0.0/0").value();
  r.gateway = IpAddress::parse("192.168.1.1").value();
  r.dev = "eth0";
  r.protocol = "dhcp";
  r.metric = 100;
  s.routes = {r};
  RuleEntry ru;
  ru.priority = 32765;
  ru.table = 51820;
  ru.fwmark = 51820;
  ru.invert = true;
  ru.suppress_prefixlength = 0;
  ru.uidrange = std::pair<std::uint32_t, std::uint32_t>{1000, 1000};
  s.rules = {ru};
  s.resolvers = {IpAddress::parse("192.168.1.1").value()};
  s.link_dns["eth0"] = {IpAddress::parse("fe80::1").value()};
  WireGuardIface w;
  w.name = "wg0";
  w.fwmark = 51820;
  w.peers.push_back({"wg0",
                     core::Endpoint::parse("203.0.113.5:51820").value(),
                     {core::Prefix::parse("0.0.0.0/0").value()}});
  s.wireguard = {w};
  s.nftables = core::Json::parse(R"({"nftables":[]})");
  s.notes = {"a note"};
  return s;
}

TEST(Snapshot, JsonRoundTripKeepsEverything) {
  const auto j = toJson(sample());
  EXPECT_EQ(j.begin().key(), "schema");
  auto back = snapshotFromJson(core::Json::parse(j.dump()));
  ASSERT_TRUE(back.ok()) << back.error().message();
  EXPECT_EQ(toJson(*back).dump(), j.dump());
  EXPECT_EQ(back->rules[0].uidrange->first, 1000U);
  EXPECT_EQ(back->wireguard[0].peers[0].endpoint->port, 51820);
}

struct BadCase {
  const char* name;
  const char* pointer;  // JSON pointer of the field to replace
  const char* value;    // JSON text
  const char* mentions;
};

class SnapshotRejectTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(SnapshotRejectTest, NamesThePath) {
  const auto& c = GetParam();
  auto j = toJson(sample());
  j[core::Json::json_pointer(c.pointer)] = core::Json::parse(c.value);
  auto r = snapshotFromJson(j);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().exitCode(), 2);
  EXPECT_NE(r.error().message().find(c.mentions), std::string::npos) << r.error().message();
}

INSTANTIATE_TEST_SUITE_P(
    Table, SnapshotRejectTest,
    ::testing::Values(BadCase{"schema", "/schema", "\"other/1\"", "schema"},
                      BadCase{"address", "/interfaces/0/addresses/0", "\"300.1.1.1/24\"",
                              "$.interfaces[0].addresses[0]"},
                      BadCase{"no_length", "/interfaces/0/addresses/0", "\"10.0.0.1\"",
                              "addresses[0]"},
                      BadCase{"route_dst", "/routes/0/dst", "\"nonsense\"", "$.routes[0].dst"},
                      BadCase{"route_family", "/routes/0/family", "\"ipv5\"", "family"},
                      BadCase{"family_mismatch", "/routes/0/dst", "\"::/0\"", "$.routes[0].dst"},
                      BadCase{"table", "/routes/0/table", "-1", "$.routes[0].table"},
                      BadCase{"rule_action", "/rules/0/action", "\"jump\"", "action"},
                      BadCase{"suppress", "/rules/0/suppress_prefixlength", "999", "suppress"},
                      BadCase{"uidrange", "/rules/0/uidrange", "[1]", "uidrange"},
                      BadCase{"resolver", "/resolvers/0", "\"dns.example\"", "$.resolvers[0]"},
                      BadCase{"endpoint", "/wireguard/0/peers/0/endpoint", "\"x:1\"", "endpoint"},
                      BadCase{"routes_type", "/routes", "{}", "$.routes"}),
    [](const ::testing::TestParamInfo<BadCase>& tc) { return std::string(tc.param.name); });

TEST(Sources, ResolvConf) {
  const auto r = parseResolvConf(
      "# comment\nsearch lan\nnameserver 192.168.1.1\nnameserver fe80::1%eth0\n"
      "nameserver bogus\noptions edns0\n  nameserver   9.9.9.9\n");
  ASSERT_EQ(r.size(), 3U);
  EXPECT_EQ(r[0].toString(), "192.168.1.1");
  EXPECT_EQ(r[1].toString(), "fe80::1");
  EXPECT_EQ(r[2].toString(), "9.9.9.9");
}

TEST(Sources, WgDump) {
  const auto w = parseWgDump(
      "wg0\tPRIV\tPUB\t0\t0xca6c\n"
      "wg0\tPEER\t(none)\t203.0.113.2:51820\t0.0.0.0/0,::/0\t1700000000\t1\t2\t25\n"
      "wg1\tPRIV\tPUB\t51820\toff\n"
      "wg1\tPEER\t(none)\t(none)\t10.0.0.2/32\t0\t0\t0\toff\n");
  ASSERT_EQ(w.size(), 2U);
  EXPECT_EQ(w[0].fwmark, 51820U);
  ASSERT_EQ(w[0].peers.size(), 1U);
  EXPECT_EQ(w[0].peers[0].endpoint->toString(), "203.0.113.2:51820");
  EXPECT_EQ(w[0].peers[0].allowed_ips.size(), 2U);
  EXPECT_FALSE(w[1].fwmark.has_value());
  EXPECT_FALSE(w[1].peers[0].endpoint.has_value());
}

TEST(Sources, ResolvectlDns) {
  const auto m =
      parseResolvectlDns("Global: 1.1.1.1\nLink 2 (eth0): 192.168.1.1 fe80::1%2\nLink 3 (wg0):\n");
  EXPECT_EQ(m.at("global").size(), 1U);
  ASSERT_EQ(m.at("eth0").size(), 2U);
  EXPECT_EQ(m.at("eth0")[1].toString(), "fe80::1");
  EXPECT_TRUE(m.at("wg0").empty());
}

}  // namespace
}  // namespace vpnleak::audit
