// `guard watch`: apply, then keep the table as applied. Every nftables change notification (and a
// periodic check) triggers a comparison with what was applied; a difference that `guard up` did
// not record is tamper, and the table is put back. While it runs, the watcher also holds an owned
// shadow table with the same rules, which `nft flush ruleset` cannot remove, so that nothing
// passes between a flush and the restore. It follows the WireGuard peer's endpoint and exports
// counters for Prometheus.
#pragma once

#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/ip.hpp"
#include "core/result.hpp"
#include "guard/config.hpp"

namespace vpnleak::guard {

struct WatchOptions {
  GuardConfig config;                     // resolved (see apply.hpp)
  std::optional<core::Endpoint> metrics;  // --metrics ADDR:PORT
  bool follow_wg = true;                  // add the endpoints `wg show TUN endpoints` reports
  bool shadow = true;                     // hold the owned shadow table
  std::chrono::milliseconds check_interval{1000};  // verify even without notifications
  std::chrono::milliseconds follow_interval{1000};
};

// Runs until stop becomes true (a signal handler sets it). The table stays when it returns.
core::Status runWatch(const WatchOptions& opts, const std::atomic<bool>& stop);

// Pure: the endpoints in `wg show IFACE endpoints` output ("KEY\tIP:PORT" lines, "(none)").
std::vector<GuardEndpoint> parseWgEndpoints(std::string_view text);

}  // namespace vpnleak::guard
