// The server name a TLS client asks for (RFC 6066 server_name in a ClientHello, TLS 1.0-1.3),
// read from the first TCP segment of a connection. Pure, allocation-free: the name is a view into
// the segment. Only the first record is examined: a ClientHello split across segments before its
// server_name extension yields kIncomplete rather than a guess.
#pragma once

#include <cstdint>
#include <string_view>

#include "wire/bytes.hpp"

namespace vpnleak::wire::tls {

enum class SniStatus : std::uint8_t {
  kNotTls,          // not a TLS handshake record
  kNotClientHello,  // a handshake record, but another message
  kNoSni,           // a complete ClientHello without server_name
  kIncomplete,      // the segment ends before the extensions were read
  kMalformed,       // lengths contradict each other
  kFound,
};

struct SniResult {
  SniStatus status = SniStatus::kNotTls;
  std::string_view name;  // raw bytes of the host_name (not validated as a DNS name)
};

SniResult clientHelloSni(Bytes tcp_payload);

}  // namespace vpnleak::wire::tls
