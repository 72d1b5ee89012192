// IPv4/IPv6 addresses and prefixes: parsing, formatting, containment.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace vpnleak::core {

enum class Family : std::uint8_t { kV4 = 4, kV6 = 6 };

std::string_view familyName(Family f);  // "ipv4" / "ipv6"

class IpAddress {
 public:
  IpAddress() = default;  // 0.0.0.0

  // Strict textual forms only: dotted quad (no leading zeros, no shorthand) or RFC 4291/5952 IPv6.
  // A zone index ("%eth0") is rejected: the caller must handle scoped addresses explicitly.
  static Result<IpAddress> parse(std::string_view text);
  static IpAddress v4(std::uint32_t host_order);
  static IpAddress fromBytes(Family family, std::span<const std::uint8_t> bytes);

  [[nodiscard]] Family family() const { return family_; }
  [[nodiscard]] bool isV4() const { return family_ == Family::kV4; }
  [[nodiscard]] bool isV6() const { return family_ == Family::kV6; }
  // Network-order bytes: 4 valid for IPv4, 16 for IPv6.
  [[nodiscard]] std::span<const std::uint8_t> bytes() const {
    return {bytes_.data(), isV4() ? 4U : 16U};
  }
  [[nodiscard]] int bitLength() const { return isV4() ? 32 : 128; }
  [[nodiscard]] std::string toString() const;

  [[nodiscard]] bool isUnspecified() const;
  [[nodiscard]] bool isLoopback() const;
  [[nodiscard]] bool isLinkLocal() const;  // 169.254/16, fe80::/10
  [[nodiscard]] bool isMulticast() const;
  // RFC 1918, RFC 6598 shared space, ULA fc00::/7: "private" in the LAN-exception sense.
  [[nodiscard]] bool isPrivate() const;
  // Reachable beyond the local site: not any of the above, not documentation-reserved excluded.
  [[nodiscard]] bool isGlobalUnicast() const;

  // Bit i counted from the most significant bit of the first byte.
  [[nodiscard]] bool bit(int i) const;
  [[nodiscard]] IpAddress masked(int prefix_len) const;

  friend auto operator<=>(const IpAddress&, const IpAddress&) =
      default;  // NOLINT(modernize-use-nullptr): clang-tidy 14 false positive

 private:
  Family family_ = Family::kV4;
  std::array<std::uint8_t, 16> bytes_{};
};

class Prefix {
 public:
  Prefix() = default;

  // "addr/len" or a bare address (host prefix). Host bits set after the length are an error unless
  // allow_host_bits, in which case they are cleared ("10.1.2.3/8" -> 10.0.0.0/8).
  static Result<Prefix> parse(std::string_view text, bool allow_host_bits = false);
  static Result<Prefix> make(const IpAddress& addr, int len);
  static Prefix host(const IpAddress& addr) { return Prefix(addr, addr.bitLength()); }
  static Prefix any(Family f);  // 0.0.0.0/0 or ::/0

  [[nodiscard]] const IpAddress& address() const { return addr_; }
  [[nodiscard]] int length() const { return len_; }
  [[nodiscard]] Family family() const { return addr_.family(); }
  [[nodiscard]] bool isDefault() const { return len_ == 0; }
  [[nodiscard]] bool contains(const IpAddress& a) const;
  // True when every address of other lies inside this prefix.
  [[nodiscard]] bool contains(const Prefix& other) const;
  [[nodiscard]] bool overlaps(const Prefix& other) const;
  [[nodiscard]] std::string toString() const;

  friend auto operator<=>(const Prefix&, const Prefix&) =
      default;  // NOLINT(modernize-use-nullptr): clang-tidy 14 false positive

 private:
  Prefix(const IpAddress& a, int len) : addr_(a.masked(len)), len_(len) {}
  IpAddress addr_;
  int len_ = 0;
};

// "IP:PORT" or "[IPv6]:PORT".
struct Endpoint {
  IpAddress address;
  std::uint16_t port = 0;

  static Result<Endpoint> parse(std::string_view text);
  [[nodiscard]] std::string toString() const;
  friend auto operator<=>(const Endpoint&, const Endpoint&) = default;
};

}  // namespace vpnleak::core
