#include "monitor/classifier.hpp"

#include <algorithm>
#include <cstring>

#include "wire/dns.hpp"
#include "wire/http_host.hpp"
#include "wire/stun.hpp"
#include "wire/tls_sni.hpp"

namespace vpnleak::monitor {

using core::Errc;
using wire::Bytes;
using wire::packet::Packet;
namespace pk = wire::packet;

namespace {

// WireGuard message sizes (whitepaper 5.4): initiation, response, cookie reply; transport data
// is a 16-byte header, the padded ciphertext and a 16-byte tag.
constexpr std::uint32_t kWgInitiation = 148;
constexpr std::uint32_t kWgResponse = 92;
constexpr std::uint32_t kWgCookie = 64;
constexpr std::uint32_t kWgMinData = 32;

constexpr std::uint8_t kProtoIgmp = 2;
constexpr std::uint16_t kPortDns = 53;
constexpr std::uint16_t kPortMdns = 5353;
constexpr std::uint16_t kPortLlmnr = 5355;

bool ports(const Packet& p, std::uint16_t a, std::uint16_t b) {
  return p.sport == a && p.dport == b;
}

bool either(const Packet& p, std::uint16_t port) { return p.sport == port || p.dport == port; }

// IpAddress's defaulted == compares the family and all 16 bytes through memcmp; this runs for
// every packet against every endpoint. (An IPv4 address keeps its other 12 bytes zero.)
bool sameAddress(const core::IpAddress& a, const core::IpAddress& b) {
  if (a.family() != b.family()) return false;
  const auto* x = a.bytes().data();
  const auto* y = b.bytes().data();
  return a.isV4() ? std::memcmp(x, y, 4) == 0 : std::memcmp(x, y, 16) == 0;
}

bool framedAs(const Packet& p, TunnelProto proto) {
  if (proto == TunnelProto::kUdp || proto == TunnelProto::kTcp || p.later_fragment) return true;
  // Cut by the snapshot length before the framing: the ports are all there is to go by.
  if (p.payload.size() < 4 && p.payload_length >= 4) return true;
  return proto == TunnelProto::kWireGuard ? looksLikeWireGuard(p.payload, p.payload_length)
                                          : looksLikeOpenVpn(p.payload, p.payload_length);
}

}  // namespace

std::string_view tunnelProtoName(TunnelProto p) {
  switch (p) {
    case TunnelProto::kWireGuard:
      return "wireguard";
    case TunnelProto::kOpenVpn:
      return "openvpn";
    case TunnelProto::kUdp:
      return "udp";
    case TunnelProto::kTcp:
      return "tcp";
  }
  return "?";
}

core::Result<TunnelEndpoint> TunnelEndpoint::parse(std::string_view text) {
  TunnelEndpoint e;
  std::string_view addr = text;
  if (const auto slash = text.rfind('/'); slash != std::string_view::npos) {
    const auto proto = text.substr(slash + 1);
    addr = text.substr(0, slash);
    bool known = false;
    for (auto p :
         {TunnelProto::kWireGuard, TunnelProto::kOpenVpn, TunnelProto::kUdp, TunnelProto::kTcp}) {
      if (proto == tunnelProtoName(p)) {
        e.proto = p;
        known = true;
      }
    }
    if (!known) {
      return core::makeError(Errc::kInvalidArgument, "invalid --endpoint '" + std::string(text) +
                                                         "': protocol '" + std::string(proto) +
                                                         "' is not wireguard, openvpn, udp or tcp");
    }
  }
  auto ep = core::Endpoint::parse(addr);
  if (!ep || ep->port == 0) {
    return core::makeError(Errc::kInvalidArgument,
                           "invalid --endpoint '" + std::string(text) +
                               "': expected IP:PORT[/wireguard|openvpn|udp|tcp], e.g. "
                               "203.0.113.2:51820/wireguard or [2001:db8::2]:1194/openvpn");
  }
  e.endpoint = *ep;
  return e;
}

std::string TunnelEndpoint::toString() const {
  return endpoint.toString() + "/" + std::string(tunnelProtoName(proto));
}

core::Result<AllowRule> AllowRule::parse(std::string_view text) {
  AllowRule r;
  if (text == "dhcp") r.kind = AllowKind::kDhcp;
  if (text == "ndp") r.kind = AllowKind::kNdp;
  if (text == "mld") r.kind = AllowKind::kMld;
  if (text == "igmp") r.kind = AllowKind::kIgmp;
  if (text == "arp") r.kind = AllowKind::kArp;
  if (r.kind != AllowKind::kPrefix) return r;
  auto p = core::Prefix::parse(text);
  if (!p) {
    return core::makeError(
        Errc::kInvalidArgument,
        "invalid --allow '" + std::string(text) +
            "': expected dhcp, ndp, mld, igmp, arp or a prefix such as 192.168.1.0/24");
  }
  r.prefix = *p;
  return r;
}

std::string AllowRule::toString() const {
  switch (kind) {
    case AllowKind::kDhcp:
      return "dhcp";
    case AllowKind::kNdp:
      return "ndp";
    case AllowKind::kMld:
      return "mld";
    case AllowKind::kIgmp:
      return "igmp";
    case AllowKind::kArp:
      return "arp";
    case AllowKind::kPrefix:
      break;
  }
  return prefix.toString();
}

std::string_view verdictName(Verdict v) {
  switch (v) {
    case Verdict::kTunnel:
      return "tunnel";
    case Verdict::kAllowed:
      return "allowed";
    case Verdict::kLeak:
      return "leak";
    case Verdict::kOther:
      return "other";
  }
  return "?";
}

std::string_view reasonName(Reason r) {
  static constexpr std::array<std::string_view, kReasonCount> kNames{"none",
                                                                     "dns",
                                                                     "mdns",
                                                                     "llmnr",
                                                                     "tls",
                                                                     "http",
                                                                     "stun",
                                                                     "wireguard-elsewhere",
                                                                     "openvpn-elsewhere",
                                                                     "endpoint-not-tunnel",
                                                                     "fragment",
                                                                     "malformed",
                                                                     "arp",
                                                                     "ipv4",
                                                                     "ipv6"};
  return kNames[static_cast<std::size_t>(r)];
}

bool looksLikeWireGuard(Bytes d, std::uint32_t len) {
  if (d.size() < 4 || d[1] != 0 || d[2] != 0 || d[3] != 0) return false;
  switch (d[0]) {
    case 1:
      return len == kWgInitiation;
    case 2:
      return len == kWgResponse;
    case 3:
      return len == kWgCookie;
    case 4:
      return len >= kWgMinData && len % 16 == 0;
    default:
      return false;
  }
}

// OpenVPN (ssl_pkt.h): the first byte is opcode << 3 | key_id. Control packets carry at least
// an 8-byte session id and an ack count; data packets at least a peer id or packet id.
bool looksLikeOpenVpn(Bytes d, std::uint32_t len) {
  if (d.empty()) return false;
  const int opcode = d[0] >> 3;
  if (opcode < 1 || opcode > 11) return false;
  const bool data = opcode == 6 || opcode == 9;
  return len >= (data ? 5U : 10U);
}

bool looksLikeOpenVpnHardReset(Bytes d, std::uint32_t len) {
  if (d.empty() || (d[0] & 0x07) != 0) return false;
  const int opcode = d[0] >> 3;
  return (opcode == 7 || opcode == 10) && len >= 14;
}

std::string dnsQuestionName(Bytes d, bool tcp) {
  std::string name;
  dnsQuestionName(d, tcp, name);
  return name;
}

void dnsQuestionName(Bytes d, bool tcp, std::string& out) {
  out.clear();
  if (tcp) {
    // Only a segment that starts a message: its length prefix covers at least a header.
    if (d.size() < 2 || wire::load16(d.data()) < wire::dns::kHeaderSize) return;
    d = d.subspan(2, std::min<std::size_t>(d.size() - 2, wire::load16(d.data())));
  }
  auto h = wire::dns::parseHeader(d);
  if (!h || h->qdcount == 0 || h->opcode() != wire::dns::Opcode::kQuery) return;
  if (!wire::dns::readNameInto(d, wire::dns::kHeaderSize, out)) out.clear();
}

Classifier::Classifier(ClassifierConfig config) : config_(std::move(config)) {
  for (const auto& a : config_.allow) {
    allow_dhcp_ = allow_dhcp_ || a.kind == AllowKind::kDhcp;
    allow_ndp_ = allow_ndp_ || a.kind == AllowKind::kNdp;
    allow_mld_ = allow_mld_ || a.kind == AllowKind::kMld;
    allow_igmp_ = allow_igmp_ || a.kind == AllowKind::kIgmp;
    allow_arp_ = allow_arp_ || a.kind == AllowKind::kArp;
    if (a.kind == AllowKind::kPrefix) allow_prefixes_.push_back(a.prefix);
  }
}

bool Classifier::matchesEndpoint(const Packet& p, const TunnelEndpoint& e) const {
  if (p.proto != e.transport()) return false;
  const auto& ep = e.endpoint;
  // A later fragment has no ports: its address and protocol are all there is to go by.
  if (p.later_fragment) return sameAddress(p.dst, ep.address) || sameAddress(p.src, ep.address);
  if (!p.has_ports) return false;
  return (p.dport == ep.port && sameAddress(p.dst, ep.address)) ||
         (p.sport == ep.port && sameAddress(p.src, ep.address));
}

bool Classifier::allowed(const Packet& p) const {
  if (allow_dhcp_ && p.proto == pk::kProtoUdp && p.has_ports &&
      (ports(p, 68, 67) || ports(p, 67, 68) || ports(p, 546, 547) || ports(p, 547, 546))) {
    return true;
  }
  if (allow_ndp_ && p.proto == pk::kProtoIcmpv6 && p.has_icmp && p.icmp_type >= 133 &&
      p.icmp_type <= 137 && p.hop_limit == 255) {
    return true;
  }
  // Membership signalling never leaves the link: RFC 2710/3810 and RFC 3376 send it with a hop
  // limit of 1.
  if (allow_mld_ && p.proto == pk::kProtoIcmpv6 && p.has_icmp && p.hop_limit == 1 &&
      ((p.icmp_type >= 130 && p.icmp_type <= 132) || p.icmp_type == 143)) {
    return true;
  }
  if (allow_igmp_ && p.family == core::Family::kV4 && p.proto == kProtoIgmp && p.hop_limit == 1) {
    return true;
  }
  const auto& remote = p.direction == pk::Direction::kIn ? p.src : p.dst;
  return std::any_of(allow_prefixes_.begin(), allow_prefixes_.end(),
                     [&](const core::Prefix& pre) { return pre.contains(remote); });
}

void Classifier::leak(const Packet& p, Classification& out) const {
  out.verdict = Verdict::kLeak;
  out.reason = p.family == core::Family::kV4 ? Reason::kIpv4 : Reason::kIpv6;
  if (p.later_fragment) {
    out.reason = Reason::kFragment;
    return;
  }
  if (!p.has_ports) return;
  const bool tcp = p.proto == pk::kProtoTcp;
  const auto named = [&](Reason r) {
    out.reason = r;
    dnsQuestionName(p.payload, tcp, out.dns_qname);
  };
  if (either(p, kPortDns)) return named(Reason::kDns);
  if (either(p, kPortMdns)) return named(Reason::kMdns);
  if (either(p, kPortLlmnr)) return named(Reason::kLlmnr);
  if (tcp) {
    using wire::tls::SniStatus;
    const auto sni = wire::tls::clientHelloSni(p.payload);
    if (sni.status != SniStatus::kNotTls && sni.status != SniStatus::kNotClientHello) {
      out.reason = Reason::kTls;
      out.sni = sni.name;
    } else if (auto req = wire::http::parseRequestHead(p.payload)) {
      out.reason = Reason::kHttp;
      out.http_host = req->host;
    }
    return;
  }
  const auto len = p.payload_length;
  if (p.payload.size() == len && wire::stun::looksLikeStun(p.payload, false)) {
    out.reason = Reason::kStun;
  } else if (looksLikeWireGuard(p.payload, len)) {
    out.reason = Reason::kWireGuardElsewhere;
  } else if (looksLikeOpenVpnHardReset(p.payload, len)) {
    out.reason = Reason::kOpenVpnElsewhere;
  }
}

// Flattened (the endpoint match, framing and allow checks inlined): this runs for every packet.
[[gnu::flatten]] void Classifier::classify(const Packet& p, Classification& out) const {
  out.verdict = Verdict::kOther;
  out.reason = Reason::kNone;
  out.dns_qname.clear();
  out.sni = {};
  out.http_host = {};
  if (p.is_arp) {
    out.verdict = allow_arp_ ? Verdict::kAllowed : Verdict::kLeak;
    if (!allow_arp_) out.reason = Reason::kArp;
    return;
  }
  if (!p.is_ip) {
    // An IP EtherType that would not decode still left the interface; anything else is not IP.
    const bool ip_type =
        p.ethertype == pk::kEtherTypeIpv4 || p.ethertype == pk::kEtherTypeIpv6 ||
        (p.ethertype == 0 && p.status == pk::Status::kMalformed);  // raw IP, bad version
    if (ip_type) {
      out.verdict = Verdict::kLeak;
      out.reason = Reason::kMalformed;
    }
    return;
  }
  for (const auto& e : config_.endpoints) {
    if (!matchesEndpoint(p, e)) continue;
    if (framedAs(p, e.proto)) {
      out.verdict = Verdict::kTunnel;
      return;
    }
    if (allowed(p)) break;
    out.verdict = Verdict::kLeak;
    out.reason = Reason::kEndpointNotTunnel;
    return;
  }
  if (allowed(p)) {
    out.verdict = Verdict::kAllowed;
    return;
  }
  leak(p, out);
}

Classification Classifier::classify(const Packet& p) const {
  Classification c;
  classify(p, c);
  return c;
}

}  // namespace vpnleak::monitor
