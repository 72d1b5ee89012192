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

// A loop's own DNS counts for one batch of queries: plain additions per query, added to the
// shared counters by flush() once per batch (one locked add per counter touched, not two per
// query). Whoever owns one flushes it before the batch's answers leave.
struct DnsCounts {
  std::array<std::uint64_t, 2> queries{};  // as Metrics::dns_queries
  std::array<std::uint64_t, 6> rcodes{};   // as Metrics::dns_rcodes
  std::uint64_t badvers = 0;

  void flush(Metrics& m) {
    for (std::size_t i = 0; i < queries.size(); ++i) {
      if (queries[i] != 0) bump(m.dns_queries[i], queries[i]);
    }
    for (std::size_t i = 0; i < rcodes.size(); ++i) {
      if (rcodes[i] != 0) bump(m.dns_rcodes[i], rcodes[i]);
    }
    if (badvers != 0) bump(m.dns_badvers, badvers);
    *this = DnsCounts{};
  }
};

}  // namespace vpnleak::server
