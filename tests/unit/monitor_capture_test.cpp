// The monitor over capture files written by the test: every supported link type, pcapng, several
// files in a row, leak windows from file timestamps, and each kind of bad input.
#include <gtest/gtest.h>
#include <pcap/pcap.h>
#include <sched.h>
#include <unistd.h>

#include <filesystem>

#include "monitor/monitor.hpp"
#include "monitor_frames.hpp"
#include "test_support.hpp"

namespace vpnleak::monitor {
namespace {

namespace f = testing::frames;
namespace fs = std::filesystem;
using f::Bytes8;

// Collects what the monitor reports.
struct Collect : EventSink {
  std::vector<SourceInfo> sources;
  std::vector<std::string> leaks;  // "reason qname"
  std::vector<LeakWindow> windows;
  void started(const std::vector<SourceInfo>& s) override { sources = s; }
  void leak(const LeakEvent& e) override {
    leaks.push_back(std::string(reasonName(e.verdict.reason)) + " " + e.verdict.dns_qname);
  }
  void window(const LeakWindow& w) override { windows.push_back(w); }
};

class MonitorFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("vlm-files-" + testing::randomHex(8));
    fs::create_directories(dir_);
    opts_.classifier.endpoints.push_back(TunnelEndpoint::parse("203.0.113.2:51820").value());
    opts_.classifier.allow.push_back(AllowRule::parse("arp").value());
    opts_.gap = std::chrono::milliseconds(100);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string write(const std::string& name, const Bytes8& bytes) {
    const auto path = (dir_ / name).string();
    EXPECT_TRUE(f::writeFile(path, bytes));
    return path;
  }
  core::Result<Summary> run(std::vector<std::string> files) {
    opts_.files = std::move(files);
    const std::atomic<bool> stop{false};
    Counters counters;
    return runMonitor(opts_, sink_, counters, stop);
  }

