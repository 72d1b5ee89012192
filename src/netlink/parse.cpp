#include "netlink/parse.hpp"

#include <libmnl/libmnl.h>
#include <linux/fib_rules.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <array>
#include <cstring>
#include <span>
#include <string>

namespace vpnleak::netlink {

using core::Errc;
using core::Family;
using core::IpAddress;

namespace {

// Attributes by type, as mnl_attr_parse finds them; types >= N (newer kernels) are ignored.
template <std::size_t N>
struct AttrTable {
  std::array<const nlattr*, N> attrs{};
  const nlattr* operator[](unsigned type) const { return type < N ? attrs[type] : nullptr; }
};

template <std::size_t N>
int storeAttr(const nlattr* attr, void* data) {
  auto* attrs = static_cast<std::array<const nlattr*, N>*>(data);
  const std::uint16_t type = mnl_attr_get_type(attr);
  if (type < N) (*attrs)[type] = attr;
  return MNL_CB_OK;
}

// The family header T (ifinfomsg, rtmsg...) and the attributes after it.
template <typename T, std::size_t N>
core::Result<std::pair<T, AttrTable<N>>> splitMessage(const nlmsghdr& nlh, const char* what) {
  if (nlh.nlmsg_len < NLMSG_HDRLEN + sizeof(T)) {
    return core::makeError(Errc::kMalformed, std::string("truncated ") + what + " message");
  }
  std::pair<T, AttrTable<N>> out{};
  std::memcpy(&out.first, mnl_nlmsg_get_payload(&nlh), sizeof(T));
  mnl_attr_parse(&nlh, sizeof(T), storeAttr<N>, &out.second.attrs);
  return out;
}

std::span<const std::uint8_t> payload(const nlattr* a) {
  if (a == nullptr) return {};
  return {static_cast<const std::uint8_t*>(mnl_attr_get_payload(a)), mnl_attr_get_payload_len(a)};
}

// A string attribute; the kernel NUL-terminates them, but the attribute's length is the bound.
std::string attrString(const nlattr* a) {
  auto b = payload(a);
  const auto* text = reinterpret_cast<const char*>(b.data());
  return b.empty() ? std::string() : std::string(text, ::strnlen(text, b.size()));
}

// Reads attribute payloads, checking their size. The first bad attribute is remembered and
// reported once at the end, which keeps the per-field code linear.
class Reader {
 public:
  explicit Reader(const char* what) : what_(what) {}

  template <typename T>
  std::optional<T> scalar(const nlattr* a) {
    if (a == nullptr) return std::nullopt;
    if (mnl_attr_get_payload_len(a) < sizeof(T)) return fail<T>(a);
    T v{};
    std::memcpy(&v, mnl_attr_get_payload(a), sizeof(T));
    return v;
  }
  std::optional<IpAddress> address(const nlattr* a, Family family) {
    if (a == nullptr) return std::nullopt;
    auto b = payload(a);
    if (b.size() != (family == Family::kV4 ? 4U : 16U)) return fail<IpAddress>(a);
    return IpAddress::fromBytes(family, b);
  }
  std::optional<core::Prefix> prefix(const nlattr* a, Family family, int len) {
    auto addr = address(a, family);
    if (a != nullptr && !addr) return std::nullopt;
    auto p = core::Prefix::make(addr.value_or(core::Prefix::any(family).address()), len);
    if (!p) {
      note("prefix length " + std::to_string(len));
      return std::nullopt;
    }
    return *p;
  }

  [[nodiscard]] core::Status status() const {
    if (bad_.empty()) return {};
    return core::makeError(Errc::kMalformed,
                           std::string("malformed ") + what_ + " message (" + bad_ + ")");
  }

  // Records a bad attribute (nullptr: a required one is missing).
  template <typename T>
  std::optional<T> fail(const nlattr* a) {
    note(a == nullptr ? "missing attribute"
                      : "attribute " + std::to_string(mnl_attr_get_type(a)) + " of " +
                            std::to_string(mnl_attr_get_payload_len(a)) + " bytes");
    return std::nullopt;
  }
  void note(std::string what) {
    if (bad_.empty()) bad_ = std::move(what);
  }

