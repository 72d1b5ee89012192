// Offline classification rate of the monitor vs tcpdump (acceptance 4 of the monitor issue).
// Writes a synthetic capture (WireGuard tunnel traffic with leaks mixed in: DNS queries with
// unique names, TLS ClientHellos, plain UDP/ICMP, IPv6; ARP and NDP as allowed noise), then times
//   1. the monitor library reading and classifying it, DNS names extracted (no output);
//   2. `vpnleak monitor --read FILE --json` end to end, every leak printed as NDJSON;
//   3. `vpnleak monitor --read FILE` end to end, every leak printed as a text line;
//   4. reading the file only (the floor);
//   5. `tcpdump -r FILE -w /dev/null FILTER` with the filter for the same leak definition.
// The methods run in turns, --runs rounds; reported are the medians of the wall time (as packets
// per second) and of the CPU time (user + system, which load from other work on the machine
// does not inflate). --cpu N pins the benchmark and everything it starts to CPU N.
//
// The page cache: by default the file is written, flushed, dropped from the cache and read back
// once, so that it is cached as a capture read from disk is (the kernel then caches it in large
// folios); --cache written keeps it as the writes left it (4 KiB pages, which make every read(2)
// of the file about three times as expensive, for tcpdump as for the monitor).
// Usage: monitor_bench [--packets N] [--runs N] [--file PATH] [--keep] [--reuse] [--cpu N]
//                      [--cache read|written] [--library-only]
#include <fcntl.h>
#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

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
#include "monitor_mix.hpp"

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
  int cpu = -1;               // pin to this CPU
  bool recache = true;        // --cache read (default) or written
};

bool writeCapture(const Args& a) {
  std::FILE* out = std::fopen(a.file.c_str(), "wb");
  if (out == nullptr) return false;
  const auto header = f::pcapHeader(1);
  std::fwrite(header.data(), 1, header.size(), out);
  std::vector<Bytes8> cycle;
  for (std::size_t i = 0; i < bench::kMixCycle; ++i) cycle.push_back(bench::mixFrame(i));
  for (std::size_t i = 0; i < a.packets; ++i) {
    const Bytes8 frame = bench::mixRepeats(i) ? cycle[i % bench::kMixCycle] : bench::mixFrame(i);
    const auto us = static_cast<std::uint64_t>(i) * 10;  // 100,000 packets per second
    const auto rec = f::pcapRecord(static_cast<std::uint32_t>(1'700'000'000 + us / 1'000'000),
                                   static_cast<std::uint32_t>(us % 1'000'000), frame);
    std::fwrite(rec.data(), 1, rec.size(), out);
  }
  return std::fclose(out) == 0;
}

// Flushes the file, drops it from the page cache and reads it back once: cached as a capture
// read from disk is.
bool recache(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = ::fdatasync(fd) == 0 && ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) == 0;
  std::vector<char> buf(1 << 20);
  ssize_t got = 0;
  while (ok && (got = ::read(fd, buf.data(), buf.size())) > 0) {
  }
  ::close(fd);
  return ok && got == 0;
}

