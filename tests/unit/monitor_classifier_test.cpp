// Every branch of the classifier, from crafted frames: tunnel framing per protocol, allow rules,
// and each leak reason with what it reveals.
#include <gtest/gtest.h>

#include "monitor/classifier.hpp"
#include "monitor_frames.hpp"
#include "test_support.hpp"

namespace vpnleak::monitor {
namespace {

namespace f = testing::frames;
namespace pk = wire::packet;
using f::Bytes8;

ClassifierConfig config(bool with_allow) {
  ClassifierConfig c;
  for (const char* e : {"203.0.113.2:51820", "198.51.100.7:1194/openvpn", "198.51.100.8:443/tcp",
                        "[2001:db8:203::2]:51820/udp"}) {
    c.endpoints.push_back(TunnelEndpoint::parse(e).value());
  }
  if (with_allow) {
    for (const char* a : {"dhcp", "ndp", "mld", "igmp", "arp", "10.99.0.0/16", "ff02::/16"}) {
      c.allow.push_back(AllowRule::parse(a).value());
    }
  }
  return c;
}

enum class Cfg { kAllow, kBare };

struct Case {
  std::string what;
  Cfg cfg;
  pk::LinkType link;
  Bytes8 frame;
  Verdict verdict;
  Reason reason = Reason::kNone;
  std::string qname{}, sni{}, host{};
};

Bytes8 udp4(const std::string& dst, std::uint16_t dport, const Bytes8& payload,
            std::string src = "192.168.77.2", std::uint16_t sport = 40000) {
  f::V4 h;
  h.src = std::move(src);
  h.dst = dst;
  return f::ether(0x0800, f::ipv4(h, f::udp(sport, dport, payload)));
}
Bytes8 tcp4(const std::string& dst, std::uint16_t dport, const Bytes8& payload,
            std::uint8_t flags = 0x18) {
  f::V4 h;
  h.dst = dst;
  h.proto = pk::kProtoTcp;
  return f::ether(0x0800, f::ipv4(h, f::tcp(40001, dport, flags, payload)));
}
Bytes8 udp6(const std::string& dst, std::uint16_t dport, const Bytes8& payload,
            std::uint16_t sport = 40000, std::string src = "2001:db8:77::2") {
  f::V6 h;
  h.src = std::move(src);
  h.dst = dst;
  return f::ether(0x86dd, f::ipv6(h, f::udp(sport, dport, payload)));
}
Bytes8 icmp6(const std::string& dst, std::uint8_t type, std::uint8_t hops) {
  f::V6 h;
  h.dst = dst;
  h.next = pk::kProtoIcmpv6;
  h.hop_limit = hops;
  return f::ether(0x86dd, f::ipv6(h, f::icmp(type, 0, Bytes8(16, 0))));
}
Bytes8 mld(const std::string& dst, std::uint8_t hops) {
  f::V6 h;
  h.dst = dst;
  h.next = 0;  // hop-by-hop options (router alert in real reports), then ICMPv6
  h.extensions = f::ext8(pk::kProtoIcmpv6);
  h.hop_limit = hops;
  return f::ether(0x86dd, f::ipv6(h, f::icmp(143, 0, Bytes8(20, 0))));
}
Bytes8 igmp(std::uint8_t ttl) {
  f::V4 h;
  h.dst = "224.0.0.22";
  h.proto = 2;
  h.ttl = ttl;
  h.option_words = 1;  // router alert
  return f::ether(0x0800, f::ipv4(h, Bytes8{0x22, 0, 0, 0, 0, 0, 0, 0}));
}
Bytes8 laterFragment(const std::string& dst) {
  f::V4 h;
  h.dst = dst;
  h.frag = 0x0020;
  return f::ether(0x0800, f::ipv4(h, Bytes8(40, 9)));
}
Bytes8 cutTo(Bytes8 b, std::size_t n) {
  b.resize(n);
  return b;
}
Bytes8 ovpn(std::uint8_t opcode, std::size_t size) {
  Bytes8 b(size, 0x33);
  b[0] = static_cast<std::uint8_t>(opcode << 3);
  return b;
}

constexpr auto kEth = pk::LinkType::kEthernet;
const std::string kWg = "203.0.113.2";

std::vector<Case> tunnelCases() {
  const auto wg = [](std::uint8_t t, std::size_t n) { return f::wireguard(t, n); };
  Bytes8 reserved = wg(1, 148);
  reserved[2] = 1;
  return {
      {"wg initiation", Cfg::kBare, kEth, udp4(kWg, 51820, wg(1, 148)), Verdict::kTunnel},
      {"wg response inbound", Cfg::kBare, kEth, udp4("192.168.77.2", 40000, wg(2, 92), kWg, 51820),
       Verdict::kTunnel},
      {"wg cookie", Cfg::kBare, kEth, udp4(kWg, 51820, wg(3, 64)), Verdict::kTunnel},
      {"wg keepalive", Cfg::kBare, kEth, udp4(kWg, 51820, wg(4, 32)), Verdict::kTunnel},
      {"wg data", Cfg::kBare, kEth, udp4(kWg, 51820, wg(4, 1440)), Verdict::kTunnel},
      {"wg data unpadded", Cfg::kBare, kEth, udp4(kWg, 51820, wg(4, 40)), Verdict::kLeak,
       Reason::kEndpointNotTunnel},
      {"wg initiation wrong size", Cfg::kBare, kEth, udp4(kWg, 51820, wg(1, 100)), Verdict::kLeak,
       Reason::kEndpointNotTunnel},
      {"wg reserved bytes set", Cfg::kBare, kEth, udp4(kWg, 51820, reserved), Verdict::kLeak,
       Reason::kEndpointNotTunnel},
      {"plaintext to the endpoint", Cfg::kBare, kEth, udp4(kWg, 51820, f::text("hello")),
       Verdict::kLeak, Reason::kEndpointNotTunnel},
      {"empty datagram to the endpoint", Cfg::kBare, kEth, udp4(kWg, 51820, {}), Verdict::kLeak,
       Reason::kEndpointNotTunnel},
      {"cut before the framing", Cfg::kBare, kEth, cutTo(udp4(kWg, 51820, wg(1, 148)), 14 + 28 + 2),
       Verdict::kTunnel},
      {"wg to another server", Cfg::kBare, kEth, udp4("203.0.113.99", 51820, wg(1, 148)),
       Verdict::kLeak, Reason::kWireGuardElsewhere},
      {"wg to the endpoint, other port", Cfg::kBare, kEth, udp4(kWg, 51821, wg(4, 64)),
       Verdict::kLeak, Reason::kWireGuardElsewhere},
      {"tcp to a udp endpoint", Cfg::kBare, kEth, tcp4(kWg, 51820, {}, pk::kTcpSyn), Verdict::kLeak,
       Reason::kIpv4},
      {"openvpn hard reset", Cfg::kBare, kEth, udp4("198.51.100.7", 1194, ovpn(7, 54)),
       Verdict::kTunnel},
      {"openvpn data v2", Cfg::kBare, kEth, udp4("198.51.100.7", 1194, ovpn(9, 100)),
       Verdict::kTunnel},
      {"openvpn bad opcode", Cfg::kBare, kEth, udp4("198.51.100.7", 1194, ovpn(0, 54)),
       Verdict::kLeak, Reason::kEndpointNotTunnel},
      {"openvpn elsewhere", Cfg::kBare, kEth, udp4("198.51.100.77", 1194, ovpn(7, 54)),
       Verdict::kLeak, Reason::kOpenVpnElsewhere},
      {"tcp endpoint any payload", Cfg::kBare, kEth, tcp4("198.51.100.8", 443, f::text("xyz")),
       Verdict::kTunnel},
      {"tcp endpoint syn", Cfg::kBare, kEth, tcp4("198.51.100.8", 443, {}, pk::kTcpSyn),
       Verdict::kTunnel},
      {"udp endpoint v6 any payload", Cfg::kBare, kEth,
       udp6("2001:db8:203::2", 51820, f::text("anything")), Verdict::kTunnel},
      {"later fragment to the endpoint", Cfg::kBare, kEth, laterFragment(kWg), Verdict::kTunnel},
      {"later fragment elsewhere", Cfg::kBare, kEth, laterFragment("192.0.2.10"), Verdict::kLeak,
       Reason::kFragment},
  };
}

std::vector<Case> allowCases() {
  return {
      {"dhcp discover", Cfg::kAllow, kEth,
       udp4("255.255.255.255", 67, Bytes8(240, 0), "0.0.0.0", 68), Verdict::kAllowed},
      {"dhcp without allow", Cfg::kBare, kEth,
       udp4("255.255.255.255", 67, Bytes8(240, 0), "0.0.0.0", 68), Verdict::kLeak, Reason::kIpv4},
      {"dhcp reply", Cfg::kAllow, kEth,
       udp4("192.168.77.2", 68, Bytes8(240, 0), "192.168.77.1", 67), Verdict::kAllowed},
      {"dhcp ports swapped wrongly", Cfg::kAllow, kEth,
       udp4("192.0.2.10", 67, Bytes8(10, 0), "192.168.77.2", 67), Verdict::kLeak, Reason::kIpv4},
      {"dhcpv6 solicit", Cfg::kAllow, kEth, udp6("ff02::1:2", 547, Bytes8(20, 0), 546),
       Verdict::kAllowed},
      {"ndp neighbour solicitation", Cfg::kAllow, kEth, icmp6("2001:db8:77::1", 135, 255),
       Verdict::kAllowed},
      {"ndp router advertisement", Cfg::kAllow, kEth, icmp6("2001:db8:77::2", 134, 255),
       Verdict::kAllowed},
      {"ndp with hop limit 64", Cfg::kAllow, kEth, icmp6("2001:db8:77::1", 135, 64), Verdict::kLeak,
       Reason::kIpv6},
      {"icmpv6 138 is not ndp", Cfg::kAllow, kEth, icmp6("2001:db8:77::1", 138, 255),
       Verdict::kLeak, Reason::kIpv6},
      {"ndp without allow", Cfg::kBare, kEth, icmp6("2001:db8:77::1", 135, 255), Verdict::kLeak,
       Reason::kIpv6},
      {"echo request v6", Cfg::kAllow, kEth, icmp6("2001:db8:192::10", 128, 64), Verdict::kLeak,
       Reason::kIpv6},
      {"arp allowed", Cfg::kAllow, kEth,
       f::ether(0x0806, f::arp(1, "192.168.77.2", "192.168.77.1")), Verdict::kAllowed},
      {"arp not allowed", Cfg::kBare, kEth,
       f::ether(0x0806, f::arp(1, "192.168.77.2", "192.168.77.1")), Verdict::kLeak, Reason::kArp},
      {"prefix destination", Cfg::kAllow, kEth, udp4("10.99.3.4", 9999, Bytes8(4, 0)),
       Verdict::kAllowed},
      {"prefix source, outbound", Cfg::kAllow, kEth,
       udp4("192.0.2.10", 9999, Bytes8(4, 0), "10.99.0.2"), Verdict::kLeak, Reason::kIpv4},
      {"prefix source, inbound", Cfg::kAllow, pk::LinkType::kLinuxSll,
       f::sll(0, 0x0800,
              [] {
                f::V4 h;
                h.src = "10.99.0.9";
                h.dst = "192.168.77.2";
                return f::ipv4(h, f::udp(9999, 40000, Bytes8(4, 0)));
              }()),
       Verdict::kAllowed},
      {"mld to ff02::16 by prefix", Cfg::kAllow, kEth, icmp6("ff02::16", 143, 64),
       Verdict::kAllowed},
      {"mld report after hop-by-hop", Cfg::kAllow, kEth, mld("ff05::2", 1), Verdict::kAllowed},
      {"mld with hop limit 64", Cfg::kAllow, kEth, mld("ff05::2", 64), Verdict::kLeak,
       Reason::kIpv6},
      {"mld without allow", Cfg::kBare, kEth, mld("ff05::2", 1), Verdict::kLeak, Reason::kIpv6},
      {"igmp report", Cfg::kAllow, kEth, igmp(1), Verdict::kAllowed},
      {"igmp with ttl 5", Cfg::kAllow, kEth, igmp(5), Verdict::kLeak, Reason::kIpv4},
      {"igmp without allow", Cfg::kBare, kEth, igmp(1), Verdict::kLeak, Reason::kIpv4},
  };
}

std::vector<Case> leakCases() {
  const auto dns = f::dnsQuery("Abc.leak.test");
  Bytes8 resp = dns;
  resp[2] |= 0x80;
  const auto stun = f::stunBindingRequest();
  f::V4 bad;
  Bytes8 bad_ihl = f::ipv4(bad, f::udp(1, 2, {}));
  bad_ihl[0] = 0x43;
  return {
      {"dns over udp", Cfg::kAllow, kEth, udp4("192.168.77.1", 53, dns), Verdict::kLeak,
       Reason::kDns, "Abc.leak.test"},
      {"dns response", Cfg::kAllow, kEth, udp4("192.168.77.2", 40000, resp, "192.168.77.1", 53),
       Verdict::kLeak, Reason::kDns, "Abc.leak.test"},
      {"dns over udp v6", Cfg::kAllow, kEth, udp6("2001:db8:77::1", 53, dns), Verdict::kLeak,
       Reason::kDns, "Abc.leak.test"},
      {"dns over tcp", Cfg::kAllow, kEth, tcp4("192.168.77.1", 53, f::dnsOverTcp(dns)),
       Verdict::kLeak, Reason::kDns, "Abc.leak.test"},
      {"dns over tcp, continuation", Cfg::kAllow, kEth,
       tcp4("192.168.77.1", 53, Bytes8{0, 3, 1, 2, 3}), Verdict::kLeak, Reason::kDns},
      {"dns, garbage", Cfg::kAllow, kEth, udp4("192.168.77.1", 53, Bytes8{1, 2, 3}), Verdict::kLeak,
       Reason::kDns},
      {"dns in a vlan", Cfg::kAllow, kEth,
       [&] {
         f::V4 h;
         return f::ether(0x0800, f::ipv4(h, f::udp(40000, 53, dns)), {42});
       }(),
       Verdict::kLeak, Reason::kDns, "Abc.leak.test"},
      {"mdns", Cfg::kBare, kEth,
       udp4("224.0.0.251", 5353, f::dnsQuery("printer.local"), "192.168.77.2", 5353),
       Verdict::kLeak, Reason::kMdns, "printer.local"},
      {"llmnr", Cfg::kBare, kEth, udp4("224.0.0.252", 5355, f::dnsQuery("wpad")), Verdict::kLeak,
       Reason::kLlmnr, "wpad"},
      {"tls client hello", Cfg::kAllow, kEth,
       tcp4("192.0.2.10", 443, f::clientHello("a.leak.test")), Verdict::kLeak, Reason::kTls, "",
       "a.leak.test"},
      {"tls on another port", Cfg::kAllow, kEth,
       tcp4("192.0.2.10", 8443, f::clientHello("b.leak.test")), Verdict::kLeak, Reason::kTls, "",
       "b.leak.test"},
      {"tls without sni", Cfg::kAllow, kEth, tcp4("192.0.2.10", 443, f::clientHello("", false)),
       Verdict::kLeak, Reason::kTls},
      {"http get", Cfg::kAllow, kEth,
       tcp4("192.0.2.10", 80, f::text("GET / HTTP/1.1\r\nHost: c.leak.test\r\n\r\n")),
       Verdict::kLeak, Reason::kHttp, "", "", "c.leak.test"},
      {"http without host", Cfg::kAllow, kEth,
       tcp4("192.0.2.10", 80, f::text("GET / HTTP/1.0\r\n\r\n")), Verdict::kLeak, Reason::kHttp},
      {"tcp syn", Cfg::kAllow, kEth, tcp4("192.0.2.10", 443, {}, pk::kTcpSyn), Verdict::kLeak,
       Reason::kIpv4},
      {"stun binding", Cfg::kAllow, kEth, udp4("192.0.2.10", 3478, stun), Verdict::kLeak,
       Reason::kStun},
      {"stun v6 any port", Cfg::kAllow, kEth, udp6("2001:db8:192::10", 19302, stun), Verdict::kLeak,
       Reason::kStun},
      {"stun cut short", Cfg::kAllow, kEth, cutTo(udp4("192.0.2.10", 3478, stun), 14 + 28 + 10),
       Verdict::kLeak, Reason::kIpv4},
      {"plain udp v4", Cfg::kAllow, kEth, udp4("192.0.2.10", 40001, Bytes8(8, 0)), Verdict::kLeak,
       Reason::kIpv4},
      {"plain udp v6", Cfg::kAllow, kEth, udp6("2001:db8:192::10", 40001, Bytes8(8, 0)),
       Verdict::kLeak, Reason::kIpv6},
      {"icmp echo", Cfg::kAllow, pk::LinkType::kRawIp,
       [] {
         f::V4 h;
         h.proto = pk::kProtoIcmp;
         return f::ipv4(h, f::icmp(8, 0));
       }(),
       Verdict::kLeak, Reason::kIpv4},
      {"udp header cut", Cfg::kAllow, kEth, cutTo(udp4("192.0.2.10", 53, Bytes8(8, 0)), 14 + 22),
       Verdict::kLeak, Reason::kIpv4},
      {"bad ipv4 header", Cfg::kAllow, kEth, f::ether(0x0800, bad_ihl), Verdict::kLeak,
       Reason::kMalformed},
      {"raw, bad version", Cfg::kAllow, pk::LinkType::kRawIp, Bytes8(30, 0x90), Verdict::kLeak,
       Reason::kMalformed},
      {"raw, ipv4 header cut", Cfg::kAllow, pk::LinkType::kRawIp, cutTo(bad_ihl, 12),
       Verdict::kLeak, Reason::kMalformed},
      {"lldp", Cfg::kBare, kEth, f::ether(0x88cc, Bytes8(40, 0)), Verdict::kOther},
      {"runt frame", Cfg::kBare, kEth, Bytes8(6, 0), Verdict::kOther},
  };
}

std::vector<Case> allCases() {
  auto all = tunnelCases();
  for (auto& c : allowCases()) all.push_back(c);
  for (auto& c : leakCases()) all.push_back(c);
  return all;
}

class ClassifyTable : public ::testing::TestWithParam<Case> {};

TEST_P(ClassifyTable, Classifies) {
  const auto& c = GetParam();
  SCOPED_TRACE(c.what);
  static const Classifier with_allow(config(true));
  static const Classifier bare(config(false));
  const auto p = pk::decode(c.link, c.frame);
  const auto v = (c.cfg == Cfg::kAllow ? with_allow : bare).classify(p);
  EXPECT_EQ(verdictName(v.verdict), verdictName(c.verdict));
  EXPECT_EQ(reasonName(v.reason), reasonName(c.reason));
  EXPECT_EQ(v.dns_qname, c.qname);
  EXPECT_EQ(std::string(v.sni), c.sni);
  EXPECT_EQ(std::string(v.http_host), c.host);
}

INSTANTIATE_TEST_SUITE_P(Frames, ClassifyTable, ::testing::ValuesIn(allCases()), VL_CASE_NAMES);

TEST(MonitorClassifier, ReusedClassificationIsReset) {
  const Classifier c(config(true));
  Classification v;
  c.classify(pk::decode(kEth, udp4("192.168.77.1", 53, f::dnsQuery("x.test"))), v);
  EXPECT_EQ(v.dns_qname, "x.test");
  c.classify(pk::decode(kEth, udp4(kWg, 51820, f::wireguard(4, 32))), v);
  EXPECT_EQ(v.verdict, Verdict::kTunnel);
  EXPECT_EQ(v.reason, Reason::kNone);
  EXPECT_TRUE(v.dns_qname.empty());
}

TEST(MonitorClassifier, EndpointsParse) {
  auto e = TunnelEndpoint::parse("203.0.113.2:51820");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->proto, TunnelProto::kWireGuard);
  EXPECT_EQ(e->toString(), "203.0.113.2:51820/wireguard");
  e = TunnelEndpoint::parse("[2001:db8::2]:1194/openvpn");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->toString(), "[2001:db8::2]:1194/openvpn");
  EXPECT_EQ(TunnelEndpoint::parse("1.2.3.4:443/tcp")->transport(), pk::kProtoTcp);
  for (const char* bad : {"203.0.113.2", "203.0.113.2:0", "203.0.113.2:51820/quic", "host:1",
                          "203.0.113.2:99999", "", "/udp", "2001:db8::2:51820"}) {
    auto r = TunnelEndpoint::parse(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().exitCode(), 2);
    EXPECT_NE(r.error().message().find("--endpoint"), std::string::npos);
    EXPECT_EQ(r.error().message().find('\n'), std::string::npos);
  }
}

