// DNS message parsing: header, questions, records, EDNS(0) OPT with client subnet.
#include "wire/dns.hpp"

namespace vpnleak::wire::dns {

using core::Result;
using core::Status;

namespace {

core::Error malformed(std::string what, std::size_t at) {
  return core::makeError(core::Errc::kMalformed,
                         "dns: " + what + " at offset " + std::to_string(at));
}

// RFC 7871 6: FAMILY, SOURCE PREFIX-LENGTH, SCOPE PREFIX-LENGTH, then just enough address bytes
// for the source prefix, with the bits beyond it zero.
Result<ClientSubnet> parseClientSubnet(Bytes data, std::size_t at) {
  Reader r(data);
  std::uint16_t family = 0;
  ClientSubnet ecs;
  if (!r.u16(family) || !r.u8(ecs.source_prefix) || !r.u8(ecs.scope_prefix)) {
    return malformed("truncated client-subnet option", at);
  }
  std::size_t max_bits = 0;
  core::Family f = core::Family::kV4;
  if (family == 1) {
    max_bits = 32;
  } else if (family == 2) {
    max_bits = 128;
    f = core::Family::kV6;
  } else {
    return malformed("client-subnet family " + std::to_string(family), at);
  }
  if (ecs.source_prefix > max_bits || ecs.scope_prefix > max_bits) {
    return malformed("client-subnet prefix longer than the address", at);
  }
  const std::size_t nbytes = (ecs.source_prefix + 7U) / 8U;
  if (r.remaining() != nbytes) return malformed("client-subnet address length mismatch", at);
  std::array<std::uint8_t, 16> addr{};
  for (std::size_t i = 0; i < nbytes; ++i) r.u8(addr[i]);
  if (const std::size_t spare = nbytes * 8U - ecs.source_prefix; nbytes > 0 && spare > 0) {
    if ((addr[nbytes - 1] & ((1U << static_cast<unsigned>(spare)) - 1U)) != 0) {
      return malformed("client-subnet address has bits beyond its prefix", at);
    }
  }
  ecs.address = core::IpAddress::fromBytes(f, std::span(addr.data(), max_bits / 8));
  return ecs;
}

Result<Edns> parseOpt(Bytes packet, const ResourceRecord& rr) {
  if (!rr.name.empty()) return malformed("OPT record not owned by the root", rr.rdata_offset);
  Edns e;
  e.udp_payload_size = rr.rclass < 512 ? 512 : rr.rclass;
  e.extended_rcode = static_cast<std::uint8_t>(rr.ttl >> 24);
  e.version = static_cast<std::uint8_t>(rr.ttl >> 16);
  e.dnssec_ok = (rr.ttl & 0x8000U) != 0;
  Reader r(packet.subspan(rr.rdata_offset, rr.rdata_length));
  while (r.remaining() > 0) {
    const std::size_t at = rr.rdata_offset + r.pos();
    std::uint16_t code = 0;
    std::uint16_t len = 0;
    Bytes data;
    if (!r.u16(code) || !r.u16(len) || !r.bytes(len, data))
      return malformed("truncated option", at);
    if (code != kOptionClientSubnet) continue;
    if (e.client_subnet) return malformed("more than one client-subnet option", at);
    VL_TRY_ASSIGN(e.client_subnet, parseClientSubnet(data, at));
  }
  return e;
}

Status readRecords(Bytes packet, Reader& r, std::uint16_t count, Section section, Message& m) {
  auto& out = section == Section::kAnswer      ? m.answers
              : section == Section::kAuthority ? m.authority
                                               : m.additional;
  for (std::uint16_t i = 0; i < count; ++i) {
    ResourceRecord rr;  // a query's only record is usually OPT, owned by the root: no allocation
    VL_TRY_ASSIGN(const std::size_t next, readNameInto(packet, r.pos(), rr.name));
    r.seek(next);
    std::uint16_t rdlen = 0;
    if (!r.u16(rr.type) || !r.u16(rr.rclass) || !r.u32(rr.ttl) || !r.u16(rdlen)) {
      return malformed("truncated record header", r.pos());
    }
    rr.rdata_offset = r.pos();
    rr.rdata_length = rdlen;
    if (!r.skip(rdlen)) return malformed("record data runs past the end", rr.rdata_offset);
    if (rr.type != kTypeOpt) {
      out.push_back(std::move(rr));
      continue;
    }
    if (section != Section::kAdditional)
      return malformed("OPT outside the additional section", rr.rdata_offset);
    if (m.edns) return malformed("more than one OPT record", rr.rdata_offset);
    VL_TRY_ASSIGN(m.edns, parseOpt(packet, rr));
  }
  return {};
}

}  // namespace

Result<Header> parseHeader(Bytes packet) {
  Reader r(packet);
  Header h;
  if (!r.u16(h.id) || !r.u16(h.flags) || !r.u16(h.qdcount) || !r.u16(h.ancount) ||
      !r.u16(h.nscount) || !r.u16(h.arcount)) {
    return malformed("message shorter than the 12-octet header", 0);
  }
  return h;
}

Status parseInto(Bytes packet, Message& m) {
  m.answers.clear();
  m.authority.clear();
  m.additional.clear();
  m.edns.reset();
  VL_TRY_ASSIGN(m.header, parseHeader(packet));
  // Each question takes at least 5 octets and each record 11: reject impossible counts before
  // allocating anything for them.
  const std::size_t body = packet.size() - kHeaderSize;
  const auto& h = m.header;
  if (h.qdcount * 5UL + (h.ancount + h.nscount + static_cast<std::size_t>(h.arcount)) * 11UL >
      body) {
    m.questions.clear();
    return malformed("section counts exceed the message size", 4);
  }
  Reader r(packet, kHeaderSize);
  m.questions.resize(h.qdcount);  // kept questions keep their names' capacity
  for (auto& q : m.questions) {
    VL_TRY_ASSIGN(const std::size_t next, readNameInto(packet, r.pos(), q.name));
    r.seek(next);
    if (!r.u16(q.qtype) || !r.u16(q.qclass)) return malformed("truncated question", r.pos());
  }
  m.question_end = r.pos();
  VL_TRY(readRecords(packet, r, h.ancount, Section::kAnswer, m));
  VL_TRY(readRecords(packet, r, h.nscount, Section::kAuthority, m));
  VL_TRY(readRecords(packet, r, h.arcount, Section::kAdditional, m));
  return {};
}

Result<Message> parse(Bytes packet) {
  Message m;
  VL_TRY(parseInto(packet, m));
  return m;
}

std::optional<core::IpAddress> recordAddress(Bytes packet, const ResourceRecord& rr) {
  if (rr.rdata_offset + rr.rdata_length > packet.size()) return std::nullopt;
  const auto data = packet.subspan(rr.rdata_offset, rr.rdata_length);
  if (rr.type == kTypeA && data.size() == 4)
    return core::IpAddress::fromBytes(core::Family::kV4, data);
  if (rr.type == kTypeAaaa && data.size() == 16) {
    return core::IpAddress::fromBytes(core::Family::kV6, data);
  }
  return std::nullopt;
}

std::string ClientSubnet::toString() const {
  return address.toString() + "/" + std::to_string(source_prefix);
}

std::string typeName(std::uint16_t type) {
  switch (type) {
    case kTypeA:
      return "A";
    case kTypeNs:
      return "NS";
    case kTypeCname:
      return "CNAME";
    case kTypeSoa:
      return "SOA";
    case kTypePtr:
      return "PTR";
    case kTypeMx:
      return "MX";
    case kTypeTxt:
      return "TXT";
    case kTypeAaaa:
      return "AAAA";
    case kTypeSrv:
      return "SRV";
    case kTypeOpt:
      return "OPT";
    case kTypeHttps:
      return "HTTPS";
    case kTypeAny:
      return "ANY";
    default:
      return "TYPE" + std::to_string(type);
  }
}

std::string_view rcodeName(Rcode rc) {
  switch (rc) {
    case Rcode::kNoError:
      return "NOERROR";
    case Rcode::kFormErr:
      return "FORMERR";
    case Rcode::kServFail:
      return "SERVFAIL";
    case Rcode::kNxDomain:
      return "NXDOMAIN";
    case Rcode::kNotImp:
      return "NOTIMP";
    case Rcode::kRefused:
      return "REFUSED";
    case Rcode::kBadVers:
      return "BADVERS";
  }
  return "RCODE";
}

}  // namespace vpnleak::wire::dns
