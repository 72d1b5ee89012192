// What `vpnleak server` was asked to do: listeners, zone, answers, store, limits.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/ip.hpp"
#include "core/result.hpp"

namespace vpnleak::server {

struct Limits {
  std::size_t max_http_connections = 1024;  // per process; more are closed at accept
  std::size_t max_tcp_dns_connections = 256;
  std::size_t http_header_bytes = std::size_t{8} * 1024;
  std::size_t http_body_bytes = std::size_t{64} * 1024;
  std::chrono::seconds idle_timeout{10};
  unsigned http_requests_per_connection = 1000;  // as nginx's keepalive_requests default
  std::size_t max_tests = 100000;          // memory store
  std::size_t max_observations = 1000000;  // memory store, all tests together
  std::size_t max_observations_per_test = 1000;
  std::size_t recorder_queue = 65536;  // observations waiting for the store
};

struct ServerConfig {
  std::string zone;  // lowercase, no trailing dot
  std::vector<core::Endpoint> http;
  std::vector<core::Endpoint> dns;
  std::vector<core::Endpoint> stun;
  std::optional<core::Endpoint> metrics;
  std::optional<core::IpAddress> answer_v4;
  std::optional<core::IpAddress> answer_v6;
  std::string store = "memory";
  std::chrono::seconds token_ttl{3600};
  std::string user;         // drop to this user after binding (empty: stay)
  unsigned threads = 0;     // event loops; 0 = one per CPU
  unsigned rrl_rate = 100;  // DNS responses/s per client prefix over UDP; 0 = off
  unsigned names_per_test = 10;
  std::string node;  // recorded with every observation (default: host name)
  Limits limits;
};

// Checks and normalises a configuration (zone syntax, at least one listener, answer families,
// store spec shape). Errors are Errc::kInvalidArgument with one line naming the flag and value.
core::Status normalize(ServerConfig& cfg);

}  // namespace vpnleak::server
