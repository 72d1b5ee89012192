#include "netlink/types.hpp"

#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/if_arp.h>
#include <linux/rtnetlink.h>

#include <array>
#include <cstdio>
#include <utility>

namespace vpnleak::netlink {

namespace {

template <typename T>
using NameTable = std::initializer_list<std::pair<T, const char*>>;

template <typename T>
std::string lookupName(NameTable<T> table, T value) {
  for (const auto& [v, name] : table) {
    if (v == value) return name;
  }
  return std::to_string(static_cast<std::uint64_t>(value));
}

template <typename T>
std::vector<std::string> flagNames(NameTable<T> table, T flags) {
  std::vector<std::string> names;
  for (const auto& [bit, name] : table) {
    if ((flags & bit) != 0) names.emplace_back(name);
  }
  return names;
}

template <typename T>
core::Json orNull(const std::optional<T>& v) {
  return v ? core::Json(*v) : core::Json(nullptr);
}

core::Json orNull(const std::string& s) { return s.empty() ? core::Json(nullptr) : core::Json(s); }

std::vector<std::string> routeFlagNames(std::uint32_t flags) {
  return flagNames<std::uint32_t>({{RTNH_F_DEAD, "dead"},
                                   {RTNH_F_PERVASIVE, "pervasive"},
                                   {RTNH_F_ONLINK, "onlink"},
                                   {RTNH_F_OFFLOAD, "offload"},
                                   {RTNH_F_LINKDOWN, "linkdown"},
                                   {RTNH_F_UNRESOLVED, "unresolved"},
                                   {RTNH_F_TRAP, "trap"},
                                   {RTM_F_CLONED, "cloned"}},
                                  flags);
}

core::Json rangeJson(const std::optional<PortRange>& r) {
  if (!r) return nullptr;
  return core::Json{{"start", r->start}, {"end", r->end}};
}

}  // namespace

core::Prefix Cidr::network() const {
  auto p = core::Prefix::make(address, prefix_len);
  return p ? *p : core::Prefix::host(address);
}

std::string Cidr::toString() const { return address.toString() + "/" + std::to_string(prefix_len); }

bool Address::permanent() const { return (flags & IFA_F_PERMANENT) != 0; }
bool Address::tentative() const { return (flags & IFA_F_TENTATIVE) != 0; }
bool Address::deprecated() const { return (flags & IFA_F_DEPRECATED) != 0; }
bool Address::dadFailed() const { return (flags & IFA_F_DADFAILED) != 0; }

std::string routeTypeName(RouteType t) {
  return lookupName<RouteType>({{RouteType::kUnspec, "unspec"},
                                {RouteType::kUnicast, "unicast"},
                                {RouteType::kLocal, "local"},
                                {RouteType::kBroadcast, "broadcast"},
                                {RouteType::kAnycast, "anycast"},
                                {RouteType::kMulticast, "multicast"},
                                {RouteType::kBlackhole, "blackhole"},
                                {RouteType::kUnreachable, "unreachable"},
                                {RouteType::kProhibit, "prohibit"},
                                {RouteType::kThrow, "throw"},
                                {RouteType::kNat, "nat"},
                                {RouteType::kXresolve, "xresolve"}},
                               t);
}

std::string scopeName(Scope s) {
  return lookupName<Scope>({{Scope::kUniverse, "global"},
                            {Scope::kSite, "site"},
                            {Scope::kLink, "link"},
                            {Scope::kHost, "host"},
                            {Scope::kNowhere, "nowhere"}},
                           s);
}

std::string routeProtocolName(std::uint8_t protocol) {
  return lookupName<std::uint8_t>(
      {{RTPROT_UNSPEC, "unspec"}, {RTPROT_REDIRECT, "redirect"}, {RTPROT_KERNEL, "kernel"},
       {RTPROT_BOOT, "boot"},     {RTPROT_STATIC, "static"},     {RTPROT_GATED, "gated"},
       {RTPROT_RA, "ra"},         {RTPROT_MRT, "mrt"},           {RTPROT_ZEBRA, "zebra"},
       {RTPROT_BIRD, "bird"},     {RTPROT_DNROUTED, "dnrouted"}, {RTPROT_XORP, "xorp"},
       {RTPROT_NTK, "ntk"},       {RTPROT_DHCP, "dhcp"},         {RTPROT_KEEPALIVED, "keepalived"},
       {RTPROT_BABEL, "babel"},   {RTPROT_OPENR, "openr"},       {RTPROT_BGP, "bgp"},
       {RTPROT_ISIS, "isis"},     {RTPROT_OSPF, "ospf"},         {RTPROT_RIP, "rip"},
       {RTPROT_EIGRP, "eigrp"}},
      protocol);
}

std::string tableName(std::uint32_t table) {
  return lookupName<std::uint32_t>({{RT_TABLE_UNSPEC, "unspec"},
                                    {RT_TABLE_DEFAULT, "default"},
                                    {RT_TABLE_MAIN, "main"},
                                    {RT_TABLE_LOCAL, "local"}},
                                   table);
}

std::string ruleActionName(RuleAction a) {
  return lookupName<RuleAction>({{RuleAction::kUnspec, "unspec"},
                                 {RuleAction::kToTable, "to_tbl"},
                                 {RuleAction::kGoto, "goto"},
                                 {RuleAction::kNop, "nop"},
                                 {RuleAction::kBlackhole, "blackhole"},
                                 {RuleAction::kUnreachable, "unreachable"},
                                 {RuleAction::kProhibit, "prohibit"}},
                                a);
}

std::string operStateName(std::uint8_t operstate) {
  return lookupName<std::uint8_t>({{IF_OPER_UNKNOWN, "unknown"},
                                   {IF_OPER_NOTPRESENT, "notpresent"},
                                   {IF_OPER_DOWN, "down"},
                                   {IF_OPER_LOWERLAYERDOWN, "lowerlayerdown"},
                                   {IF_OPER_TESTING, "testing"},
                                   {IF_OPER_DORMANT, "dormant"},
                                   {IF_OPER_UP, "up"}},
                                  operstate);
}

std::string linkTypeName(std::uint16_t arphrd) {
  return lookupName<std::uint16_t>({{ARPHRD_ETHER, "ether"},
                                    {ARPHRD_LOOPBACK, "loopback"},
                                    {ARPHRD_NONE, "none"},
                                    {ARPHRD_PPP, "ppp"},
                                    {ARPHRD_TUNNEL, "ipip"},
                                    {ARPHRD_TUNNEL6, "tunnel6"},
                                    {ARPHRD_SIT, "sit"},
                                    {ARPHRD_IPGRE, "gre"},
                                    {ARPHRD_IP6GRE, "gre6"},
                                    {ARPHRD_VOID, "void"}},
                                   arphrd);
}

std::vector<std::string> linkFlagNames(std::uint32_t iff_flags) {
  return flagNames<std::uint32_t>({{IFF_UP, "up"},
                                   {IFF_BROADCAST, "broadcast"},
                                   {IFF_DEBUG, "debug"},
                                   {IFF_LOOPBACK, "loopback"},
                                   {IFF_POINTOPOINT, "pointopoint"},
                                   {IFF_RUNNING, "running"},
                                   {IFF_NOARP, "noarp"},
                                   {IFF_PROMISC, "promisc"},
                                   {IFF_ALLMULTI, "allmulti"},
                                   {IFF_MASTER, "master"},
                                   {IFF_SLAVE, "slave"},
                                   {IFF_MULTICAST, "multicast"},
                                   {IFF_DYNAMIC, "dynamic"},
                                   {IFF_LOWER_UP, "lower_up"},
                                   {IFF_DORMANT, "dormant"}},
                                  iff_flags);
}

std::vector<std::string> addressFlagNames(core::Family family, std::uint32_t ifa_flags) {
  // The same bit means "secondary" for IPv4 and "temporary" (RFC 4941 privacy) for IPv6.
  const char* secondary = family == core::Family::kV4 ? "secondary" : "temporary";
  return flagNames<std::uint32_t>({{IFA_F_SECONDARY, secondary},
                                   {IFA_F_NODAD, "nodad"},
                                   {IFA_F_OPTIMISTIC, "optimistic"},
                                   {IFA_F_DADFAILED, "dadfailed"},
                                   {IFA_F_HOMEADDRESS, "home"},
                                   {IFA_F_DEPRECATED, "deprecated"},
                                   {IFA_F_TENTATIVE, "tentative"},
                                   {IFA_F_PERMANENT, "permanent"},
                                   {IFA_F_MANAGETEMPADDR, "mngtmpaddr"},
                                   {IFA_F_NOPREFIXROUTE, "noprefixroute"},
                                   {IFA_F_MCAUTOJOIN, "autojoin"},
                                   {IFA_F_STABLE_PRIVACY, "stable_privacy"}},
                                  ifa_flags);
}

std::string formatMac(std::span<const std::uint8_t> bytes) {
  std::string out;
  for (std::uint8_t b : bytes) {
    std::array<char, 4> part{};
    std::snprintf(part.data(), part.size(), out.empty() ? "%02x" : ":%02x", b);
    out += part.data();
  }
  return out;
}

core::Json toJson(const Cidr& c) { return c.toString(); }

core::Json toJson(const Link& link) {
  return core::Json{{"index", link.index},
                    {"name", link.name},
                    {"kind", orNull(link.kind)},
                    {"flags", linkFlagNames(link.flags)},
                    {"up", link.up},
                    {"lower_up", link.lower_up},
                    {"operstate", operStateName(link.operstate)},
                    {"mtu", link.mtu},
                    {"mac", orNull(link.mac)},
                    {"master", link.master == 0 ? core::Json(nullptr) : core::Json(link.master)},
                    {"type", linkTypeName(link.type)},
                    {"group", link.group}};
}

core::Json toJson(const Address& addr) {
  return core::Json{{"ifindex", addr.ifindex},
                    {"ifname", orNull(addr.ifname)},
                    {"family", core::familyName(addr.family)},
                    {"address", addr.address.address},
                    {"prefix_len", addr.address.prefix_len},
                    {"peer", orNull(addr.peer)},
                    {"scope", scopeName(static_cast<Scope>(addr.scope))},
                    {"flags", addressFlagNames(addr.family, addr.flags)},
                    {"label", orNull(addr.label)}};
}

core::Json toJson(const NextHop& nh) {
  return core::Json{{"gateway", orNull(nh.gateway)},
                    {"oif", nh.oif},
                    {"oif_name", orNull(nh.oif_name)},
                    {"weight", nh.weight},
                    {"flags", routeFlagNames(nh.flags)}};
}

core::Json toJson(const Route& route) {
  core::Json nexthops = core::Json::array();
  for (const auto& nh : route.nexthops) nexthops.push_back(toJson(nh));
  return core::Json{{"family", core::familyName(route.family)},
                    {"table", route.table},
                    {"table_name", tableName(route.table)},
                    {"type", routeTypeName(route.type)},
                    {"dst", route.dst},
                    {"src", orNull(route.src)},
                    {"gateway", orNull(route.gateway)},
                    {"oif", route.oif == 0 ? core::Json(nullptr) : core::Json(route.oif)},
                    {"oif_name", orNull(route.oif_name)},
                    {"priority", route.priority},
                    {"protocol", routeProtocolName(route.protocol)},
                    {"scope", scopeName(route.scope)},
                    {"prefsrc", orNull(route.prefsrc)},
                    {"flags", routeFlagNames(route.flags)},
                    {"nexthops", nexthops},
                    {"nh_id", orNull(route.nh_id)}};
}

core::Json toJson(const Rule& rule) {
  auto opt_int = [](int v) { return v < 0 ? core::Json(nullptr) : core::Json(v); };
  core::Json uid = nullptr;
  if (rule.uid_range)
    uid = core::Json{{"start", rule.uid_range->start}, {"end", rule.uid_range->end}};
  return core::Json{{"family", core::familyName(rule.family)},
                    {"priority", rule.priority},
                    {"table", rule.table},
                    {"table_name", tableName(rule.table)},
                    {"action", ruleActionName(rule.action)},
                    {"invert", rule.invert},
                    {"fwmark", orNull(rule.fwmark)},
                    {"fwmask", rule.fwmark ? core::Json(rule.fwmask) : core::Json(nullptr)},
                    {"suppress_prefixlen", opt_int(rule.suppress_prefixlen)},
                    {"suppress_ifgroup", opt_int(rule.suppress_ifgroup)},
                    {"iifname", orNull(rule.iifname)},
                    {"oifname", orNull(rule.oifname)},
                    {"src", orNull(rule.src)},
                    {"dst", orNull(rule.dst)},
                    {"uid_range", uid},
                    {"l3mdev", rule.l3mdev},
                    {"tos", rule.tos},
                    {"protocol", routeProtocolName(rule.protocol)},
                    {"ip_proto", rule.ip_proto},
                    {"sport", rangeJson(rule.sport)},
                    {"dport", rangeJson(rule.dport)},
                    {"goto", orNull(rule.goto_target)}};
}

LinkNames linkNames(const std::vector<Link>& links) {
  LinkNames names;
  for (const auto& link : links) names[link.index] = link.name;
  return names;
}

namespace {
std::string nameOf(int index, const LinkNames& names) {
  auto it = names.find(index);
  return it == names.end() ? std::string() : it->second;
}
}  // namespace

void nameInterfaces(Address& addr, const LinkNames& names) {
  auto name = nameOf(addr.ifindex, names);
  if (!name.empty()) addr.ifname = std::move(name);
}

void nameInterfaces(Route& route, const LinkNames& names) {
  if (route.oif != 0) route.oif_name = nameOf(route.oif, names);
  for (auto& nh : route.nexthops) {
    if (nh.oif != 0) nh.oif_name = nameOf(nh.oif, names);
  }
}

}  // namespace vpnleak::netlink
