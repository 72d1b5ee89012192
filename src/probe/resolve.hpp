// Name lookups through the system's own resolver path (getaddrinfo: nsswitch, /etc/resolv.conf,
// systemd-resolved), asynchronously, so that many names finish within one deadline.
#pragma once

#include <string>
#include <vector>

#include "core/ip.hpp"
#include "probe/socket.hpp"

namespace vpnleak::probe {

struct Lookup {
  std::string name;
  std::vector<core::IpAddress> addresses;
  std::string error;  // gai_strerror text, or "timed out"
};

// Starts the lookups spread evenly over `spread` (a resolver sees them over time, as from a
// browsing user), A and AAAA each (AF_UNSPEC), and waits for them until the deadline.
std::vector<Lookup> resolveAll(const std::vector<std::string>& names,
                               std::chrono::milliseconds spread, Deadline deadline);

// One name, for the server URL's host.
core::Result<std::vector<core::IpAddress>> resolveHost(const std::string& host, Deadline deadline);

}  // namespace vpnleak::probe
