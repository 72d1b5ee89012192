// Counters every part of the server bumps, rendered as Prometheus text. Relaxed atomics: the
// numbers are monotonic counts read by a scraper, never used to synchronise anything.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>

namespace vpnleak::server {

using Counter = std::atomic<std::uint64_t>;

inline void bump(Counter& c, std::uint64_t n = 1) { c.fetch_add(n, std::memory_order_relaxed); }

struct Metrics {
  // DNS
  std::array<Counter, 2> dns_queries{};  // by transport: udp, tcp
  std::array<Counter, 6> dns_rcodes{};   // NOERROR..REFUSED
  Counter dns_badvers{};
  Counter dns_malformed{};  // dropped without an answer
  Counter dns_rrl_dropped{};
  Counter dns_rrl_slipped{};
  Counter dns_truncated{};
  Counter dns_tcp_connections_rejected{};
  // STUN
  Counter stun_requests{};
  Counter stun_responses{};
  Counter stun_ignored{};
  // HTTP
  std::array<Counter, 6> http_responses{};  // by class: index 1..5 = 1xx..5xx
  Counter http_connections_active{};
  Counter http_connections_rejected{};
  // Tests and the store
  Counter tests_created{};
  Counter observations_recorded{};
  Counter observations_dropped{};  // queue full or unknown token
  Counter store_errors{};

  [[nodiscard]] std::string render(std::int64_t store_tests = -1) const;
};

}  // namespace vpnleak::server
