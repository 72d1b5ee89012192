// DNS message building with name compression into a caller-owned buffer.
#include <algorithm>

#include "core/check.hpp"
#include "wire/dns.hpp"

namespace vpnleak::wire::dns {

namespace {

constexpr std::size_t kMaxPointerTarget = 0x3fff;

std::uint8_t lower(std::uint8_t c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<std::uint8_t>(c - 'A' + 'a') : c;
}

// Presentation form to uncompressed wire form without allocating; false for an invalid name.
bool toWire(std::string_view name, std::array<std::uint8_t, kMaxNameWire>& out, std::size_t& len) {
  if (name.empty()) {
    out[0] = 0;
    len = 1;
    return true;
  }
  auto enc = encodeName(name);  // names here are short and few; the vector is the slow path
  if (!enc) return false;
  std::copy(enc->begin(), enc->end(), out.begin());
  len = enc->size();
  return true;
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
    return false;
  }
  auto& n = counts_[static_cast<std::size_t>(s)];
  ++n;
  w_.patch16(4 + 2 * static_cast<std::size_t>(s), n);
  return true;
}

bool Builder::writeName(std::string_view name) {
  std::array<std::uint8_t, kMaxNameWire> wire{};
  std::size_t len = 0;
  if (!toWire(name, wire, len)) return false;
  // Written as given (resolvers check that the question's case comes back), compared lowercase.
  std::array<std::uint8_t, kMaxNameWire> folded{};
  std::transform(wire.begin(), wire.begin() + static_cast<std::ptrdiff_t>(len), folded.begin(),
                 lower);
  // Find the longest suffix (at a label boundary) already written; write what precedes it.
  std::array<std::size_t, kMaxNameWire / 2> starts{};
  std::size_t nstarts = 0;
  std::size_t match_at = len - 1;  // the root label: nothing to point to
  std::uint16_t match_offset = 0;
  for (std::size_t i = 0; wire[i] != 0; i += wire[i] + 1U) {
    const std::span<const std::uint8_t> suffix(folded.data() + i, len - i);
    const auto* hit = std::find_if(
        suffixes_.begin(), suffixes_.begin() + static_cast<std::ptrdiff_t>(suffix_count_),
        [&](const Suffix& s) {
          return s.len == suffix.size() &&
                 std::equal(suffix.begin(), suffix.end(), names_.begin() + s.pos);
        });
    if (hit != suffixes_.begin() + static_cast<std::ptrdiff_t>(suffix_count_)) {
      match_at = i;
      match_offset = hit->offset;
      break;
    }
    starts[nstarts++] = i;
  }
  const std::size_t base = w_.size();
  if (!w_.bytes(std::span(wire.data(), match_at))) return false;
  const bool ok =
      match_at == len - 1 ? w_.u8(0) : w_.u16(static_cast<std::uint16_t>(0xc000 | match_offset));
  if (!ok) return false;
  // Remember the new suffixes for later names, as room in the table allows.
  for (std::size_t k = 0; k < nstarts; ++k) {
    const std::size_t i = starts[k];
    const std::size_t slen = len - i;
    if (base + i > kMaxPointerTarget || suffix_count_ == suffixes_.size() ||
        names_len_ + slen > names_.size()) {
      break;
    }
    std::copy(folded.begin() + static_cast<std::ptrdiff_t>(i),
              folded.begin() + static_cast<std::ptrdiff_t>(len),
              names_.begin() + static_cast<std::ptrdiff_t>(names_len_));
    suffixes_[suffix_count_++] =
        Suffix{static_cast<std::uint16_t>(base + i), static_cast<std::uint16_t>(names_len_),
               static_cast<std::uint16_t>(slen)};
    names_len_ += slen;
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