  fs::path dir_;
  MonitorOptions opts_;
  Collect sink_;
};

// Frames at the IP layer: two tunnel packets, a DNS leak, a plain leak.
std::vector<Bytes8> ipFrames(bool v6) {
  const auto wg = f::udp(40000, 51820, f::wireguard(4, 64));
  const auto dns = f::udp(40001, 53, f::dnsQuery("n.leak.test"));
  const auto other = f::udp(40002, 9, Bytes8(4, 0));
  f::V4 t;
  t.dst = "203.0.113.2";
  f::V4 l;
  f::V6 l6;
  return {f::ipv4(t, wg), f::ipv4(t, wg), v6 ? f::ipv6(l6, dns) : f::ipv4(l, dns),
          v6 ? f::ipv6(l6, other) : f::ipv4(l, other)};
}

Bytes8 pcap(std::uint32_t linktype, const std::vector<Bytes8>& frames, std::uint32_t step_ms = 10) {
  Bytes8 b = f::pcapHeader(linktype);
  std::uint32_t ms = 0;
  for (const auto& fr : frames) {
    const auto rec = f::pcapRecord(1'700'000'000 + ms / 1000, (ms % 1000) * 1000, fr);
    b.insert(b.end(), rec.begin(), rec.end());
    ms += step_ms;
  }
  return b;
}

// A minimal pcapng: section header, one interface, enhanced packet blocks (microseconds).
Bytes8 pcapng(std::uint16_t linktype, const std::vector<Bytes8>& frames) {
  Bytes8 b;
  const auto le32 = [](Bytes8& o, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) o.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
  };
  const auto block = [&](std::uint32_t type, const Bytes8& body) {
    const auto len = static_cast<std::uint32_t>(12 + body.size());
    le32(b, type);
    le32(b, len);
    b.insert(b.end(), body.begin(), body.end());
    le32(b, len);
  };
  Bytes8 shb;
  le32(shb, 0x1a2b3c4d);
  le32(shb, 1);  // major 1, minor 0
  le32(shb, 0xffffffff);
  le32(shb, 0xffffffff);  // section length unknown
  block(0x0a0d0d0a, shb);
  Bytes8 idb;
  le32(idb, linktype);
  le32(idb, 262144);
  block(1, idb);
  std::uint64_t us = 1'700'000'000'000'000ULL;
  for (const auto& fr : frames) {
    Bytes8 epb;
    le32(epb, 0);
    le32(epb, static_cast<std::uint32_t>(us >> 32));
    le32(epb, static_cast<std::uint32_t>(us));
    le32(epb, static_cast<std::uint32_t>(fr.size()));
    le32(epb, static_cast<std::uint32_t>(fr.size()));
    epb.insert(epb.end(), fr.begin(), fr.end());
    while (epb.size() % 4 != 0) epb.push_back(0);
    block(6, epb);
    us += 10'000;
  }
  return b;
}

std::vector<Bytes8> wrap(const std::vector<Bytes8>& ip, Bytes8 (*fn)(const Bytes8&)) {
  std::vector<Bytes8> out;
  for (const auto& p : ip) out.push_back(fn(p));
  return out;
}
Bytes8 asEthernet(const Bytes8& ip) { return f::ether((ip[0] >> 4) == 6 ? 0x86dd : 0x0800, ip); }
Bytes8 asSll(const Bytes8& ip) { return f::sll(4, (ip[0] >> 4) == 6 ? 0x86dd : 0x0800, ip); }
Bytes8 asSll2(const Bytes8& ip) { return f::sll2(4, (ip[0] >> 4) == 6 ? 0x86dd : 0x0800, ip); }
Bytes8 asIs(const Bytes8& ip) { return ip; }

struct LinkCase {
  std::uint32_t linktype;
  Bytes8 (*wrapper)(const Bytes8&);
  bool v6;
};

class LinkTypes : public MonitorFiles, public ::testing::WithParamInterface<LinkCase> {};

TEST_P(LinkTypes, CountsAndNames) {
  const auto& c = GetParam();
  const auto path = write("in.pcap", pcap(c.linktype, wrap(ipFrames(c.v6), c.wrapper)));
  auto s = run({path});
  ASSERT_TRUE(s.ok()) << s.error().message();
  EXPECT_EQ(s->packets, 4U);
  EXPECT_EQ(s->tunnel, 2U);
  EXPECT_EQ(s->leaks, 2U);
  EXPECT_EQ(s->reasons[static_cast<std::size_t>(Reason::kDns)], 1U);
  ASSERT_EQ(sink_.leaks.size(), 2U);
  EXPECT_EQ(sink_.leaks[0], "dns n.leak.test");
  EXPECT_EQ(sink_.leaks[1], c.v6 ? "ipv6 " : "ipv4 ");
  ASSERT_EQ(sink_.sources.size(), 1U);
  EXPECT_FALSE(sink_.sources[0].live);
}

INSTANTIATE_TEST_SUITE_P(Files, LinkTypes,
                         ::testing::Values(LinkCase{1, asEthernet, false},
                                           LinkCase{1, asEthernet, true},
                                           LinkCase{113, asSll, false}, LinkCase{276, asSll2, true},
                                           LinkCase{101, asIs, false},  // LINKTYPE_RAW
                                           LinkCase{228, asIs, false},  // LINKTYPE_IPV4
                                           LinkCase{229, asIs, true}),  // LINKTYPE_IPV6 (v6 only)
                         VL_CASE_NAMES);

TEST_F(MonitorFiles, PcapngAndSeveralFilesInARow) {
  const auto a = write("a.pcapng", pcapng(1, wrap(ipFrames(false), asEthernet)));
  const auto b = write("b.pcap", pcap(1, wrap(ipFrames(true), asEthernet)));
  auto s = run({a, b});
  ASSERT_TRUE(s.ok()) << s.error().message();
  EXPECT_EQ(s->packets, 8U);
  EXPECT_EQ(s->leaks, 4U);
  EXPECT_EQ(sink_.sources.size(), 2U);
}

TEST_F(MonitorFiles, WindowsFollowFileTimestamps) {
  // Leaks 10 ms apart, then 500 ms of tunnel only, then another burst: two windows.
  f::V4 leak;
  f::V4 tun;
  tun.dst = "203.0.113.2";
  const auto l = asEthernet(f::ipv4(leak, f::udp(1, 9, Bytes8(4, 0))));
  const auto t = asEthernet(f::ipv4(tun, f::udp(1, 51820, f::wireguard(4, 32))));
  std::vector<Bytes8> frames{l, l, l};
  frames.insert(frames.end(), 50, t);
  frames.push_back(l);
  frames.push_back(l);
  auto s = run({write("w.pcap", pcap(1, frames))});
  ASSERT_TRUE(s.ok()) << s.error().message();
  ASSERT_EQ(sink_.windows.size(), 2U);
  EXPECT_EQ(sink_.windows[0].packets, 3U);
  EXPECT_EQ(sink_.windows[0].duration(), std::chrono::milliseconds(20));
  EXPECT_EQ(sink_.windows[1].packets, 2U);
  EXPECT_EQ(s->windows, 2U);
  EXPECT_DOUBLE_EQ(s->max_window_ms, 20.0);
  ASSERT_TRUE(s->first_leak && s->last_leak);
  EXPECT_EQ(*s->last_leak - *s->first_leak, std::chrono::milliseconds(540));
}

TEST_F(MonitorFiles, RecordsAcrossReadBlocksAndTheLargestRecord) {
  // Several MiB with sizes that do not divide the reader's blocks, and one record of the
  // maximum captured length: every record must come out whole and in order.
  f::V4 h;
  std::vector<Bytes8> frames;
  std::uint64_t bytes = 0;
  for (std::size_t i = 0; i < 3000; ++i) {
    const std::size_t payload = (i * 7919) % 3000;
    frames.push_back(
        asEthernet(f::ipv4(h, f::udp(1, 9, Bytes8(payload, static_cast<std::uint8_t>(i))))));
  }
  frames.push_back(Bytes8(262144, 0));  // LLDP-less garbage: counted as "other"
  frames.back()[12] = 0x88;
  frames.back()[13] = 0xcc;
  for (const auto& fr : frames) bytes += fr.size();
  auto s = run({write("big.pcap", pcap(1, frames, 1))});
  ASSERT_TRUE(s.ok()) << s.error().message();
  EXPECT_EQ(s->packets, frames.size());
  EXPECT_EQ(s->bytes, bytes);
  EXPECT_EQ(s->leaks, 3000U);
  EXPECT_EQ(s->other, 1U);
}

// With one CPU to run on the reader reads its blocks inline instead of on a thread: the same
// records must come out.
TEST_F(MonitorFiles, OneCpuReadsInlineWithTheSameResult) {
  f::V4 h;
  std::vector<Bytes8> frames;
  for (std::size_t i = 0; i < 3000; ++i) {  // several MiB: many blocks
    const auto dns = f::udp(1, 53, f::dnsQuery("q" + std::to_string(i) + ".test"));
    const auto big = f::udp(1, 9, Bytes8((i * 7919) % 3000, static_cast<std::uint8_t>(i)));
    frames.push_back(asEthernet(f::ipv4(h, i % 2 == 0 ? dns : big)));
  }
  const auto path = write("inline.pcap", pcap(1, frames, 1));
  auto threaded = run({path});
  ASSERT_TRUE(threaded.ok()) << threaded.error().message();
  const auto threaded_leaks = sink_.leaks;
  cpu_set_t all;
  ASSERT_EQ(::sched_getaffinity(0, sizeof all, &all), 0);
  cpu_set_t one;
  CPU_ZERO(&one);
  for (int c = 0; c < CPU_SETSIZE; ++c) {
    if (CPU_ISSET(c, &all)) {
      CPU_SET(c, &one);
      break;
    }
  }
  ASSERT_EQ(::sched_setaffinity(0, sizeof one, &one), 0);
  sink_ = Collect{};
  auto inline_read = run({path});
  ASSERT_EQ(::sched_setaffinity(0, sizeof all, &all), 0);
  ASSERT_TRUE(inline_read.ok()) << inline_read.error().message();
  EXPECT_EQ(inline_read->packets, frames.size());
  EXPECT_EQ(inline_read->bytes, threaded->bytes);
  EXPECT_EQ(inline_read->leaks, frames.size());
  EXPECT_EQ(sink_.leaks, threaded_leaks);
  EXPECT_EQ(sink_.leaks[2998], "dns q2998.test");
}

// The same capture written big-endian and with nanosecond timestamps.
TEST_F(MonitorFiles, BigEndianAndNanosecondFiles) {
  const auto frames = wrap(ipFrames(false), asEthernet);
  for (const bool nano : {false, true}) {
    Bytes8 b;
    f::put32(b, nano ? 0xa1b23c4d : 0xa1b2c3d4);
    f::put16(b, 2);
    f::put16(b, 4);
    f::put32(b, 0);
    f::put32(b, 0);
    f::put32(b, 262144);
    f::put32(b, 1);
    std::uint32_t t = 0;
    for (const auto& fr : frames) {
      f::put32(b, 1'700'000'000);
      f::put32(b, t);
      f::put32(b, static_cast<std::uint32_t>(fr.size()));
      f::put32(b, static_cast<std::uint32_t>(fr.size()));
      b.insert(b.end(), fr.begin(), fr.end());
      t += nano ? 5'000'000 : 5'000;  // 5 ms apart either way
    }
    sink_ = Collect{};
    auto s = run({write(nano ? "be-ns.pcap" : "be-us.pcap", b)});
    ASSERT_TRUE(s.ok()) << s.error().message();
    EXPECT_EQ(s->packets, 4U);
    EXPECT_EQ(s->leaks, 2U);
    ASSERT_TRUE(s->first_leak && s->last_leak);
    EXPECT_EQ(*s->last_leak - *s->first_leak, std::chrono::milliseconds(5));
  }
}

struct BadCase {
  std::string what;
  Bytes8 bytes;
  std::string message;  // a part of the one-line error
};

class BadFiles : public MonitorFiles, public ::testing::WithParamInterface<BadCase> {};

TEST_P(BadFiles, FailWithOneLineExitTwo) {
  const auto& c = GetParam();
  auto s = run({write("bad.pcap", c.bytes)});
  ASSERT_FALSE(s.ok()) << c.what;
  EXPECT_EQ(s.error().exitCode(), 2) << s.error().message();
  EXPECT_NE(s.error().message().find(c.message), std::string::npos) << s.error().message();
  EXPECT_EQ(s.error().message().find('\n'), std::string::npos);
}

Bytes8 chop(Bytes8 b, std::size_t n) {
  b.resize(b.size() - n);
  return b;
}

INSTANTIATE_TEST_SUITE_P(
    Files, BadFiles,
    ::testing::Values(
        BadCase{"record cut short", chop(pcap(1, wrap(ipFrames(false), asEthernet)), 7),
                "corrupt capture"},
        BadCase{"record header cut",
                chop(pcap(1, wrap(ipFrames(false), asEthernet)),
                     asEthernet(ipFrames(false)[3]).size() + 9),
                "corrupt capture"},
        BadCase{"file header cut", chop(f::pcapHeader(1), 14), "not a readable pcap"},
        BadCase{"empty file", Bytes8{}, "not a readable pcap"},
        BadCase{"not a capture", f::text("this is a text file, not a capture at all\n"),
                "not a readable pcap"},
        BadCase{"unsupported link type", pcap(105, {Bytes8(30, 0)}), "unsupported link type"},
        BadCase{"absurd captured length",
                [] {
                  auto b = f::cat(f::pcapHeader(1), f::pcapRecord(1, 0, Bytes8(60, 0)));
                  b[24 + 8 + 3] = 0x7f;  // caplen 0x7f00003c
                  return b;
                }(),
                "corrupt capture"}),
    VL_CASE_NAMES);

TEST_F(MonitorFiles, MissingFileAndDirectory) {
  auto s = run({(dir_ / "nope.pcap").string()});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().exitCode(), 2);
  EXPECT_NE(s.error().message().find("No such file"), std::string::npos);
  s = run({dir_.string()});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().exitCode(), 2);
  EXPECT_TRUE(sink_.sources.empty()) << "nothing is reported before every source opened";
}

