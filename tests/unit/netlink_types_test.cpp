// Parsing of rtnetlink messages into links, addresses, routes and rules; names; JSON shape.
#include <gtest/gtest.h>
#include <linux/fib_rules.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/if_arp.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <string>
#include <vector>

#include "netlink/dump.hpp"
#include "netlink/parse.hpp"
#include "netlink/types.hpp"
#include "netlink_test_messages.hpp"

namespace vpnleak::netlink {
namespace {

using core::Errc;
using core::Family;
using core::IpAddress;
using core::Prefix;
using testmsg::Msg;

IpAddress ip(const std::string& s) { return IpAddress::parse(s).value(); }
Prefix pfx(const std::string& s) { return Prefix::parse(s).value(); }

// ---- links ----

TEST(NetlinkParseLink, VethWithMasterAndKind) {
  Msg m(RTM_NEWLINK);
  auto& ifi = m.header<ifinfomsg>();
  ifi.ifi_index = 7;
  ifi.ifi_type = ARPHRD_ETHER;
  ifi.ifi_flags = IFF_UP | IFF_BROADCAST | IFF_LOWER_UP;
  m.str(IFLA_IFNAME, "lan0").u32(IFLA_MTU, 1420).u32(IFLA_MASTER, 3).u32(IFLA_GROUP, 5);
  m.u8(IFLA_OPERSTATE, IF_OPER_UP);
  m.bytes(IFLA_ADDRESS, {0x02, 0xab, 0x00, 0x10, 0xfe, 0x01});
  nlattr* info = m.nestStart(IFLA_LINKINFO);
  m.str(IFLA_INFO_KIND, "veth");
  m.nestEnd(info);

  auto link = parseLink(m.nlh());
  ASSERT_TRUE(link.ok()) << link.error().message();
  EXPECT_EQ(link->index, 7);
  EXPECT_EQ(link->name, "lan0");
  EXPECT_EQ(link->kind, "veth");
  EXPECT_TRUE(link->up);
  EXPECT_TRUE(link->lower_up);
  EXPECT_EQ(link->mtu, 1420U);
  EXPECT_EQ(link->mac, "02:ab:00:10:fe:01");
  EXPECT_EQ(link->master, 3);
  EXPECT_EQ(link->group, 5U);
  EXPECT_EQ(link->operstate, IF_OPER_UP);
  EXPECT_EQ(link->type, ARPHRD_ETHER);
}

TEST(NetlinkParseLink, TunWithoutHardwareAddress) {
  Msg m(RTM_NEWLINK);
  auto& ifi = m.header<ifinfomsg>();
  ifi.ifi_index = 9;
  ifi.ifi_type = ARPHRD_NONE;
  ifi.ifi_flags = IFF_POINTOPOINT | IFF_NOARP;
  m.str(IFLA_IFNAME, "wg0").u32(IFLA_MTU, 1420);
  nlattr* info = m.nestStart(IFLA_LINKINFO);
  m.str(IFLA_INFO_KIND, "tun");
  m.nestEnd(info);
  auto link = parseLink(m.nlh());
  ASSERT_TRUE(link.ok());
  EXPECT_EQ(link->kind, "tun");
  EXPECT_EQ(link->mac, "");
  EXPECT_FALSE(link->up);
  EXPECT_EQ(link->master, 0);
}

TEST(NetlinkParseLink, RejectsTruncatedAndNameless) {
  Msg truncated(RTM_NEWLINK);  // no ifinfomsg at all
  auto r1 = parseLink(truncated.nlh());
  ASSERT_FALSE(r1.ok());
  EXPECT_EQ(r1.error().code, Errc::kMalformed);

  Msg nameless(RTM_NEWLINK);
  nameless.header<ifinfomsg>().ifi_index = 2;
  nameless.u32(IFLA_MTU, 1500);
  auto r2 = parseLink(nameless.nlh());
  ASSERT_FALSE(r2.ok());
  EXPECT_EQ(r2.error().code, Errc::kMalformed);

  Msg short_mtu(RTM_NEWLINK);
  short_mtu.header<ifinfomsg>().ifi_index = 2;
  short_mtu.str(IFLA_IFNAME, "x").u8(IFLA_MTU, 1);
  EXPECT_FALSE(parseLink(short_mtu.nlh()).ok());
}

// ---- addresses ----

struct AddressCase {
  const char* name;
  std::uint8_t af;
  const char* local;    // IFA_LOCAL, "" for none
  const char* address;  // IFA_ADDRESS, "" for none
  std::uint8_t prefix_len;
  std::uint32_t flags;  // IFA_FLAGS
  const char* want_cidr;
  const char* want_peer;  // "" for none
};

class NetlinkParseAddress : public ::testing::TestWithParam<AddressCase> {};

TEST_P(NetlinkParseAddress, Cases) {
  const auto& c = GetParam();
  Msg m(RTM_NEWADDR);
  auto& ifa = m.header<ifaddrmsg>();
  ifa.ifa_family = c.af;
  ifa.ifa_prefixlen = c.prefix_len;
  ifa.ifa_index = 4;
  ifa.ifa_scope = RT_SCOPE_UNIVERSE;
  if (*c.local != '\0') m.addr(IFA_LOCAL, c.local);
  if (*c.address != '\0') m.addr(IFA_ADDRESS, c.address);
  m.u32(IFA_FLAGS, c.flags);
  auto a = parseAddress(m.nlh());
  ASSERT_TRUE(a.ok()) << a.error().message();
  ASSERT_TRUE(a->has_value());
  const Address& addr = **a;
  EXPECT_EQ(addr.ifindex, 4);
  EXPECT_EQ(addr.address.toString(), c.want_cidr);
  EXPECT_EQ(addr.peer ? addr.peer->toString() : "", c.want_peer);
  EXPECT_EQ(addr.flags, c.flags);
  EXPECT_EQ(addr.family, c.af == AF_INET ? Family::kV4 : Family::kV6);
}

INSTANTIATE_TEST_SUITE_P(
    Table, NetlinkParseAddress,
    ::testing::Values(AddressCase{"v4", AF_INET, "10.0.0.1", "10.0.0.1", 24, IFA_F_PERMANENT,
                                  "10.0.0.1/24", ""},
                      AddressCase{"v4_peer", AF_INET, "10.2.0.2", "10.2.0.1", 32, IFA_F_PERMANENT,
                                  "10.2.0.2/32", "10.2.0.1"},
                      AddressCase{"v6", AF_INET6, "", "fd00::1", 64, IFA_F_PERMANENT | IFA_F_NODAD,
                                  "fd00::1/64", ""},
                      AddressCase{"v6_tentative", AF_INET6, "", "2001:db8::5", 64,
                                  IFA_F_TENTATIVE | IFA_F_SECONDARY, "2001:db8::5/64", ""}),
    [](const auto& param_info) { return std::string(param_info.param.name); });

TEST(NetlinkParseAddressErrors, WrongLengthOtherFamilyAndBadPrefix) {
  Msg bad(RTM_NEWADDR);
  bad.header<ifaddrmsg>().ifa_family = AF_INET;
  bad.bytes(IFA_ADDRESS, {10, 0, 0});
  auto r = parseAddress(bad.nlh());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::kMalformed);

