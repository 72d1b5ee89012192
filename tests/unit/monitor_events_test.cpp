// The event format: NDJSON keys and order, escaping of bytes from the wire, timestamps, the
// summary, and the Prometheus text.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <ctime>
#include <string>
#include <vector>

#include "monitor/event_line.hpp"
#include "monitor/events.hpp"
#include "monitor_frames.hpp"

namespace vpnleak::monitor {
namespace {

// The text line LeakLineWriter writes for e (newline included), in exactly the room it asks for.
std::string textLine(LeakLineWriter& writer, const LeakEvent& e) {
  std::vector<char> room(writer.maxTextSize(e));
  const char* end = writer.writeText(room.data(), e);
  EXPECT_LE(static_cast<std::size_t>(end - room.data()), room.size());
  return {static_cast<const char*>(room.data()), end};
}

namespace f = testing::frames;
namespace pk = wire::packet;

const Timestamp kTs{std::chrono::nanoseconds(1'714'564'800'123'456'789LL)};

TEST(MonitorEvents, IsoTimeHasMicroseconds) {
  EXPECT_EQ(isoTime(kTs), "2024-05-01T12:00:00.123456Z");
  EXPECT_EQ(isoTime(Timestamp{}), "1970-01-01T00:00:00.000000Z");
}

// The calendar arithmetic against gmtime/strftime, over a century and a half of timestamps:
// leap years, the turn of years and centuries, the last second of a day, times before 1970.
TEST(MonitorEvents, IsoTimeAgreesWithGmtime) {
  const auto reference = [](std::int64_t us) {
    const std::time_t secs = static_cast<std::time_t>(us / 1'000'000 - (us % 1'000'000 < 0));
    std::tm tm{};
    ::gmtime_r(&secs, &tm);
    std::array<char, 40> buf{};
    const auto n = std::strftime(buf.data(), buf.size(), "%Y-%m-%dT%H:%M:%S", &tm);
    std::snprintf(buf.data() + n, buf.size() - n, ".%06ldZ",
                  static_cast<long>(us - static_cast<std::int64_t>(secs) * 1'000'000));
    return std::string(buf.data());
  };
  std::vector<std::int64_t> us{0,
                               -1,
                               1,
                               951'782'400'000'000,
                               951'868'799'999'999,
                               4'107'542'399'999'999,
                               4'294'967'295'999'999,
                               -86'400'000'001};
  std::uint64_t x = 88172645463325252ULL;  // xorshift: reproducible spread over 1900-2150
  for (int i = 0; i < 20000; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    us.push_back(static_cast<std::int64_t>(x % 7'900'000'000'000'000ULL) - 2'208'988'800'000'000);
  }
  for (const auto v : us) {
    // Twice each: the second call is served from the cached second.
    for (int k = 0; k < 2; ++k) {
      ASSERT_EQ(isoTime(Timestamp(std::chrono::microseconds(v))), reference(v)) << v;
    }
  }
}

// appendAddress() writes what IpAddress::toString() (inet_ntop) does, zero runs and embedded
// IPv4 forms included.
TEST(MonitorEvents, AddressTextAgreesWithInetNtop) {
  std::vector<core::IpAddress> addrs;
  for (const char* t : {"0.0.0.0",
                        "255.255.255.255",
                        "10.0.0.1",
                        "1.22.133.4",
                        "100.64.9.90",
                        "::",
                        "::1",
                        "1::",
                        "::ffff:1.2.3.4",
                        "::1.2.3.4",
                        "::ffff:0:1.2.3.4",
                        "1:0:0:2:0:0:0:3",
                        "1:0:0:2:0:0:3:4",
                        "0:0:1::",
                        "2001:db8::1:0:0:1",
                        "fe80::1",
                        "1:2:3:4:5:6:7:8",
                        "1::8",
                        "0:1:0:1:0:1:0:1",
                        "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
                        "::ffff:0.0.0.0",
                        "::0.0.0.2"}) {
    addrs.push_back(core::IpAddress::parse(t).value());
  }
  std::uint64_t x = 2463534242ULL;
  for (int i = 0; i < 20000; ++i) {
    std::array<std::uint8_t, 16> b{};
    for (auto& byte : b) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      byte = (x & 3) != 0 ? 0 : static_cast<std::uint8_t>(x >> 8);  // mostly zero groups
    }
    addrs.push_back(
        core::IpAddress::fromBytes(i % 2 == 0 ? core::Family::kV6 : core::Family::kV4, b));
  }
  for (const auto& a : addrs) {
    std::string out = "x";
    appendAddress(out, a);
    ASSERT_EQ(out, "x" + a.toString());
  }
}

TEST(MonitorEvents, PrintableEscapesEverythingElse) {
  EXPECT_EQ(printable("a.example:443"), "a.example:443");
  EXPECT_EQ(printable(std::string("a\0b\\\n\xff\"", 7)), "a\\x00b\\x5c\\x0a\\xff\"");
}

TEST(MonitorEvents, LeakEventKeysInOrder) {
  const Classifier c(ClassifierConfig{});
  f::V4 h;
  const auto frame = f::ether(0x0800, f::ipv4(h, f::udp(40000, 53, f::dnsQuery("q.leak.test"))));
  const auto p = pk::decode(pk::LinkType::kEthernet, frame);
  const auto v = c.classify(p);
  const auto j = leakJson(LeakEvent{kTs, "lan0", p, v, static_cast<std::uint32_t>(frame.size())});
  EXPECT_EQ(j.dump(),
            R"({"type":"leak","ts":"2024-05-01T12:00:00.123456Z","iface":"lan0","family":"ipv4",)"
            R"("proto":"udp","src":"192.168.77.2","dst":"192.0.2.10","sport":40000,"dport":53,)"
            R"("dns_qname":"q.leak.test","reason":"dns","length":)" +
                std::to_string(frame.size()) + "}");
  EXPECT_EQ(leakText(LeakEvent{kTs, "lan0", p, v, 1}),
            "leak   2024-05-01T12:00:00.123456Z lan0 ipv4 udp 192.168.77.2:40000 > "
            "192.0.2.10:53  dns qname=q.leak.test");
}

TEST(MonitorEvents, LeakTextForEachKindOfAddressing) {
  const Classifier c(ClassifierConfig{});
  f::V6 h6;
  h6.next = pk::kProtoTcp;
  f::V4 icmp;
  icmp.proto = pk::kProtoIcmp;
  const std::vector<std::pair<f::Bytes8, std::string>> cases{
      {f::ether(0x86dd, f::ipv6(h6, f::tcp(0, 443, 0x18, f::clientHello("a\\b")))),
       "ipv6 tcp [2001:db8:77::2]:0 > [2001:db8:192::10]:443  tls sni=a\\x5cb"},
      {f::ether(0x0806, f::arp(1, "10.0.0.1", "10.0.0.2")), "arp 10.0.0.1 > 10.0.0.2  arp"},
      {f::ether(0x0800, f::ipv4(icmp, f::icmp(8, 0))), "ipv4 icmp 192.168.77.2 > 192.0.2.10  ipv4"},
      {f::ether(0x0800, f::Bytes8{0x45}), "undecodable IP frame  malformed"},
  };
  LeakLineWriter writer;
  for (const auto& [frame, text] : cases) {
    const auto p = pk::decode(pk::LinkType::kEthernet, frame);
    const auto v = c.classify(p);
    const LeakEvent e{kTs, "lan0", p, v, 1};
    EXPECT_EQ(leakText(e), "leak   2024-05-01T12:00:00.123456Z lan0 " + text);
    EXPECT_EQ(textLine(writer, e), leakText(e) + "\n");
  }
}

TEST(MonitorEvents, HostileSniStaysOneJsonLine) {
  const Classifier c(ClassifierConfig{});
  f::V6 h;
  h.next = pk::kProtoTcp;
  const auto frame = f::ether(
      0x86dd, f::ipv6(h, f::tcp(40001, 443, 0x18, f::clientHello(std::string("x\n\"}\xc3", 5)))));
  const auto p = pk::decode(pk::LinkType::kEthernet, frame);
  const auto v = c.classify(p);
  ASSERT_EQ(v.reason, Reason::kTls);
  const auto line = leakJson(LeakEvent{kTs, "lan0", p, v, 1}).dump();
  EXPECT_EQ(line.find('\n'), std::string::npos);
  const auto back = core::Json::parse(line);
  EXPECT_EQ(back["sni"], "x\\x0a\"}\\xc3");
  EXPECT_EQ(back["family"], "ipv6");
  EXPECT_EQ(back["src"], "2001:db8:77::2");
}

TEST(MonitorEvents, ArpAndIcmpLeaks) {
  const Classifier c(ClassifierConfig{});
  auto p = pk::decode(pk::LinkType::kEthernet,
                      f::ether(0x0806, f::arp(1, "192.168.77.2", "192.168.77.1")));
  auto v = c.classify(p);
  auto j = leakJson(LeakEvent{kTs, "lan0", p, v, 42});
  EXPECT_TRUE(j["family"].is_null());
  EXPECT_EQ(j["proto"], "arp");
  EXPECT_EQ(j["dst"], "192.168.77.1");
  EXPECT_TRUE(j["sport"].is_null());
  EXPECT_EQ(j["reason"], "arp");
  f::V4 h;
  h.proto = pk::kProtoIcmp;
  p = pk::decode(pk::LinkType::kEthernet, f::ether(0x0800, f::ipv4(h, f::icmp(8, 0)), {5}));
  v = c.classify(p);
  j = leakJson(LeakEvent{kTs, "lan0", p, v, 42});
  EXPECT_EQ(j["proto"], "icmp");
  EXPECT_EQ(j["icmp_type"], 8);
  EXPECT_EQ(j["vlan"], 5);
}

TEST(MonitorEvents, FastLeakLinesEqualTheJsonDump) {
  const Classifier c(ClassifierConfig{});
  f::V4 v4;
  f::V6 v6;
  f::V4 t4 = v4;
  t4.proto = pk::kProtoTcp;
  f::V4 frag = v4;
  frag.frag = 0x2000;
  f::V4 later = v4;
  later.frag = 0x0040;
  f::V4 icmp = v4;
  icmp.proto = pk::kProtoIcmp;
  auto bad = f::ipv4(v4, f::udp(1, 2, {}));
  bad[0] = 0x41;
  const std::vector<std::pair<pk::LinkType, f::Bytes8>> frames{
      {pk::LinkType::kEthernet,
       f::ether(0x0800, f::ipv4(v4, f::udp(1, 53, f::dnsQuery("a\"b.test"))))},
      {pk::LinkType::kEthernet,
       f::ether(0x86dd, f::ipv6(v6, f::udp(1, 5353, f::dnsQuery("x.local"))))},
      {pk::LinkType::kEthernet,
       f::ether(0x0800, f::ipv4(t4, f::tcp(1, 443, 0x18,
                                           f::clientHello(std::string("q\"\\\x01\xfe", 5)))))},
      {pk::LinkType::kEthernet,
       f::ether(0x0800,
                f::ipv4(t4, f::tcp(1, 80, 0x18, f::text("GET / HTTP/1.1\r\nHost: h\"x\r\n\r\n"))))},
      {pk::LinkType::kEthernet, f::ether(0x0806, f::arp(2, "10.0.0.1", "10.0.0.2"))},
      {pk::LinkType::kEthernet, f::ether(0x0800, f::ipv4(icmp, f::icmp(3, 3)), {100})},
      {pk::LinkType::kEthernet, f::ether(0x0800, f::ipv4(frag, f::udp(1, 9, f::Bytes8(8, 0))))},
      {pk::LinkType::kEthernet, f::ether(0x0800, f::ipv4(later, f::Bytes8(8, 0)))},
      {pk::LinkType::kEthernet, f::ether(0x0800, bad)},
      {pk::LinkType::kRawIp, f::Bytes8(20, 0x70)},
      {pk::LinkType::kEthernet,
       f::ether(0x0800, f::ipv4(v4, f::udp(1, 3478, f::stunBindingRequest())))},
  };
  LeakLineWriter writer;
  for (const std::string iface : {"lan0", "we\"ird\\0", "bad\xff\x01"}) {
    for (const auto& [link, frame] : frames) {
      const auto p = pk::decode(link, frame);
      const auto v = c.classify(p);
      ASSERT_EQ(v.verdict, Verdict::kLeak);
      const LeakEvent e{kTs, iface, p, v, static_cast<std::uint32_t>(frame.size())};
      EXPECT_EQ(writer.line(e),
                leakJson(e).dump(-1, ' ', false, core::Json::error_handler_t::replace));
    }
  }
}

// What the writer caches: the second of the timestamp (each line's time must still be its own:
// before 1970, at the turn of a second, far apart), address texts (more addresses than cache
// slots, IPv4 and IPv6, recurring), the source (its text changed in place, at the same address
// and size, must show), numbers of every width. JSON and text, against leakJson and leakText.
TEST(MonitorEvents, CachedLinePartsStayExact) {
  const Classifier c(ClassifierConfig{});
  std::vector<f::Bytes8> frames;
  for (int i = 0; i < 300; ++i) {
    const auto n = std::to_string(i % 256);
    f::V4 v4;
    v4.dst = "10." + n + ".0." + std::to_string(i * 7 % 256);
    if (i % 3 == 0) v4.src = "192.168.77." + n;
    static constexpr std::array<std::uint16_t, 10> kPorts{0,   9,    10,   99,    100,
                                                          999, 1000, 9999, 10000, 65535};
    const auto port = kPorts[static_cast<std::size_t>(i) % kPorts.size()];
    frames.push_back(f::ether(0x0800, f::ipv4(v4, f::udp(port, 40000, f::Bytes8(4, 1)))));
    f::V6 v6;
    v6.dst = i % 2 == 0 ? "2001:db8::" + n : "::ffff:10.0.0." + n;
    if (i % 5 == 0) v6.src = "fe80::" + n + ":0:0:1";
    frames.push_back(f::ether(0x86dd, f::ipv6(v6, f::udp(1, port, f::Bytes8(4, 2)))));
  }
  const std::vector<std::int64_t> ns{-1'000'000'001,
                                     -1,
                                     0,
                                     999'999'999,
                                     1'000'000'000,
                                     1'714'564'800'123'456'789LL,
                                     4'102'444'799'999'999'999LL};
  LeakLineWriter writer;
  std::string source = "eth0";
  std::size_t i = 0;
  for (const auto& frame : frames) {
    const auto p = pk::decode(pk::LinkType::kEthernet, frame);
    const auto v = c.classify(p);
    ASSERT_EQ(v.verdict, Verdict::kLeak);
    source[3] = static_cast<char>('0' + i / 100);  // the same string, another name
    const Timestamp ts{std::chrono::nanoseconds(ns[i % ns.size()] + static_cast<int>(i / 7))};
    const LeakEvent e{ts, source, p, v, static_cast<std::uint32_t>(i * 999'983 % 4'294'967'291)};
    ++i;
    EXPECT_EQ(writer.line(e), leakJson(e).dump());
    EXPECT_EQ(textLine(writer, e), leakText(e) + "\n");
  }
}

TEST(MonitorEvents, WindowAndSummary) {
  LeakWindow w;
  w.first = kTs;
  w.last = kTs + std::chrono::microseconds(1'234'567);
  w.packets = 3;
  w.bytes = 300;
  w.reasons[static_cast<std::size_t>(Reason::kDns)] = 1;
  w.reasons[static_cast<std::size_t>(Reason::kIpv4)] = 2;
  EXPECT_EQ(windowJson(w).dump(),
            R"({"type":"window","start":"2024-05-01T12:00:00.123456Z",)"
            R"("end":"2024-05-01T12:00:01.358023Z","duration_ms":1234.567,"packets":3,)"
            R"("bytes":300,"reasons":{"dns":1,"ipv4":2}})");
  Summary s;
  s.packets = 10;
  s.leaks = 3;
  s.tunnel = 7;
  s.first_leak = w.first;
  s.last_leak = w.last;
  s.reasons[static_cast<std::size_t>(Reason::kDns)] = 3;
  const auto j = summaryJson(s);
  EXPECT_EQ(j.begin().key(), "type");
  EXPECT_EQ(j["leaks"], 3);
  EXPECT_EQ(j["reasons"]["dns"], 3);
  EXPECT_EQ(j["reasons"]["ipv6"], 0);
  EXPECT_EQ(j["kernel_drops"], 0);
  EXPECT_NE(summaryText(s).find("3 leaked"), std::string::npos);
}

TEST(MonitorEvents, StartLineNamesTheSchemaFirst) {
  MonitorOptions o;
  o.ifaces = {"lan0"};
  o.classifier.endpoints.push_back(TunnelEndpoint::parse("203.0.113.2:51820").value());
  o.classifier.allow.push_back(AllowRule::parse("arp").value());
  const auto j = startJson(o, {SourceInfo{"lan0", true, pk::LinkType::kEthernet}});
  EXPECT_EQ(j.begin().key(), "schema");
  EXPECT_EQ(j["schema"], "vpnleak.monitor/1");
  EXPECT_EQ(j["type"], "start");
  EXPECT_EQ(j["endpoints"][0], "203.0.113.2:51820/wireguard");
  EXPECT_EQ(j["sources"][0]["link"], "ethernet");
  EXPECT_EQ(j["direction"], "out");
}

TEST(MonitorEvents, PrometheusCounters) {
  Counters c;
  c.record(Verdict::kTunnel, Reason::kNone, 100);
  c.record(Verdict::kLeak, Reason::kDns, 80);
  c.record(Verdict::kLeak, Reason::kDns, 80);
  Counters::add(c.kernel_drops, 4);
  const auto text = formatPrometheus(c);
  EXPECT_NE(text.find("vpnleak_monitor_packets_total{verdict=\"tunnel\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("vpnleak_monitor_packets_total{verdict=\"leak\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("vpnleak_monitor_leaks_total{reason=\"dns\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("vpnleak_monitor_bytes_total 260\n"), std::string::npos);
  EXPECT_NE(text.find("vpnleak_monitor_kernel_drops_total 4\n"), std::string::npos);
  EXPECT_EQ(text.find("reason=\"none\""), std::string::npos);
}

}  // namespace
}  // namespace vpnleak::monitor
