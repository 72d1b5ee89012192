// STUN (RFC 8489) messages: parser and builder over byte spans, no I/O. Enough for a binding
// server and client: XOR-MAPPED-ADDRESS, MAPPED-ADDRESS (RFC 3489 clients), ERROR-CODE,
// UNKNOWN-ATTRIBUTES and FINGERPRINT. MESSAGE-INTEGRITY is carried but not verified.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "core/ip.hpp"
#include "core/result.hpp"
#include "wire/bytes.hpp"

namespace vpnleak::wire::stun {

inline constexpr std::uint32_t kMagicCookie = 0x2112a442;
inline constexpr std::uint32_t kFingerprintXor = 0x5354554e;
inline constexpr std::size_t kHeaderSize = 20;
inline constexpr std::size_t kMaxAttributes = 32;

inline constexpr std::uint16_t kMethodBinding = 0x001;

inline constexpr std::uint16_t kAttrMappedAddress = 0x0001;
inline constexpr std::uint16_t kAttrUsername = 0x0006;
inline constexpr std::uint16_t kAttrMessageIntegrity = 0x0008;
inline constexpr std::uint16_t kAttrErrorCode = 0x0009;
inline constexpr std::uint16_t kAttrUnknownAttributes = 0x000a;
inline constexpr std::uint16_t kAttrMessageIntegritySha256 = 0x001c;
inline constexpr std::uint16_t kAttrXorMappedAddress = 0x0020;
inline constexpr std::uint16_t kAttrSoftware = 0x8022;
inline constexpr std::uint16_t kAttrFingerprint = 0x8028;

enum class Class : std::uint8_t { kRequest = 0, kIndication = 1, kSuccess = 2, kError = 3 };

// The 96-bit transaction id; for an RFC 3489 message (no magic cookie) the id is 128 bits and
// its first four octets sit where the cookie would be, kept in Message::legacy_id_prefix.
using TransactionId = std::array<std::uint8_t, 12>;

struct Attribute {
  std::uint16_t type = 0;
  std::size_t offset = 0;  // of the attribute header in the message
  Bytes value;
  // 0x0000-0x7fff: an agent that does not understand it must fail the request (RFC 8489 14).
  [[nodiscard]] bool comprehensionRequired() const { return type < 0x8000; }
};

struct Message {
  std::uint16_t method = 0;
  Class cls = Class::kRequest;
  bool rfc3489 = false;  // no magic cookie: a classic client that only reads MAPPED-ADDRESS
  std::uint32_t legacy_id_prefix = 0;
  TransactionId transaction_id{};
  std::array<Attribute, kMaxAttributes> attributes{};
  std::size_t attribute_count = 0;
  bool has_fingerprint = false;  // present and correct (a wrong one makes the message malformed)

  [[nodiscard]] std::span<const Attribute> attrs() const {
    return {attributes.data(), attribute_count};
  }
  [[nodiscard]] const Attribute* find(std::uint16_t type) const;
};

// Quick test for demultiplexing: header shape and, unless allow_rfc3489, the magic cookie.
bool looksLikeStun(Bytes datagram, bool allow_rfc3489 = true);

// Parses one message that fills the whole datagram. Errc::kMalformed for: short header, top
// bits set, length not a multiple of 4 or not the datagram size, attribute overrunning the
// message, more than kMaxAttributes, anything after FINGERPRINT, or a wrong FINGERPRINT.
core::Result<Message> parse(Bytes datagram);

// ISO-HDLC CRC-32 as FINGERPRINT uses it (before the XOR with kFingerprintXor).
std::uint32_t crc32(Bytes data);

// Decodes (XOR-)MAPPED-ADDRESS values.
core::Result<core::Endpoint> decodeXorAddress(Bytes value, const TransactionId& id);
core::Result<core::Endpoint> decodeAddress(Bytes value);

// The mapped address of a binding success response: XOR-MAPPED-ADDRESS, else MAPPED-ADDRESS.
core::Result<core::Endpoint> mappedAddress(const Message& response);

// Builders write into out and return the size written, or an error when out is too small.
core::Result<std::size_t> buildBindingRequest(MutableBytes out, const TransactionId& id,
                                              bool fingerprint);
// A success response echoing the request's transaction id: XOR-MAPPED-ADDRESS + FINGERPRINT,
// or only MAPPED-ADDRESS for an RFC 3489 request.
core::Result<std::size_t> buildBindingSuccess(MutableBytes out, const Message& request,
                                              const core::Endpoint& mapped);
// An error response (e.g. 420 with the unknown comprehension-required attributes).
core::Result<std::size_t> buildError(MutableBytes out, const Message& request, int code,
                                     std::string_view reason,
                                     std::span<const std::uint16_t> unknown = {});

}  // namespace vpnleak::wire::stun
