// vpnleak monitor (--iface IF... | --read FILE...) --endpoint IP:PORT[/proto]... [--allow X]...
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>

#include "cli/app.hpp"
#include "monitor/event_line.hpp"
#include "monitor/events.hpp"
#include "monitor/metrics_http.hpp"
#include "monitor/monitor.hpp"
#include "monitor/output.hpp"
#include "monitor/pcap_file.hpp"
#include "monitor/pcapng_writer.hpp"

namespace vpnleak::cli {

namespace {

using monitor::Counters;

struct MonitorArgs {
  std::vector<std::string> ifaces, files, endpoints, allow;
  double duration_s = 0;
  int gap_ms = 1000;
  bool json = false;
  std::string metrics;
  std::string write;
  double write_limit_mb = 0;      // 0: one file
  std::uint32_t write_files = 0;  // 0: all of them
  std::string direction = "out";
  bool immediate = false;
  bool prefilter = false;
  int snaplen = 262144;
  int buffer_mb = 32;
};

// Set from the signal handler; the capture loop looks at it at least every 250 ms (its poll
// timeout), and a signal interrupts the poll at once.
std::atomic<bool> g_stop{false};

void onSignal(int /*sig*/) { g_stop.store(true); }

// Installs SIGINT/SIGTERM handlers without SA_RESTART (so that poll() returns at once) for the
// lifetime of the object, then restores the previous ones. With ignore_sigpipe (--write to a
// FIFO, whose reader may go away) SIGPIPE is ignored too: a write then fails with EPIPE, and the
// run ends with its summary and exit 3 instead of dying silently.
class StopOnSignals {
 public:
  explicit StopOnSignals(bool ignore_sigpipe) {
    struct sigaction sa {};
    sa.sa_handler = onSignal;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGINT, &sa, &old_int_);
    ::sigaction(SIGTERM, &sa, &old_term_);
    struct sigaction ign {};
    ign.sa_handler = SIG_IGN;
    sigemptyset(&ign.sa_mask);
    ::sigaction(SIGPIPE, ignore_sigpipe ? &ign : nullptr, &old_pipe_);
  }
  ~StopOnSignals() {
    ::sigaction(SIGINT, &old_int_, nullptr);
    ::sigaction(SIGTERM, &old_term_, nullptr);
    ::sigaction(SIGPIPE, &old_pipe_, nullptr);
  }
  StopOnSignals(const StopOnSignals&) = delete;
  StopOnSignals& operator=(const StopOnSignals&) = delete;

 private:
  struct sigaction old_int_ {};
  struct sigaction old_term_ {};
  struct sigaction old_pipe_ {};
};

// Prints events to stdout as NDJSON or text. Lines collect in one buffer (leak lines are
// formatted straight into it) that is written with write(2) when it fills and after each live
// batch, so a reader sees each leak once its block is handed over but a capture with many leaks
// is not written line by line. When stdout cannot be written (a closed pipe with SIGPIPE
// ignored, a full disk) the capture stops and the command fails (exit 3): no line is lost
// silently.
class StdoutSink : public monitor::EventSink {
 public:
  // pcap, when given, also receives every leaked frame (--write).
  StdoutSink(const monitor::MonitorOptions& o, bool json, monitor::PcapngWriter* pcap)
      : opts_(o), json_(json), pcap_(pcap), out_(STDOUT_FILENO) {
    std::fflush(stdout);  // nothing else writes to stdout, but stdio goes first if it did
  }

