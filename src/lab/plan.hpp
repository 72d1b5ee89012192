// The lab's topology as values: names, addresses, routes. Pure; `lab up` realises it.
//
//   client --lan0-- router --wan0-- internet --to-vpn-- vpn
//      \___ tunnel: WireGuard (fwmark policy routing) or OpenVPN (def1 routes) __/
//                                   internet --to-server-- server
//
// Addresses come from the documentation ranges (192.0.2/24, 198.51.100/24, 203.0.113/24,
// 2001:db8::/32) so that they look public inside the lab and can never reach a real host.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/ip.hpp"
#include "core/json.hpp"
#include "core/result.hpp"

namespace vpnleak::lab {

enum class DnsMode { kVpn, kIsp };
enum class WgImpl { kAuto, kKernel, kGo };
enum class VpnKind { kWireGuard, kOpenVpn };

// "wireguard" / "openvpn", as on the command line and in JSON.
std::string vpnKindName(VpnKind kind);
std::optional<VpnKind> parseVpnKind(std::string_view name);

struct LabOptions {
  std::string prefix = "vl-";
  bool tunnel_ipv6 = false;
  DnsMode dns = DnsMode::kVpn;
  VpnKind vpn = VpnKind::kWireGuard;
  WgImpl wg = WgImpl::kAuto;  // WireGuard only
  std::string zone = "leak.test";
  // The vpnleak binary to run as the leak-test server in the server node; empty: no server.
  std::string server_binary;
};

// Validates user-supplied options (prefix charset/length, zone syntax).
core::Status validate(const LabOptions& opts);

struct IfaceAddr {
  core::IpAddress address;
  int prefix_len = 0;
  [[nodiscard]] std::string cidr() const {
    return address.toString() + "/" + std::to_string(prefix_len);
  }
};

struct Iface {
  std::string name;
  std::vector<IfaceAddr> addresses;
};

struct Node {
  std::string role;   // client, router, vpn, internet, server
  std::string netns;  // prefix + role
  std::vector<Iface> ifaces;
  std::vector<core::IpAddress> gateways;  // default routes (one per family)
  bool forwarding = false;
};

// A veth pair joining two nodes.
struct Link {
  std::string a_role, a_iface, b_role, b_iface;
};

struct Route {
  std::string role;
  core::Prefix dst;
  core::IpAddress via;
};

struct Tunnel {
  std::string client_iface;  // unique across namespaces: wireguard-go's sockets are global
  std::string server_iface;
  IfaceAddr client_v4, server_v4;
  std::optional<IfaceAddr> client_v6, server_v6;
  core::Endpoint endpoint;  // the VPN server's public address and port
  // wg-quick's policy routing (both 51820); none for OpenVPN, whose client routes def1-style.
  std::optional<std::uint32_t> fwmark;
  std::optional<std::uint32_t> table;
  int mtu = 1420;
};

struct LabPlan {
  LabOptions options;
  std::vector<Node> nodes;
  std::vector<Link> links;
  std::vector<Route> routes;  // besides the default routes
  Tunnel tunnel;
  core::IpAddress isp_resolver_v4, isp_resolver_v6;  // the router's unbound
  core::IpAddress vpn_resolver_v4;                   // the VPN server's unbound, tunnel only
  std::optional<core::IpAddress> vpn_resolver_v6;
  core::IpAddress server_v4, server_v6;          // the leak-test server
  core::IpAddress router_public_v4;              // the client's NATed "real" IPv4
  core::IpAddress client_global_v6;              // the client's real IPv6
  core::IpAddress vpn_public_v4, vpn_public_v6;  // the VPN's exit addresses

  [[nodiscard]] const Node& node(const std::string& role) const;
  [[nodiscard]] std::string netns(const std::string& role) const;
  // The client's resolvers as written to its resolv.conf.
  [[nodiscard]] std::vector<core::IpAddress> clientResolvers() const;
  // The address the leak-test server sees for the client's traffic when nothing leaks.
  [[nodiscard]] std::optional<core::IpAddress> expectedExit(core::Family f) const;
};

LabPlan makePlan(const LabOptions& opts);

// Roles in creation order.
const std::vector<std::string>& roles();

core::Json planToJson(const LabPlan& plan);

}  // namespace vpnleak::lab
