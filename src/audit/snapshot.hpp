// What `vpnleak audit` analyses: the machine's routing state, resolvers, firewall and tunnels, as
// plain values. A snapshot is taken from the live system (collect.hpp) or read from JSON, so a
// user can send one for analysis and tests can replay real states.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/ip.hpp"
#include "core/json.hpp"
#include "core/result.hpp"
#include "netlink/dump.hpp"
#include "netlink/types.hpp"

namespace vpnleak::audit {

inline constexpr const char* kSnapshotSchema = "vpnleak.snapshot/1";

struct Interface {
  std::string name;
  std::string kind;  // "wireguard", "tun", "veth", ... ; empty for plain devices
  bool up = false;
  bool loopback = false;
  std::vector<netlink::Cidr> addresses;
};

struct RouteEntry {
  core::Family family = core::Family::kV4;
  std::uint32_t table = 254;  // main
  std::string type =
      "unicast";  // unicast, local, broadcast, blackhole, unreachable, prohibit, throw
  core::Prefix dst;
  std::optional<core::IpAddress> gateway;
  std::string dev;
  std::uint32_t metric = 0;
  std::string protocol = "boot";  // kernel, boot, static, dhcp, ra, ...: who installed it
  std::string scope = "global";   // global, link, host
};

struct RuleEntry {
  core::Family family = core::Family::kV4;
  std::uint32_t priority = 0;
  std::string action = "table";  // table, goto, nop, blackhole, unreachable, prohibit
  std::uint32_t table = 0;
  std::optional<std::uint32_t> fwmark;
  std::uint32_t fwmask = 0xffffffffU;
  bool invert = false;
  int suppress_prefixlength = -1;
  std::string iif;
  std::string oif;
  std::optional<core::Prefix> from;
  std::optional<core::Prefix> to;
  std::optional<std::pair<std::uint32_t, std::uint32_t>> uidrange;
};

struct WireGuardPeer {
  std::string iface;
  std::optional<core::Endpoint> endpoint;
  std::vector<core::Prefix> allowed_ips;
};

struct WireGuardIface {
  std::string name;
  std::optional<std::uint32_t> fwmark;
  std::vector<WireGuardPeer> peers;
};

// A VPN server a running client other than WireGuard (whose peers are above) talks to: OpenVPN's
// `remote`, with a name resolved when the snapshot was taken (one entry per address; none when
// it did not resolve).
struct VpnEndpoint {
  std::string source = "openvpn";
  std::string host;  // as configured: an address or a name
  std::optional<core::Endpoint> endpoint;
  std::string proto = "udp";  // "udp" or "tcp"
  std::optional<std::uint32_t> pid;
};

// Json's default constructor allocates nothing, so this cannot throw.
// NOLINTNEXTLINE(bugprone-exception-escape)
struct Snapshot {
  std::vector<Interface> interfaces;
  std::vector<RouteEntry> routes;
  std::vector<RuleEntry> rules;
  std::vector<core::IpAddress> resolvers;                        // resolv.conf nameservers
  std::map<std::string, std::vector<core::IpAddress>> link_dns;  // systemd-resolved, per link
  std::vector<WireGuardIface> wireguard;
  std::vector<VpnEndpoint> endpoints;  // "endpoints" in JSON; absent in older snapshots
  core::Json nftables;                 // `nft -j list ruleset`, null when it could not be read
  std::vector<std::string> notes;      // what could not be collected, and why

  [[nodiscard]] const Interface* interface(const std::string& name) const;
};

core::Json toJson(const Snapshot& s);
// Strict: a missing or mistyped field is kInvalidArgument naming its JSON path.
core::Result<Snapshot> snapshotFromJson(const core::Json& j);

// From the netlink layer's view of the kernel.
Snapshot fromNetlink(const netlink::Snapshot& ns);

// Pure parsers for the files and tools collect.cpp reads.
std::vector<core::IpAddress> parseResolvConf(std::string_view text);
std::vector<WireGuardIface> parseWgDump(std::string_view text);  // `wg show all dump`
std::map<std::string, std::vector<core::IpAddress>> parseResolvectlDns(std::string_view text);

}  // namespace vpnleak::audit
