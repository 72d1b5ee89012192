// Captured frames decoded down to the transport payload: Ethernet with 802.1Q/802.1ad tags, Linux
// cooked capture (SLL, SLL2), raw IP; ARP; IPv4 with options, IPv6 with extension headers,
// fragments of either; UDP, TCP, ICMP, ICMPv6. Pure and allocation-free: decode() fills a Packet
// whose payload is a view into the caller's frame.
//
// A frame cut short by the capture's snapshot length still yields every field up to the cut
// (status kTruncated), because the monitor must classify what it saw, not drop it.
#pragma once

#include <cstdint>
#include <string_view>

#include "core/ip.hpp"
#include "wire/bytes.hpp"

namespace vpnleak::wire::packet {

// What the first byte of a frame is. Independent of libpcap's DLT numbers: the capture layer maps.
enum class LinkType : std::uint8_t {
  kEthernet,   // DLT_EN10MB (also Linux loopback and veth)
  kLinuxSll,   // DLT_LINUX_SLL: "any" device and non-Ethernet links, libpcap < 1.10
  kLinuxSll2,  // DLT_LINUX_SLL2
  kRawIp,      // DLT_RAW / LINKTYPE_IPV4 / LINKTYPE_IPV6: the version nibble says which
};

std::string_view linkTypeName(LinkType t);

// Known from the link header only for cooked captures (SLL pkttype); the capture layer also sets
// it when the kernel filtered by direction.
enum class Direction : std::uint8_t { kUnknown, kIn, kOut };

enum class Status : std::uint8_t {
  kOk,
  kTruncated,  // the capture ended inside a header: every field before it is valid
  kMalformed,  // a header contradicts itself or the frame (problem says which)
  kNotIp,      // a link-layer frame carrying neither IP nor ARP (LLDP, STP, 802.2 LLC, ...)
};

inline constexpr std::uint16_t kEtherTypeIpv4 = 0x0800;
inline constexpr std::uint16_t kEtherTypeArp = 0x0806;
inline constexpr std::uint16_t kEtherTypeIpv6 = 0x86dd;
inline constexpr std::uint8_t kProtoIcmp = 1;
inline constexpr std::uint8_t kProtoTcp = 6;
inline constexpr std::uint8_t kProtoUdp = 17;
inline constexpr std::uint8_t kProtoIcmpv6 = 58;

std::string_view protoName(std::uint8_t proto);  // "udp", "tcp", "icmp", "icmpv6", "ip-47"...

struct Arp {
  std::uint16_t op = 0;            // 1 request, 2 reply
  core::IpAddress sender, target;  // when the protocol is IPv4 (else 0.0.0.0)
};

struct Packet {
  Status status = Status::kOk;
  const char* problem = nullptr;  // static text for kTruncated/kMalformed: where it stopped
  Direction direction = Direction::kUnknown;

  std::uint16_t ethertype = 0;  // innermost, after any VLAN tags
  std::uint16_t vlan = 0;       // outermost 802.1Q VLAN id, when vlan_tags > 0
  std::uint8_t vlan_tags = 0;

  bool is_arp = false;
  Arp arp;

  bool is_ip = false;  // the IP header parsed: family, src, dst, proto, hop_limit are valid
  core::Family family = core::Family::kV4;
  core::IpAddress src, dst;
  std::uint8_t proto = 0;       // upper-layer protocol after IPv6 extension headers
  std::uint8_t hop_limit = 0;   // IPv4 TTL or IPv6 hop limit
  std::uint32_t ip_length = 0;  // on the wire per the header (captured length for jumbograms)
  bool fragment = false;        // part of a fragmented datagram
  bool later_fragment = false;  // not the first fragment: there is no transport header

  bool has_ports = false;  // UDP or TCP header parsed
  std::uint16_t sport = 0, dport = 0;
  std::uint8_t tcp_flags = 0;
  bool has_icmp = false;  // ICMP/ICMPv6 type and code parsed
  std::uint8_t icmp_type = 0, icmp_code = 0;

  // The transport payload as captured (UDP data, TCP segment data, ICMP body after the first
  // 8 bytes, or the bytes after the IP headers for other protocols) and its length on the wire
  // according to the headers, which exceeds payload.size() when the capture was cut short.
  Bytes payload;
  std::uint32_t payload_length = 0;

  [[nodiscard]] bool complete() const { return status == Status::kOk; }
};

inline constexpr std::uint8_t kTcpFin = 0x01;
inline constexpr std::uint8_t kTcpSyn = 0x02;
inline constexpr std::uint8_t kTcpRst = 0x04;
inline constexpr std::uint8_t kTcpAck = 0x10;

// Decodes one frame. Never fails: problems are reported in Packet::status/problem.
Packet decode(LinkType link, Bytes frame);
// Same, into an existing Packet (reset first): the hot loop reuses one.
void decode(LinkType link, Bytes frame, Packet& out);

// Starts at an IP header (raw IP); exposed for the tunnel interface and tests.
void decodeIp(Bytes ip, Packet& out);

}  // namespace vpnleak::wire::packet
