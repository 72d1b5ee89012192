// The kernel's route selection, evaluated over a Snapshot: policy rules in priority order, each
// pointing at a table; longest prefix match in the table, then the lowest metric;
// suppress_prefixlength rejecting a match as short as or shorter than the limit (wg-quick's
// "main table except its default route"); throw continuing with the next rule. Pure.
#pragma once

#include <optional>
#include <string>

#include "audit/snapshot.hpp"

namespace vpnleak::audit {

// A locally generated packet as the routing decision sees it.
struct Packet {
  core::IpAddress dst;
  std::uint32_t mark = 0;
  std::uint32_t uid = 0;
  std::string oif;  // a socket bound to an interface (SO_BINDTODEVICE)
  std::optional<core::IpAddress> src;

  // An unmarked packet from an unbound socket owned by root: "ordinary traffic".
  static Packet to(const core::IpAddress& d) {
    Packet p;
    p.dst = d;
    return p;
  }
};

struct Decision {
  enum class Kind { kRoute, kBlackhole, kUnreachable, kProhibit, kNoRoute };
  Kind kind = Kind::kNoRoute;
  const RouteEntry* route = nullptr;  // for kRoute; points into the snapshot
  std::uint32_t table = 0;
  std::uint32_t rule_priority = 0;

  [[nodiscard]] bool delivered() const { return kind == Kind::kRoute && route != nullptr; }
  [[nodiscard]] std::string dev() const { return delivered() ? route->dev : std::string(); }
  [[nodiscard]] std::string describe() const;  // "via 192.168.1.1 dev eth0 (table main)"
};

// When the snapshot has no rules for the family (a dump without them), the kernel's defaults
// apply: local (0), main (32766), default (32767).
Decision decide(const Snapshot& s, const Packet& p);

std::string tableLabel(std::uint32_t table);

}  // namespace vpnleak::audit
