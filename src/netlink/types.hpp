// Plain values for the kernel's network state: links, addresses, routes, policy rules.
// Raw kernel numbers are kept (tables, flags, protocols) so nothing is lost; names are for output.
#pragma once

#include <compare>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/ip.hpp"
#include "core/json.hpp"

namespace vpnleak::netlink {

// An address as assigned to an interface: the host address and its prefix length ("10.0.0.1/24"),
// which core::Prefix cannot hold because it clears the host bits.
struct Cidr {
  core::IpAddress address;
  int prefix_len = 0;

  [[nodiscard]] core::Prefix network() const;  // 10.0.0.0/24
  [[nodiscard]] std::string toString() const;  // 10.0.0.1/24
  friend auto operator<=>(const Cidr&, const Cidr&) = default;
};

struct Link {
  int index = 0;
  std::string name;
  std::string kind;         // IFLA_INFO_KIND: "veth", "wireguard", "tun", "bridge"; empty if none
  std::uint32_t flags = 0;  // IFF_*
  bool up = false;          // IFF_UP: administratively up
  bool lower_up = false;    // IFF_LOWER_UP: carrier
  std::uint32_t mtu = 0;
  std::string mac;          // "aa:bb:cc:dd:ee:ff"; empty for devices without one (tun, wireguard)
  int master = 0;           // ifindex of the bridge/bond/VRF it is enslaved to, 0 when none
  std::uint16_t type = 0;   // ARPHRD_*
  std::uint32_t group = 0;  // interface group (what `suppress_ifgroup` refers to)
  std::uint8_t operstate = 0;  // IF_OPER_*
};

struct Address {
  int ifindex = 0;
  std::optional<std::string> ifname;  // absent when the interface could not be named
  core::Family family = core::Family::kV4;
  Cidr address;                         // IFA_LOCAL (IPv4) / IFA_ADDRESS (IPv6) with its length
  std::optional<core::IpAddress> peer;  // point-to-point peer, when it differs from the address
  std::uint8_t scope = 0;               // RT_SCOPE_*
  std::uint32_t flags = 0;              // IFA_F_*
  std::string label;                    // IFA_LABEL (IPv4 only)

  [[nodiscard]] bool permanent() const;
  [[nodiscard]] bool tentative() const;   // DAD still running: not usable as a source yet
  [[nodiscard]] bool deprecated() const;  // preferred lifetime over: not chosen as a source
  [[nodiscard]] bool dadFailed() const;
};

enum class RouteType : std::uint8_t {
  kUnspec = 0,
  kUnicast = 1,
  kLocal = 2,
  kBroadcast = 3,
  kAnycast = 4,
  kMulticast = 5,
  kBlackhole = 6,
  kUnreachable = 7,
  kProhibit = 8,
  kThrow = 9,
  kNat = 10,
  kXresolve = 11,
};

enum class Scope : std::uint8_t {
  kUniverse = 0,
  kSite = 200,
  kLink = 253,
  kHost = 254,
  kNowhere = 255,
};

struct NextHop {
  std::optional<core::IpAddress> gateway;
  int oif = 0;
  std::string oif_name;
  int weight = 1;
  std::uint8_t flags = 0;  // RTNH_F_*
};

struct Route {
  core::Family family = core::Family::kV4;
  std::uint32_t table = 0;  // RTA_TABLE (32 bits: wg-quick's 51820 does not fit rtm_table)
  RouteType type = RouteType::kUnicast;
  core::Prefix dst;                        // 0.0.0.0/0 or ::/0 for a default route
  std::optional<core::Prefix> src;         // source prefix ("from", IPv6 subtrees)
  std::optional<core::IpAddress> gateway;  // RTA_GATEWAY, or RTA_VIA for IPv4 over IPv6
  int oif = 0;
  std::string oif_name;
  std::uint32_t priority = 0;  // the metric
  std::uint8_t protocol = 0;   // RTPROT_*: who installed it (kernel, boot, static, dhcp, ra...)
  Scope scope = Scope::kUniverse;
  std::optional<core::IpAddress> prefsrc;
  std::uint32_t flags = 0;             // rtm_flags: RTNH_F_* and RTM_F_*
  std::vector<NextHop> nexthops;       // multipath routes; gateway and oif are then unset
  std::optional<std::uint32_t> nh_id;  // routes using nexthop objects
};

enum class RuleAction : std::uint8_t {
  kUnspec = 0,
  kToTable = 1,
  kGoto = 2,
  kNop = 3,
  kBlackhole = 6,
  kUnreachable = 7,
  kProhibit = 8,
};

struct UidRange {
  std::uint32_t start = 0;
  std::uint32_t end = 0;
  friend auto operator<=>(const UidRange&, const UidRange&) = default;
};

struct PortRange {
  std::uint16_t start = 0;
  std::uint16_t end = 0;
  friend auto operator<=>(const PortRange&, const PortRange&) = default;
};

struct Rule {
  core::Family family = core::Family::kV4;
  std::uint32_t priority = 0;
  std::uint32_t table = 0;
  RuleAction action = RuleAction::kToTable;
  std::optional<std::uint32_t> fwmark;  // set when the rule matches on the mark
  std::uint32_t fwmask = 0;
  bool invert = false;          // FIB_RULE_INVERT: `not`
  int suppress_prefixlen = -1;  // -1 when unset
  int suppress_ifgroup = -1;    // -1 when unset
  std::string iifname;
  std::string oifname;
  std::optional<core::Prefix> src;
  std::optional<core::Prefix> dst;
  std::optional<UidRange> uid_range;
  bool l3mdev = false;
  std::uint8_t tos = 0;
  std::uint8_t protocol = 0;  // RTPROT_* of whoever added the rule
  std::uint8_t ip_proto = 0;  // 0: any
  std::optional<PortRange> sport;
  std::optional<PortRange> dport;
  std::optional<std::uint32_t> goto_target;  // FR_ACT_GOTO: priority of the target rule
  std::uint32_t flags = 0;                   // FIB_RULE_*
};

// Names as `ip` prints them; unknown numbers print as decimal.
std::string routeTypeName(RouteType t);
std::string scopeName(Scope s);
std::string routeProtocolName(std::uint8_t protocol);
std::string tableName(std::uint32_t table);  // "local", "main", "default" or the number
std::string ruleActionName(RuleAction a);
std::string operStateName(std::uint8_t operstate);
std::string linkTypeName(std::uint16_t arphrd);
std::vector<std::string> linkFlagNames(std::uint32_t iff_flags);
std::vector<std::string> addressFlagNames(core::Family family, std::uint32_t ifa_flags);
std::string formatMac(std::span<const std::uint8_t> bytes);

core::Json toJson(const Cidr& c);
core::Json toJson(const Link& link);
core::Json toJson(const Address& addr);
core::Json toJson(const NextHop& nh);
core::Json toJson(const Route& route);
core::Json toJson(const Rule& rule);

// ifindex -> name, for naming the interfaces that addresses and routes refer to.
using LinkNames = std::map<int, std::string>;
LinkNames linkNames(const std::vector<Link>& links);
void nameInterfaces(Address& addr, const LinkNames& names);
void nameInterfaces(Route& route, const LinkNames& names);

}  // namespace vpnleak::netlink
