// DNS: the message parser, name decompression from every offset, and the authoritative
// responder over UDP and TCP. A response the server builds must always parse again.
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
  (void)wire::dns::parse(in);
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
