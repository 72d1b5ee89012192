// JSON shape of links, addresses, routes, rules and the snapshot: the keys are a contract.
#include <gtest/gtest.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>

#include <string>
#include <vector>

#include "netlink/dump.hpp"
#include "netlink/types.hpp"

namespace vpnleak::netlink {
namespace {

using core::Family;
using core::IpAddress;
using core::Prefix;

IpAddress ip(const std::string& s) { return IpAddress::parse(s).value(); }
Prefix pfx(const std::string& s) { return Prefix::parse(s).value(); }

std::vector<std::string> keysOf(const core::Json& j) {
  std::vector<std::string> keys;
  for (const auto& item : j.items()) keys.push_back(item.key());
  return keys;
}

TEST(NetlinkJson, KeysAreStable) {
  using V = std::vector<std::string>;
  EXPECT_EQ(keysOf(toJson(Link{})), (V{"index", "name", "kind", "flags", "up", "lower_up",
                                       "operstate", "mtu", "mac", "master", "type", "group"}));
  EXPECT_EQ(keysOf(toJson(Address{})), (V{"ifindex", "ifname", "family", "address", "prefix_len",
                                          "peer", "scope", "flags", "label"}));
  EXPECT_EQ(keysOf(toJson(Route{})),
            (V{"family", "table", "table_name", "type", "dst", "src", "gateway", "oif", "oif_name",
               "priority", "protocol", "scope", "prefsrc", "flags", "nexthops", "nh_id"}));
  EXPECT_EQ(keysOf(toJson(Rule{})), (V{"family",
                                       "priority",
                                       "table",
                                       "table_name",
                                       "action",
                                       "invert",
                                       "fwmark",
                                       "fwmask",
                                       "suppress_prefixlen",
                                       "suppress_ifgroup",
                                       "iifname",
                                       "oifname",
                                       "src",
                                       "dst",
                                       "uid_range",
                                       "l3mdev",
                                       "tos",
                                       "protocol",
                                       "ip_proto",
                                       "sport",
                                       "dport",
                                       "goto"}));
}

TEST(NetlinkJson, Values) {
  Rule rule;
  rule.family = Family::kV4;
  rule.priority = 32765;
  rule.table = 51820;
  rule.invert = true;
  rule.fwmark = 51820;
  rule.fwmask = 0xffffffffU;
  rule.uid_range = UidRange{0, 999};
  const auto j = toJson(rule);
  EXPECT_EQ(j["family"], "ipv4");
  EXPECT_EQ(j["table"], 51820);
  EXPECT_EQ(j["table_name"], "51820");
  EXPECT_EQ(j["invert"], true);
  EXPECT_EQ(j["fwmark"], 51820);
  EXPECT_EQ(j["suppress_prefixlen"], nullptr);
  EXPECT_EQ(j["uid_range"]["end"], 999);

  Route route;
  route.family = Family::kV6;
  route.table = RT_TABLE_MAIN;
  route.dst = Prefix::any(Family::kV6);
  route.gateway = ip("fd00::fe");
  route.oif = 3;
  route.oif_name = "lan0";
  const auto r = toJson(route);
  EXPECT_EQ(r["dst"], "::/0");
  EXPECT_EQ(r["gateway"], "fd00::fe");
  EXPECT_EQ(r["table_name"], "main");
  EXPECT_EQ(r["oif_name"], "lan0");
  EXPECT_EQ(r["src"], nullptr);

  Address addr;
  addr.family = Family::kV4;
  addr.address = Cidr{ip("10.0.0.1"), 24};
  addr.flags = IFA_F_PERMANENT;
  addr.scope = RT_SCOPE_UNIVERSE;
  const auto a = toJson(addr);
  EXPECT_EQ(a["address"], "10.0.0.1");
  EXPECT_EQ(a["prefix_len"], 24);
  EXPECT_EQ(a["scope"], "global");
  EXPECT_EQ(a["flags"], core::Json::array({"permanent"}));
  EXPECT_EQ(a["ifname"], nullptr);
  EXPECT_EQ(addr.address.network(), pfx("10.0.0.0/24"));
}

TEST(NetlinkJson, SnapshotDocument) {
  Snapshot snap;
  Link lo;
  lo.index = 1;
  lo.name = "lo";
  snap.links.push_back(lo);
  const auto j = snap.toJson();
  EXPECT_EQ(keysOf(j),
            (std::vector<std::string>{"schema", "links", "addresses", "routes", "rules"}));
  EXPECT_EQ(j["schema"], kSnapshotSchema);
  EXPECT_EQ(j["links"][0]["name"], "lo");
  EXPECT_TRUE(j["rules"].is_array());
}

}  // namespace
}  // namespace vpnleak::netlink
