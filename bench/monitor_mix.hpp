// The monitor benchmarks' traffic, frame by frame: monitor_bench writes it to a capture file,
// monitor_live_sender puts it on a veth. In every hundred frames: 90 WireGuard packets to the
// endpoint 203.0.113.2:51820 (transport data of a few sizes, a handshake initiation every
// thousandth frame), 4 DNS queries to the LAN resolver with a unique name each, 2 TLS
// ClientHellos, 2 plain UDP leaks, 1 IPv6 UDP leak, 1 ARP request (allowed with --allow arp).
#pragma once

#include <cstddef>
#include <string>

#include "../tests/unit/monitor_frames.hpp"

namespace vpnleak::bench {

enum class MixKind : std::uint8_t { kTunnel, kDns, kLeak, kArp };

inline MixKind mixKind(std::size_t i) {
  const std::size_t slot = i % 100;
  if (slot < 90) return MixKind::kTunnel;
  if (slot < 94) return MixKind::kDns;
  if (slot < 99) return MixKind::kLeak;
  return MixKind::kArp;
}

// Frames repeat in a cycle of 1000 except the DNS queries, whose names stay unique.
inline bool mixRepeats(std::size_t i) { return mixKind(i) != MixKind::kDns; }
inline constexpr std::size_t kMixCycle = 1000;

inline testing::frames::Bytes8 mixFrame(std::size_t i) {
  namespace f = testing::frames;
  using f::Bytes8;
  f::V4 wg;
  wg.dst = "203.0.113.2";
  f::V4 lan;
  lan.dst = "192.168.77.1";
  f::V4 web;
  web.proto = 6;
  f::V6 v6;
  const auto e4 = [](const Bytes8& ip) { return f::ether(0x0800, ip); };
  const std::size_t slot = i % 100;
  if (slot < 90) {
    if (i % 1000 == 0) return e4(f::ipv4(wg, f::udp(56359, 51820, f::wireguard(1, 148))));
    static constexpr std::size_t kSizes[] = {32, 96, 128, 176, 256, 1200, 1440};
    return e4(f::ipv4(wg, f::udp(56359, 51820, f::wireguard(4, kSizes[i % 7]))));
  }
  if (slot < 94) {
    const auto name = "q" + std::to_string(i) + ".leak.test";
    return e4(
        f::ipv4(lan, f::udp(static_cast<std::uint16_t>(30000 + i % 30000), 53, f::dnsQuery(name))));
  }
  if (slot < 96) return e4(f::ipv4(web, f::tcp(40001, 443, 0x18, f::clientHello("s.leak.test"))));
  if (slot < 98) return e4(f::ipv4(f::V4{}, f::udp(40002, 40002, Bytes8(64, 1))));
  if (slot < 99) return f::ether(0x86dd, f::ipv6(v6, f::udp(40003, 443, Bytes8(100, 2))));
  return f::ether(0x0806, f::arp(1, "192.168.77.2", "192.168.77.1"));
}

}  // namespace vpnleak::bench
