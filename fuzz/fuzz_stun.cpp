// STUN: the message parser and the binding responder. The server never answers with more
// than a small fixed size, and what it sends must parse with a correct FINGERPRINT.
#include <array>
#include <cstdint>
#include <cstdlib>

#include "server/stun_responder.hpp"
#include "wire/stun.hpp"

using namespace vpnleak;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static server::Metrics metrics;
  static const server::StunResponder responder(metrics);
  static const auto client = core::Endpoint::parse("[2001:db8::7]:3478").value();
  const wire::Bytes in(data, size);
  if (auto m = wire::stun::parse(in); m.ok()) {
    for (const auto& a : m->attrs()) {
      (void)wire::stun::decodeAddress(a.value);
      (void)wire::stun::decodeXorAddress(a.value, m->transaction_id);
    }
  }
  (void)wire::stun::looksLikeStun(in);
  std::array<std::uint8_t, 1280> out{};
  const std::size_t n = responder.respond(in, client, out);
  if (n == 0) return 0;
  if (n > 100) std::abort();
  if (!wire::stun::parse(wire::Bytes(out.data(), n)).ok()) std::abort();
  return 0;
}
