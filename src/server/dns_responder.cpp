#include "server/dns_responder.hpp"

#include <algorithm>

#include "server/token.hpp"
#include "wire/dns.hpp"

namespace vpnleak::server {

namespace dns = wire::dns;

namespace {

constexpr std::uint32_t kAnswerTtl = 0;         // every lookup must reach us to be observed
constexpr std::uint32_t kZoneTtl = 300;         // SOA and NS
constexpr std::uint16_t kServerUdpSize = 1232;  // RFC 9715 / DNS flag day 2020

// Response flags: QR, the query's opcode, RD and CD copied, AA when authoritative, RA never.
std::uint16_t responseFlags(const dns::Header& q, bool aa, dns::Rcode rc) {
  std::uint16_t f =
      dns::Header::kQr | (q.flags & 0x7800) | (q.flags & (dns::Header::kRd | dns::Header::kCd));
  if (aa) f |= dns::Header::kAa;
  return static_cast<std::uint16_t>(f | (static_cast<std::uint16_t>(rc) & 0xf));
}

std::optional<dns::Edns> replyEdns(const std::optional<dns::Edns>& query, dns::Rcode rc) {
  if (!query) return std::nullopt;
  dns::Edns e;
  e.udp_payload_size = kServerUdpSize;
  e.extended_rcode = static_cast<std::uint8_t>(static_cast<std::uint16_t>(rc) >> 4);
  if (query->client_subnet) {
    e.client_subnet = query->client_subnet;
    e.client_subnet->scope_prefix = 0;  // the answer is the same for every client
  }
  return e;
}

void countRcode(Metrics& m, DnsCounts* counts, dns::Rcode rc) {
  const auto i = static_cast<std::size_t>(rc);
  if (counts != nullptr) {
    ++(i < counts->rcodes.size() ? counts->rcodes[i] : counts->badvers);
  } else if (i < m.dns_rcodes.size()) {
    bump(m.dns_rcodes[i]);
  } else {
    bump(m.dns_badvers);
  }
}

std::size_t udpLimit(const std::optional<dns::Edns>& edns) {
  if (!edns) return dns::kMaxUdpPlain;
  return std::clamp<std::size_t>(edns->udp_payload_size, dns::kMaxUdpPlain, kServerUdpSize);
}

}  // namespace

std::size_t DnsResponder::refuseMalformed(const dns::Header& header, const dns::Message* msg,
                                          Transport transport, wire::MutableBytes out,
                                          DnsCounts* counts) const {
  // NOTIMP for opcodes other than QUERY, FORMERR for anything unparsable (msg null) or not one
  // question; the question is echoed only when there was exactly one.
  const auto rc = (msg != nullptr && msg->header.opcode() != dns::Opcode::kQuery)
                      ? dns::Rcode::kNotImp
                      : dns::Rcode::kFormErr;
  const std::size_t limit = transport == Transport::kTcp ? dns::kMaxMessage : dns::kMaxUdpPlain;
  dns::Builder b(out, dns::Header{header.id, responseFlags(header, false, rc)}, limit);
  if (msg != nullptr && msg->questions.size() == 1) {
    b.addQuestion(msg->questions[0].name, msg->questions[0].qtype, msg->questions[0].qclass);
  }
  countRcode(metrics_, counts, rc);
  return b.size();
}

DnsResponder::DnsResponder(ZoneConfig cfg, Metrics& metrics)
    : cfg_(std::move(cfg)),
      ns_name_("ns1." + cfg_.zone),
      hostmaster_("hostmaster." + cfg_.zone),
      node_(internName(cfg_.node)),
      metrics_(metrics) {}

std::size_t DnsResponder::truncate(wire::MutableBytes response, std::size_t question_end) {
  if (response.size() < dns::kHeaderSize || question_end > response.size()) return 0;
  response[2] = static_cast<std::uint8_t>(response[2] | (dns::Header::kTc >> 8));
  std::fill(response.begin() + 6, response.begin() + 12, std::uint8_t{0});
  return question_end;
}

DnsOutcome DnsResponder::respond(wire::Bytes query, const core::Endpoint& client,
                                 Transport transport, wire::MutableBytes out, std::int64_t now_ms,
                                 Observation* record_into, DnsCounts* counts) const {
  const std::size_t via = transport == Transport::kUdp ? 0 : 1;
  if (counts != nullptr) {
    ++counts->queries[via];
  } else {
    bump(metrics_.dns_queries[via]);
  }
  DnsOutcome result;
  auto header = dns::parseHeader(query);
  if (!header || header->qr()) {  // never answer a response: that is how loops start
    bump(metrics_.dns_malformed);
    return result;
  }
  // One message per thread, parsed into again and again: its strings keep their capacity.
  thread_local dns::Message scratch;
  const bool parsed = dns::parseInto(query, scratch).ok();
  const dns::Message* msg = parsed ? &scratch : nullptr;
  if (!parsed || msg->header.qdcount != 1 || msg->header.opcode() != dns::Opcode::kQuery) {
    result.size = result.question_end = refuseMalformed(*header, msg, transport, out, counts);
    return result;
  }
  auto& q = scratch.questions[0];
  const auto& edns = msg->edns;
  const std::size_t size_limit = transport == Transport::kTcp ? dns::kMaxMessage : udpLimit(edns);
  const bool in_zone = dns::nameInZone(q.name, cfg_.zone) &&
                       (q.qclass == dns::kClassIn || q.qclass == dns::kClassAny);
  dns::Rcode rc = in_zone ? dns::Rcode::kNoError : dns::Rcode::kRefused;
  if (edns && edns->version != 0) rc = dns::Rcode::kBadVers;
  const bool aa = in_zone && rc == dns::Rcode::kNoError;

  dns::Builder b(out, dns::Header{msg->header.id, responseFlags(msg->header, aa, rc)}, size_limit);
  b.addQuestion(q.name, q.qtype, q.qclass);
  result.question_end = b.size();
  const auto reply_edns = replyEdns(edns, rc);
  bool fits = true;
  if (aa) {
    fits = answer(b, q.name, q.qtype, client, edns ? edns->client_subnet : std::nullopt);
    if (fits && b.count(dns::Section::kAnswer) == 0) {
      fits = b.addSoa(dns::Section::kAuthority, cfg_.zone, kZoneTtl, soa());
    }
  }
  if (fits && reply_edns) fits = b.addOpt(*reply_edns);
  result.size = b.size();
  if (!fits) {
    // Start over with the question only: a TC response tells the resolver to ask over TCP.
    const auto flags =
        static_cast<std::uint16_t>(responseFlags(msg->header, aa, rc) | dns::Header::kTc);
    dns::Builder t(out, dns::Header{msg->header.id, flags}, size_limit);
    t.addQuestion(q.name, q.qtype, q.qclass);
    if (reply_edns) t.addOpt(*reply_edns);
    bump(metrics_.dns_truncated);
    result.size = t.size();
  }
  countRcode(metrics_, counts, rc);
  if (in_zone && record_into != nullptr) {
    result.observed = observe(q, client, transport, edns, now_ms, *record_into);
  } else if (Observation o; in_zone && observe(q, client, transport, edns, now_ms, o)) {
    result.observation = std::move(o);
  }
  return result;
}

wire::dns::Soa DnsResponder::soa() const {
  dns::Soa s{ns_name_, hostmaster_};
  s.serial = cfg_.serial;
  s.minimum = 0;  // negative answers are not cached either
  return s;
}

bool DnsResponder::answer(dns::Builder& b, const std::string& name, std::uint16_t qtype,
                          const core::Endpoint& client,
                          const std::optional<dns::ClientSubnet>& ecs) const {
  const auto an = dns::Section::kAnswer;
  const bool apex = dns::nameEquals(name, cfg_.zone);
  bool ok = true;
  if ((qtype == dns::kTypeA || qtype == dns::kTypeAny) && cfg_.answer_v4) {
    ok = ok && b.addAddress(an, name, kAnswerTtl, *cfg_.answer_v4);
  }
  if ((qtype == dns::kTypeAaaa || qtype == dns::kTypeAny) && cfg_.answer_v6) {
    ok = ok && b.addAddress(an, name, kAnswerTtl, *cfg_.answer_v6);
  }
  if (qtype == dns::kTypeTxt) {
    const std::string who = client.address.toString();
    ok = ok && b.addTxt(an, name, kAnswerTtl, {who});
    if (ecs) {
      const std::string subnet = "edns-client-subnet " + ecs->toString();
      ok = ok && b.addTxt(an, name, kAnswerTtl, {subnet});
    }
  }
  if (apex && qtype == dns::kTypeSoa) ok = ok && b.addSoa(an, name, kZoneTtl, soa());
  if (apex && qtype == dns::kTypeNs) {
    ok = ok && b.addNs(an, name, kZoneTtl, ns_name_);
    const auto ad = dns::Section::kAdditional;
    if (cfg_.answer_v4) ok = ok && b.addAddress(ad, ns_name_, kZoneTtl, *cfg_.answer_v4);
    if (cfg_.answer_v6) ok = ok && b.addAddress(ad, ns_name_, kZoneTtl, *cfg_.answer_v6);
  }
  return ok;
}

bool DnsResponder::observe(const dns::Question& q, const core::Endpoint& client,
                           Transport transport, const std::optional<dns::Edns>& edns,
                           std::int64_t now_ms, Observation& o) const {
  if (!tokenFromNameInto(q.name, cfg_.zone, o.token)) return false;
  o.kind = Kind::kDns;
  o.json.clear();
  if (!o.dns) o.dns.emplace();
  DnsQuery& d = *o.dns;
  d.time_ms = now_ms;
  d.resolver = client;
  d.qname.assign(q.name);  // a copy: the question keeps its buffer for the next parse
  d.qtype = q.qtype;
  d.transport = transport;
  d.edns = edns.has_value();
  d.ecs = edns ? edns->client_subnet : std::nullopt;
  d.node = node_;
  return true;
}

}  // namespace vpnleak::server
