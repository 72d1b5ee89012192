// The frame decoder, layer by layer, from crafted frames: every link type, IPv4 options and
// fragments, IPv6 extension headers and fragments, each transport, and every way a frame can be
// cut short or contradict itself.
#include <gtest/gtest.h>

#include "monitor_frames.hpp"
#include "test_support.hpp"
#include "wire/packet.hpp"

namespace vpnleak::wire::packet {
namespace {

namespace f = testing::frames;
using f::Bytes8;

struct Expect {
  Status status = Status::kOk;
  bool is_ip = true;
  std::string src{}, dst{};
  std::uint8_t proto = kProtoUdp;
  std::uint16_t sport = 0, dport = 0;
  std::size_t payload = 0;        // captured payload bytes
  std::uint32_t payload_len = 0;  // on the wire
  bool fragment = false, later_fragment = false;
};

struct Case {
  std::string what;
  LinkType link;
  Bytes8 frame;
  Expect e;
};

const Bytes8 kUdp53 = f::udp(40000, 53, Bytes8(20, 1));
const f::V4 kV4{};
const f::V6 kV6{};

Bytes8 cut(Bytes8 b, std::size_t n) {
  b.resize(n);
  return b;
}

f::V6 v6With(std::uint8_t first, Bytes8 ext) {
  f::V6 h;
  h.next = first;
  h.extensions = std::move(ext);
  return h;
}

f::V4 v4Frag(std::uint16_t frag) {
  f::V4 h;
  h.frag = frag;
  return h;
}

std::vector<Case> cases() {
  const std::string s4 = kV4.src, d4 = kV4.dst, s6 = kV6.src, d6 = kV6.dst;
  const Expect udp4{Status::kOk, true, s4, d4, kProtoUdp, 40000, 53, 20, 20};
  const Expect udp6{Status::kOk, true, s6, d6, kProtoUdp, 40000, 53, 20, 20};
  f::V4 opts = kV4;
  opts.option_words = 3;
  f::V4 tcp4 = kV4;
  tcp4.proto = kProtoTcp;
  f::V4 icmp4 = kV4;
  icmp4.proto = kProtoIcmp;
  f::V6 icmp6 = kV6;
  icmp6.next = kProtoIcmpv6;
  f::V4 gre = kV4;
  gre.proto = 47;
  Bytes8 padded = f::ether(kEtherTypeIpv4, f::ipv4(kV4, kUdp53));
  padded.insert(padded.end(), 6, 0);  // Ethernet minimum-size padding after the IP packet
  return {
      {"ethernet ipv4 udp", LinkType::kEthernet, f::ether(0x0800, f::ipv4(kV4, kUdp53)), udp4},
      {"ethernet padding trimmed", LinkType::kEthernet, padded, udp4},
      {"ipv4 options skipped", LinkType::kEthernet, f::ether(0x0800, f::ipv4(opts, kUdp53)), udp4},
      {"802.1Q tag", LinkType::kEthernet, f::ether(0x0800, f::ipv4(kV4, kUdp53), {7}), udp4},
      {"QinQ tags", LinkType::kEthernet, f::ether(0x0800, f::ipv4(kV4, kUdp53), {7, 9}), udp4},
      {"sll", LinkType::kLinuxSll, f::sll(4, 0x0800, f::ipv4(kV4, kUdp53)), udp4},
      {"sll2", LinkType::kLinuxSll2, f::sll2(0, 0x86dd, f::ipv6(kV6, kUdp53)), udp6},
      {"raw ipv4", LinkType::kRawIp, f::ipv4(kV4, kUdp53), udp4},
      {"raw ipv6", LinkType::kRawIp, f::ipv6(kV6, kUdp53), udp6},
      {"ipv6 udp", LinkType::kEthernet, f::ether(0x86dd, f::ipv6(kV6, kUdp53)), udp6},
      {"ipv6 hop-by-hop + dstopts", LinkType::kEthernet,
       f::ether(0x86dd, f::ipv6(v6With(0, f::cat(f::ext8(60), f::ext8(17))), kUdp53)), udp6},
      {"ipv6 first fragment", LinkType::kEthernet,
       f::ether(0x86dd, f::ipv6(v6With(44, f::fragmentHeader(17, 0, true)), kUdp53)),
       {Status::kOk, true, s6, d6, kProtoUdp, 40000, 53, 20, 20, true, false}},
      {"ipv6 later fragment", LinkType::kEthernet,
       f::ether(0x86dd, f::ipv6(v6With(44, f::fragmentHeader(17, 3, false)), Bytes8(16, 7))),
       {Status::kOk, true, s6, d6, kProtoUdp, 0, 0, 16, 16, true, true}},
      {"ipv4 first fragment", LinkType::kEthernet,
       f::ether(0x0800, f::ipv4(v4Frag(0x2000), kUdp53)),
       {Status::kOk, true, s4, d4, kProtoUdp, 40000, 53, 20, 20, true, false}},
      {"ipv4 later fragment", LinkType::kEthernet,
       f::ether(0x0800, f::ipv4(v4Frag(0x0010), Bytes8(24, 7))),
       {Status::kOk, true, s4, d4, kProtoUdp, 0, 0, 24, 24, true, true}},
      {"tcp with options", LinkType::kEthernet,
       f::ether(0x0800, f::ipv4(tcp4, f::tcp(40001, 443, 0x18, Bytes8(10, 3), 3))),
       {Status::kOk, true, s4, d4, kProtoTcp, 40001, 443, 10, 10}},
      {"icmp echo", LinkType::kEthernet, f::ether(0x0800, f::ipv4(icmp4, f::icmp(8, 0))),
       {Status::kOk, true, s4, d4, kProtoIcmp, 0, 0, 8, 8}},
      {"icmpv6 echo", LinkType::kEthernet, f::ether(0x86dd, f::ipv6(icmp6, f::icmp(128, 0))),
       {Status::kOk, true, s6, d6, kProtoIcmpv6, 0, 0, 8, 8}},
      {"other protocol", LinkType::kEthernet, f::ether(0x0800, f::ipv4(gre, Bytes8(12, 1))),
       {Status::kOk, true, s4, d4, 47, 0, 0, 12, 12}},
      // Cut by the snapshot length: fields up to the cut survive.
      {"payload cut", LinkType::kEthernet, cut(f::ether(0x0800, f::ipv4(kV4, kUdp53)), 14 + 28 + 5),
       {Status::kOk, true, s4, d4, kProtoUdp, 40000, 53, 5, 20}},
      {"udp header cut", LinkType::kEthernet, cut(f::ether(0x0800, f::ipv4(kV4, kUdp53)), 14 + 24),
       {Status::kTruncated, true, s4, d4, kProtoUdp, 0, 0, 0, 0}},
      {"ipv4 header cut", LinkType::kEthernet, cut(f::ether(0x0800, f::ipv4(kV4, kUdp53)), 14 + 10),
       {Status::kTruncated, false}},
      {"ipv4 options cut", LinkType::kEthernet, cut(f::ether(0x0800, f::ipv4(opts, kUdp53)), 14 + 24),
       {Status::kTruncated, true, s4, d4, kProtoUdp, 0, 0, 0, 0}},
      {"ipv6 extension cut", LinkType::kEthernet,
       cut(f::ether(0x86dd, f::ipv6(v6With(0, f::ext8(17)), kUdp53)), 14 + 44),
       {Status::kTruncated, true, s6, d6, 0, 0, 0, 0, 0}},
      {"ethernet header cut", LinkType::kEthernet, Bytes8(10, 0), {Status::kTruncated, false}},
      {"vlan tag cut", LinkType::kEthernet, cut(f::ether(0x0800, Bytes8{}, {5}), 16),
       {Status::kTruncated, false}},
      {"sll cut", LinkType::kLinuxSll, Bytes8(12, 0), {Status::kTruncated, false}},
      {"sll2 cut", LinkType::kLinuxSll2, Bytes8(12, 0), {Status::kTruncated, false}},
      {"raw empty", LinkType::kRawIp, Bytes8{}, {Status::kTruncated, false}},
      // Contradictions.
      {"raw bad version", LinkType::kRawIp, Bytes8(40, 0x50), {Status::kMalformed, false}},
      {"ethertype says v4, header v6", LinkType::kEthernet, f::ether(0x0800, f::ipv6(kV6, kUdp53)),
       {Status::kMalformed, false}},
      {"ihl below 5", LinkType::kRawIp, [] {
         auto b = f::ipv4(kV4, kUdp53);
         b[0] = 0x44;
         return b;
       }(), {Status::kMalformed, false}},
      {"total length below ihl", LinkType::kRawIp, [] {
         auto b = f::ipv4(kV4, kUdp53);
         b[2] = 0;
         b[3] = 10;
         return b;
       }(), {Status::kMalformed, false}},
      {"udp length below 8", LinkType::kRawIp, [] {
         auto b = f::ipv4(kV4, kUdp53);
         b[20 + 5] = 4;
         return b;
       }(), {Status::kMalformed, true, s4, d4, kProtoUdp, 40000, 53, 0, 0}},
      {"udp length beyond ip", LinkType::kRawIp, [] {
         auto b = f::ipv4(kV4, kUdp53);
         b[20 + 4] = 1;
         return b;
       }(), {Status::kMalformed, true, s4, d4, kProtoUdp, 40000, 53, 0, 0}},
      {"tcp data offset below 5", LinkType::kRawIp, [&] {
         auto b = f::ipv4(tcp4, f::tcp(1, 2, 0, {}));
         b[20 + 12] = 0x40;
         return b;
       }(), {Status::kMalformed, true, s4, d4, kProtoTcp, 1, 2, 0, 0}},
      {"too many vlan tags", LinkType::kEthernet,
       f::ether(0x0800, f::ipv4(kV4, kUdp53), {1, 2, 3, 4, 5}), {Status::kMalformed, false}},
      {"extension header loop", LinkType::kRawIp, [] {
         Bytes8 ext;
         for (int i = 0; i < 12; ++i) ext = f::cat(ext, f::ext8(60));
         return f::ipv6(v6With(60, ext), Bytes8{});
       }(), {Status::kMalformed, true, s6, d6, 60, 0, 0, 0, 0}},
  };
}

class DecodeTable : public ::testing::TestWithParam<Case> {};

TEST_P(DecodeTable, Decodes) {
  const auto& c = GetParam();
  const Packet p = decode(c.link, c.frame);
  SCOPED_TRACE(c.what);
  EXPECT_EQ(p.status, c.e.status) << (p.problem != nullptr ? p.problem : "");
  EXPECT_EQ(p.is_ip, c.e.is_ip);
  if (c.e.status != Status::kOk) {
    EXPECT_NE(p.problem, nullptr);
  }
  if (!c.e.is_ip) return;
  EXPECT_EQ(p.src.toString(), c.e.src);
  EXPECT_EQ(p.dst.toString(), c.e.dst);
  EXPECT_EQ(p.proto, c.e.proto);
  EXPECT_EQ(p.sport, c.e.sport);
  EXPECT_EQ(p.dport, c.e.dport);
  EXPECT_EQ(p.payload.size(), c.e.payload);
  EXPECT_EQ(p.payload_length, c.e.payload_len);
  EXPECT_EQ(p.fragment, c.e.fragment);
  EXPECT_EQ(p.later_fragment, c.e.later_fragment);
}

INSTANTIATE_TEST_SUITE_P(Frames, DecodeTable, ::testing::ValuesIn(cases()), VL_CASE_NAMES);

TEST(WirePacket, LinkMetadata) {
  auto p = decode(LinkType::kEthernet, f::ether(0x0800, f::ipv4(kV4, kUdp53), {0x2007, 9}));
  EXPECT_EQ(p.vlan, 7);  // priority bits dropped, outermost tag
  EXPECT_EQ(p.vlan_tags, 2);
  EXPECT_EQ(p.ethertype, kEtherTypeIpv4);
  EXPECT_EQ(decode(LinkType::kLinuxSll, f::sll(4, 0x0800, f::ipv4(kV4, kUdp53))).direction,
            Direction::kOut);
  EXPECT_EQ(decode(LinkType::kLinuxSll, f::sll(0, 0x0800, f::ipv4(kV4, kUdp53))).direction,
            Direction::kIn);
  EXPECT_EQ(decode(LinkType::kLinuxSll2, f::sll2(4, 0x0800, f::ipv4(kV4, kUdp53))).direction,
            Direction::kOut);
  EXPECT_EQ(decode(LinkType::kEthernet, f::ether(0x0800, f::ipv4(kV4, kUdp53))).direction,
            Direction::kUnknown);
  EXPECT_EQ(decode(LinkType::kEthernet, f::ether(0x0800, f::ipv4(kV4, kUdp53))).hop_limit, 64);
}

TEST(WirePacket, ArpAndNonIp) {
  auto p = decode(LinkType::kEthernet, f::ether(0x0806, f::arp(1, "192.168.77.2", "192.168.77.1")));
  EXPECT_TRUE(p.is_arp);
  EXPECT_FALSE(p.is_ip);
  EXPECT_EQ(p.arp.op, 1);
  EXPECT_EQ(p.arp.sender.toString(), "192.168.77.2");
  EXPECT_EQ(p.arp.target.toString(), "192.168.77.1");
  EXPECT_EQ(decode(LinkType::kEthernet, f::ether(0x0806, Bytes8(5, 0))).status, Status::kTruncated);
  EXPECT_EQ(decode(LinkType::kEthernet, f::ether(0x88cc, Bytes8(30, 0))).status, Status::kNotIp);
  // An 802.3 length field instead of an EtherType: LLC (spanning tree and the like).
  EXPECT_EQ(decode(LinkType::kEthernet, f::ether(0x0026, Bytes8(38, 0))).status, Status::kNotIp);
  EXPECT_EQ(decode(LinkType::kLinuxSll, f::sll(0, 0x0004, Bytes8(30, 0))).status, Status::kNotIp);
}

TEST(WirePacket, TcpFlagsAndIcmpTypes) {
  f::V4 t = kV4;
  t.proto = kProtoTcp;
  auto p = decode(LinkType::kRawIp, f::ipv4(t, f::tcp(1, 80, kTcpSyn, {})));
  EXPECT_EQ(p.tcp_flags, kTcpSyn);
  EXPECT_EQ(p.payload_length, 0U);
  f::V6 i = kV6;
  i.next = kProtoIcmpv6;
  i.hop_limit = 255;
  p = decode(LinkType::kRawIp, f::ipv6(i, f::icmp(135, 0, Bytes8(16, 0))));
  EXPECT_TRUE(p.has_icmp);
  EXPECT_EQ(p.icmp_type, 135);
  EXPECT_EQ(p.hop_limit, 255);
}

TEST(WirePacket, LengthZeroMeansCaptureLength) {
  // Segmentation offload hands the capture super-packets whose IPv4 total length is 0.
  f::V4 t = kV4;
  t.proto = kProtoTcp;
  auto b = f::ipv4(t, f::tcp(1, 80, kTcpAck, Bytes8(100, 0)));
  b[2] = b[3] = 0;
  auto p = decode(LinkType::kRawIp, b);
  EXPECT_EQ(p.status, Status::kOk);
  EXPECT_EQ(p.payload.size(), 100U);
}

TEST(WirePacket, ProtocolNames) {
  EXPECT_EQ(protoName(kProtoUdp), "udp");
  EXPECT_EQ(protoName(kProtoIcmpv6), "icmpv6");
  EXPECT_EQ(protoName(200), "ip-200");
  EXPECT_EQ(linkTypeName(LinkType::kLinuxSll2), "linux-sll2");
}

}  // namespace
}  // namespace vpnleak::wire::packet