  core::Status accept(const std::vector<monitor::SourceInfo>& sources) override {
    return pcap_ != nullptr ? pcap_->checkSources(sources) : core::Status{};
  }
  void started(const std::vector<monitor::SourceInfo>& sources) override {
    if (pcap_ != nullptr) pcap_->begin(sources);
    json_ ? jsonLine(monitor::startJson(opts_, sources)) : line(monitor::startText(opts_, sources));
    flush();
  }
  void leak(const monitor::LeakEvent& e) override {
    if (pcap_ != nullptr) pcap_->packet(e.source_index, e.ts, e.frame, e.frame_length);
    if (json_) {
      char* at = out_.room(leak_lines_.maxSize(e));
      out_.commit(leak_lines_.write(at, e));
    } else {
      char* at = out_.room(leak_lines_.maxTextSize(e));
      out_.commit(leak_lines_.writeText(at, e));
    }
  }
  void window(const monitor::LeakWindow& w) override {
    json_ ? jsonLine(monitor::windowJson(w)) : line(monitor::windowText(w));
  }
  void flush() override {
    if (out_.buffered() > 0) out_.flush();
    if (out_.error() != 0) g_stop.store(true);  // nothing more can be shown: end the capture
    if (pcap_ != nullptr && (!pcap_->flush() || pcap_->error() != 0)) g_stop.store(true);
  }
  void summary(const monitor::Summary& s) {
    if (json_) {
      jsonLine(monitor::summaryJson(s));
    } else {
      out_.append(monitor::summaryText(s));
    }
    flush();
  }
  // The errno of a write to stdout that failed (then lines were lost), else 0.
  [[nodiscard]] int error() const { return out_.error(); }

