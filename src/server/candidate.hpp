// ICE candidates as a browser reports them (RFC 8839 "candidate:" lines), and the WebRTC
// verdict: a leak is a public address in the candidates that the HTTP server never saw the
// client come from, i.e. an address outside the path the browser's traffic takes.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/ip.hpp"
#include "core/result.hpp"

namespace vpnleak::server {

struct Candidate {
  std::string foundation;
  unsigned component = 0;
  std::string protocol;  // "udp", "tcp"
  std::string address;   // an IP literal or an mDNS name ("....local")
  std::uint16_t port = 0;
  std::string type;  // host, srflx, prflx, relay
  std::string related_address;
  std::optional<core::IpAddress> ip;          // when address is an IP literal
  std::optional<core::IpAddress> related_ip;  // when raddr is
  [[nodiscard]] bool mdns() const { return !ip && address.ends_with(".local"); }
};

// Accepts "candidate:..." with or without the "a=" prefix. kMalformed for a line that does
// not have the six fixed fields and "typ TYPE".
core::Result<Candidate> parseCandidate(std::string_view line);

struct WebrtcVerdict {
  bool leak = false;
  std::vector<core::IpAddress> public_addresses;  // every public IP in the candidates
  std::vector<core::IpAddress> leaked;            // those the HTTP server never saw
};

WebrtcVerdict judgeWebrtc(const std::vector<Candidate>& candidates,
                          const std::vector<core::IpAddress>& http_addresses);

}  // namespace vpnleak::server
