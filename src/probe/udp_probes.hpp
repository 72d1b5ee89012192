// UDP probes: a STUN binding request (what a browser's ICE agent sends to learn its public
// address), and TTL-limited datagrams in the manner of Mullvad's leak checker: they expire at the
// first routers, so nothing leaves the LAN, yet an ICMP time-exceeded answer proves the firewall
// let the packet out.
#pragma once

#include <optional>
#include <vector>

#include "core/ip.hpp"
#include "core/result.hpp"
#include "probe/socket.hpp"

namespace vpnleak::probe {

// The mapped address the STUN server reports, or nullopt when no answer came in time (or the
// packet could not be sent at all: no route, or a firewall rejecting it).
core::Result<std::optional<core::Endpoint>> stunBinding(const core::Endpoint& server,
                                                        const Binding& binding, Deadline deadline);

struct TtlAnswer {
  int order = 0;         // 1 for the first answer to arrive
  core::IpAddress from;  // the router that answered
  int icmp_type = 0;
  int icmp_code = 0;
};

struct TtlProbeResult {
  std::vector<TtlAnswer> answers;        // ICMP errors received: each one proves a packet got out
  std::vector<std::string> send_errors;  // e.g. "ttl 1: Operation not permitted" (firewall)
};

// Sends one UDP datagram per TTL in 1..max_ttl towards dst (bound as given) and collects the ICMP
// errors that come back on the socket's error queue (IP_RECVERR), until the deadline.
core::Result<TtlProbeResult> ttlProbe(const core::Endpoint& dst, const Binding& binding,
                                      int max_ttl, Deadline deadline);

}  // namespace vpnleak::probe