 private:
  void jsonLine(const core::Json& j) {
    line(j.dump(-1, ' ', false, core::Json::error_handler_t::replace));
  }
  void line(std::string_view s) {
    char* at = out_.room(s.size() + 1);
    std::memcpy(at, s.data(), s.size());
    at[s.size()] = '\n';
    out_.commit(at + s.size() + 1);
  }
  const monitor::MonitorOptions& opts_;
  bool json_;
  monitor::PcapngWriter* pcap_;
  monitor::LeakLineWriter leak_lines_;
  monitor::FdOutput out_;
};

core::Result<monitor::MonitorOptions> buildOptions(const MonitorArgs& a) {
  monitor::MonitorOptions o;
  o.ifaces = a.ifaces;
  o.files = a.files;
  for (const auto& e : a.endpoints) {
    VL_TRY_ASSIGN(auto ep, monitor::TunnelEndpoint::parse(e));
    o.classifier.endpoints.push_back(ep);
  }
  for (const auto& x : a.allow) {
    VL_TRY_ASSIGN(auto rule, monitor::AllowRule::parse(x));
    o.classifier.allow.push_back(rule);
  }
  o.gap = std::chrono::milliseconds(a.gap_ms);
  o.duration = std::chrono::milliseconds(static_cast<std::int64_t>(a.duration_s * 1000.0));
  o.live.direction = a.direction == "in"     ? monitor::CaptureDirection::kIn
                     : a.direction == "both" ? monitor::CaptureDirection::kBoth
                                             : monitor::CaptureDirection::kOut;
  o.live.immediate = a.immediate;
  o.live.snaplen = a.snaplen;
  o.live.buffer_bytes = a.buffer_mb << 20;
  o.prefilter = a.prefilter;
  return o;
}

// The --write file, opened before the capture (a path that cannot be written is bad input) but
// truncated only once every source is open. It must be neither one of the --read files nor the
// monitor's stdout.
core::Result<monitor::PcapngWriter> openWrite(const MonitorArgs& a) {
  const auto bad = [&a](const std::string& why) {
    return core::makeError(core::Errc::kInvalidArgument, "--write '" + a.write + "' " + why);
  };
  if (a.write == "-") return bad("would be stdout, which carries the events: expected a file");
  for (const auto& f : a.files) {
    std::error_code ec;
    if (std::filesystem::equivalent(a.write, f, ec)) {
      return bad("is also read (--read '" + f + "'): expected another file");
    }
  }
  // Live: frames are at most --snaplen long; from files, at most libpcap's limit.
  const auto snaplen = a.ifaces.empty() ? monitor::PcapFileReader::kMaxCaptured
                                        : static_cast<std::uint32_t>(a.snaplen);
  if (a.write_limit_mb > 0) {
    // Before opening: a FIFO or a link is refused as it is, without waiting for a reader.
    VL_TRY(monitor::PcapngWriter::checkSplittable(a.write));
    for (const auto& f : a.files) {
      if (monitor::PcapngWriter::mayBecome(a.write, f)) {
        return bad("would be split into files named like --read '" + f +
                   "' (--write-limit): expected another name");
      }
    }
  }
  VL_TRY_ASSIGN(auto w, monitor::PcapngWriter::open(a.write, snaplen));
  if (std::count(a.files.begin(), a.files.end(), "-") > 0 && w.sharesFileWith(STDIN_FILENO)) {
    w.abandon();
    return bad("is also read (--read '-', standard input): expected another file");
  }
  if (w.sharesFileWith(STDOUT_FILENO) || w.sharesFileWith(STDERR_FILENO)) {
    w.abandon();
    return bad(
        "is the monitor's stdout or stderr, which carry its events and errors: expected "
        "another file");
  }
  if (a.write_limit_mb > 0) {
    const auto limit = static_cast<std::uint64_t>(std::llround(a.write_limit_mb * 1e6));
    if (auto st = w.splitAt(limit, a.write_files, a.files); !st) {
      w.abandon();
      return st.error();
    }
  }
  return w;
}

int runMonitorCommand(const MonitorArgs& a) {
  auto stdin_reads = std::count(a.files.begin(), a.files.end(), "-");
  struct stat in {};
  if (stdin_reads > 0 && ::fstat(STDIN_FILENO, &in) == 0) {
    for (const auto& f : a.files) {
      struct stat st {};  // standard input under another name: /dev/stdin, /proc/self/fd/0
      if (f != "-" && ::stat(f.c_str(), &st) == 0 && st.st_dev == in.st_dev &&
          st.st_ino == in.st_ino && st.st_rdev == in.st_rdev) {
        ++stdin_reads;
      }
    }
  }
  if (stdin_reads > 1) return fail(2, "--read '-' given twice: standard input can be read once");
  // Before anything is opened: a closed fd 0 would be taken by the next file opened.
  if (stdin_reads > 0 && ::fcntl(STDIN_FILENO, F_GETFD) < 0) {
    return fail(2, "--read '-': standard input is closed: pipe a capture into it");
  }
  if (a.write_limit_mb > 0 && a.write.empty()) {
    return fail(2, "--write-limit needs --write FILE: it splits that file");
  }
  if (a.write_files > 0 && a.write_limit_mb <= 0) {
    return fail(2, "--write-files " + std::to_string(a.write_files) +
                       " needs --write-limit MB: the files are split by size");
  }
  auto opts = buildOptions(a);
  if (!opts) return fail(opts.error().exitCode(), opts.error().message());
  Counters counters;
  std::unique_ptr<monitor::MetricsHttp> metrics;
  if (!a.metrics.empty()) {
    auto ep = core::Endpoint::parse(a.metrics);
    if (!ep) {
      return fail(2, "invalid --metrics '" + a.metrics +
                         "': expected ADDR:PORT such as 127.0.0.1:9469 or [::1]:9469");
    }
    auto server =
        monitor::MetricsHttp::start(*ep, [&counters] { return formatPrometheus(counters); });
    if (!server) return fail(server.error().exitCode(), server.error().message());
    metrics = std::move(*server);
  }
  std::optional<monitor::PcapngWriter> pcap;
  if (!a.write.empty()) {
    auto opened = openWrite(a);
    if (!opened) return fail(opened.error().exitCode(), opened.error().message());
    pcap.emplace(std::move(*opened));
  }
  StdoutSink sink(*opts, a.json, pcap ? &*pcap : nullptr);
  g_stop.store(false);
  const StopOnSignals signals(pcap && pcap->isPipe());
  auto summary = monitor::runMonitor(*opts, sink, counters, g_stop);
  if (!summary) {
    if (pcap) pcap->abandon();  // a file it created before any source was open goes again
    sink.flush();
    return fail(summary.error().exitCode(), summary.error().message());
  }
  if (pcap) summary->written.assign(pcap->files().begin(), pcap->files().end());
  sink.summary(*summary);
  if (sink.error() != 0) {
    return fail(3, std::string("cannot write the monitor's output to stdout: ") +
                       std::strerror(sink.error()));
  }
  if (pcap) pcap->close();
  if (pcap && pcap->error() != 0) {
    return fail(3, "cannot write --write '" + pcap->path() + "': " + pcap->errorText());
  }
  return summary->leaks > 0 ? 1 : 0;
}

}  // namespace

