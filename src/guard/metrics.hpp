// What `guard watch` exports on --metrics, as Prometheus text (pure formatting).
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "guard/apply.hpp"

namespace vpnleak::guard {

struct WatchMetrics {
  bool present = false;  // inet vpnleak is there
  bool matches = false;  // and equals what was applied
  bool shadow_present = false;
  std::uint64_t checks = 0;            // verifications run
  std::uint64_t restores = 0;          // re-applies after tamper
  std::uint64_t endpoint_updates = 0;  // re-applies because the tunnel's endpoint moved
  double last_restore_ms = 0;          // from the notification to the table being back
  double max_restore_ms = 0;
  std::map<std::string, CounterValue> drops;
};

std::string formatPrometheus(const WatchMetrics& m);

}  // namespace vpnleak::guard
