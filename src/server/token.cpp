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

namespace {

// Each octet's lowercase hex digit, or 0 where the octet is no hex digit (either case).
constexpr std::array<char, 256> kHexLower = [] {
  std::array<char, 256> t{};
  for (char c = '0'; c <= '9'; ++c) t[static_cast<unsigned char>(c)] = c;
  for (char c = 'a'; c <= 'f'; ++c) {
    t[static_cast<unsigned char>(c)] = c;
    t[static_cast<unsigned char>(c - 'a' + 'A')] = c;
  }
  return t;
}();

}  // namespace

bool tokenFromNameInto(std::string_view qname, std::string_view zone, std::string& out) {
  // The token is the whole label left of the zone: exactly 32 characters after a dot (or at the
  // start), hex digits in either case, lowercased as it is copied (by table: no branch per
  // character, the digits of a random token being no pattern a branch predictor can learn).
  if (!wire::dns::nameInZone(qname, zone)) return false;
  const std::size_t zone_part = zone.empty() ? 0 : zone.size() + 1;
  if (qname.size() < zone_part + kTokenLength) return false;
  const std::size_t at = qname.size() - zone_part - kTokenLength;
  if (at > 0 && qname[at - 1] != '.') return false;
  out.resize(kTokenLength);
  char* to = out.data();
  const char* from = qname.data() + at;
  bool hex = true;
  for (std::size_t i = 0; i < kTokenLength; ++i) {
    to[i] = kHexLower[static_cast<unsigned char>(from[i])];
    hex &= to[i] != 0;
  }
  return hex;
}

std::string tokenFromName(std::string_view qname, std::string_view zone) {
  std::string token;
  return tokenFromNameInto(qname, zone, token) ? token : std::string{};
}

}  // namespace vpnleak::server