void addMonitorCommand(CLI::App& root, Action& action) {
  auto a = std::make_shared<MonitorArgs>();
  auto* m = root.add_subcommand(
      "monitor",
      "Classify every packet on the wire as tunnel, allowed or leak (live or a capture)");
  auto* iface = m->add_option("--iface", a->ifaces, "Capture live on this interface (repeatable)")
                    ->take_all();
  auto* read =
      m->add_option("--read", a->files,
                    "Read a pcap/pcapng file instead (repeatable; - is standard input, read as "
                    "it comes, e.g. from ssh HOST tcpdump -U -w -)")
          ->take_all();
  iface->excludes(read);
  m->add_option("--endpoint", a->endpoints,
                "The VPN server: IP:PORT[/wireguard|openvpn|udp|tcp] (repeatable; default "
                "wireguard)")
      ->required()
      ->take_all();
  m->add_option("--allow", a->allow,
                "Also allow outside the tunnel: dhcp, ndp, mld, igmp, arp or a PREFIX (repeatable)")
      ->take_all();
  m->add_option("--duration", a->duration_s,
                "Live: stop after S seconds, then read the rings' last blocks (0.275 s; default: "
                "until SIGINT)")
      ->check(CLI::PositiveNumber);
  m->add_option("--gap-ms", a->gap_ms, "Leaks further apart than this start a new leak window")
      ->check(CLI::Range(1, 3600 * 1000))
      ->capture_default_str();
  m->add_flag("--json", a->json, "NDJSON events (schema vpnleak.monitor/1)");
  m->add_option("--metrics", a->metrics, "Serve Prometheus counters on ADDR:PORT (GET /metrics)");
  m->add_option("--write", a->write,
                "Also save every leaked frame, as captured, to this pcapng file (Wireshark, "
                "tcpdump -r)")
      ->check([](const std::string& v) { return v.empty() ? "expected a file name" : ""; });
  m->add_option("--write-limit", a->write_limit_mb,
                "With --write: a new file once one holds MB megabytes (10^6 bytes), numbered "
                "before the extension (leaks.pcapng, leaks-1.pcapng, ...)")
      ->check([](const std::string& v) -> std::string {
        char* end = nullptr;
        const double mb = std::strtod(v.c_str(), &end);
        const bool ok =
            end != v.c_str() && *end == '\0' && std::isfinite(mb) && mb >= 0.001 && mb <= 1e6;
        return ok ? "" : "'" + v + "': expected megabytes from 0.001 to 1000000";
      });
  m->add_option("--write-files", a->write_files,
                "With --write-limit: keep only the newest N of this run's files")
      ->check(CLI::Range(1U, 1000000U));
  m->add_option("--direction", a->direction, "Live: which packets to capture")
      ->check(CLI::IsMember({"out", "in", "both"}))
      ->capture_default_str();
  m->add_flag("--immediate", a->immediate,
              "Live: deliver each packet at once (libpcap then uses TPACKET_V2, not V3)");
  m->add_flag("--prefilter", a->prefilter,
              "Live: drop tunnel traffic (endpoint and framing) in the kernel (BPF); it goes "
              "uncounted");
  m->add_option("--snaplen", a->snaplen, "Live: bytes captured per packet")
      ->check(CLI::Range(64, 262144))
      ->capture_default_str();
  m->add_option("--buffer-mb", a->buffer_mb, "Live: kernel ring size per interface in MiB")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  m->callback([&action, a] {
    if (a->ifaces.empty() && a->files.empty()) {
      throw CLI::RequiredError("--iface or --read");
    }
    action = [a] { return runMonitorCommand(*a); };
  });
}

}  // namespace vpnleak::cli
