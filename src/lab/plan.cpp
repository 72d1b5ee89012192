#include "lab/plan.hpp"

#include <algorithm>

#include "core/check.hpp"

namespace vpnleak::lab {

using core::Errc;
using core::IpAddress;

namespace {

IpAddress ip(const char* text) { return IpAddress::parse(text).value(); }
IfaceAddr addr(const char* text, int len) { return IfaceAddr{ip(text), len}; }

bool validLabel(std::string_view label) {
  if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
    return false;
  }
  return std::all_of(label.begin(), label.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
}

}  // namespace

std::string vpnKindName(VpnKind kind) {
  return kind == VpnKind::kOpenVpn ? "openvpn" : "wireguard";
}

std::optional<VpnKind> parseVpnKind(std::string_view name) {
  if (name == "wireguard") return VpnKind::kWireGuard;
  if (name == "openvpn") return VpnKind::kOpenVpn;
  return std::nullopt;
}

const std::vector<std::string>& roles() {
  static const std::vector<std::string> kRoles{"internet", "server", "router", "vpn", "client"};
  return kRoles;
}

core::Status validate(const LabOptions& opts) {
  const auto& p = opts.prefix;
  // The longest derived name is the tunnel interface PREFIX+"wgc", limited to 15 characters.
  const bool charset_ok = std::all_of(p.begin(), p.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
  if (p.empty() || p.size() > 8 || !charset_ok || p.front() == '-') {
    return core::makeError(Errc::kInvalidArgument,
                           "invalid --prefix '" + p +
                               "': expected 1-8 characters of a-z, 0-9 and '-', not starting "
                               "with '-' (e.g. vl-)");
  }
  std::string zone = opts.zone;
  if (!zone.empty() && zone.back() == '.') zone.pop_back();
  bool zone_ok = !zone.empty() && zone.size() <= 200;
  for (std::size_t pos = 0; zone_ok && pos <= zone.size();) {
    auto dot = zone.find('.', pos);
    if (dot == std::string::npos) dot = zone.size();
    zone_ok = validLabel(std::string_view(zone).substr(pos, dot - pos));
    pos = dot + 1;
  }
  if (!zone_ok) {
    return core::makeError(
        Errc::kInvalidArgument,
        "invalid --zone '" + opts.zone + "': expected a lowercase DNS name such as leak.test");
  }
  return {};
}

LabPlan makePlan(const LabOptions& opts) {
  LabPlan p;
  p.options = opts;
  const auto& pre = opts.prefix;
  auto node = [&](const char* role, std::vector<Iface> ifaces, std::vector<IpAddress> gws,
                  bool fwd) {
    p.nodes.push_back(Node{role, pre + role, std::move(ifaces), std::move(gws), fwd});
  };
  node("internet",
       {{"to-router", {addr("198.51.100.1", 24), addr("2001:db8:100::1", 64)}},
        {"to-vpn", {addr("203.0.113.1", 24), addr("2001:db8:203::1", 64)}},
        {"to-server", {addr("192.0.2.1", 24), addr("2001:db8:192::1", 64)}}},
       {}, true);
  node("server", {{"eth0", {addr("192.0.2.10", 24), addr("2001:db8:192::10", 64)}}},
       {ip("192.0.2.1"), ip("2001:db8:192::1")}, false);
  node("router",
       {{"wan0", {addr("198.51.100.2", 24), addr("2001:db8:100::2", 64)}},
        {"lan0", {addr("192.168.77.1", 24), addr("2001:db8:77::1", 64)}}},
       {ip("198.51.100.1"), ip("2001:db8:100::1")}, true);
  node("vpn", {{"wan0", {addr("203.0.113.2", 24), addr("2001:db8:203::2", 64)}}},
       {ip("203.0.113.1"), ip("2001:db8:203::1")}, true);
  node("client", {{"lan0", {addr("192.168.77.2", 24), addr("2001:db8:77::2", 64)}}},
       {ip("192.168.77.1"), ip("2001:db8:77::1")}, false);

  p.links = {{"internet", "to-router", "router", "wan0"},
             {"internet", "to-vpn", "vpn", "wan0"},
             {"internet", "to-server", "server", "eth0"},
             {"router", "lan0", "client", "lan0"}};
  // The ISP routes the customer's IPv6 prefix to the home router.
  p.routes = {{"internet", core::Prefix::parse("2001:db8:77::/64").value(), ip("2001:db8:100::2")}};

  auto& t = p.tunnel;
  const bool wg = opts.vpn == VpnKind::kWireGuard;
  t.client_iface = pre + (wg ? "wgc" : "ovc");
  t.server_iface = pre + (wg ? "wgs" : "ovs");
  t.client_v4 = addr("10.77.0.2", 24);
  t.server_v4 = addr("10.77.0.1", 24);
  if (opts.tunnel_ipv6) {
    t.client_v6 = addr("fd77:77::2", 64);
    t.server_v6 = addr("fd77:77::1", 64);
  }
  t.endpoint = core::Endpoint{ip("203.0.113.2"), static_cast<std::uint16_t>(wg ? 51820 : 1194)};
  if (wg) {
    t.fwmark = 51820;
    t.table = 51820;
  } else {
    t.mtu = 1500;  // OpenVPN's default tun-mtu
  }

  p.isp_resolver_v4 = ip("192.168.77.1");
  p.isp_resolver_v6 = ip("2001:db8:77::1");
  p.vpn_resolver_v4 = t.server_v4.address;
  if (t.server_v6) p.vpn_resolver_v6 = t.server_v6->address;
  p.server_v4 = ip("192.0.2.10");
  p.server_v6 = ip("2001:db8:192::10");
  p.router_public_v4 = ip("198.51.100.2");
  p.client_global_v6 = ip("2001:db8:77::2");
  p.vpn_public_v4 = ip("203.0.113.2");
  p.vpn_public_v6 = ip("2001:db8:203::2");
  return p;
}

const Node& LabPlan::node(const std::string& role) const {
  for (const auto& n : nodes) {
    if (n.role == role) return n;
  }
  VL_CHECK(false && "unknown role");
  return nodes.front();
}

std::string LabPlan::netns(const std::string& role) const { return options.prefix + role; }

std::vector<IpAddress> LabPlan::clientResolvers() const {
  if (options.dns == DnsMode::kIsp) return {isp_resolver_v4};
  std::vector<IpAddress> r{vpn_resolver_v4};
  if (vpn_resolver_v6) r.push_back(*vpn_resolver_v6);
  return r;
}

std::optional<IpAddress> LabPlan::expectedExit(core::Family f) const {
  if (f == core::Family::kV4) return vpn_public_v4;
  if (options.tunnel_ipv6) return vpn_public_v6;
  return std::nullopt;  // an IPv4-only tunnel has no IPv6 exit: any IPv6 reaching out leaks
}

core::Json planToJson(const LabPlan& plan) {
  using core::Json;
  Json nodes = Json::array();
  for (const auto& n : plan.nodes) {
    Json ifaces = Json::array();
    for (const auto& i : n.ifaces) {
      Json addrs = Json::array();
      for (const auto& a : i.addresses) addrs.push_back(a.cidr());
      ifaces.push_back({{"name", i.name}, {"addresses", addrs}});
    }
    if (n.role == "client" || n.role == "vpn") {
      const bool c = n.role == "client";
      const auto& t = plan.tunnel;
      Json addrs = Json::array({(c ? t.client_v4 : t.server_v4).cidr()});
      if (t.client_v6) addrs.push_back((c ? *t.client_v6 : *t.server_v6).cidr());
      ifaces.push_back({{"name", c ? t.client_iface : t.server_iface}, {"addresses", addrs}});
    }
    nodes.push_back({{"role", n.role}, {"netns", n.netns}, {"interfaces", ifaces}});
  }
  Json resolvers = Json::array();
  for (const auto& r : plan.clientResolvers()) resolvers.push_back(r.toString());
  const auto exit6 = plan.expectedExit(core::Family::kV6);
  const auto& t = plan.tunnel;
  return Json{
      {"prefix", plan.options.prefix},
      {"zone", plan.options.zone},
      {"nodes", nodes},
      {"tunnel",
       {{"kind", vpnKindName(plan.options.vpn)},
        {"client_iface", t.client_iface},
        {"server_iface", t.server_iface},
        {"endpoint", t.endpoint.toString()},
        {"fwmark", t.fwmark ? Json(*t.fwmark) : Json(nullptr)},
        {"table", t.table ? Json(*t.table) : Json(nullptr)},
        {"ipv6", plan.options.tunnel_ipv6}}},
      {"dns",
       {{"mode", plan.options.dns == DnsMode::kVpn ? "vpn" : "isp"},
        {"client_resolvers", resolvers},
        {"isp_resolver", plan.isp_resolver_v4.toString()},
        {"vpn_resolver", plan.vpn_resolver_v4.toString()}}},
      {"server",
       {{"ipv4", plan.server_v4.toString()},
        {"ipv6", plan.server_v6.toString()},
        {"url", plan.options.server_binary.empty() ? Json(nullptr)
                                                   : Json("http://" + plan.server_v4.toString())}}},
      {"client_real",
       {{"ipv4", plan.router_public_v4.toString()}, {"ipv6", plan.client_global_v6.toString()}}},
      {"expected_exit",
       {{"ipv4", plan.vpn_public_v4.toString()},
        {"ipv6", exit6 ? Json(exit6->toString()) : Json(nullptr)}}},
  };
}

}  // namespace vpnleak::lab