TEST(MonitorClassifier, AllowRulesParse) {
  EXPECT_EQ(AllowRule::parse("dhcp")->kind, AllowKind::kDhcp);
  EXPECT_EQ(AllowRule::parse("ndp")->kind, AllowKind::kNdp);
  EXPECT_EQ(AllowRule::parse("arp")->kind, AllowKind::kArp);
  EXPECT_EQ(AllowRule::parse("mld")->toString(), "mld");
  EXPECT_EQ(AllowRule::parse("igmp")->kind, AllowKind::kIgmp);
  EXPECT_EQ(AllowRule::parse("192.168.1.0/24")->toString(), "192.168.1.0/24");
  EXPECT_EQ(AllowRule::parse("fe80::/10")->toString(), "fe80::/10");
  for (const char* bad : {"lan", "192.168.1.1/24", "10.0.0.0/33", "DHCP", ""}) {
    auto r = AllowRule::parse(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().exitCode(), 2);
  }
}

TEST(MonitorClassifier, FramingPredicates) {
  EXPECT_TRUE(looksLikeWireGuard(f::wireguard(1, 148), 148));
  EXPECT_FALSE(looksLikeWireGuard(f::wireguard(5, 148), 148));
  EXPECT_FALSE(looksLikeWireGuard(Bytes8{1, 0}, 148));
  EXPECT_TRUE(looksLikeOpenVpnHardReset(ovpn(10, 60), 60));
  EXPECT_FALSE(looksLikeOpenVpnHardReset(ovpn(7, 10), 10));
  EXPECT_FALSE(looksLikeOpenVpn(ovpn(12, 60), 60));
  EXPECT_FALSE(looksLikeOpenVpn(ovpn(4, 6), 6));
  EXPECT_EQ(dnsQuestionName(f::dnsQuery("a.b"), false), "a.b");
  EXPECT_EQ(dnsQuestionName(f::dnsOverTcp(f::dnsQuery("a.b")), true), "a.b");
  EXPECT_EQ(dnsQuestionName(Bytes8(12, 0), false), "");  // no question
  for (std::size_t i = 0; i < kReasonCount; ++i) {
    EXPECT_FALSE(reasonName(static_cast<Reason>(i)).empty());
  }
}

}  // namespace
}  // namespace vpnleak::monitor
