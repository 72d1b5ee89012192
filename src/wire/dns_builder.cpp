// DNS message building with name compression into a caller-owned buffer.
#include <algorithm>
#include <cstring>

#include "core/check.hpp"
#include "wire/dns.hpp"

namespace vpnleak::wire::dns {

namespace {

constexpr std::size_t kMaxPointerTarget = 0x3fff;

std::uint8_t lower(std::uint8_t c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<std::uint8_t>(c - 'A' + 'a') : c;
}

}  // namespace

Builder::Builder(MutableBytes out, const Header& header, std::size_t limit)
    : w_(out.first(std::min(out.size(), std::min(limit, kMaxMessage)))) {
  w_.u16(header.id);
  w_.u16(header.flags);
  w_.zeros(8);
}

void Builder::setFlags(std::uint16_t flags) { w_.patch16(2, flags); }

Builder::Mark Builder::begin(Section s) {
  VL_CHECK(s >= current_);
  current_ = s;
  return Mark{w_.size(), suffix_count_, names_len_};
}

bool Builder::finish(Section s, const Mark& mark, bool ok) {
  if (!ok || w_.overflow()) {
    w_.truncate(mark.size);
    suffix_count_ = mark.suffixes;
    names_len_ = mark.names;
    if (last_offset_ >= mark.size) last_len_ = 0;
    return false;
  }
  auto& n = counts_[static_cast<std::size_t>(s)];
  ++n;
  w_.patch16(4 + 2 * static_cast<std::size_t>(s), n);
  return true;
}

// A suffix already in the message equal to wire[0, len) ignoring ASCII case (length octets are
// below 'A', so folding the whole wire form is safe). Names usually repeat exactly (the answer's
// owner is the question's name), so an exact comparison goes first.
const Builder::Suffix* Builder::findSuffix(const std::uint8_t* wire, std::size_t len) const {
  for (std::size_t k = 0; k < suffix_count_; ++k) {
    const Suffix& s = suffixes_[k];
    if (s.len != len) continue;
    const std::uint8_t* known = names_.data() + s.pos;
    if (std::memcmp(wire, known, len) == 0) return &s;
    std::size_t i = 0;
    while (i < len && lower(wire[i]) == lower(known[i])) ++i;
    if (i == len) return &s;
  }
  return nullptr;
}

// Remembers the suffixes of a name written at offset that start before end (the rest was a
// pointer to suffixes known already), as room in the tables allows: the name is kept once and
// each suffix refers into it.
void Builder::remember(const std::uint8_t* wire, std::size_t len, std::size_t offset,
                       std::size_t end) {
  if (names_len_ + len > names_.size()) return;
  std::memcpy(names_.data() + names_len_, wire, len);
  for (std::size_t i = 0; i < end; i += wire[i] + 1U) {
    if (offset + i > kMaxPointerTarget || suffix_count_ == suffixes_.size()) break;
    suffixes_[suffix_count_++] =
        Suffix{static_cast<std::uint16_t>(offset + i), static_cast<std::uint16_t>(names_len_ + i),
               static_cast<std::uint16_t>(len - i)};
  }
  names_len_ += len;
}

bool Builder::writeName(std::string_view name) {
  if (last_len_ != 0 && name.size() == last_len_ &&
      std::memcmp(name.data(), last_name_.data(), last_len_) == 0) {
    return w_.u16(static_cast<std::uint16_t>(0xc000 | last_offset_));
  }
  std::array<std::uint8_t, kMaxNameWire> wire;  // NOLINT: encodeNameInto writes what is read
  const std::size_t len = encodeNameInto(name, wire);
  if (len == 0) return false;
  // Written as given (resolvers check that the question's case comes back), compared ignoring
  // case. The longest suffix (at a label boundary) already written ends the name as a pointer;
  // the labels before it are copied.
  std::size_t match_at = len - 1;  // the root label: nothing to point to
  const Suffix* hit = nullptr;
  for (std::size_t i = 0; wire[i] != 0; i += wire[i] + 1U) {
    hit = findSuffix(wire.data() + i, len - i);
    if (hit != nullptr) {
      match_at = i;
      break;
    }
  }
  const std::size_t base = w_.size();
  if (!w_.bytes(std::span(wire.data(), match_at))) return false;
  if (!(hit == nullptr ? w_.u8(0) : w_.u16(static_cast<std::uint16_t>(0xc000 | hit->offset)))) {
    return false;
  }
  if (match_at > 0) {
    remember(wire.data(), len, base, match_at);
    if (base <= kMaxPointerTarget && !name.empty() && name.size() <= last_name_.size()) {
      std::memcpy(last_name_.data(), name.data(), name.size());
      last_len_ = name.size();
      last_offset_ = static_cast<std::uint16_t>(base);
    }
  }
  return true;
}

bool Builder::recordHeader(std::string_view name, std::uint16_t type, std::uint16_t rclass,
                           std::uint32_t ttl, std::size_t& rdlen_at) {
  if (!writeName(name) || !w_.u16(type) || !w_.u16(rclass) || !w_.u32(ttl)) return false;
  rdlen_at = w_.size();
  return w_.u16(0);
}

bool Builder::endRdata(std::size_t rdlen_at) {
  if (w_.overflow()) return false;
  w_.patch16(rdlen_at, static_cast<std::uint16_t>(w_.size() - rdlen_at - 2));
  return true;
}

bool Builder::addQuestion(std::string_view name, std::uint16_t qtype, std::uint16_t qclass) {
  const Mark m = begin(Section::kQuestion);
  return finish(Section::kQuestion, m, writeName(name) && w_.u16(qtype) && w_.u16(qclass));
}

bool Builder::addAddress(Section s, std::string_view name, std::uint32_t ttl,
                         const core::IpAddress& a) {
  const Mark m = begin(s);
  std::size_t at = 0;
  const bool ok = recordHeader(name, a.isV4() ? kTypeA : kTypeAaaa, kClassIn, ttl, at) &&
                  w_.bytes(a.bytes()) && endRdata(at);
  return finish(s, m, ok);
}

bool Builder::addTxt(Section s, std::string_view name, std::uint32_t ttl,
                     const std::vector<std::string_view>& strings) {
  const Mark m = begin(s);
  std::size_t at = 0;
  bool ok = recordHeader(name, kTypeTxt, kClassIn, ttl, at);
  for (const auto str : strings) {
    ok = ok && str.size() <= 255 && w_.u8(static_cast<std::uint8_t>(str.size())) &&
         w_.bytes(std::span(reinterpret_cast<const std::uint8_t*>(str.data()), str.size()));
  }
  return finish(s, m, ok && endRdata(at));
}

bool Builder::addNs(Section s, std::string_view name, std::uint32_t ttl, std::string_view target) {
  const Mark m = begin(s);
  std::size_t at = 0;
  const bool ok =
      recordHeader(name, kTypeNs, kClassIn, ttl, at) && writeName(target) && endRdata(at);
  return finish(s, m, ok);
}

bool Builder::addSoa(Section s, std::string_view name, std::uint32_t ttl, const Soa& soa) {
  const Mark m = begin(s);
  std::size_t at = 0;
  const bool ok = recordHeader(name, kTypeSoa, kClassIn, ttl, at) && writeName(soa.mname) &&
                  writeName(soa.rname) && w_.u32(soa.serial) && w_.u32(soa.refresh) &&
                  w_.u32(soa.retry) && w_.u32(soa.expire) && w_.u32(soa.minimum) && endRdata(at);
  return finish(s, m, ok);
}

bool Builder::addRaw(Section s, std::string_view name, std::uint16_t type, std::uint16_t rclass,
                     std::uint32_t ttl, Bytes rdata) {
  const Mark m = begin(s);
  std::size_t at = 0;
  const bool ok = rdata.size() <= 0xffff && recordHeader(name, type, rclass, ttl, at) &&
                  w_.bytes(rdata) && endRdata(at);
  return finish(s, m, ok);
}

bool Builder::addOpt(const Edns& edns) {
  const Mark m = begin(Section::kAdditional);
  const std::uint32_t ttl = (static_cast<std::uint32_t>(edns.extended_rcode) << 24) |
                            (static_cast<std::uint32_t>(edns.version) << 16) |
                            (edns.dnssec_ok ? 0x8000U : 0U);
  std::size_t at = 0;
  bool ok = recordHeader("", kTypeOpt, edns.udp_payload_size, ttl, at);
  if (ok && edns.client_subnet) {
    const auto& ecs = *edns.client_subnet;
    const std::size_t nbytes = (ecs.source_prefix + 7U) / 8U;
    ok = nbytes <= ecs.address.bytes().size() && w_.u16(kOptionClientSubnet) &&
         w_.u16(static_cast<std::uint16_t>(4 + nbytes)) && w_.u16(ecs.address.isV4() ? 1 : 2) &&
         w_.u8(ecs.source_prefix) && w_.u8(ecs.scope_prefix) &&
         w_.bytes(ecs.address.bytes().first(nbytes));
  }
  return finish(Section::kAdditional, m, ok && endRdata(at));
}

}  // namespace vpnleak::wire::dns
