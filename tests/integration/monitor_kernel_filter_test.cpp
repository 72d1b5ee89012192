// The live capture's eBPF filter (src/monitor/kernel_filter.cpp): classic programs translated,
// loaded and run on frames with BPF_PROG_TEST_RUN (return value and counter map checked), and a
// live capture in which the kernel counts the tunnel's packets while a datagram to the endpoint
// too short for the classic filter's loads still reaches the classifier; and the end of a live
// capture, which still reads the packets whose block the kernel had not handed over yet.
#include <linux/bpf.h>
#include <linux/filter.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <optional>
#include <thread>
#include <vector>

#include "lab/context.hpp"
#include "monitor/kernel_filter.hpp"
#include "monitor_test_process.hpp"
#include "test_support.hpp"

namespace vpnleak::testing {
namespace {

using monitor::ClassicInsn;
using monitor::KernelDirection;
using monitor::KernelTunnelCounter;
using std::chrono::milliseconds;

constexpr std::uint32_t kAccept = 262144;

ClassicInsn stmt(std::uint16_t code, std::uint32_t k) { return ClassicInsn{code, 0, 0, k}; }
ClassicInsn jump(std::uint16_t code, std::uint32_t k, std::uint8_t jt, std::uint8_t jf) {
  return ClassicInsn{code, jt, jf, k};
}

// An Ethernet frame carrying IPv4/UDP to port dport with payload bytes of payload. (A test run
// of a socket filter starts the packet at the IP header: offsets below are from there.)
std::vector<std::uint8_t> udpFrame(std::uint16_t dport, std::size_t payload) {
  std::vector<std::uint8_t> f(14, 0);
  f[12] = 0x08;  // IPv4; destination MAC 00:..:00 is loopback's: packet type "host"
  const auto ip_len = static_cast<std::uint16_t>(20 + 8 + payload);
  const std::vector<std::uint8_t> ip{0x45,
                                     0,
                                     static_cast<std::uint8_t>(ip_len >> 8),
                                     static_cast<std::uint8_t>(ip_len),
                                     0,
                                     0,
                                     0,
                                     0,
                                     64,
                                     17,
                                     0,
                                     0,
                                     10,
                                     0,
                                     0,
                                     1,
                                     10,
                                     0,
                                     0,
                                     2};
  f.insert(f.end(), ip.begin(), ip.end());
  const auto udp_len = static_cast<std::uint16_t>(8 + payload);
  const std::vector<std::uint8_t> udp{0x9c,
                                      0x40,
                                      static_cast<std::uint8_t>(dport >> 8),
                                      static_cast<std::uint8_t>(dport),
                                      static_cast<std::uint8_t>(udp_len >> 8),
                                      static_cast<std::uint8_t>(udp_len),
                                      0,
                                      0};
  f.insert(f.end(), udp.begin(), udp.end());
  f.resize(f.size() + payload, 0xab);
  return f;
}

class KernelFilter : public ::testing::Test {
 protected:
  void SetUp() override {
    VL_REQUIRE_ROOT();
    auto map = KernelTunnelCounter::createMap();
    if (!map) {  // no eBPF here: a skip outside CI, a failure in it (CI must show zero skips)
      if (::vpnleak::testing::inCi()) FAIL() << "required in CI: " << map.error().message();
      GTEST_SKIP() << map.error().message();
    }
    map_.emplace(std::move(*map));
  }

  // Translates, loads and runs prog on frame; the program's return value.
  std::uint32_t run(const std::vector<ClassicInsn>& prog, const std::vector<std::uint8_t>& frame,
                    KernelDirection d = {}) {
    auto ebpf = monitor::translateFilter(prog, map_->mapFd(), d);
    EXPECT_TRUE(ebpf.ok()) << ebpf.error().message();
    if (!ebpf) return ~0U;
    auto fd = monitor::loadFilter(*ebpf);
    EXPECT_TRUE(fd.ok()) << fd.error().message();
    if (!fd) return ~0U;
    bpf_attr attr{};
    attr.test.prog_fd = static_cast<std::uint32_t>(fd->get());
    attr.test.data_in = reinterpret_cast<std::uintptr_t>(frame.data());  // NOLINT
    attr.test.data_size_in = static_cast<std::uint32_t>(frame.size());
    attr.test.repeat = 1;
    const long rc = ::syscall(__NR_bpf, BPF_PROG_TEST_RUN, &attr, sizeof attr);
    EXPECT_EQ(rc, 0) << "BPF_PROG_TEST_RUN: " << std::strerror(errno);
    return attr.test.retval;
  }

