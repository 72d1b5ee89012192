// Sockets for probes: bound to a device, a source address or a firewall mark, non-blocking, and
// every wait bounded by one deadline.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "core/ip.hpp"
#include "core/result.hpp"
#include "core/unique_fd.hpp"

namespace vpnleak::probe {

using Clock = std::chrono::steady_clock;
using Deadline = Clock::time_point;

// Milliseconds left until the deadline, at least 0.
int msLeft(Deadline d);

struct Binding {
  std::string device;                     // SO_BINDTODEVICE: leave through this interface only
  std::optional<core::IpAddress> source;  // bind() to this local address
  std::optional<std::uint32_t> mark;      // SO_MARK
  std::optional<int> ttl;                 // IP_TTL / IPV6_UNICAST_HOPS

  [[nodiscard]] std::string describe() const;  // "dev lan0", "from 10.0.0.2", "" ...
};

core::Result<core::UniqueFd> openSocket(core::Family f, int type, const Binding& b);

// Non-blocking connect that waits until the deadline.
core::Status connectWithin(int fd, const core::Endpoint& to, Deadline d);

// Waits until fd is readable (POLLIN) or writable; false on timeout.
bool waitReadable(int fd, Deadline d);

}  // namespace vpnleak::probe
