// The STUN binding logic, free of I/O: a datagram in, a response (or nothing) out. Only
// binding requests are answered; indications, responses, malformed or non-STUN datagrams are
// ignored, so the port cannot be used to bounce traffic. A response is at most 52 octets.
#pragma once

#include <cstddef>

#include "core/ip.hpp"
#include "server/metrics.hpp"
#include "wire/bytes.hpp"

namespace vpnleak::server {

class StunResponder {
 public:
  explicit StunResponder(Metrics& metrics) : metrics_(metrics) {}

  // Size of the response written to out; 0 = send nothing.
  std::size_t respond(wire::Bytes datagram, const core::Endpoint& client,
                      wire::MutableBytes out) const;

 private:
  Metrics& metrics_;
};

}  // namespace vpnleak::server
