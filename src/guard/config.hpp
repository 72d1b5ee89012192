// What the kill switch allows, as a value: `guard up` flags become a GuardConfig, the ruleset is
// generated from it alone, and it is stored beside the applied table so that `status` and
// `watch` can tell what was meant.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/ip.hpp"
#include "core/json.hpp"
#include "core/result.hpp"

namespace vpnleak::guard {

enum class Ipv6Mode { kBlock, kTunnel };
enum class Proto { kUdp, kTcp };

std::string_view protoName(Proto p);        // "udp" / "tcp"
std::string_view ipv6ModeName(Ipv6Mode m);  // "block" / "tunnel"

// The VPN server's socket: exactly one address, port and transport.
struct GuardEndpoint {
  core::IpAddress address;
  std::uint16_t port = 0;
  Proto proto = Proto::kUdp;

  // "IP:PORT", "[IPv6]:PORT", each optionally followed by "/udp" (the default) or "/tcp".
  static core::Result<GuardEndpoint> parse(std::string_view text);
  [[nodiscard]] std::string toString() const;
  friend auto operator<=>(const GuardEndpoint&, const GuardEndpoint&) =
      default;  // NOLINT(modernize-use-nullptr): clang-tidy 14 false positive
};

struct GuardConfig {
  // Boot-time lockdown: no tunnel and no endpoint yet, only loopback, DHCP and NDP pass.
  bool lockdown = false;
  std::string tunnel;                 // interface name; matched by name (oifname)
  bool tunnel_may_be_absent = false;  // accept a tunnel that does not exist yet
  std::vector<GuardEndpoint> endpoints;
  std::vector<core::IpAddress> dns;  // resolvers reachable through the tunnel
  bool allow_lan = false;
  std::string lan_iface;          // where LAN prefixes are taken from; empty: every
                                  // non-tunnel interface
  std::vector<core::Prefix> lan;  // verified prefixes (see lan.hpp), set by `up`
  Ipv6Mode ipv6 = Ipv6Mode::kBlock;
  std::optional<std::uint32_t> fwmark;  // the tunnel socket's mark (wg-quick: 51820)

  friend bool operator==(const GuardConfig&, const GuardConfig&) = default;
};

// Checks what can be checked without the kernel: names, conflicts, duplicates. Errors are one
// line naming the flag and the value (Errc::kInvalidArgument, exit 2).
core::Status validate(const GuardConfig& c);

// Sorts and de-duplicates the lists so that equal intent gives an identical ruleset.
GuardConfig normalized(GuardConfig c);

bool validInterfaceName(std::string_view name);

core::Json toJson(const GuardConfig& c);
core::Result<GuardConfig> configFromJson(const core::Json& j);

// A short stable digest of the config (FNV-1a 64 over its JSON), written into the table's comment.
std::string configDigest(const GuardConfig& c);

}  // namespace vpnleak::guard
