// STUN message parsing and building (RFC 8489, with RFC 3489 compatibility for the server).
#include "wire/stun.hpp"

#include <algorithm>

namespace vpnleak::wire::stun {

using core::Result;
using core::Status;

namespace {

core::Error malformed(std::string what, std::size_t at) {
  return core::makeError(core::Errc::kMalformed,
                         "stun: " + what + " at offset " + std::to_string(at));
}

constexpr std::array<std::uint32_t, 256> makeCrcTable() {
  std::array<std::uint32_t, 256> t{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1U) != 0 ? 0xedb88320U ^ (c >> 1) : c >> 1;
    t[i] = c;
  }
  return t;
}
constexpr auto kCrcTable = makeCrcTable();

// RFC 8489 5: the method's 12 bits and the class's 2 bits are interleaved in the 14-bit type.
std::uint16_t messageType(std::uint16_t method, Class cls) {
  const unsigned m = method;
  const auto c = static_cast<unsigned>(cls);
  return static_cast<std::uint16_t>((m & 0x000fU) | ((m & 0x0070U) << 1) | ((m & 0x0f80U) << 2) |
                                    ((c & 1U) << 4) | ((c & 2U) << 7));
}

std::size_t padded(std::size_t n) { return (n + 3) & ~std::size_t{3}; }

Status checkFingerprint(Bytes d, std::size_t at, Bytes value) {
  if (value.size() != 4)
    return malformed("FINGERPRINT of length " + std::to_string(value.size()), at);
  const std::uint32_t want = crc32(d.first(at)) ^ kFingerprintXor;
  if (load32(value.data()) != want) return malformed("wrong FINGERPRINT", at);
  return {};
}

// Writes the header; the length is patched by finishMessage.
bool writeHeader(Writer& w, std::uint16_t type, const Message& req) {
  return w.u16(type) && w.u16(0) && w.u32(req.rfc3489 ? req.legacy_id_prefix : kMagicCookie) &&
         w.bytes(req.transaction_id);
}

bool writeAttr(Writer& w, std::uint16_t type, Bytes value) {
  return w.u16(type) && w.u16(static_cast<std::uint16_t>(value.size())) && w.bytes(value) &&
         w.zeros(padded(value.size()) - value.size());
}

// Patches the length and appends FINGERPRINT (whose CRC covers a header that already counts it).
Result<std::size_t> finishMessage(Writer& w, bool fingerprint) {
  if (w.overflow()) return core::makeError(core::Errc::kInvalidArgument, "stun: buffer too small");
  std::size_t body = w.size() - kHeaderSize + (fingerprint ? 8 : 0);
  w.patch16(2, static_cast<std::uint16_t>(body));
  if (fingerprint) {
    const std::uint32_t crc = crc32(Bytes(w.data(), w.size())) ^ kFingerprintXor;
    if (!(w.u16(kAttrFingerprint) && w.u16(4) && w.u32(crc))) {
      return core::makeError(core::Errc::kInvalidArgument, "stun: buffer too small");
    }
  }
  return w.size();
}

bool writeAddressValue(Writer& w, const core::Endpoint& ep, bool xored, const Message& req) {
  std::array<std::uint8_t, 16> addr{};
  const auto src = ep.address.bytes();
  std::copy(src.begin(), src.end(), addr.begin());
  std::uint16_t port = ep.port;
  if (xored) {
    port ^= static_cast<std::uint16_t>(kMagicCookie >> 16);
    std::array<std::uint8_t, 16> key{};
    store32(key.data(), kMagicCookie);
    std::copy(req.transaction_id.begin(), req.transaction_id.end(), key.begin() + 4);
    for (std::size_t i = 0; i < src.size(); ++i) addr[i] ^= key[i];
  }
  return w.u8(0) && w.u8(ep.address.isV4() ? 1 : 2) && w.u16(port) &&
         w.bytes(Bytes(addr.data(), src.size()));
}

}  // namespace

const Attribute* Message::find(std::uint16_t type) const {
  for (const auto& a : attrs()) {
    if (a.type == type) return &a;
  }
  return nullptr;
}

std::uint32_t crc32(Bytes data) {
  std::uint32_t c = 0xffffffffU;
  for (const std::uint8_t b : data) c = kCrcTable[(c ^ b) & 0xffU] ^ (c >> 8);
  return c ^ 0xffffffffU;
}

bool looksLikeStun(Bytes d, bool allow_rfc3489) {
  if (d.size() < kHeaderSize || (d[0] & 0xc0) != 0) return false;
  const std::size_t len = load16(d.data() + 2);
  if (len % 4 != 0 || kHeaderSize + len != d.size()) return false;
  return allow_rfc3489 || load32(d.data() + 4) == kMagicCookie;
}