  Msg other(RTM_NEWADDR);
  other.header<ifaddrmsg>().ifa_family = AF_PACKET;
  auto o = parseAddress(other.nlh());
  ASSERT_TRUE(o.ok());
  EXPECT_FALSE(o->has_value());

  Msg long_prefix(RTM_NEWADDR);
  auto& ifa = long_prefix.header<ifaddrmsg>();
  ifa.ifa_family = AF_INET;
  ifa.ifa_prefixlen = 33;
  long_prefix.addr(IFA_LOCAL, "10.0.0.1");
  EXPECT_FALSE(parseAddress(long_prefix.nlh()).ok());
}

TEST(NetlinkAddressFlags, Accessors) {
  Address a;
  a.flags = IFA_F_PERMANENT | IFA_F_DEPRECATED;
  EXPECT_TRUE(a.permanent());
  EXPECT_TRUE(a.deprecated());
  EXPECT_FALSE(a.tentative());
  EXPECT_FALSE(a.dadFailed());
}

// ---- routes ----

Msg& routeHeader(Msg& m, std::uint8_t af, std::uint8_t dst_len, std::uint8_t table,
                 std::uint8_t type = RTN_UNICAST) {
  auto& rtm = m.header<rtmsg>();
  rtm.rtm_family = af;
  rtm.rtm_dst_len = dst_len;
  rtm.rtm_table = table;
  rtm.rtm_type = type;
  rtm.rtm_protocol = RTPROT_BOOT;
  rtm.rtm_scope = RT_SCOPE_UNIVERSE;
  return m;
}

TEST(NetlinkParseRoute, WgQuickDefaultInTable51820) {
  Msg m(RTM_NEWROUTE);
  // 51820 does not fit rtm_table: the kernel puts RT_TABLE_COMPAT there and the id in RTA_TABLE.
  routeHeader(m, AF_INET, 0, RT_TABLE_COMPAT).u32(RTA_TABLE, 51820).u32(RTA_OIF, 9);
  auto r = parseRoute(m.nlh());
  ASSERT_TRUE(r.ok()) << r.error().message();
  ASSERT_TRUE(r->has_value());
  const Route& route = **r;
  EXPECT_EQ(route.table, 51820U);
  EXPECT_EQ(route.dst, Prefix::any(Family::kV4));
  EXPECT_TRUE(route.dst.isDefault());
  EXPECT_EQ(route.oif, 9);
  EXPECT_FALSE(route.gateway);
  EXPECT_FALSE(route.src);
  EXPECT_EQ(route.type, RouteType::kUnicast);
}

TEST(NetlinkParseRoute, GatewayMetricPrefsrcAndSmallTable) {
  Msg m(RTM_NEWROUTE);
  routeHeader(m, AF_INET, 24, RT_TABLE_MAIN);
  m.addr(RTA_DST, "192.168.7.0").addr(RTA_GATEWAY, "10.0.0.254").addr(RTA_PREFSRC, "10.0.0.1");
  m.u32(RTA_PRIORITY, 600).u32(RTA_OIF, 3);
  auto r = parseRoute(m.nlh());
  ASSERT_TRUE(r.ok());
  const Route& route = **r;
  EXPECT_EQ(route.table, static_cast<std::uint32_t>(RT_TABLE_MAIN));  // no RTA_TABLE: rtm_table
  EXPECT_EQ(route.dst, pfx("192.168.7.0/24"));
  EXPECT_EQ(route.gateway, ip("10.0.0.254"));
  EXPECT_EQ(route.prefsrc, ip("10.0.0.1"));
  EXPECT_EQ(route.priority, 600U);
  EXPECT_EQ(route.protocol, RTPROT_BOOT);
}

TEST(NetlinkParseRoute, Ipv6SourceRouteAndUnreachable) {
  Msg m(RTM_NEWROUTE);
  routeHeader(m, AF_INET6, 48, RT_TABLE_MAIN, RTN_UNREACHABLE);
  static_cast<rtmsg*>(mnl_nlmsg_get_payload(&m.nlh()))->rtm_src_len = 64;
  m.addr(RTA_DST, "2001:db8:1::").addr(RTA_SRC, "fd00:1::").u32(RTA_TABLE, RT_TABLE_MAIN);
  auto r = parseRoute(m.nlh());
  ASSERT_TRUE(r.ok()) << r.error().message();
  const Route& route = **r;
  EXPECT_EQ(route.family, Family::kV6);
  EXPECT_EQ(route.type, RouteType::kUnreachable);
  EXPECT_EQ(route.dst, pfx("2001:db8:1::/48"));
  ASSERT_TRUE(route.src);
  EXPECT_EQ(*route.src, pfx("fd00:1::/64"));
}

TEST(NetlinkParseRoute, ViaIpv6GatewayForIpv4Route) {
  Msg m(RTM_NEWROUTE);
  routeHeader(m, AF_INET, 0, RT_TABLE_MAIN);
  struct {
    std::uint16_t family;
    std::uint8_t addr[16];
  } via{AF_INET6, {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}};
  m.raw(RTA_VIA, &via, sizeof(via));
  auto r = parseRoute(m.nlh());
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ((*r)->gateway, ip("fe80::1"));
}

TEST(NetlinkParseRoute, Multipath) {
  Msg m(RTM_NEWROUTE);
  routeHeader(m, AF_INET, 0, RT_TABLE_MAIN);
  // Two rtnexthop entries, each followed by an RTA_GATEWAY attribute.
  struct Hop {
    rtnexthop rtnh;
    nlattr gw_attr;
    std::array<std::uint8_t, 4> gw;
  };
  auto hop = [](int ifindex, std::uint8_t hops, std::array<std::uint8_t, 4> gw) {
    Hop h{};
    h.rtnh = rtnexthop{sizeof(Hop), 0, hops, ifindex};
    h.gw_attr = nlattr{sizeof(nlattr) + 4, RTA_GATEWAY};
    h.gw = gw;
    return h;
  };
  std::array<Hop, 2> hops{hop(3, 0, {10, 0, 0, 1}), hop(4, 2, {10, 0, 1, 1})};
  m.raw(RTA_MULTIPATH, hops.data(), sizeof(hops));
  auto r = parseRoute(m.nlh());
  ASSERT_TRUE(r.ok()) << r.error().message();
  const Route& route = **r;
  ASSERT_EQ(route.nexthops.size(), 2U);
  EXPECT_EQ(route.nexthops[0].oif, 3);
  EXPECT_EQ(route.nexthops[0].gateway, ip("10.0.0.1"));
  EXPECT_EQ(route.nexthops[0].weight, 1);
  EXPECT_EQ(route.nexthops[1].oif, 4);
  EXPECT_EQ(route.nexthops[1].gateway, ip("10.0.1.1"));
  EXPECT_EQ(route.nexthops[1].weight, 3);

  Msg overlong(RTM_NEWROUTE);
  routeHeader(overlong, AF_INET, 0, RT_TABLE_MAIN);
  hops[1].rtnh.rtnh_len = 200;  // runs past the attribute
  overlong.raw(RTA_MULTIPATH, hops.data(), sizeof(hops));
  EXPECT_FALSE(parseRoute(overlong.nlh()).ok());
}

TEST(NetlinkParseRoute, MalformedNeverBecomesADefaultRoute) {
  Msg short_dst(RTM_NEWROUTE);
  routeHeader(short_dst, AF_INET, 24, RT_TABLE_MAIN).bytes(RTA_DST, {10, 0, 0});
  EXPECT_FALSE(parseRoute(short_dst.nlh()).ok());

  Msg long_prefix(RTM_NEWROUTE);
  routeHeader(long_prefix, AF_INET, 33, RT_TABLE_MAIN).addr(RTA_DST, "10.0.0.0");
  EXPECT_FALSE(parseRoute(long_prefix.nlh()).ok());

  Msg wrong_family_gw(RTM_NEWROUTE);
  routeHeader(wrong_family_gw, AF_INET6, 0, RT_TABLE_MAIN).addr(RTA_GATEWAY, "10.0.0.1");
  EXPECT_FALSE(parseRoute(wrong_family_gw.nlh()).ok());

  Msg mpls(RTM_NEWROUTE);
  routeHeader(mpls, 28 /* AF_MPLS */, 20, RT_TABLE_MAIN);
  auto r = parseRoute(mpls.nlh());
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->has_value());
}

