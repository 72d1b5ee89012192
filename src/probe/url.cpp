#include "probe/url.hpp"

#include <algorithm>
#include <charconv>

namespace vpnleak::probe {

namespace {

core::Error bad(std::string_view text, const std::string& why) {
  return core::makeError(core::Errc::kInvalidArgument,
                         "invalid --server '" + std::string(text) + "': " + why +
                             " (expected http://HOST[:PORT][/PATH], e.g. http://192.0.2.10:8080)");
}

bool validHostname(std::string_view h) {
  if (h.empty() || h.size() > 253) return false;
  return std::all_of(h.begin(), h.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.';
  });
}

}  // namespace

std::string ServerUrl::hostHeader() const {
  std::string h = literal && literal->isV6() ? "[" + host + "]" : host;
  if (port != 80) h += ":" + std::to_string(port);
  return h;
}

std::string ServerUrl::toString() const { return "http://" + hostHeader() + base_path; }

core::Result<ServerUrl> parseServerUrl(std::string_view text) {
  constexpr std::string_view kScheme = "http://";
  if (text.rfind("https://", 0) == 0) {
    return bad(text, "https is not supported: the vpnleak server speaks plain HTTP");
  }
  if (text.rfind(kScheme, 0) != 0) return bad(text, "the scheme must be http://");
  std::string_view rest = text.substr(kScheme.size());
  if (rest.find_first_of("?#@") != std::string_view::npos) {
    return bad(text, "no user, query or fragment allowed");
  }
  const auto slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? "" : rest.substr(slash);
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  ServerUrl u;
  u.base_path = std::string(path);
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return bad(text, "unclosed '['");
    u.host = std::string(authority.substr(1, close - 1));
    auto a = core::IpAddress::parse(u.host);
    if (!a || !a->isV6()) return bad(text, "'" + u.host + "' is not an IPv6 address");
    u.literal = *a;
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return bad(text, "unexpected text after ']'");
      port = after.substr(1);
      if (port.empty()) return bad(text, "empty port");
    }
  } else {
    const auto colon = authority.find(':');
    u.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      port = authority.substr(colon + 1);
      if (port.empty()) return bad(text, "empty port");
    }
    if (auto a = core::IpAddress::parse(u.host)) {
      u.literal = *a;
    } else if (!validHostname(u.host)) {
      return bad(text, "'" + u.host + "' is not a host name or address");
    }
  }
  if (!port.empty()) {
    unsigned p = 0;
    auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
    if (ec != std::errc() || ptr != port.data() + port.size() || p == 0 || p > 65535) {
      return bad(text, "port must be 1-65535");
    }
    u.port = static_cast<std::uint16_t>(p);
  }
  return u;
}

}  // namespace vpnleak::probe
