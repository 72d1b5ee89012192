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
  // more than the gap has passed since its last packet. Inline: a leak in the open window (the
  // common case) costs a compare and three additions, no LeakWindow copy.
  std::optional<LeakWindow> add(Timestamp ts, std::uint64_t bytes, Reason reason) {
    if (!isOpen() || ts - open_.last > gap_) return start(ts, bytes, reason);
    // Several interfaces are read in turn, so a packet can arrive slightly out of order.
    if (ts < open_.first) open_.first = ts;
    if (ts > open_.last) open_.last = ts;
    count(bytes, reason);
    return std::nullopt;
  }
  // The open window once nothing leaked within the gap before now (live captures call this as
  // time passes, so that a window is reported without waiting for the next leak).
  std::optional<LeakWindow> expire(Timestamp now);
  // The open window, if any (end of capture).
  std::optional<LeakWindow> finish();

  [[nodiscard]] bool isOpen() const { return open_.packets > 0; }
  [[nodiscard]] std::uint64_t closedCount() const { return closed_; }

 private:
  std::optional<LeakWindow> close();
  // add() for a leak that opens a window (closing the one open before, if any).
  std::optional<LeakWindow> start(Timestamp ts, std::uint64_t bytes, Reason reason);
  void count(std::uint64_t bytes, Reason reason) {
    ++open_.packets;
    open_.bytes += bytes;
    ++open_.reasons[static_cast<std::size_t>(reason)];
  }

  std::chrono::nanoseconds gap_;
  LeakWindow open_;
  std::uint64_t closed_ = 0;
};

}  // namespace vpnleak::monitor
