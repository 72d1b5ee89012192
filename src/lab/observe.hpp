// Watching traffic arrive at the lab's server: which source address did the client's packet,
// or the resolver that asked on the client's behalf, arrive with? These are the ground truth the
// lab's own tests and `lab run` compare against.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "core/ip.hpp"
#include "core/result.hpp"

namespace vpnleak::lab {

// Sends a few UDP datagrams from from_ns to dst:port and returns the source address they arrived
// with at a socket bound in to_ns, or nullopt when none arrived within timeout (or none could be
// sent: no route is an observation too).
core::Result<std::optional<core::IpAddress>> observeUdpSource(
    const std::string& from_ns, const std::string& to_ns, const core::IpAddress& dst,
    std::uint16_t port, std::chrono::milliseconds timeout = std::chrono::milliseconds(2000));

// Listens on UDP port 53 at the given addresses in server_ns, runs `dig QNAME` in client_ns
// through its own resolv.conf, answers each query for QNAME with NXDOMAIN, and returns every
// source address such a query arrived from.
core::Result<std::vector<core::IpAddress>> observeDnsResolvers(
    const std::string& client_ns, const std::string& server_ns,
    const std::vector<core::IpAddress>& listen, const std::string& qname,
    std::chrono::milliseconds timeout = std::chrono::milliseconds(3000));

}  // namespace vpnleak::lab