// ---- rules ----

Msg& ruleHeader(Msg& m, std::uint8_t af, std::uint8_t action, std::uint32_t flags = 0) {
  auto& frh = m.header<fib_rule_hdr>();
  frh.family = af;
  frh.action = action;
  frh.flags = flags;
  frh.table = RT_TABLE_UNSPEC;
  return m;
}

TEST(NetlinkParseRule, WgQuickRules) {
  // ip rule add not fwmark 51820 table 51820
  Msg mark(RTM_NEWRULE);
  ruleHeader(mark, AF_INET, FR_ACT_TO_TBL, FIB_RULE_INVERT);
  mark.u32(FRA_PRIORITY, 32765).u32(FRA_TABLE, 51820).u32(FRA_FWMARK, 51820);
  mark.u32(FRA_FWMASK, 0xffffffffU).u8(FRA_PROTOCOL, RTPROT_BOOT);
  auto r = parseRule(mark.nlh());
  ASSERT_TRUE(r.ok()) << r.error().message();
  const Rule& rule = **r;
  EXPECT_EQ(rule.priority, 32765U);
  EXPECT_EQ(rule.table, 51820U);
  EXPECT_TRUE(rule.invert);
  EXPECT_EQ(rule.fwmark, 51820U);
  EXPECT_EQ(rule.fwmask, 0xffffffffU);
  EXPECT_EQ(rule.action, RuleAction::kToTable);
  EXPECT_EQ(rule.suppress_prefixlen, -1);
  EXPECT_EQ(rule.suppress_ifgroup, -1);

  // ip rule add table main suppress_prefixlength 0
  Msg suppress(RTM_NEWRULE);
  ruleHeader(suppress, AF_INET6, FR_ACT_TO_TBL);
  suppress.u32(FRA_PRIORITY, 32764).u32(FRA_TABLE, RT_TABLE_MAIN).u32(FRA_SUPPRESS_PREFIXLEN, 0);
  auto s = parseRule(suppress.nlh());
  ASSERT_TRUE(s.ok());
  EXPECT_EQ((*s)->family, Family::kV6);
  EXPECT_EQ((*s)->suppress_prefixlen, 0);
  EXPECT_FALSE((*s)->fwmark);
  EXPECT_FALSE((*s)->invert);
}