TEST_F(MonitorFiles, NeedsExactlyOneKindOfSource) {
  opts_.ifaces = {"lo"};
  auto s = run({write("x.pcap", pcap(1, {}))});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().exitCode(), 2);
  opts_.ifaces.clear();
  s = run({});
  ASSERT_FALSE(s.ok());
}

TEST(MonitorPrefilter, ExpressionKeepsOnlyNonEndpointTraffic) {
  std::vector<TunnelEndpoint> eps{TunnelEndpoint::parse("203.0.113.2:51820/udp").value(),
                                  TunnelEndpoint::parse("[2001:db8::2]:443/tcp").value()};
  EXPECT_EQ(prefilterExpression(eps),
            "not ((udp and ((dst host 203.0.113.2 and dst port 51820) or (src host 203.0.113.2 "
            "and src port 51820))) or (tcp and ((dst host 2001:db8::2 and dst port 443) or (src "
            "host 2001:db8::2 and src port 443))))");
  EXPECT_EQ(prefilterExpression({}), "");
}

// What the kernel filter drops must be tunnel traffic by the classifier's definition: framed
// tunnel packets go, everything else (unframed or malformed datagrams to the endpoint, other
// traffic) reaches the classifier. Checked with libpcap's own compiler and BPF interpreter.
TEST(MonitorPrefilter, DropsOnlyWhatTheClassifierCallsTunnel) {
  ClassifierConfig config;
  for (const char* e : {"203.0.113.2:51820", "198.51.100.7:1194/openvpn", "[2001:db8::2]:51820"}) {
    config.endpoints.push_back(TunnelEndpoint::parse(e).value());
  }
  const Classifier classifier(config);
  pcap_t* dead = pcap_open_dead(DLT_EN10MB, 262144);
  ASSERT_NE(dead, nullptr);
  bpf_program prog{};
  ASSERT_EQ(pcap_compile(dead, &prog, prefilterExpression(config.endpoints).c_str(), 1,
                         PCAP_NETMASK_UNKNOWN),
            0)
      << pcap_geterr(dead);
  f::V4 wg;
  wg.dst = "203.0.113.2";
  f::V4 ovpn;
  ovpn.dst = "198.51.100.7";
  f::V6 wg6;
  wg6.dst = "2001:db8::2";
  auto too_long = f::ipv4(wg, f::udp(40000, 51820, f::wireguard(4, 64)));
  too_long[24] = 1;  // UDP length 256 + 72, beyond the IP payload: malformed
  auto later = f::ipv4(wg, f::Bytes8(40, 0));
  later[7] = 10;  // fragment offset 80
  struct Case {
    Bytes8 frame;
    bool dropped;
  };
  const std::vector<Case> cases{
      {asEthernet(f::ipv4(wg, f::udp(40000, 51820, f::wireguard(4, 64)))), true},
      {asEthernet(f::ipv4(wg, f::udp(40000, 51820, f::wireguard(1, 148)))), true},
      {asEthernet(f::ipv4(wg, f::udp(40000, 51820, f::wireguard(1, 100)))), false},
      {asEthernet(f::ipv4(wg, f::udp(40000, 51820, f::dnsQuery("x.test")))), false},
      {asEthernet(f::ipv4(wg, f::udp(40000, 51821, f::wireguard(4, 64)))), false},
      {asEthernet(too_long), false},
      {asEthernet(later), false},
      {asEthernet(f::ipv6(wg6, f::udp(40000, 51820, f::wireguard(4, 96)))), true},
      {asEthernet(f::ipv6(wg6, f::udp(40000, 51820, f::wireguard(5, 96)))), false},
      {asEthernet(f::ipv4(ovpn, f::udp(40000, 1194, Bytes8{0x38, 1, 2, 3, 4, 5, 6, 7, 8, 9}))),
       true},
      {asEthernet(f::ipv4(ovpn, f::udp(40000, 1194, Bytes8{0x30, 1, 2, 3, 4}))), true},
      {asEthernet(f::ipv4(ovpn, f::udp(40000, 1194, Bytes8{0x38, 1, 2, 3, 4}))), false},
      {asEthernet(f::ipv4(ovpn, f::udp(40000, 1194, Bytes8{0x60, 1, 2, 3, 4, 5, 6, 7, 8, 9}))),
       false},
      {asEthernet(f::ipv4(f::V4{}, f::udp(40000, 53, f::dnsQuery("y.test")))), false},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const auto& frame = cases[i].frame;
    pcap_pkthdr hdr{};
    hdr.caplen = hdr.len = static_cast<bpf_u_int32>(frame.size());
    const bool kept = pcap_offline_filter(&prog, &hdr, frame.data()) != 0;
    EXPECT_EQ(!kept, cases[i].dropped) << "case " << i;
    const auto verdict =
        classifier.classify(wire::packet::decode(wire::packet::LinkType::kEthernet, frame)).verdict;
    if (!kept) {
      EXPECT_EQ(verdict, Verdict::kTunnel) << "case " << i;
    }
  }
  pcap_freecode(&prog);
  pcap_close(dead);
}

}  // namespace
}  // namespace vpnleak::monitor
