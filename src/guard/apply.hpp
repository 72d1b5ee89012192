// The thin kernel side of `guard up|down|status`: resolve a config against this namespace,
// apply it in one transaction, verify it, read its counters, remove it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "core/json.hpp"
#include "core/result.hpp"
#include "guard/config.hpp"
#include "guard/lan.hpp"
#include "guard/nft.hpp"
#include "guard/state.hpp"

namespace vpnleak::guard {

// Checks the interfaces (an unknown --tunnel is an error unless tunnel_may_be_absent; an unknown
// --lan-iface always is) and fills config.lan from the on-link prefixes when --allow-lan.
struct Resolved {
  GuardConfig config;
  LanSelection lan;
};
core::Result<Resolved> resolve(GuardConfig config);

struct Applied {
  std::string listing;  // stateless listing, what verify() compares against
  double apply_ms = 0;
};

// Replaces `inet vpnleak` (or creates it) in a single transaction and records the state file.
core::Result<Applied> apply(NftCtx& nft, const GuardConfig& config, pid_t watch_pid = 0);

// Deletes `inet vpnleak`; true when it was there.
core::Result<bool> remove(NftCtx& nft);

struct CounterValue {
  std::uint64_t packets = 0;
  std::uint64_t bytes = 0;
};
// Per reason ("out", "dns"...), summed over the main and shadow tables.
core::Result<std::map<std::string, CounterValue>> readCounters(NftCtx& nft);

struct Inspection {
  bool present = false;
  std::optional<bool> matches;  // null when there is no record of what was applied
  std::optional<GuardState> state;
  bool shadow_present = false;
  bool watch_running = false;
  std::map<std::string, CounterValue> counters;
};
core::Result<Inspection> inspect(NftCtx& nft);

// Document "vpnleak.guard/1" for `guard status --json`.
core::Json toJson(const Inspection& i);

double unixNow();

}  // namespace vpnleak::guard
