// Leak windows: leaked packets grouped into bursts. A burst starts with a leaked packet and goes
// on while the next leaked packet follows within the gap; the window is the time from its first
// to its last packet. This is the "reconnect window" of DESIGN.md, measured from the wire.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>

#include "monitor/classifier.hpp"

namespace vpnleak::monitor {

// Capture timestamps: wall-clock time as the kernel stamped the packet, nanosecond resolution.
using Timestamp = std::chrono::sys_time<std::chrono::nanoseconds>;

struct LeakWindow {
  Timestamp first{}, last{};
  std::uint64_t packets = 0;
  std::uint64_t bytes = 0;
  std::array<std::uint64_t, kReasonCount> reasons{};

  [[nodiscard]] std::chrono::nanoseconds duration() const { return last - first; }
};

class WindowTracker {
 public:
  explicit WindowTracker(std::chrono::nanoseconds gap) : gap_(gap) {}

  // Records a leaked packet. Returns the window this packet closed: the previous burst, when
  // more than the gap has passed since its last packet.
  std::optional<LeakWindow> add(Timestamp ts, std::uint64_t bytes, Reason reason);
  // The open window once nothing leaked within the gap before now (live captures call this as
  // time passes, so that a window is reported without waiting for the next leak).
  std::optional<LeakWindow> expire(Timestamp now);
  // The open window, if any (end of capture).
  std::optional<LeakWindow> finish();

  [[nodiscard]] bool isOpen() const { return open_.packets > 0; }
  [[nodiscard]] std::uint64_t closedCount() const { return closed_; }

 private:
  std::optional<LeakWindow> close();

  std::chrono::nanoseconds gap_;
  LeakWindow open_;
  std::uint64_t closed_ = 0;
};

}  // namespace vpnleak::monitor
