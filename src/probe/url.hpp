// The leak-test server's address as the user gives it: http://HOST[:PORT][/PREFIX].
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/ip.hpp"
#include "core/result.hpp"

namespace vpnleak::probe {

struct ServerUrl {
  std::string host;                        // as written, without brackets
  std::optional<core::IpAddress> literal;  // when host is an address
  std::uint16_t port = 80;
  std::string base_path;  // "" or "/prefix" (no trailing slash)

  [[nodiscard]] std::string hostHeader() const;  // "host", "host:8080", "[2001:db8::1]:8080"
  [[nodiscard]] std::string toString() const;
};

// Strict: scheme http only (the API carries no secrets and the server runs without TLS; put a
// TLS proxy in front of a public one), a valid host, port 1-65535, no userinfo, query or fragment.
core::Result<ServerUrl> parseServerUrl(std::string_view text);

}  // namespace vpnleak::probe