TEST(NetlinkParseRule, SelectorsAndRanges) {
  Msg m(RTM_NEWRULE);
  auto* hdr = static_cast<fib_rule_hdr*>(
      mnl_nlmsg_get_payload(&ruleHeader(m, AF_INET, FR_ACT_UNREACHABLE).nlh()));
  hdr->src_len = 16;
  hdr->dst_len = 8;
  m.addr(FRA_SRC, "192.168.0.0").addr(FRA_DST, "10.0.0.0").str(FRA_IIFNAME, "lan0");
  m.str(FRA_OIFNAME, "wg0").u32(FRA_FWMASK, 0xff).u8(FRA_L3MDEV, 1).u8(FRA_IP_PROTO, 17);
  const fib_rule_uid_range uids{1000, 1999};
  m.raw(FRA_UID_RANGE, &uids, sizeof(uids));
  const fib_rule_port_range dport{53, 53};
  m.raw(FRA_DPORT_RANGE, &dport, sizeof(dport));
  auto r = parseRule(m.nlh());
  ASSERT_TRUE(r.ok()) << r.error().message();
  const Rule& rule = **r;
  EXPECT_EQ(rule.action, RuleAction::kUnreachable);
  EXPECT_EQ(rule.src, pfx("192.168.0.0/16"));
  EXPECT_EQ(rule.dst, pfx("10.0.0.0/8"));
  EXPECT_EQ(rule.iifname, "lan0");
  EXPECT_EQ(rule.oifname, "wg0");
  EXPECT_EQ(rule.fwmark, 0U);  // "fwmark 0/0xff": mask without mark
  EXPECT_EQ(rule.fwmask, 0xffU);
  EXPECT_EQ(rule.uid_range, (UidRange{1000, 1999}));
  EXPECT_EQ(rule.dport, (PortRange{53, 53}));
  EXPECT_FALSE(rule.sport);
  EXPECT_TRUE(rule.l3mdev);
  EXPECT_EQ(rule.ip_proto, 17);
}

