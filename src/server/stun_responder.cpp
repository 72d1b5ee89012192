#include "server/stun_responder.hpp"

#include <array>

#include "wire/stun.hpp"

namespace vpnleak::server {

namespace stun = wire::stun;

namespace {

// Attributes a binding server may see and safely ignore although they are in the
// comprehension-required range (RFC 8489 14: USERNAME and MESSAGE-INTEGRITY(-SHA256) only
// matter to a server with credentials; PRIORITY/USE-CANDIDATE come from ICE peers).
bool understood(std::uint16_t type) {
  switch (type) {
    case stun::kAttrUsername:
    case stun::kAttrMessageIntegrity:
    case stun::kAttrMessageIntegritySha256:
    case 0x0024:  // PRIORITY
    case 0x0025:  // USE-CANDIDATE
    case 0x001e:  // USERHASH
    case 0x0015:  // NONCE
    case 0x0014:  // REALM
    case 0x0003:  // CHANGE-REQUEST (RFC 5780): answered from this address regardless
      return true;
    default:
      return false;
  }
}

}  // namespace

std::size_t StunResponder::respond(wire::Bytes datagram, const core::Endpoint& client,
                                   wire::MutableBytes out) const {
  auto msg = stun::parse(datagram);
  if (!msg || msg->method != stun::kMethodBinding || msg->cls != stun::Class::kRequest) {
    bump(metrics_.stun_ignored);
    return 0;
  }
  bump(metrics_.stun_requests);
  std::array<std::uint16_t, stun::kMaxAttributes> unknown{};
  std::size_t n_unknown = 0;
  for (const auto& a : msg->attrs()) {
    if (a.comprehensionRequired() && a.type != stun::kAttrFingerprint && !understood(a.type)) {
      unknown[n_unknown++] = a.type;
    }
  }
  auto size = n_unknown > 0
                  ? stun::buildError(out, *msg, 420, "Unknown Attribute",
                                     std::span(unknown.data(), std::min<std::size_t>(n_unknown, 4)))
                  : stun::buildBindingSuccess(out, *msg, client);
  if (!size) return 0;
  bump(metrics_.stun_responses);
  return *size;
}

}  // namespace vpnleak::server
