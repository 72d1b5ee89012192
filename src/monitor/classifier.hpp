// The monitor's verdict on one decoded frame: the tunnel's own traffic, an allowed exception, a
// leak (with the most specific reason and what it revealed), or other link-layer noise. Pure: a
// configuration in, a value out, so every branch is unit-tested from crafted packets.
//
// Precedence: tunnel, then allow rules, then leak. The definitions are chosen so that each has an
// equivalent tcpdump filter (docs/monitor.md), which the tests check on recorded captures.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/ip.hpp"
#include "core/result.hpp"
#include "wire/packet.hpp"

namespace vpnleak::monitor {

// How traffic to an endpoint is recognised as the tunnel's own.
enum class TunnelProto : std::uint8_t {
  kWireGuard,  // UDP, each datagram a WireGuard message (type 1-4, reserved zero, exact sizes)
  kOpenVpn,    // UDP, each datagram an OpenVPN packet (opcode 1-11)
  kUdp,        // any UDP: transport only, as the guard's --endpoint IP:PORT/udp
  kTcp,        // any TCP (OpenVPN over TCP and others: segments carry no framing boundary)
};

std::string_view tunnelProtoName(TunnelProto p);

struct TunnelEndpoint {
  core::Endpoint endpoint;
  TunnelProto proto = TunnelProto::kWireGuard;

  // "IP:PORT[/wireguard|openvpn|udp|tcp]" or "[IPv6]:PORT[/...]"; WireGuard when omitted.
  static core::Result<TunnelEndpoint> parse(std::string_view text);
  [[nodiscard]] std::string toString() const;
  [[nodiscard]] std::uint8_t transport() const {
    return proto == TunnelProto::kTcp ? wire::packet::kProtoTcp : wire::packet::kProtoUdp;
  }
};

enum class AllowKind : std::uint8_t {
  kPrefix,  // the remote address (destination; source of inbound packets) lies in the prefix
  kDhcp,    // DHCPv4 68<->67, DHCPv6 546<->547 over UDP
  kNdp,     // ICMPv6 133-137 (RS, RA, NS, NA, redirect) with hop limit 255 (RFC 4861)
  kMld,     // ICMPv6 130-132 and 143 (multicast listener query/report/done) with hop limit 1
  kIgmp,    // IGMP (IPv4 multicast membership) with TTL 1
  kArp,
};

struct AllowRule {
  AllowKind kind = AllowKind::kPrefix;
  core::Prefix prefix;

  // "dhcp", "ndp", "mld", "igmp", "arp", or a prefix / bare address.
  static core::Result<AllowRule> parse(std::string_view text);
  [[nodiscard]] std::string toString() const;
};

struct ClassifierConfig {
  std::vector<TunnelEndpoint> endpoints;
  std::vector<AllowRule> allow;
};

enum class Verdict : std::uint8_t { kTunnel, kAllowed, kLeak, kOther };
std::string_view verdictName(Verdict v);

// Why a packet is a leak, most specific first. Only kLeak verdicts carry one.
enum class Reason : std::uint8_t {
  kNone,
  kDns,                 // port 53, UDP or TCP
  kMdns,                // port 5353
  kLlmnr,               // port 5355
  kTls,                 // a TLS ClientHello
  kHttp,                // a plaintext HTTP/1.x request
  kStun,                // a STUN message (RFC 5389 magic cookie): WebRTC address discovery
  kWireGuardElsewhere,  // WireGuard framing to an address:port that is no configured endpoint
  kOpenVpnElsewhere,    // an OpenVPN hard-reset (session start) to a non-endpoint
  kEndpointNotTunnel,   // to an endpoint's address:port, but not framed as that tunnel
  kFragment,            // a non-first IP fragment (no ports to judge by)
  kMalformed,           // an IP EtherType whose IP header could not be read
  kArp,                 // ARP, when not allowed
  kIpv4,                // any other IPv4
  kIpv6,                // any other IPv6
};
inline constexpr std::size_t kReasonCount = 15;
std::string_view reasonName(Reason r);

struct Classification {
  Verdict verdict = Verdict::kOther;
  Reason reason = Reason::kNone;
  std::string dns_qname;  // DNS, mDNS, LLMNR leaks whose question could be read
  // Views into the classified frame: valid while the frame is.
  std::string_view sni;
  std::string_view http_host;
};

// Framing checks on a UDP payload; wire_len is the payload length the UDP header states (the
// capture may hold fewer bytes). With fewer than 4 captured bytes the answer is false.
bool looksLikeWireGuard(wire::Bytes payload, std::uint32_t wire_len);
bool looksLikeOpenVpn(wire::Bytes payload, std::uint32_t wire_len);
bool looksLikeOpenVpnHardReset(wire::Bytes payload, std::uint32_t wire_len);

// The first question's name of a DNS message over UDP (tcp=false) or the first message of a TCP
// segment (two-byte length prefix); empty when there is none to read.
std::string dnsQuestionName(wire::Bytes payload, bool tcp);
// The same into out (cleared first): the classifier reuses one string for every leak.
void dnsQuestionName(wire::Bytes payload, bool tcp, std::string& out);

class Classifier {
 public:
  explicit Classifier(ClassifierConfig config);

  // Resets out and fills it; reusing one Classification keeps the hot path allocation-free (the
  // DNS name goes into out.dns_qname's existing capacity).
  void classify(const wire::packet::Packet& p, Classification& out) const;
  [[nodiscard]] Classification classify(const wire::packet::Packet& p) const;

  [[nodiscard]] const ClassifierConfig& config() const { return config_; }

 private:
  [[nodiscard]] bool matchesEndpoint(const wire::packet::Packet& p, const TunnelEndpoint& e) const;
  [[nodiscard]] bool allowed(const wire::packet::Packet& p) const;
  void leak(const wire::packet::Packet& p, Classification& out) const;

  ClassifierConfig config_;
  std::vector<core::Prefix> allow_prefixes_;
  bool allow_dhcp_ = false;
  bool allow_ndp_ = false;
  bool allow_mld_ = false;
  bool allow_igmp_ = false;
  bool allow_arp_ = false;
};

}  // namespace vpnleak::monitor
