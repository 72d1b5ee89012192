// DNS: the message parser, name decompression from every offset, and the authoritative
// responder over UDP and TCP. A response the server builds must always parse again.
#include <array>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "server/dns_responder.hpp"
#include "wire/dns.hpp"

using namespace vpnleak;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static server::Metrics metrics;
  static const server::DnsResponder responder(
      server::ZoneConfig{"leak.test", core::IpAddress::parse("192.0.2.10").value(),
                         core::IpAddress::parse("2001:db8::10").value(), 1, "fuzz"},
      metrics);
  static const auto client = core::Endpoint::parse("198.51.100.7:5353").value();
  const wire::Bytes in(data, size);
  // parseInto into a reused message agrees with parse, and every name the parser reads encodes
  // back (without allocating) to wire octets that read as the same name.
  static wire::dns::Message reused;
  const auto parsed = wire::dns::parse(in);
  if (wire::dns::parseInto(in, reused).ok() != parsed.ok()) std::abort();
  if (parsed.ok()) {
    if (reused.questions.size() != parsed->questions.size() ||
        reused.answers.size() != parsed->answers.size() ||
        reused.edns.has_value() != parsed->edns.has_value()) {
      std::abort();
    }
    for (std::size_t i = 0; i < parsed->questions.size(); ++i) {
      const auto& name = parsed->questions[i].name;
      if (reused.questions[i].name != name) std::abort();
      std::array<std::uint8_t, wire::dns::kMaxNameWire> w;  // NOLINT: written before read
      const std::size_t n = wire::dns::encodeNameInto(name, w);
      const auto back = wire::dns::readName(wire::Bytes(w.data(), n), 0);
      if (n == 0 || !back.ok() || back->name != name) std::abort();
    }
  }
  for (std::size_t off = 0; off < size && off < 64; ++off) (void)wire::dns::readName(in, off);
  static std::vector<std::uint8_t> out(65535);
  for (const auto t : {server::Transport::kUdp, server::Transport::kTcp}) {
    const auto r = responder.respond(in, client, t, out, 0);
    if (r.size == 0) continue;
    if (t == server::Transport::kUdp && r.size > 1232) std::abort();
    if (!wire::dns::parse(wire::Bytes(out.data(), r.size)).ok()) std::abort();
  }
  return 0;
}
