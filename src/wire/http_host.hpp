// The Host of a plaintext HTTP/1.x request, read from the first TCP segment of the request.
// Pure, allocation-free: views into the segment.
#pragma once

#include <optional>
#include <string_view>

#include "wire/bytes.hpp"

namespace vpnleak::wire::http {

struct RequestHead {
  std::string_view method;  // "GET", "POST", ...
  std::string_view host;    // the Host header's value, trimmed; empty when absent or cut off
};

// A request line "METHOD SP TARGET SP HTTP/1.x CRLF" at the start of the payload, with a method
// RFC 9110 defines; then the header lines present in the segment, scanning for Host.
std::optional<RequestHead> parseRequestHead(Bytes tcp_payload);

}  // namespace vpnleak::wire::http