bool pin(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return ::sched_setaffinity(0, sizeof set, &set) == 0;
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

// CPU seconds (user + system) used so far by this process and by its waited-for children.
double cpuSeconds(int who) {
  rusage u{};
  ::getrusage(who, &u);
  const auto secs = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  return secs(u.ru_utime) + secs(u.ru_stime);
}

// One way of going through the capture, timed. The methods run in turns (a round of each, then
// the next round), so that load from other work on the machine drifts over all of them alike.
struct Method {
  std::string name;
  std::function<bool()> run;
  bool child = false;  // runs another program: its CPU time is the children's
  std::vector<double> seconds, cpu;
};

bool timeInTurns(std::vector<Method>& methods, int runs) {
  for (int r = 0; r < runs; ++r) {
    for (auto& m : methods) {
      const int who = m.child ? RUSAGE_CHILDREN : RUSAGE_SELF;
      const double c0 = cpuSeconds(who);
      const auto t0 = Clock::now();
      if (!m.run()) {
        std::fprintf(stderr, "monitor_bench: '%s' failed\n", m.name.c_str());
        return false;
      }
      m.seconds.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
      m.cpu.push_back(cpuSeconds(who) - c0);
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
    if (k == "--cpu") a.cpu = std::stoi(next());
    if (k == "--cache") a.recache = next() != "written";
  }
  return a;
}

// `vpnleak monitor --read FILE` end to end, output to /dev/null (exec: no shell left running).
Method cliMethod(const Args& a, bool json) {
  std::vector<std::string> cli{VPNLEAK_BINARY,      "monitor", "--read", a.file,    "--endpoint",
                               "203.0.113.2:51820", "--allow", "arp",    "--allow", "ndp",
                               "--allow",           "dhcp"};
  if (json) cli.emplace_back("--json");
  return {json ? "`vpnleak monitor --read FILE --json` (every leak printed)"
               : "`vpnleak monitor --read FILE` (text, every leak printed)",
          [cli] {
            auto r = core::run({"sh", "-c", "exec " + core::joinArgv(cli) + " >/dev/null"},
                               core::RunOptions::withTimeout(std::chrono::minutes(5)));
            return r.ok() && r->exit_code == 1;
          },
          true,
          {},
          {}};
}

// The floor: every record handed over by the reader, nothing done with it.
Method floorMethod(const Args& a) {
  return {"reading the file only (floor)",
          [&a] {
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
          false,
          {},
          {}};
}

Method tcpdumpMethod(const Args& a) {
  return {"`tcpdump -r FILE -w /dev/null FILTER`",
          [&a] {
            auto r = core::run({"tcpdump", "-r", a.file, "-w", "/dev/null", kFilter},
                               core::RunOptions::withTimeout(std::chrono::minutes(5)));
            return r.ok() && r->exit_code == 0;
          },
          true,
          {},
          {}};
}

void report(const Args& a, const std::vector<Method>& methods) {
  const double tcpdump = median(methods.back().seconds);
  const double tcpdump_cpu = median(methods.back().cpu);
  std::printf("| method | wall | rate | vs tcpdump | CPU (user+sys) | vs tcpdump (CPU) |\n");
  std::printf("|---|---:|---:|---:|---:|---:|\n");
  for (const auto& m : methods) {
    const double t = median(m.seconds);
    const double c = median(m.cpu);
    const double n = static_cast<double>(a.packets);
    if (a.library_only) {
      std::printf("| %s | %.3f s | %.2f Mpps | | %.3f s | |\n", m.name.c_str(), t, n / t / 1e6, c);
      continue;
    }
    std::printf("| %s | %.3f s | %.2f Mpps | %.2fx | %.3f s | %.2fx |\n", m.name.c_str(), t,
                n / t / 1e6, tcpdump / t, c, tcpdump_cpu / c);
  }
}

}  // namespace

int main(int argc, char** argv) {
  const Args a = parseArgs(argc, argv);
  if (a.cpu >= 0 && !pin(a.cpu)) {
    std::fprintf(stderr, "monitor_bench: cannot pin to CPU %d\n", a.cpu);
    return 3;
  }
  if (!(a.reuse && std::filesystem::exists(a.file)) && !writeCapture(a)) {
    std::fprintf(stderr, "monitor_bench: cannot write %s\n", a.file.c_str());
    return 3;
  }
  if (a.recache && !recache(a.file)) {
    std::fprintf(stderr, "monitor_bench: cannot re-read %s\n", a.file.c_str());
    return 3;
  }
  CountingSink sink;
  std::vector<Method> methods;
  methods.push_back({"monitor library: decode, classify, DNS names, leak windows",
                     [&] {
                       sink = CountingSink{};
                       monitor::Counters counters;
                       const std::atomic<bool> stop{false};
                       return monitor::runMonitor(options(a), sink, counters, stop).ok();
                     },
                     false,
                     {},
                     {}});
  if (!a.library_only) {
    methods.push_back(cliMethod(a, true));
    methods.push_back(cliMethod(a, false));
    methods.push_back(floorMethod(a));
    methods.push_back(tcpdumpMethod(a));
  }
  if (!timeInTurns(methods, a.runs)) return 4;
  std::printf(
      "packets %zu, leaks %zu, dns names extracted %zu, runs %d (medians), cpu %d, cache %s\n",
      a.packets, sink.leaks, sink.names, a.runs, a.cpu, a.recache ? "read" : "written");
  report(a, methods);
  if (!a.keep) std::remove(a.file.c_str());
  return 0;
}
