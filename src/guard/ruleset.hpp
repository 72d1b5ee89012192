// The kill switch as nftables text: a pure function of the config, golden-tested.
//
// One table `inet vpnleak` with output, input and forward base chains at policy drop. Everything
// that may pass is matched by interface name, address sets and marks, never by routes, so that
// routes pushed by a hostile network (DHCP option 121) or a tunnel that disappears during a
// reconnect cannot open a path. Each kind of drop has a named counter.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "guard/config.hpp"

namespace vpnleak::guard {

inline constexpr std::string_view kTable = "vpnleak";
// Held by `guard watch` with the owner flag: `nft flush ruleset` from another process skips it,
// so it keeps the same rules in force until the main table is restored; it vanishes with watch.
inline constexpr std::string_view kShadowTable = "vpnleak_watch";

// One named counter per reason a packet is dropped or rejected.
struct DropReason {
  std::string_view name;  // reason label: counter "drop_<name>"
  std::string_view help;
};
const std::vector<DropReason>& dropReasons();

struct RulesetOptions {
  std::string_view table = kTable;
  // Prepend "table X {}; delete table X" so that applying the text replaces any previous version
  // in the same transaction (nft 1.0.6 has no `destroy`).
  bool replace = true;
  // The table belongs to the netlink socket that creates it (NFT_TABLE_F_OWNER, Linux 5.12).
  bool owner = false;
  // Base chain priority; the shadow table runs after the main one so that the main table's
  // counters see every drop while it is present.
  int priority = 0;
};

std::string generateRuleset(const GuardConfig& config, const RulesetOptions& opts = {});

// `delete table inet NAME` preceded by a no-op create, so that it succeeds when absent too.
std::string removeCommand(std::string_view table = kTable);

}  // namespace vpnleak::guard
