// Leak prediction from a Snapshot: every path by which traffic could leave outside the tunnel,
// found by asking the routing decision (fib.hpp) where representative packets would go. Pure.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "audit/snapshot.hpp"
#include "core/json.hpp"

namespace vpnleak::audit {

enum class Severity { kInfo, kLow, kMedium, kHigh, kCritical };

std::string severityName(Severity s);
core::Result<Severity> parseSeverity(std::string_view text);

struct Finding {
  std::string id;  // no-tunnel, route-bypass, ipv6-outside-tunnel, dns-outside-tunnel,
                   // localnet-exposure, endpoint-exception-broad, no-killswitch, guard-mismatch
  Severity severity = Severity::kInfo;
  std::string detail;
  std::string fix;
  core::Json evidence = core::Json::object();
};

// A VPN server the tunnel's client talks to, and who said so ("wireguard" peers, "openvpn").
struct TunnelEndpoint {
  core::Endpoint address;
  std::string proto = "udp";
  std::string source = "wireguard";
  [[nodiscard]] std::string toString() const { return address.toString() + "/" + proto; }
};

struct TunnelView {
  std::vector<std::string> interfaces;
  std::vector<TunnelEndpoint> endpoints;
  std::optional<std::uint32_t> fwmark;
};

struct Report {
  TunnelView tunnel;
  std::vector<Finding> findings;
  std::vector<std::string> notes;

  [[nodiscard]] std::optional<Severity> highest() const;
};

// Interfaces that are VPN tunnels: WireGuard, tun/tap, ppp (by kind, or by name when the kind is
// unknown), and up.
TunnelView findTunnel(const Snapshot& s);

// Which families an nftables output chain with policy drop covers.
struct FailClosed {
  bool v4 = false;
  bool v6 = false;
};
FailClosed failClosed(const Snapshot& s);

// Kill-switch findings from the `nft -j list ruleset` document in the snapshot.
std::vector<Finding> judgeFirewall(const Snapshot& s, const TunnelView& t);

Report analyze(const Snapshot& s);

core::Json toJson(const Report& r);  // schema vpnleak.audit/1

}  // namespace vpnleak::audit
