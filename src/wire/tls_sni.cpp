// ClientHello layout (RFC 8446 4.1.2, same prefix in 1.0-1.2): record header (5), handshake
// header (4), legacy_version (2), random (32), session_id<0..32>, cipher_suites<2..2^16-2>,
// legacy_compression_methods<1..2^8-1>, extensions<8..2^16-1>.
#include "wire/tls_sni.hpp"

#include <algorithm>

namespace vpnleak::wire::tls {

namespace {

constexpr std::uint8_t kContentHandshake = 22;
constexpr std::uint8_t kClientHello = 1;
constexpr std::uint16_t kExtServerName = 0;
constexpr std::uint8_t kNameTypeHost = 0;
constexpr std::size_t kMaxRecord = (1U << 14) + 2048;  // TLSCiphertext limit, generous for plain

// Reading ran off the captured bytes: incomplete when the message says it is longer than what
// was captured, malformed when it contradicts itself within what was captured.
SniResult ranOut(bool cut) { return {cut ? SniStatus::kIncomplete : SniStatus::kMalformed, {}}; }

SniResult findServerName(Reader& r, bool cut) {
  std::uint16_t ext_total = 0;
  if (!r.u16(ext_total)) return ranOut(cut);
  Bytes exts;
  if (!r.bytes(ext_total, exts)) {
    if (!cut) return ranOut(false);
    r.bytes(r.remaining(), exts);  // walk what we have; a cut extension ends as incomplete
  }
  Reader e(exts);
  while (e.remaining() > 0) {
    std::uint16_t type = 0;
    std::uint16_t len = 0;
    Bytes body;
    if (!e.u16(type) || !e.u16(len) || !e.bytes(len, body)) return ranOut(cut);
    if (type != kExtServerName) continue;
    Reader s(body);
    std::uint16_t list_len = 0;
    if (!s.u16(list_len) || list_len != s.remaining()) return {SniStatus::kMalformed, {}};
    while (s.remaining() > 0) {
      std::uint8_t name_type = 0;
      std::uint16_t name_len = 0;
      Bytes name;
      if (!s.u8(name_type) || !s.u16(name_len) || !s.bytes(name_len, name)) {
        return {SniStatus::kMalformed, {}};
      }
      if (name_type == kNameTypeHost && !name.empty()) {
        return {SniStatus::kFound,
                std::string_view(reinterpret_cast<const char*>(name.data()), name.size())};
      }
    }
    return {SniStatus::kNoSni, {}};
  }
  return cut ? ranOut(true) : SniResult{SniStatus::kNoSni, {}};
}

}  // namespace

SniResult clientHelloSni(Bytes p) {
  if (p.size() < 6 || p[0] != kContentHandshake || p[1] != 3 || p[2] > 4) return {};
  const std::size_t rec_len = load16(p.data() + 3);
  if (rec_len < 4 || rec_len > kMaxRecord) return {};
  if (p[5] != kClientHello) return {SniStatus::kNotClientHello, {}};
  const auto rec = p.subspan(5, std::min(p.size() - 5, rec_len));
  bool cut = rec.size() < rec_len;
  Reader h(rec, 1);
  std::uint8_t l0 = 0;
  std::uint16_t l12 = 0;
  if (!h.u8(l0) || !h.u16(l12)) return ranOut(cut);
  const std::size_t hs_len = (static_cast<std::size_t>(l0) << 16) | l12;
  // A ClientHello larger than its record continues in the next record: read what this one has.
  cut = cut || hs_len > h.remaining();
  Reader r(rec.subspan(4, std::min(h.remaining(), hs_len)));
  std::uint8_t sid_len = 0;
  std::uint16_t suites_len = 0;
  std::uint8_t comp_len = 0;
  if (!r.skip(2 + 32) || !r.u8(sid_len)) return ranOut(cut);
  if (sid_len > 32) return {SniStatus::kMalformed, {}};
  if (!r.skip(sid_len) || !r.u16(suites_len)) return ranOut(cut);
  if (suites_len < 2 || suites_len % 2 != 0) return {SniStatus::kMalformed, {}};
  if (!r.skip(suites_len) || !r.u8(comp_len)) return ranOut(cut);
  if (comp_len < 1) return {SniStatus::kMalformed, {}};
  if (!r.skip(comp_len)) return ranOut(cut);
  if (r.remaining() == 0 && !cut) return {SniStatus::kNoSni, {}};  // pre-extension hello
  return findServerName(r, cut);
}

}  // namespace vpnleak::wire::tls