  std::optional<KernelTunnelCounter> map_;
};

// ip[0] >> 4 == 4 is "tunnel": dropped and counted with its length; anything else accepted.
const std::vector<ClassicInsn> kIpv4IsTunnel{
    stmt(BPF_LD | BPF_B | BPF_ABS, 0), stmt(BPF_ALU | BPF_RSH | BPF_K, 4),
    jump(BPF_JMP | BPF_JEQ | BPF_K, 4, 0, 1), stmt(BPF_RET | BPF_K, 0),
    stmt(BPF_RET | BPF_K, kAccept)};

TEST_F(KernelFilter, RejectedPacketsAreCountedAndDropped) {
  const auto frame = udpFrame(51820, 100);
  EXPECT_EQ(run(kIpv4IsTunnel, frame), 0U);
  EXPECT_EQ(run(kIpv4IsTunnel, frame), 0U);
  EXPECT_EQ(map_->read().packets, 2U);
  EXPECT_EQ(map_->read().bytes, 2 * (frame.size() - 14)) << "the length the filter sees";
  auto v6 = frame;
  v6[14] = 0x60;
  EXPECT_EQ(run(kIpv4IsTunnel, v6), kAccept);
  EXPECT_EQ(map_->read().packets, 2U);
}

// X = IP header length (ldxb 4*([0]&0xf)), A = UDP destination port via an indirect load,
// through scratch memory and X and back: 51820 is the tunnel.
TEST_F(KernelFilter, IndirectLoadsScratchMemoryAndRegisterMoves) {
  const std::vector<ClassicInsn> prog{stmt(BPF_LDX | BPF_B | BPF_MSH, 0),
                                      stmt(BPF_LD | BPF_H | BPF_IND, 2),
                                      stmt(BPF_ST, 3),
                                      stmt(BPF_LD | BPF_IMM, 7),
                                      stmt(BPF_LDX | BPF_MEM, 3),
                                      stmt(BPF_MISC | BPF_TXA, 0),
                                      stmt(BPF_ALU | BPF_SUB | BPF_K, 20),
                                      jump(BPF_JMP | BPF_JEQ | BPF_K, 51800, 0, 1),
                                      stmt(BPF_RET | BPF_K, 0),
                                      stmt(BPF_RET | BPF_K, kAccept)};
  EXPECT_EQ(run(prog, udpFrame(51820, 10)), 0U);
  EXPECT_EQ(run(prog, udpFrame(53, 10)), kAccept);
  EXPECT_EQ(map_->read().packets, 1U);
}

// A classic filter that loads past the end returns 0 (drop); the translation lets the packet
// through uncounted, absolute and indirect loads alike (whole: these programs have no accepting
// exit whose length it could use).
TEST_F(KernelFilter, LoadsPastTheEndAcceptInsteadOfDropping) {
  const std::vector<ClassicInsn> absolute{stmt(BPF_LD | BPF_H | BPF_ABS, 36),
                                          stmt(BPF_RET | BPF_K, 0)};
  EXPECT_EQ(run(absolute, udpFrame(51820, 0)), ~0U) << "28 bytes of IP, load at 36";
  EXPECT_EQ(run(absolute, udpFrame(51820, 10)), 0U);
  const std::vector<ClassicInsn> indirect{stmt(BPF_LDX | BPF_B | BPF_MSH, 0),
                                          stmt(BPF_LD | BPF_W | BPF_IND, 8),
                                          stmt(BPF_RET | BPF_K, 0)};
  EXPECT_EQ(run(indirect, udpFrame(51820, 3)), ~0U);
  EXPECT_EQ(run(indirect, udpFrame(51820, 4)), 0U);
  EXPECT_EQ(map_->read().packets, 2U);
}

// Test runs deliver packets as incoming ("host"): a capture of outgoing packets only drops and
// does not count them, whatever the classic filter says.
TEST_F(KernelFilter, DirectionAppliesBeforeTheFilter) {
  const auto frame = udpFrame(51820, 100);
  EXPECT_EQ(run(kIpv4IsTunnel, frame, KernelDirection{true, false}), 0U);
  auto v6 = frame;
  v6[14] = 0x60;
  EXPECT_EQ(run(kIpv4IsTunnel, v6, KernelDirection{true, false}), 0U);
  EXPECT_EQ(map_->read().packets, 0U);
  EXPECT_EQ(run(kIpv4IsTunnel, frame, KernelDirection{false, true}), 0U);
  EXPECT_EQ(run(kIpv4IsTunnel, v6, KernelDirection{false, true}), kAccept);
  EXPECT_EQ(map_->read().packets, 1U);
}

TEST_F(KernelFilter, UntranslatableProgramsAreRefused) {
  const std::vector<std::vector<ClassicInsn>> refused{
      {stmt(BPF_LD | BPF_H | BPF_ABS, static_cast<std::uint32_t>(SKF_AD_OFF + SKF_AD_PROTOCOL)),
       stmt(BPF_RET | BPF_K, 0)},
      {stmt(BPF_ALU | BPF_DIV | BPF_X, 0), stmt(BPF_RET | BPF_K, 0)},
      {stmt(BPF_RET | BPF_A, 0)},
      {jump(BPF_JMP | BPF_JEQ | BPF_K, 0, 5, 0), stmt(BPF_RET | BPF_K, 0)},  // past the end
      {}};
  for (const auto& prog : refused) {
    const auto r = monitor::translateFilter(prog, map_->mapFd(), {});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, core::Errc::kInvalidArgument);
  }
}

// The length guard in front of a classic filter: the farthest byte loaded from the start, and
// after the IP header length X the program computes (checked with X computed the same way);
// nothing when X or the offsets cannot be bounded.
TEST(ClassicGuard, BoundsTheFarthestLoad) {
  const auto g = monitor::guardShortPackets(kIpv4IsTunnel, kAccept);
  ASSERT_EQ(g.size(), kIpv4IsTunnel.size() + 4);
  EXPECT_EQ(g[0].code, BPF_LD | BPF_W | BPF_LEN);
  EXPECT_EQ(g[1].k, 1U) << "ldb [0]";
  EXPECT_EQ(g[2].k, kAccept);
  EXPECT_EQ(g[4].code, kIpv4IsTunnel[0].code);
  // As libpcap compiles port and framing tests: X from the IP header, also used for a comparison
  // (tax) and reloaded before the next indirect load.
  const std::vector<ClassicInsn> indirect{
      stmt(BPF_LDX | BPF_B | BPF_MSH, 14), stmt(BPF_LD | BPF_H | BPF_IND, 16),
      stmt(BPF_MISC | BPF_TAX, 0),         jump(BPF_JMP | BPF_JGE | BPF_X, 0, 0, 0),
      stmt(BPF_LDX | BPF_B | BPF_MSH, 14), stmt(BPF_LD | BPF_B | BPF_IND, 25),
      stmt(BPF_LD | BPF_W | BPF_ABS, 30),  stmt(BPF_RET | BPF_K, 0)};
  const auto gi = monitor::guardShortPackets(indirect, kAccept);
  ASSERT_EQ(gi.size(), indirect.size() + 11);
  EXPECT_EQ(gi[1].k, 34U) << "ld [30]";
  EXPECT_EQ(gi[3].code, BPF_LDX | BPF_B | BPF_MSH);
  EXPECT_EQ(gi[3].k, 14U);
  EXPECT_EQ(gi[7].k, 26U) << "ldb [x + 25]";
  EXPECT_EQ(gi[11].code, indirect[0].code);
  // X a constant: an absolute bound.
  const std::vector<ClassicInsn> constant{
      stmt(BPF_LDX | BPF_IMM, 10), stmt(BPF_LD | BPF_B | BPF_IND, 4), stmt(BPF_RET | BPF_K, 0)};
  const auto gk = monitor::guardShortPackets(constant, kAccept);
  ASSERT_EQ(gk.size(), constant.size() + 4);
  EXPECT_EQ(gk[1].k, 15U);
  const std::vector<std::vector<ClassicInsn>> unbounded{
      {stmt(BPF_MISC | BPF_TAX, 0), stmt(BPF_LD | BPF_B | BPF_IND, 0), stmt(BPF_RET | BPF_K, 0)},
      {stmt(BPF_MISC | BPF_TAX, 0), jump(BPF_JMP | BPF_JEQ | BPF_K, 0, 1, 0),
       stmt(BPF_LDX | BPF_B | BPF_MSH, 14), stmt(BPF_LD | BPF_B | BPF_IND, 0),
       stmt(BPF_RET | BPF_K, 0)},  // one path reaches the load with X from A
      {stmt(BPF_LD | BPF_H | BPF_ABS, static_cast<std::uint32_t>(SKF_AD_OFF + SKF_AD_PROTOCOL)),
       stmt(BPF_RET | BPF_K, 0)},
      {stmt(BPF_RET | BPF_K, 0)}};
  for (const auto& prog : unbounded) EXPECT_TRUE(monitor::guardShortPackets(prog, kAccept).empty());
}

// A program the verifier refuses (it reads r2, never written) is a translation bug, not a
// missing capability: kInternal with the verifier's words, which the capture logs as a warning.
TEST_F(KernelFilter, VerifierRefusalIsAnInternalError) {
  const std::vector<monitor::EbpfInsn> prog{{BPF_ALU64 | BPF_MOV | BPF_X, 0x20, 0, 0},  // r0 = r2
                                            {BPF_JMP | BPF_EXIT, 0, 0, 0}};
  const auto fd = monitor::loadFilter(prog);
  ASSERT_FALSE(fd.ok());
  EXPECT_EQ(fd.error().code, core::Errc::kInternal) << fd.error().message();
  EXPECT_NE(fd.error().message().find("R2 !read_ok"), std::string::npos) << fd.error().message();
}

// Live, on loopback (each packet passes the tap twice; counted once): WireGuard-framed
// datagrams to the endpoint are counted by the kernel with their length; an empty datagram to it,
// shorter than the framing bytes the filter reads, is still classified (endpoint-not-tunnel).
TEST(KernelFilterLive, TunnelCountedInKernelShortDatagramStillClassified) {
  VL_REQUIRE_ROOT();
  const ScopedNetns ns("monkf");
  Background mon;
  ASSERT_TRUE(mon.start(
      lab::inNetns(ns.name(), {vpnleakBinary(), "--log-level", "debug", "monitor", "--iface", "lo",
                               "--endpoint", "127.0.0.1:51820", "--json", "--duration", "1.5"})));
  ASSERT_TRUE(mon.waitFor("\"type\":\"start\"", milliseconds(5000))) << mon.output();
  const auto sent = ns.exec(sendToWireGuardPort(5, "b''", true));
  ASSERT_EQ(sent.exit_code, 0) << sent.err;
  EXPECT_EQ(mon.wait(milliseconds(6000)), 1) << mon.output();
  EXPECT_EQ(mon.output().find("counting tunnel packets in user space"), std::string::npos)
      << mon.output();
  const auto summary = ofType(mon.jsonLines(), "summary");
  ASSERT_EQ(summary.size(), 1U) << mon.output();
  EXPECT_EQ(summary[0]["tunnel"], 5) << mon.output();
  EXPECT_EQ(summary[0]["reasons"]["endpoint-not-tunnel"], 1) << mon.output();
  EXPECT_EQ(summary[0]["packets"], 6) << mon.output();
  // Ethernet 14 + IPv4 20 + UDP 8 and 1200 or 0 bytes of payload.
  EXPECT_EQ(summary[0]["bytes"], 5 * 1242 + 42) << mon.output();
}

// SIGINT right after the last packets: the capture reads on for one block timeout, so what left
// before the stop is in the summary although its block had not been handed over yet.
TEST(KernelFilterLive, PacketsJustBeforeSigintAreCounted) {
  VL_REQUIRE_ROOT();
  const ScopedNetns ns("monend");
  Background mon;
  ASSERT_TRUE(mon.start(lab::inNetns(ns.name(), {vpnleakBinary(), "monitor", "--iface", "lo",
                                                 "--endpoint", "127.0.0.1:51820", "--json"})));
  ASSERT_TRUE(mon.waitFor("\"type\":\"start\"", milliseconds(5000))) << mon.output();
  std::this_thread::sleep_for(milliseconds(600));  // past the first block timer
  const auto sent = ns.exec({"python3", "-c",
                             "import socket\n"
                             "r = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
                             "r.bind(('127.0.0.1', 9))\n"
                             "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
                             "for _ in range(3): s.sendto(b'x', ('127.0.0.1', 9))\n"});
  ASSERT_EQ(sent.exit_code, 0) << sent.err;
  EXPECT_EQ(mon.stop(SIGINT), 1) << mon.output();
  const auto lines = mon.jsonLines();
  EXPECT_EQ(ofType(lines, "leak").size(), 3U) << mon.output();
  EXPECT_EQ(ofType(lines, "window").size(), 1U) << mon.output();
  const auto summary = ofType(lines, "summary");
  ASSERT_EQ(summary.size(), 1U) << mon.output();
  EXPECT_EQ(summary[0]["leaks"], 3) << mon.output();
}

// Without CAP_BPF (the monitor run with only what a capture needs) the eBPF filter cannot be
// loaded: the classic filter then cuts each tunnel packet to its first 128 bytes, which the
// classifier counts with the length on the wire (same counts as with the kernel counting), and an
// empty datagram to the endpoint, too short for the filter's framing loads, still reaches the
// classifier (a classic load past the end would drop it unseen) — with --prefilter too.
TEST(KernelFilterLive, WithoutCapBpfTheClassicFilterCutsTunnelPackets) {
  VL_REQUIRE_ROOT();
  std::ifstream sysctl("/proc/sys/kernel/unprivileged_bpf_disabled");
  int unprivileged_disabled = 0;
  sysctl >> unprivileged_disabled;
  if (unprivileged_disabled == 0) {  // then socket filters load without CAP_BPF too
    if (::vpnleak::testing::inCi()) FAIL() << "kernel.unprivileged_bpf_disabled is 0 in CI";
    GTEST_SKIP() << "kernel.unprivileged_bpf_disabled is 0: no way to refuse eBPF here";
  }
  const ScopedNetns ns("monclassic");
  for (const bool prefilter : {false, true}) {
    std::vector<std::string> argv{
        "setpriv",     "--bounding-set",  "-bpf,-sys_admin", "--",         vpnleakBinary(),
        "--log-level", "debug",           "monitor",         "--iface",    "lo",
        "--endpoint",  "127.0.0.1:51820", "--json",          "--duration", "1.5"};
    if (prefilter) argv.emplace_back("--prefilter");
    Background mon;
    ASSERT_TRUE(mon.start(lab::inNetns(ns.name(), argv)));
    ASSERT_TRUE(mon.waitFor("\"type\":\"start\"", milliseconds(5000))) << mon.output();
    const auto sent = ns.exec(sendToWireGuardPort(3, "b''", true));
    ASSERT_EQ(sent.exit_code, 0) << sent.err;
    EXPECT_EQ(mon.wait(milliseconds(6000)), 1) << mon.output();
    const auto out = mon.output();
    if (!prefilter) {
      EXPECT_NE(out.find("counting tunnel packets in user space"), std::string::npos) << out;
      EXPECT_NE(out.find("Operation not permitted"), std::string::npos) << out;
    }
    const auto summary = ofType(mon.jsonLines(), "summary");
    ASSERT_EQ(summary.size(), 1U) << out;
    EXPECT_EQ(summary[0]["tunnel"], prefilter ? 0 : 3) << out;
    EXPECT_EQ(summary[0]["reasons"]["endpoint-not-tunnel"], 1) << out;
    EXPECT_EQ(summary[0]["leaks"], 1) << out;
    EXPECT_EQ(summary[0]["kernel_drops"], 0) << out;
    // Ethernet 14 + IPv4 20 + UDP 8, and 1200 or 0 bytes of payload: lengths on the wire.
    EXPECT_EQ(summary[0]["bytes"], prefilter ? 42 : 3 * 1242 + 42) << out;
  }
}

}  // namespace
}  // namespace vpnleak::testing
