// Frame decoding, layer by layer. Every read goes through a size check first; a frame that ends
// early stops the descent with kTruncated and keeps what the outer layers already filled in.
#include "wire/packet.hpp"

#include <algorithm>
#include <array>

namespace vpnleak::wire::packet {

namespace {

constexpr std::size_t kEthernetHeader = 14;
constexpr std::size_t kVlanTag = 4;
constexpr std::size_t kMaxVlanTags = 4;  // QinQ stacks deeper than this are not real traffic
constexpr std::size_t kSllHeader = 16;
constexpr std::size_t kSll2Header = 20;
constexpr std::size_t kIpv4MinHeader = 20;
constexpr std::size_t kIpv6Header = 40;
constexpr std::size_t kUdpHeader = 8;
constexpr std::size_t kTcpMinHeader = 20;
constexpr std::size_t kIcmpHeader = 8;
// A real stack sends a handful; more is an evasion attempt or garbage, and bounds the loop.
constexpr int kMaxExtensionHeaders = 8;
constexpr std::uint8_t kSllOutgoing = 4;  // PACKET_OUTGOING

void stop(Packet& p, Status s, const char* why) {
  p.status = s;
  p.problem = why;
}
bool stopped(Packet& p, Status s, const char* why) {
  stop(p, s, why);
  return false;
}

bool isVlanType(std::uint16_t t) { return t == 0x8100 || t == 0x88a8 || t == 0x9100; }

Direction directionOf(std::uint8_t pkttype) {
  return pkttype == kSllOutgoing ? Direction::kOut : Direction::kIn;
}

void decodeArp(Bytes d, Packet& p) {
  p.is_arp = true;
  // htype(2) ptype(2) hlen(1) plen(1) op(2), then sender hw, sender proto, target hw, target proto.
  if (d.size() < 8) return stop(p, Status::kTruncated, "ARP header");
  p.arp.op = load16(d.data() + 6);
  const std::size_t hlen = d[4];
  const std::size_t plen = d[5];
  if (load16(d.data() + 2) != kEtherTypeIpv4 || plen != 4) return;
  if (d.size() < 8 + 2 * (hlen + plen)) return stop(p, Status::kTruncated, "ARP addresses");
  p.arp.sender = core::IpAddress::fromBytes(core::Family::kV4, d.subspan(8 + hlen, 4));
  p.arp.target = core::IpAddress::fromBytes(core::Family::kV4, d.subspan(8 + 2 * hlen + 4, 4));
}

// Follows VLAN tags from an EtherType at data[0..] onwards, then the network layer.
void decodeEtherType(std::uint16_t type, Bytes d, Packet& p) {
  while (isVlanType(type)) {
    if (p.vlan_tags == kMaxVlanTags) return stop(p, Status::kMalformed, "too many VLAN tags");
    if (d.size() < kVlanTag) return stop(p, Status::kTruncated, "VLAN tag");
    if (p.vlan_tags++ == 0) p.vlan = load16(d.data()) & 0x0fff;
    type = load16(d.data() + 2);
    d = d.subspan(kVlanTag);
  }
  p.ethertype = type;
  if (type == kEtherTypeIpv4 || type == kEtherTypeIpv6) {
    if (!d.empty() && (d[0] >> 4) != (type == kEtherTypeIpv4 ? 4 : 6)) {
      return stop(p, Status::kMalformed, "IP version does not match the EtherType");
    }
    return decodeIp(d, p);
  }
  if (type == kEtherTypeArp) return decodeArp(d, p);
  stop(p, Status::kNotIp, nullptr);
}

void decodeTransport(Bytes body, std::uint32_t wire_len, Packet& p);

// IPv4 addresses as IpAddress values. IpAddress::v4() is out of line and returns its result
// through memory written in pieces; loading it right back stalls on failed store forwarding, a
// measurable share of the monitor's time per packet. Consecutive packets mostly carry the same
// addresses (the tunnel's two ends), so the last value per position (source, destination) is
// kept and copied instead.
const core::IpAddress& v4Address(std::uint32_t host_order, std::size_t position) {
  struct Last {
    std::uint32_t host_order = 0;
    core::IpAddress address;  // 0.0.0.0 == IpAddress::v4(0)
  };
  thread_local std::array<Last, 2> last{};
  auto& l = last[position];
  if (l.host_order != host_order) l = Last{host_order, core::IpAddress::v4(host_order)};
  return l.address;
}

void decodeIpv4(Bytes d, Packet& p) {
  if (d.size() < kIpv4MinHeader) return stop(p, Status::kTruncated, "IPv4 header");
  const std::size_t ihl = static_cast<std::size_t>(d[0] & 0x0f) * 4;
  if (ihl < kIpv4MinHeader) return stop(p, Status::kMalformed, "IPv4 header length below 20");
  std::size_t total = load16(d.data() + 2);
  // Zero on segmentation-offloaded and BIG TCP packets: the capture length is all there is.
  if (total == 0) total = d.size();
  if (total < ihl) return stop(p, Status::kMalformed, "IPv4 total length below header length");
  p.family = core::Family::kV4;
  p.hop_limit = d[8];
  p.proto = d[9];
  p.src = v4Address(load32(d.data() + 12), 0);
  p.dst = v4Address(load32(d.data() + 16), 1);
  p.ip_length = static_cast<std::uint32_t>(total);
  p.is_ip = true;
  const std::uint16_t frag = load16(d.data() + 6);
  p.later_fragment = (frag & 0x1fff) != 0;
  p.fragment = p.later_fragment || (frag & 0x2000) != 0;
  // Options are skipped whole: nothing in them changes where the packet goes on the wire.
  if (d.size() < ihl) return stop(p, Status::kTruncated, "IPv4 options");
  const auto body = d.subspan(ihl, std::min(d.size(), total) - ihl);
  const auto wire_len = static_cast<std::uint32_t>(total - ihl);
  if (p.later_fragment) {
    p.payload = body;
    p.payload_length = wire_len;
    return;
  }
  decodeTransport(body, wire_len, p);
}

// Skips IPv6 extension headers; returns false when decoding must stop (status set, or a later
// fragment whose payload has been recorded).
bool skipExtensions(Bytes& body, std::uint32_t& wire_len, std::uint8_t& next, Packet& p) {
  for (int i = 0; i <= kMaxExtensionHeaders; ++i) {
    std::size_t len = 0;
    switch (next) {
      case 0:
      case 43:
      case 60:
      case 135:
      case 139:
      case 140:  // length in 8-octet units
        if (body.size() < 2) return stopped(p, Status::kTruncated, "IPv6 extension header");
        len = (static_cast<std::size_t>(body[1]) + 1) * 8;
        break;
      case 51:  // AH: length in 4-octet units, minus 2
        if (body.size() < 2) return stopped(p, Status::kTruncated, "IPv6 AH header");
        len = (static_cast<std::size_t>(body[1]) + 2) * 4;
        break;
      case 44:
        len = 8;
        break;
      default:
        return true;
    }
    if (wire_len < len) return stopped(p, Status::kMalformed, "IPv6 payload length too short");
    if (body.size() < len) return stopped(p, Status::kTruncated, "IPv6 extension header");
    const std::uint8_t following = body[0];
    if (next == 44) {
      const std::uint16_t off = load16(body.data() + 2);
      p.fragment = true;
      p.later_fragment = (off >> 3) != 0;
    }
    next = following;
    body = body.subspan(len);
    wire_len -= static_cast<std::uint32_t>(len);
    if (p.later_fragment) {
      p.proto = next;
      p.payload = body;
      p.payload_length = wire_len;
      return false;
    }
  }
  return stopped(p, Status::kMalformed, "too many IPv6 extension headers");
}

void decodeIpv6(Bytes d, Packet& p) {
  if (d.size() < kIpv6Header) return stop(p, Status::kTruncated, "IPv6 header");
  const std::size_t plen = load16(d.data() + 4);
  // Zero for jumbograms and offloaded super-packets: the capture length is all there is.
  const std::size_t total = plen == 0 ? d.size() : kIpv6Header + plen;
  p.family = core::Family::kV6;
  p.hop_limit = d[7];
  p.src = core::IpAddress::fromBytes(core::Family::kV6, d.subspan(8, 16));
  p.dst = core::IpAddress::fromBytes(core::Family::kV6, d.subspan(24, 16));
  p.ip_length = static_cast<std::uint32_t>(total);
  p.is_ip = true;
  auto body = d.subspan(kIpv6Header, std::min(d.size(), total) - kIpv6Header);
  auto wire_len = static_cast<std::uint32_t>(total - kIpv6Header);
  std::uint8_t next = d[6];
  p.proto = next;
  if (!skipExtensions(body, wire_len, next, p)) return;
  p.proto = next;
  decodeTransport(body, wire_len, p);
}

void decodeUdp(Bytes body, std::uint32_t wire_len, Packet& p) {
  if (body.size() < kUdpHeader) return stop(p, Status::kTruncated, "UDP header");
  p.sport = load16(body.data());
  p.dport = load16(body.data() + 2);
  p.has_ports = true;
  std::uint32_t len = load16(body.data() + 4);
  if (len == 0 && p.family == core::Family::kV6) len = wire_len;  // RFC 2675 jumbogram
  if (len < kUdpHeader) return stop(p, Status::kMalformed, "UDP length below 8");
  // A first fragment carries only part of the datagram the UDP length describes.
  if (len > wire_len && !p.fragment) {
    return stop(p, Status::kMalformed, "UDP length beyond the IP payload");
  }
  p.payload_length = len - static_cast<std::uint32_t>(kUdpHeader);
  p.payload =
      body.subspan(kUdpHeader, std::min<std::size_t>(body.size() - kUdpHeader, p.payload_length));
}

void decodeTcp(Bytes body, std::uint32_t wire_len, Packet& p) {
  if (body.size() < kTcpMinHeader) return stop(p, Status::kTruncated, "TCP header");
  p.sport = load16(body.data());
  p.dport = load16(body.data() + 2);
  p.has_ports = true;
  p.tcp_flags = body[13];
  const std::size_t off = static_cast<std::size_t>(body[12] >> 4) * 4;
  if (off < kTcpMinHeader || off > wire_len) {
    return stop(p, Status::kMalformed, "TCP data offset outside the segment");
  }
  if (body.size() < off) return stop(p, Status::kTruncated, "TCP options");
  p.payload = body.subspan(off);
  p.payload_length = wire_len - static_cast<std::uint32_t>(off);
}

void decodeTransport(Bytes body, std::uint32_t wire_len, Packet& p) {
  switch (p.proto) {
    case kProtoUdp:
      return decodeUdp(body, wire_len, p);
    case kProtoTcp:
      return decodeTcp(body, wire_len, p);
    case kProtoIcmp:
    case kProtoIcmpv6:
      if (body.size() < 4) return stop(p, Status::kTruncated, "ICMP header");
      p.icmp_type = body[0];
      p.icmp_code = body[1];
      p.has_icmp = true;
      p.payload = body.subspan(std::min(body.size(), kIcmpHeader));
      p.payload_length =
          wire_len >= kIcmpHeader ? wire_len - static_cast<std::uint32_t>(kIcmpHeader) : 0;
      return;
    default:
      p.payload = body;
      p.payload_length = wire_len;
  }
}

}  // namespace

std::string_view linkTypeName(LinkType t) {
  switch (t) {
    case LinkType::kEthernet:
      return "ethernet";
    case LinkType::kLinuxSll:
      return "linux-sll";
    case LinkType::kLinuxSll2:
      return "linux-sll2";
    case LinkType::kRawIp:
      return "raw-ip";
  }
  return "unknown";
}

std::string_view protoName(std::uint8_t proto) {
  switch (proto) {
    case kProtoUdp:
      return "udp";
    case kProtoTcp:
      return "tcp";
    case kProtoIcmp:
      return "icmp";
    case kProtoIcmpv6:
      return "icmpv6";
    case 47:
      return "gre";
    case 50:
      return "esp";
    case 51:
      return "ah";
    case 132:
      return "sctp";
    case 59:
      return "none";
    default:
      break;
  }
  // "ip-" plus up to three digits, from a table built once: no allocation per call.
  static const auto kNames = [] {
    std::array<std::array<char, 8>, 256> names{};
    for (std::size_t i = 0; i < names.size(); ++i) {
      const std::string s = "ip-" + std::to_string(i);
      std::copy(s.begin(), s.end(), names[i].begin());
    }
    return names;
  }();
  return kNames[proto].data();
}

void decodeIp(Bytes d, Packet& p) {
  if (d.empty()) return stop(p, Status::kTruncated, "IP header");
  switch (d[0] >> 4) {
    case 4:
      return decodeIpv4(d, p);
    case 6:
      return decodeIpv6(d, p);
    default:
      return stop(p, Status::kMalformed, "IP version neither 4 nor 6");
  }
}

// Flattened: the layers are inlined into one function, so that a frame is decoded without a
// call (and its register spills) per layer. This runs once for every captured frame.
[[gnu::flatten]] void decode(LinkType link, Bytes f, Packet& p) {
  // A copy of a constant: a handful of vector moves, where assigning Packet{} built a temporary
  // member by member (a measurable share of the per-packet cost).
  static constexpr Packet kEmpty{};
  p = kEmpty;
  switch (link) {
    case LinkType::kEthernet:
      if (f.size() < kEthernetHeader) return stop(p, Status::kTruncated, "Ethernet header");
      // Below 0x0600 the field is an 802.3 length: an LLC frame, never IP on Linux.
      if (load16(f.data() + 12) < 0x0600) return stop(p, Status::kNotIp, nullptr);
      return decodeEtherType(load16(f.data() + 12), f.subspan(kEthernetHeader), p);
    case LinkType::kLinuxSll:
      if (f.size() < kSllHeader) return stop(p, Status::kTruncated, "Linux cooked header");
      p.direction = directionOf(static_cast<std::uint8_t>(load16(f.data())));
      return decodeEtherType(load16(f.data() + 14), f.subspan(kSllHeader), p);
    case LinkType::kLinuxSll2:
      if (f.size() < kSll2Header) return stop(p, Status::kTruncated, "Linux cooked v2 header");
      p.direction = directionOf(f[10]);
      return decodeEtherType(load16(f.data()), f.subspan(kSll2Header), p);
    case LinkType::kRawIp:
      if (!f.empty() && (f[0] >> 4) == 4) p.ethertype = kEtherTypeIpv4;
      if (!f.empty() && (f[0] >> 4) == 6) p.ethertype = kEtherTypeIpv6;
      return decodeIp(f, p);
  }
}

Packet decode(LinkType link, Bytes frame) {
  Packet p;
  decode(link, frame, p);
  return p;
}

}  // namespace vpnleak::wire::packet
