#include "monitor/window.hpp"

namespace vpnleak::monitor {

std::optional<LeakWindow> WindowTracker::add(Timestamp ts, std::uint64_t bytes, Reason reason) {
  std::optional<LeakWindow> closed;
  if (isOpen() && ts - open_.last > gap_) closed = close();
  if (!isOpen()) {
    open_.first = ts;
    open_.last = ts;
  }
  // Several interfaces are read in turn, so a packet can arrive slightly out of order.
  if (ts < open_.first) open_.first = ts;
  if (ts > open_.last) open_.last = ts;
  ++open_.packets;
  open_.bytes += bytes;
  ++open_.reasons[static_cast<std::size_t>(reason)];
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
