// Offline classification rate of the monitor vs tcpdump (acceptance 4 of the monitor issue).
// Writes a synthetic capture (WireGuard tunnel traffic with leaks mixed in: DNS queries with
// unique names, TLS ClientHellos, plain UDP/ICMP, IPv6; ARP and NDP as allowed noise), then times
//   1. the monitor library reading and classifying it, DNS names extracted (no output);
//   2. `vpnleak monitor --read FILE --json` end to end, every leak printed as NDJSON;
//   3. `tcpdump -r FILE -w /dev/null FILTER` with the filter for the same leak definition.
// Each is run --runs times; the median wall time is reported as packets per second.
// Usage: monitor_bench [--packets N] [--runs N] [--file PATH] [--keep] [--reuse] [--library-only]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "../tests/unit/monitor_frames.hpp"
#include "core/process.hpp"
#include "monitor/monitor.hpp"

namespace {

using namespace vpnleak;  // NOLINT: a benchmark's main
namespace f = testing::frames;
using f::Bytes8;
using Clock = std::chrono::steady_clock;

struct Args {
  std::size_t packets = 1'000'000;
  int runs = 5;
  std::string file = "/tmp/vpnleak-monitor-bench.pcap";
  bool keep = false;
  bool library_only = false;  // for profiling: only the in-process classification, --runs times
  bool reuse = false;         // keep an existing --file instead of writing it again
};

// One frame per 100: 90 tunnel packets (data of a few sizes, keepalives, a handshake now and
// then), 4 DNS queries with unique names, 2 TLS ClientHellos, 2 plain leaks, 1 IPv6 leak, 1 ARP.
Bytes8 frameFor(std::size_t i) {
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

bool writeCapture(const Args& a) {
  std::FILE* out = std::fopen(a.file.c_str(), "wb");
  if (out == nullptr) return false;
  const auto header = f::pcapHeader(1);
  std::fwrite(header.data(), 1, header.size(), out);
  // Frames repeat in a cycle of 1000 except the DNS names, which stay unique.
  std::vector<Bytes8> cycle;
  for (std::size_t i = 0; i < 1000; ++i) cycle.push_back(frameFor(i));
  for (std::size_t i = 0; i < a.packets; ++i) {
    const std::size_t slot = i % 100;
    const Bytes8 frame = (slot >= 90 && slot < 94) ? frameFor(i) : cycle[i % 1000];
    const auto us = static_cast<std::uint64_t>(i) * 10;  // 100,000 packets per second
    const auto rec = f::pcapRecord(static_cast<std::uint32_t>(1'700'000'000 + us / 1'000'000),
                                   static_cast<std::uint32_t>(us % 1'000'000), frame);
    std::fwrite(rec.data(), 1, rec.size(), out);
  }
  return std::fclose(out) == 0;
}

struct CountingSink : monitor::EventSink {
  std::size_t leaks = 0, names = 0;
  void started(const std::vector<monitor::SourceInfo>&) override {}
  void leak(const monitor::LeakEvent& e) override {
    ++leaks;
    names += e.verdict.dns_qname.empty() ? 0 : 1;
  }
  void window(const monitor::LeakWindow&) override {}
};

monitor::MonitorOptions options(const Args& a) {
  monitor::MonitorOptions o;
  o.files = {a.file};
  o.classifier.endpoints.push_back(monitor::TunnelEndpoint::parse("203.0.113.2:51820").value());
  o.classifier.allow.push_back(monitor::AllowRule::parse("arp").value());
  o.classifier.allow.push_back(monitor::AllowRule::parse("ndp").value());
  o.classifier.allow.push_back(monitor::AllowRule::parse("dhcp").value());
  return o;
}

const char* kFilter =
    "(ip or ip6 or arp) and not (udp and ((dst host 203.0.113.2 and dst port 51820) or (src host "
    "203.0.113.2 and src port 51820)) and udp[9:2] = 0 and udp[11] = 0 and ((udp[8] = 1 and "
    "udp[4:2] = 156) or (udp[8] = 2 and udp[4:2] = 100) or (udp[8] = 3 and udp[4:2] = 72) or "
    "(udp[8] = 4 and udp[4:2] >= 40 and udp[4:2] & 15 = 8))) and not (arp or (udp and ((src port "
    "68 and dst port 67) or (src port 67 and dst port 68) or (src port 546 and dst port 547) or "
    "(src port 547 and dst port 546))) or (icmp6 and ip6[40] >= 133 and ip6[40] <= 137 and "
    "ip6[7] = 255))";

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// One way of going through the capture, timed. The methods run in turns (a round of each, then
// the next round), so that load from other work on the machine drifts over all of them alike.
struct Method {
  std::string name;
  std::function<bool()> run;
  std::vector<double> seconds;
};

bool timeInTurns(std::vector<Method>& methods, int runs) {
  for (int r = 0; r < runs; ++r) {
    for (auto& m : methods) {
      const auto t0 = Clock::now();
      if (!m.run()) {
        std::fprintf(stderr, "monitor_bench: '%s' failed\n", m.name.c_str());
        return false;
      }
      m.seconds.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
    }
  }
  return true;
}

Args parseArgs(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    const auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (k == "--packets") a.packets = std::stoul(next());
    if (k == "--runs") a.runs = std::max(1, std::stoi(next()));
    if (k == "--file") a.file = next();
    if (k == "--keep") a.keep = true;
    if (k == "--library-only") a.library_only = true;
    if (k == "--reuse") a.reuse = true;
  }
  return a;
}

}  // namespace

int main(int argc, char** argv) {
  const Args a = parseArgs(argc, argv);
  if (!(a.reuse && std::filesystem::exists(a.file)) && !writeCapture(a)) {
    std::fprintf(stderr, "monitor_bench: cannot write %s\n", a.file.c_str());
    return 3;
  }
  CountingSink sink;
  std::vector<Method> methods;
  methods.push_back({"monitor library (classify, DNS names)",
                     [&] {
                       sink = CountingSink{};
                       monitor::Counters counters;
                       const std::atomic<bool> stop{false};
                       return monitor::runMonitor(options(a), sink, counters, stop).ok();
                     },
                     {}});
  if (!a.library_only) {
    const std::vector<std::string> cli{
        VPNLEAK_BINARY, "monitor", "--read",  a.file, "--json",  "--endpoint", "203.0.113.2:51820",
        "--allow",      "arp",     "--allow", "ndp",  "--allow", "dhcp"};
    methods.push_back({"vpnleak monitor --read --json (every leak printed)",
                       [cli] {
                         auto r = core::run({"sh", "-c", core::joinArgv(cli) + " >/dev/null"},
                                            core::RunOptions::withTimeout(std::chrono::minutes(5)));
                         return r.ok() && r->exit_code == 1;
                       },
                       {}});
    // The floor: every record handed over by the reader, nothing done with it.
    methods.push_back({"reading the file only (floor)",
                       [&] {
                         auto h = monitor::PcapHandle::openFile(a.file);
                         if (!h) return false;
                         monitor::Frame f;
                         std::size_t n = 0;
                         for (;;) {
                           auto got = h->next(f);
                           if (!got || *got != monitor::PcapHandle::Next::kPacket) break;
                           ++n;
                         }
                         return n == a.packets;
                       },
                       {}});
    methods.push_back({"tcpdump -r FILE -w /dev/null FILTER",
                       [&] {
                         auto r = core::run({"tcpdump", "-r", a.file, "-w", "/dev/null", kFilter},
                                            core::RunOptions::withTimeout(std::chrono::minutes(5)));
                         return r.ok() && r->exit_code == 0;
                       },
                       {}});
  }
  if (!timeInTurns(methods, a.runs)) return 4;
  std::printf("packets %zu, leaks %zu, dns names extracted %zu, runs %d (median)\n", a.packets,
              sink.leaks, sink.names, a.runs);
  const double tcpdump = median(methods.back().seconds);
  for (const auto& m : methods) {
    const double t = median(m.seconds);
    std::printf("| %s | %.3f s | %.2f Mpps | %.2fx tcpdump |\n", m.name.c_str(), t,
                static_cast<double>(a.packets) / t / 1e6, a.library_only ? 0.0 : tcpdump / t);
  }
  if (!a.keep) std::remove(a.file.c_str());
  return 0;
}
