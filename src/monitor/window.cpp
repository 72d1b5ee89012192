#include "monitor/window.hpp"

namespace vpnleak::monitor {

std::optional<LeakWindow> WindowTracker::start(Timestamp ts, std::uint64_t bytes, Reason reason) {
  std::optional<LeakWindow> closed;
  if (isOpen()) closed = close();
  open_.first = ts;
  open_.last = ts;
  count(bytes, reason);
  return closed;
}

std::optional<LeakWindow> WindowTracker::expire(Timestamp now) {
  if (isOpen() && now - open_.last > gap_) return close();
  return std::nullopt;
}

std::optional<LeakWindow> WindowTracker::finish() {
  if (isOpen()) return close();
  return std::nullopt;
}

std::optional<LeakWindow> WindowTracker::close() {
  LeakWindow w = open_;
  open_ = LeakWindow{};
  ++closed_;
  return w;
}

}  // namespace vpnleak::monitor
