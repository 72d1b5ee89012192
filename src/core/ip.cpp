#include "core/ip.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>

namespace vpnleak::core {

namespace {

bool parseV4(std::string_view s, std::array<std::uint8_t, 16>& out) {
  std::size_t pos = 0;
  for (std::size_t part = 0; part < 4; ++part) {
    const std::size_t dot = s.find('.', pos);
    const bool last = part == 3;
    if (last != (dot == std::string_view::npos)) return false;  // exactly three dots
    const std::string_view tok = s.substr(pos, last ? std::string_view::npos : dot - pos);
    if (tok.empty() || tok.size() > 3 || (tok.size() > 1 && tok[0] == '0')) return false;
    unsigned v = 0;
    auto [p, ec] = std::from_chars(tok.data(), tok.data() + tok.size(), v);
    if (ec != std::errc() || p != tok.data() + tok.size() || v > 255) return false;
    out[part] = static_cast<std::uint8_t>(v);
    pos = dot + 1;
  }
  return true;
}

Error badAddress(std::string_view text) {
  return makeError(Errc::kInvalidArgument,
                   "invalid IP address '" + std::string(text) +
                       "': expected IPv4 (192.0.2.1) or IPv6 (2001:db8::1)");
}

}  // namespace

std::string_view familyName(Family f) { return f == Family::kV4 ? "ipv4" : "ipv6"; }

Result<IpAddress> IpAddress::parse(std::string_view text) {
  IpAddress a;
  if (text.empty() || text.size() > 45) return badAddress(text);
  if (text.find(':') == std::string_view::npos) {
    if (!parseV4(text, a.bytes_)) return badAddress(text);
    a.family_ = Family::kV4;
    return a;
  }
  if (text.find('%') != std::string_view::npos) return badAddress(text);
  std::string buf(text);
  if (inet_pton(AF_INET6, buf.c_str(), a.bytes_.data()) != 1) return badAddress(text);
  a.family_ = Family::kV6;
  return a;
}

IpAddress IpAddress::v4(std::uint32_t host_order) {
  IpAddress a;
  a.bytes_[0] = static_cast<std::uint8_t>(host_order >> 24);
  a.bytes_[1] = static_cast<std::uint8_t>(host_order >> 16);
  a.bytes_[2] = static_cast<std::uint8_t>(host_order >> 8);
  a.bytes_[3] = static_cast<std::uint8_t>(host_order);
  return a;
}

IpAddress IpAddress::fromBytes(Family family, std::span<const std::uint8_t> bytes) {
  IpAddress a;
  a.family_ = family;
  const std::size_t n = family == Family::kV4 ? 4 : 16;
  for (std::size_t i = 0; i < n && i < bytes.size(); ++i) a.bytes_[i] = bytes[i];
  return a;
}

std::string IpAddress::toString() const {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(isV4() ? AF_INET : AF_INET6, bytes_.data(), buf, sizeof(buf));
  return buf;
}

bool IpAddress::bit(int i) const {
  const auto idx = static_cast<std::size_t>(i / 8);
  return ((bytes_[idx] >> (7 - i % 8)) & 1U) != 0;
}

IpAddress IpAddress::masked(int prefix_len) const {
  IpAddress r = *this;
  const int bits = bitLength();
  for (int i = 0; i < bits / 8; ++i) {
    const int keep = prefix_len - i * 8;
    auto& b = r.bytes_[static_cast<std::size_t>(i)];
    if (keep <= 0) {
      b = 0;
    } else if (keep < 8) {
      b = static_cast<std::uint8_t>(b & (0xFFU << (8 - keep)));
    }
  }
  return r;
}

bool IpAddress::isUnspecified() const {
  return std::ranges::all_of(bytes(), [](std::uint8_t b) { return b == 0; });
}

bool IpAddress::isLoopback() const {
  if (isV4()) return bytes_[0] == 127;
  for (std::size_t i = 0; i < 15; ++i) {
    if (bytes_[i] != 0) return false;
  }
  return bytes_[15] == 1;
}

bool IpAddress::isLinkLocal() const {
  if (isV4()) return bytes_[0] == 169 && bytes_[1] == 254;
  return bytes_[0] == 0xfe && (bytes_[1] & 0xc0) == 0x80;
}

bool IpAddress::isMulticast() const {
  if (isV4()) return (bytes_[0] & 0xf0) == 224;
  return bytes_[0] == 0xff;
}

bool IpAddress::isPrivate() const {
  if (isV4()) {
    return bytes_[0] == 10 || (bytes_[0] == 172 && (bytes_[1] & 0xf0) == 16) ||
           (bytes_[0] == 192 && bytes_[1] == 168) || (bytes_[0] == 100 && (bytes_[1] & 0xc0) == 64);
  }
  return (bytes_[0] & 0xfe) == 0xfc;
}

bool IpAddress::isGlobalUnicast() const {
  if (isUnspecified() || isLoopback() || isLinkLocal() || isMulticast() || isPrivate())
    return false;
  if (isV4()) return bytes_[0] != 0 && bytes_[0] < 240;
  return (bytes_[0] & 0xe0) == 0x20;  // 2000::/3
}

Result<Prefix> Prefix::make(const IpAddress& addr, int len) {
  if (len < 0 || len > addr.bitLength()) {
    return makeError(Errc::kInvalidArgument, "invalid prefix length " + std::to_string(len) +
                                                 " for " + addr.toString() + ": expected 0.." +
                                                 std::to_string(addr.bitLength()));
  }
  return Prefix(addr, len);
}

Prefix Prefix::any(Family f) {
  IpAddress a = f == Family::kV4 ? IpAddress() : IpAddress::parse("::").value();
  return Prefix(a, 0);
}

Result<Prefix> Prefix::parse(std::string_view text, bool allow_host_bits) {
  const auto slash = text.find('/');
  auto addr = IpAddress::parse(text.substr(0, slash));
  if (!addr) {
    return makeError(Errc::kInvalidArgument,
                     "invalid prefix '" + std::string(text) +
                         "': expected ADDRESS/LENGTH such as 10.0.0.0/8 or 2001:db8::/32");
  }
  int len = addr->bitLength();
  if (slash != std::string_view::npos) {
    std::string_view l = text.substr(slash + 1);
    auto [p, ec] = std::from_chars(l.data(), l.data() + l.size(), len);
    if (l.empty() || l.size() > 3 || ec != std::errc() || p != l.data() + l.size() || len < 0 ||
        len > addr->bitLength()) {
      return makeError(Errc::kInvalidArgument, "invalid prefix '" + std::string(text) +
                                                   "': length must be 0.." +
                                                   std::to_string(addr->bitLength()));
    }
  }
  if (!allow_host_bits && addr->masked(len) != *addr) {
    return makeError(Errc::kInvalidArgument,
                     "invalid prefix '" + std::string(text) + "': host bits set, did you mean " +
                         addr->masked(len).toString() + "/" + std::to_string(len) + "?");
  }
  return Prefix(*addr, len);
}

bool Prefix::contains(const IpAddress& a) const {
  return a.family() == family() && a.masked(len_) == addr_;
}

bool Prefix::contains(const Prefix& other) const {
  return other.family() == family() && other.len_ >= len_ && contains(other.addr_);
}

bool Prefix::overlaps(const Prefix& other) const {
  return contains(other) || other.contains(*this);
}

std::string Prefix::toString() const { return addr_.toString() + "/" + std::to_string(len_); }

Result<Endpoint> Endpoint::parse(std::string_view text) {
  auto bad = [&] {
    return makeError(Errc::kInvalidArgument, "invalid endpoint '" + std::string(text) +
                                                 "': expected IP:PORT or [IPv6]:PORT");
  };
  std::string_view host;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return bad();
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return bad();
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) return bad();  // bare IPv6 needs brackets
  }
  auto addr = IpAddress::parse(host);
  unsigned p = 0;
  auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (!addr || port.empty() || ec != std::errc() || ptr != port.data() + port.size() || p > 65535) {
    return bad();
  }
  return Endpoint{*addr, static_cast<std::uint16_t>(p)};
}

std::string Endpoint::toString() const {
  const auto a = address.toString();
  return (address.isV6() ? "[" + a + "]" : a) + ":" + std::to_string(port);
}

}  // namespace vpnleak::core