// ---- names ----

TEST(NetlinkNames, Tables) {
  struct Case {
    std::string got;
    std::string want;
  };
  const std::vector<Case> cases = {
      {routeTypeName(RouteType::kUnicast), "unicast"},
      {routeTypeName(RouteType::kBlackhole), "blackhole"},
      {routeTypeName(RouteType::kThrow), "throw"},
      {routeTypeName(static_cast<RouteType>(42)), "42"},
      {scopeName(Scope::kUniverse), "global"},
      {scopeName(Scope::kLink), "link"},
      {scopeName(Scope::kHost), "host"},
      {tableName(RT_TABLE_MAIN), "main"},
      {tableName(RT_TABLE_LOCAL), "local"},
      {tableName(51820), "51820"},
      {routeProtocolName(RTPROT_KERNEL), "kernel"},
      {routeProtocolName(RTPROT_DHCP), "dhcp"},
      {routeProtocolName(RTPROT_RA), "ra"},
      {routeProtocolName(250), "250"},
      {ruleActionName(RuleAction::kToTable), "to_tbl"},
      {ruleActionName(RuleAction::kProhibit), "prohibit"},
      {operStateName(IF_OPER_UP), "up"},
      {operStateName(IF_OPER_LOWERLAYERDOWN), "lowerlayerdown"},
      {linkTypeName(ARPHRD_NONE), "none"},
      {linkTypeName(ARPHRD_LOOPBACK), "loopback"},
      {formatMac(std::vector<std::uint8_t>{0xde, 0xad, 0x00, 0x01}), "de:ad:00:01"},
      {formatMac({}), ""},
  };
  for (const auto& c : cases) EXPECT_EQ(c.got, c.want);
}

TEST(NetlinkNames, FlagLists) {
  using V = std::vector<std::string>;
  EXPECT_EQ(addressFlagNames(Family::kV4, IFA_F_SECONDARY | IFA_F_PERMANENT),
            (V{"secondary", "permanent"}));
  EXPECT_EQ(addressFlagNames(Family::kV6, IFA_F_SECONDARY | IFA_F_TENTATIVE),
            (V{"temporary", "tentative"}));
  EXPECT_EQ(linkFlagNames(IFF_UP | IFF_LOWER_UP | IFF_NOARP), (V{"up", "noarp", "lower_up"}));
  EXPECT_EQ(linkFlagNames(0), V{});
}

}  // namespace
}  // namespace vpnleak::netlink
