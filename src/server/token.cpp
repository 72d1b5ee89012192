#include "server/token.hpp"

#include <sys/random.h>

#include <array>
#include <cerrno>

#include "wire/dns.hpp"

namespace vpnleak::server {

core::Result<std::string> randomHex(std::size_t count) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(count);
  std::array<unsigned char, 64> buf{};
  while (out.size() < count) {
    const std::size_t want = std::min(buf.size(), (count - out.size() + 1) / 2);
    std::size_t got = 0;
    while (got < want) {
      const ssize_t n = ::getrandom(buf.data() + got, want - got, 0);
      if (n < 0) {
        if (errno == EINTR) continue;
        return core::sysError("getrandom");
      }
      got += static_cast<std::size_t>(n);
    }
    for (std::size_t i = 0; i < want && out.size() < count; ++i) {
      out += kDigits[buf[i] >> 4];
      if (out.size() < count) out += kDigits[buf[i] & 0xf];
    }
  }
  return out;
}

core::Result<std::string> newToken() { return randomHex(kTokenLength); }

bool isToken(std::string_view text) {
  if (text.size() != kTokenLength) return false;
  for (const char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::string tokenFromName(std::string_view qname, std::string_view zone) {
  if (!wire::dns::nameInZone(qname, zone) || qname.size() <= zone.size() + 1) return {};
  std::string_view rest = qname.substr(0, qname.size() - zone.size() - (zone.empty() ? 0 : 1));
  const auto dot = rest.rfind('.');
  std::string label(dot == std::string_view::npos ? rest : rest.substr(dot + 1));
  for (char& c : label) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return isToken(label) ? label : std::string{};
}

}  // namespace vpnleak::server
