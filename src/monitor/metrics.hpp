// The monitor's counters, shared between the capture loop (the only writer) and the Prometheus
// endpoint (a reader on another thread), and their Prometheus text form.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>

#include "monitor/classifier.hpp"

namespace vpnleak::monitor {

struct Counters {
  using Counter = std::atomic<std::uint64_t>;
  Counter packets{0};
  Counter bytes{0};
  Counter tunnel{0};
  Counter allowed{0};
  Counter leaks{0};
  Counter other{0};
  Counter malformed{0};  // frames whose headers contradicted themselves
  Counter windows{0};    // closed leak windows
  Counter kernel_drops{0};
  Counter if_drops{0};
  std::array<Counter, kReasonCount> reasons{};
  std::atomic<double> last_window_ms{0};
  std::atomic<double> max_window_ms{0};

  // One writer: a plain load and store is enough and keeps the hot path free of locked
  // instructions; readers see a value at most one update old.
  static void add(Counter& c, std::uint64_t n = 1) {
    c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  // Inline: once per packet.
  void record(Verdict v, Reason r, std::uint64_t frame_bytes) {
    add(packets);
    add(bytes, frame_bytes);
    switch (v) {
      case Verdict::kTunnel:
        add(tunnel);
        break;
      case Verdict::kAllowed:
        add(allowed);
        break;
      case Verdict::kOther:
        add(other);
        break;
      case Verdict::kLeak:
        add(leaks);
        add(reasons[static_cast<std::size_t>(r)]);
        break;
    }
  }
  [[nodiscard]] static std::uint64_t get(const Counter& c) {
    return c.load(std::memory_order_relaxed);
  }
};

std::string formatPrometheus(const Counters& c);

}  // namespace vpnleak::monitor