 private:
  const char* what_;
  std::string bad_;
};

// Visits the attributes packed in [data, data+len), as inside an rtnexthop.
template <typename F>
void forEachAttr(const std::uint8_t* data, std::size_t len, F&& visit) {
  const auto* attr = reinterpret_cast<const nlattr*>(data);
  int left = static_cast<int>(len);
  while (mnl_attr_ok(attr, left)) {
    visit(attr);
    left -= static_cast<int>(MNL_ALIGN(attr->nla_len));
    attr = mnl_attr_next(attr);
  }
}

// RTA_VIA: an address of any family, for IPv4 routes through an IPv6 gateway.
std::optional<IpAddress> readVia(Reader& r, const nlattr* a) {
  auto b = payload(a);
  if (a == nullptr) return std::nullopt;
  std::uint16_t af = 0;
  if (b.size() < sizeof(af)) return r.fail<IpAddress>(a);
  std::memcpy(&af, b.data(), sizeof(af));
  auto family = familyFromAf(static_cast<std::uint8_t>(af));
  const std::size_t want = family == Family::kV4 ? 4U : 16U;
  if (!family || b.size() < sizeof(af) + want) return r.fail<IpAddress>(a);
  return IpAddress::fromBytes(*family, b.subspan(sizeof(af), want));
}

std::vector<NextHop> readMultipath(Reader& r, const nlattr* a, Family family) {
  std::vector<NextHop> hops;
  auto b = payload(a);
  while (b.size() >= sizeof(rtnexthop)) {
    rtnexthop rtnh{};
    std::memcpy(&rtnh, b.data(), sizeof(rtnh));
    if (rtnh.rtnh_len < sizeof(rtnh) || rtnh.rtnh_len > b.size()) {
      r.note("RTA_MULTIPATH next hop of " + std::to_string(rtnh.rtnh_len) + " bytes");
      break;
    }
    NextHop nh;
    nh.oif = rtnh.rtnh_ifindex;
    nh.weight = rtnh.rtnh_hops + 1;
    nh.flags = rtnh.rtnh_flags;
    forEachAttr(b.data() + sizeof(rtnh), rtnh.rtnh_len - sizeof(rtnh), [&](const nlattr* sub) {
      if (mnl_attr_get_type(sub) == RTA_GATEWAY) nh.gateway = r.address(sub, family);
      if (mnl_attr_get_type(sub) == RTA_VIA) nh.gateway = readVia(r, sub);
    });
    hops.push_back(std::move(nh));
    b = b.subspan(std::min<std::size_t>(RTNH_ALIGN(rtnh.rtnh_len), b.size()));
  }
  return hops;
}

}  // namespace

std::optional<Family> familyFromAf(std::uint8_t af) {
  if (af == AF_INET) return Family::kV4;
  if (af == AF_INET6) return Family::kV6;
  return std::nullopt;
}

std::uint8_t afFromFamily(Family family) { return family == Family::kV4 ? AF_INET : AF_INET6; }

core::Result<Link> parseLink(const nlmsghdr& nlh) {
  VL_TRY_ASSIGN(auto msg, (splitMessage<ifinfomsg, IFLA_MAX + 1>(nlh, "link")));
  const auto& [ifi, attrs] = msg;
  Reader r("link");
  Link link;
  link.index = ifi.ifi_index;
  link.flags = ifi.ifi_flags;
  link.type = ifi.ifi_type;
  link.up = (ifi.ifi_flags & IFF_UP) != 0;
  link.lower_up = (ifi.ifi_flags & IFF_LOWER_UP) != 0;
  link.name = attrString(attrs[IFLA_IFNAME]);
  link.mtu = r.scalar<std::uint32_t>(attrs[IFLA_MTU]).value_or(0);
  link.mac = formatMac(payload(attrs[IFLA_ADDRESS]));
  link.master = static_cast<int>(r.scalar<std::uint32_t>(attrs[IFLA_MASTER]).value_or(0));
  link.group = r.scalar<std::uint32_t>(attrs[IFLA_GROUP]).value_or(0);
  link.operstate = r.scalar<std::uint8_t>(attrs[IFLA_OPERSTATE]).value_or(IF_OPER_UNKNOWN);
  if (const nlattr* info = attrs[IFLA_LINKINFO]; info != nullptr) {
    AttrTable<IFLA_INFO_MAX + 1> nested;
    mnl_attr_parse_nested(info, storeAttr<IFLA_INFO_MAX + 1>, &nested.attrs);
    link.kind = attrString(nested[IFLA_INFO_KIND]);
  }
  if (link.name.empty()) r.note("no IFLA_IFNAME");
  VL_TRY(r.status());
  return link;
}

core::Result<std::optional<Address>> parseAddress(const nlmsghdr& nlh) {
  VL_TRY_ASSIGN(auto msg, (splitMessage<ifaddrmsg, IFA_MAX + 1>(nlh, "address")));
  const auto& [ifa, attrs] = msg;
  auto family = familyFromAf(ifa.ifa_family);
  if (!family) return std::optional<Address>();
  Reader r("address");
  // IFA_LOCAL is the address itself; IFA_ADDRESS is the peer on point-to-point links, and the
  // only one IPv6 sends otherwise.
  auto local = r.address(attrs[IFA_LOCAL], *family);
  auto address = r.address(attrs[IFA_ADDRESS], *family);
  Address out;
  out.family = *family;
  out.ifindex = static_cast<int>(ifa.ifa_index);
  out.scope = ifa.ifa_scope;
  out.flags = r.scalar<std::uint32_t>(attrs[IFA_FLAGS]).value_or(ifa.ifa_flags);
  out.label = attrString(attrs[IFA_LABEL]);
  if (!local && !address) r.note("no IFA_LOCAL or IFA_ADDRESS");
  VL_TRY(r.status());
  out.address.address = local ? *local : *address;
  out.address.prefix_len = ifa.ifa_prefixlen;
  if (local && address && *local != *address) out.peer = *address;
  if (out.address.prefix_len > out.address.address.bitLength()) {
    return core::makeError(Errc::kMalformed, "malformed address message (prefix length " +
                                                 std::to_string(ifa.ifa_prefixlen) + ")");
  }
  return std::optional<Address>(std::move(out));
}

core::Result<std::optional<Route>> parseRoute(const nlmsghdr& nlh) {
  VL_TRY_ASSIGN(auto msg, (splitMessage<rtmsg, RTA_MAX + 1>(nlh, "route")));
  const auto& [rtm, attrs] = msg;
  auto family = familyFromAf(rtm.rtm_family);
  if (!family) return std::optional<Route>();
  Reader r("route");
  Route route;
  route.family = *family;
  // rtm_table holds only 8 bits (RT_TABLE_COMPAT for larger ids); RTA_TABLE has the real one.
  route.table = r.scalar<std::uint32_t>(attrs[RTA_TABLE]).value_or(rtm.rtm_table);
  route.type = static_cast<RouteType>(rtm.rtm_type);
  route.protocol = rtm.rtm_protocol;
  route.scope = static_cast<Scope>(rtm.rtm_scope);
  route.flags = rtm.rtm_flags;
  auto dst = r.prefix(attrs[RTA_DST], *family, rtm.rtm_dst_len);
  if (attrs[RTA_SRC] != nullptr || rtm.rtm_src_len != 0) {
    route.src = r.prefix(attrs[RTA_SRC], *family, rtm.rtm_src_len);
  }
  route.gateway = r.address(attrs[RTA_GATEWAY], *family);
  if (!route.gateway) route.gateway = readVia(r, attrs[RTA_VIA]);
  route.oif = static_cast<int>(r.scalar<std::uint32_t>(attrs[RTA_OIF]).value_or(0));
  route.priority = r.scalar<std::uint32_t>(attrs[RTA_PRIORITY]).value_or(0);
  route.prefsrc = r.address(attrs[RTA_PREFSRC], *family);
  route.nh_id = r.scalar<std::uint32_t>(attrs[RTA_NH_ID]);
  if (attrs[RTA_MULTIPATH] != nullptr) {
    route.nexthops = readMultipath(r, attrs[RTA_MULTIPATH], *family);
  }
  VL_TRY(r.status());
  if (!dst) return core::makeError(Errc::kMalformed, "malformed route message (destination)");
  route.dst = *dst;
  return std::optional<Route>(std::move(route));
}

core::Result<std::optional<Rule>> parseRule(const nlmsghdr& nlh) {
  VL_TRY_ASSIGN(auto msg, (splitMessage<fib_rule_hdr, FRA_MAX + 1>(nlh, "rule")));
  const auto& [frh, attrs] = msg;
  auto family = familyFromAf(frh.family);
  if (!family) return std::optional<Rule>();
  Reader r("rule");
  Rule rule;
  rule.family = *family;
  rule.priority = r.scalar<std::uint32_t>(attrs[FRA_PRIORITY]).value_or(0);
  rule.table = r.scalar<std::uint32_t>(attrs[FRA_TABLE]).value_or(frh.table);
  rule.action = static_cast<RuleAction>(frh.action);
  rule.flags = frh.flags;
  rule.invert = (frh.flags & FIB_RULE_INVERT) != 0;
  rule.tos = frh.tos;
  // The kernel sends FRA_FWMASK without FRA_FWMARK for "fwmark 0/MASK".
  auto mark = r.scalar<std::uint32_t>(attrs[FRA_FWMARK]);
  auto mask = r.scalar<std::uint32_t>(attrs[FRA_FWMASK]);
  if (mark || mask) {
    rule.fwmark = mark.value_or(0);
    rule.fwmask = mask.value_or(0xffffffffU);
  }
  auto as_int = [](std::optional<std::uint32_t> v) { return v ? static_cast<int>(*v) : -1; };
  rule.suppress_prefixlen = as_int(r.scalar<std::uint32_t>(attrs[FRA_SUPPRESS_PREFIXLEN]));
  rule.suppress_ifgroup = as_int(r.scalar<std::uint32_t>(attrs[FRA_SUPPRESS_IFGROUP]));
  rule.iifname = attrString(attrs[FRA_IIFNAME]);
  rule.oifname = attrString(attrs[FRA_OIFNAME]);
  if (attrs[FRA_SRC] != nullptr) rule.src = r.prefix(attrs[FRA_SRC], *family, frh.src_len);
  if (attrs[FRA_DST] != nullptr) rule.dst = r.prefix(attrs[FRA_DST], *family, frh.dst_len);
  if (auto uid = r.scalar<fib_rule_uid_range>(attrs[FRA_UID_RANGE])) {
    rule.uid_range = UidRange{uid->start, uid->end};
  }
  rule.l3mdev = r.scalar<std::uint8_t>(attrs[FRA_L3MDEV]).value_or(0) != 0;
  rule.protocol = r.scalar<std::uint8_t>(attrs[FRA_PROTOCOL]).value_or(0);
  rule.ip_proto = r.scalar<std::uint8_t>(attrs[FRA_IP_PROTO]).value_or(0);
  if (auto p = r.scalar<fib_rule_port_range>(attrs[FRA_SPORT_RANGE])) {
    rule.sport = PortRange{p->start, p->end};
  }
  if (auto p = r.scalar<fib_rule_port_range>(attrs[FRA_DPORT_RANGE])) {
    rule.dport = PortRange{p->start, p->end};
  }
  rule.goto_target = r.scalar<std::uint32_t>(attrs[FRA_GOTO]);
  VL_TRY(r.status());
  return std::optional<Rule>(std::move(rule));
}

std::optional<std::uint32_t> routeAttrU32(const nlmsghdr& nlh, std::uint16_t type) {
  auto msg = splitMessage<rtmsg, RTA_MAX + 1>(nlh, "route");
  if (!msg) return std::nullopt;
  Reader r("route");
  return r.scalar<std::uint32_t>(msg->second[type]);
}

}  // namespace vpnleak::netlink