Result<Message> parse(Bytes d) {
  if (d.size() < kHeaderSize) return malformed("datagram shorter than the 20-octet header", 0);
  if ((d[0] & 0xc0) != 0) return malformed("top two bits of the type set", 0);
  const std::size_t len = load16(d.data() + 2);
  if (len % 4 != 0) return malformed("length not a multiple of 4", 2);
  if (kHeaderSize + len != d.size()) return malformed("length does not match the datagram", 2);
  Message m;
  const std::uint16_t type = load16(d.data());
  m.method =
      static_cast<std::uint16_t>((type & 0x000f) | ((type & 0x00e0) >> 1) | ((type & 0x3e00) >> 2));
  m.cls = static_cast<Class>(((type & 0x0010) >> 4) | ((type & 0x0100) >> 7));
  const std::uint32_t cookie = load32(d.data() + 4);
  m.rfc3489 = cookie != kMagicCookie;
  m.legacy_id_prefix = cookie;
  std::copy(d.begin() + 8, d.begin() + 20, m.transaction_id.begin());
  Reader r(d, kHeaderSize);
  while (r.remaining() > 0) {
    const std::size_t at = r.pos();
    Attribute a;
    a.offset = at;
    std::uint16_t alen = 0;
    if (!r.u16(a.type) || !r.u16(alen) || !r.bytes(alen, a.value) || !r.skip(padded(alen) - alen)) {
      return malformed("attribute runs past the message", at);
    }
    if (m.has_fingerprint) return malformed("attribute after FINGERPRINT", at);
    if (m.attribute_count == kMaxAttributes) return malformed("too many attributes", at);
    if (a.type == kAttrFingerprint) {
      VL_TRY(checkFingerprint(d, at, a.value));
      m.has_fingerprint = true;
    }
    m.attributes[m.attribute_count++] = a;
  }
  return m;
}

Result<core::Endpoint> decodeAddress(Bytes v) {
  if (v.size() < 4) return malformed("address attribute too short", 0);
  core::Endpoint ep;
  ep.port = load16(v.data() + 2);
  if (v[1] == 1 && v.size() == 8) {
    ep.address = core::IpAddress::fromBytes(core::Family::kV4, v.subspan(4));
  } else if (v[1] == 2 && v.size() == 20) {
    ep.address = core::IpAddress::fromBytes(core::Family::kV6, v.subspan(4));
  } else {
    return malformed(
        "address family " + std::to_string(v[1]) + " with length " + std::to_string(v.size()), 0);
  }
  return ep;
}

Result<core::Endpoint> decodeXorAddress(Bytes v, const TransactionId& id) {
  VL_TRY_ASSIGN(core::Endpoint ep, decodeAddress(v));
  ep.port ^= static_cast<std::uint16_t>(kMagicCookie >> 16);
  std::array<std::uint8_t, 16> key{};
  store32(key.data(), kMagicCookie);
  std::copy(id.begin(), id.end(), key.begin() + 4);
  std::array<std::uint8_t, 16> a{};
  const auto b = ep.address.bytes();
  for (std::size_t i = 0; i < b.size(); ++i) a[i] = static_cast<std::uint8_t>(b[i] ^ key[i]);
  ep.address = core::IpAddress::fromBytes(ep.address.family(), std::span(a.data(), b.size()));
  return ep;
}

Result<core::Endpoint> mappedAddress(const Message& response) {
  if (const auto* x = response.find(kAttrXorMappedAddress)) {
    return decodeXorAddress(x->value, response.transaction_id);
  }
  if (const auto* p = response.find(kAttrMappedAddress)) return decodeAddress(p->value);
  return core::makeError(core::Errc::kMalformed, "stun: response without a mapped address");
}

Result<std::size_t> buildBindingRequest(MutableBytes out, const TransactionId& id,
                                        bool fingerprint) {
  Writer w(out);
  Message req;
  req.transaction_id = id;
  writeHeader(w, messageType(kMethodBinding, Class::kRequest), req);
  return finishMessage(w, fingerprint);
}

Result<std::size_t> buildBindingSuccess(MutableBytes out, const Message& request,
                                        const core::Endpoint& mapped) {
  Writer w(out);
  writeHeader(w, messageType(request.method, Class::kSuccess), request);
  const bool xored = !request.rfc3489;
  w.u16(xored ? kAttrXorMappedAddress : kAttrMappedAddress);
  w.u16(mapped.address.isV4() ? 8 : 20);
  writeAddressValue(w, mapped, xored, request);
  return finishMessage(w, xored);
}

Result<std::size_t> buildError(MutableBytes out, const Message& request, int code,
                               std::string_view reason, std::span<const std::uint16_t> unknown) {
  Writer w(out);
  writeHeader(w, messageType(request.method, Class::kError), request);
  reason = reason.substr(0, 128);
  std::array<std::uint8_t, 4 + 128> ec{};
  ec[2] = static_cast<std::uint8_t>((code / 100) & 0x7);
  ec[3] = static_cast<std::uint8_t>(code % 100);
  std::copy(reason.begin(), reason.end(), ec.begin() + 4);
  writeAttr(w, kAttrErrorCode, Bytes(ec.data(), 4 + reason.size()));
  if (!unknown.empty()) {
    std::array<std::uint8_t, 2 * kMaxAttributes> list{};
    const std::size_t n = std::min(unknown.size(), kMaxAttributes);
    for (std::size_t i = 0; i < n; ++i) store16(list.data() + 2 * i, unknown[i]);
    writeAttr(w, kAttrUnknownAttributes, Bytes(list.data(), 2 * n));
  }
  return finishMessage(w, !request.rfc3489);
}

}  // namespace vpnleak::wire::stun
