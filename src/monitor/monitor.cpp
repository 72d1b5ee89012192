#include "monitor/monitor.hpp"

#include <poll.h>

#include <algorithm>
#include <cerrno>

#include "core/log.hpp"

namespace vpnleak::monitor {

namespace {

using Clock = std::chrono::steady_clock;
namespace pk = wire::packet;

constexpr int kBatch = 1024;  // packets read from one handle before looking at the others
// Link header (SLL2: 20) + IPv4 with options (60) + UDP (8) + the 4 framing bytes = 92; TCP
// endpoints are judged by their headers alone. (prefilterExpression matches no VLAN-tagged
// frame and no IPv6 extension header.)
constexpr std::uint32_t kTunnelSnaplen = 128;
// Bounds how late a closed window is seen (a stop request from a signal interrupts the wait).
// Not shorter than the block timeout: a wake-up with nothing to read costs as much CPU.
constexpr int kPollMs = 250;
constexpr auto kStatsEvery = std::chrono::seconds(1);

Timestamp wallNow() {
  return std::chrono::time_point_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now());
}

class Engine {
 public:
  Engine(const MonitorOptions& o, EventSink& sink, Counters& counters)
      : classifier_(o.classifier), windows_(o.gap), sink_(sink), counters_(counters) {}

  void frame(const Frame& f, const PcapHandle& h, std::uint32_t source) {
    pk::decode(h.link(), f.data, packet_);
    if (packet_.direction == pk::Direction::kUnknown) packet_.direction = h.direction();
    classifier_.classify(packet_, verdict_);
    counters_.record(verdict_.verdict, verdict_.reason, f.wire_len);
    if (packet_.status == pk::Status::kMalformed) Counters::add(counters_.malformed);
    if (verdict_.verdict != Verdict::kLeak) return;
    if (!first_leak_ || f.ts < *first_leak_) first_leak_ = f.ts;
    if (!last_leak_ || f.ts > *last_leak_) last_leak_ = f.ts;
    // The window this leak closes (the previous burst) is reported before the leak itself.
    report(windows_.add(f.ts, f.wire_len, verdict_.reason));
    sink_.leak(LeakEvent{f.ts, h.name(), packet_, verdict_, f.wire_len, f.data, source});
  }

  void expire(Timestamp now) { report(windows_.expire(now)); }
  void finish() { report(windows_.finish()); }

  [[nodiscard]] Summary summary(double seconds, bool prefilter) const {
    const auto& c = counters_;
    Summary s;
    s.packets = Counters::get(c.packets);
    s.bytes = Counters::get(c.bytes);
    s.tunnel = Counters::get(c.tunnel);
    s.allowed = Counters::get(c.allowed);
    s.leaks = Counters::get(c.leaks);
    s.other = Counters::get(c.other);
    s.malformed = Counters::get(c.malformed);
    s.windows = Counters::get(c.windows);
    s.kernel_drops = Counters::get(c.kernel_drops);
    s.if_drops = Counters::get(c.if_drops);
    for (std::size_t i = 0; i < kReasonCount; ++i) s.reasons[i] = Counters::get(c.reasons[i]);
    s.first_leak = first_leak_;
    s.last_leak = last_leak_;
    s.max_window_ms = c.max_window_ms.load();
    s.seconds = seconds;
    s.prefilter = prefilter;
    return s;
  }

 private:
  void report(const std::optional<LeakWindow>& w) {
    if (!w) return;
    const double ms = std::chrono::duration<double, std::milli>(w->duration()).count();
    Counters::add(counters_.windows);
    counters_.last_window_ms.store(ms);
    if (ms > counters_.max_window_ms.load()) counters_.max_window_ms.store(ms);
    sink_.window(*w);
  }

  Classifier classifier_;
  WindowTracker windows_;
  EventSink& sink_;
  Counters& counters_;
  pk::Packet packet_;
  Classification verdict_;
  std::optional<Timestamp> first_leak_, last_leak_;
};

std::vector<SourceInfo> describe(const std::vector<PcapHandle>& handles) {
  std::vector<SourceInfo> out;
  for (const auto& h : handles) out.push_back(SourceInfo{h.name(), h.live(), h.link()});
  return out;
}

// Every frame of one file through the engine; false when stopped before the end.
template <typename Source>
core::Result<bool> readAll(Source& source, const PcapHandle& h, std::uint32_t index, Engine& engine,
                           const std::atomic<bool>& stop) {
  Frame f;
  for (std::uint64_t n = 0;; ++n) {
    if (n % 4096 == 0 && stop.load(std::memory_order_relaxed)) return false;
    VL_TRY_ASSIGN(const auto got, source.next(f));
    if (got != Source::Next::kPacket) return true;
    engine.frame(f, h, index);
  }
}

// A stream (a pipe or FIFO, PcapHandle::stream) is read as it is written: before a read that
// would wait for the writer, what was found is flushed, and the wait looks at stop requests
// every kPollMs (a signal interrupts it at once). A read that a stop request interrupts ends
// the stream like its end. While it waits, leak windows close as they do live: the stream's
// clock is taken to run on from its last packet's time at the pace of this host's (the writer's
// clock may differ from this host's; only its pace is assumed).
core::Result<bool> readStream(PcapHandle& h, std::uint32_t index, Engine& engine, EventSink& sink,
                              const std::atomic<bool>& stop) {
  Frame f;
  std::optional<std::pair<Timestamp, Clock::time_point>> last;  // its time, when it came
  while (!stop.load(std::memory_order_relaxed)) {
    if (!h.waitReadable(std::chrono::milliseconds(0))) {
      sink.flush();
      while (!h.waitReadable(std::chrono::milliseconds(kPollMs))) {
        if (stop.load(std::memory_order_relaxed)) return false;
        if (!last) continue;
        const auto waited = Clock::now() - last->second;
        engine.expire(last->first + std::chrono::duration_cast<std::chrono::nanoseconds>(waited));
        sink.flush();
      }
    }
    auto got = h.next(f);
    if (!got && stop.load(std::memory_order_relaxed)) return false;
    VL_TRY(got);
    if (*got != PcapHandle::Next::kPacket) return true;
    engine.frame(f, h, index);
    last.emplace(f.ts, Clock::now());
  }
  return false;
}

core::Status readFiles(std::vector<PcapHandle>& files, Engine& engine, EventSink& sink,
                       const std::atomic<bool>& stop) {
  for (std::uint32_t i = 0; i < files.size(); ++i) {
    auto& h = files[i];
    PcapFileReader* fast = h.fileReader();
    VL_TRY_ASSIGN(const bool whole, h.stream() ? readStream(h, i, engine, sink, stop)
                                    : fast     ? readAll(*fast, h, i, engine, stop)
                                               : readAll(h, h, i, engine, stop));
    if (!whole) return {};
  }
  return {};
}

// The tunnel packets the kernel counted and dropped (PcapHandle::rejectedInKernel) join the
// counters; called after every batch (two loads per handle).
class KernelCounts {
 public:
  explicit KernelCounts(std::size_t handles) : seen_(handles) {}
  void merge(const std::vector<PcapHandle>& handles, Counters& c) {
    for (std::size_t i = 0; i < handles.size(); ++i) {
      const auto now = handles[i].rejectedInKernel();
      if (now.packets == seen_[i].packets) continue;
      const std::uint64_t packets = now.packets - seen_[i].packets;
      Counters::add(c.packets, packets);
      Counters::add(c.tunnel, packets);
      Counters::add(c.bytes, now.bytes - seen_[i].bytes);
      seen_[i] = now;
    }
  }

 private:
  std::vector<KernelTunnelCounter::Counts> seen_;
};

void updateDrops(const std::vector<PcapHandle>& handles, Counters& c) {
  std::uint64_t dropped = 0;
  std::uint64_t if_dropped = 0;
  for (const auto& h : handles) {
    const auto s = h.stats();
    dropped += s.dropped;
    if_dropped += s.if_dropped;
  }
  c.kernel_drops.store(dropped, std::memory_order_relaxed);
  c.if_drops.store(if_dropped, std::memory_order_relaxed);
}

// The longest block timeout of the live handles: how old a packet not handed over yet may be.
std::chrono::milliseconds deliveryLag(const std::vector<PcapHandle>& handles) {
  std::chrono::milliseconds lag{0};
  for (const auto& h : handles) lag = std::max(lag, h.deliveryLag());
  return lag;
}

// Up to kBatch frames pending in one live handle through the engine (pcap_dispatch: one pass
// over the ring, where pcap_next_ex enters libpcap's reader once per frame).
core::Status readBatch(PcapHandle& h, std::uint32_t index, Engine& engine) {
  struct Ctx {
    Engine& engine;
    const PcapHandle& h;
    std::uint32_t index;
  } ctx{engine, h, index};
  const auto fn = [](void* c, const Frame& f) {
    auto& x = *static_cast<Ctx*>(c);
    x.engine.frame(f, x.h, x.index);
  };
  for (int left = kBatch; left > 0;) {
    VL_TRY_ASSIGN(const int n, h.dispatch(left, fn, &ctx));
    if (n == 0) break;
    left -= n;
  }
  return {};
}

// Polls and reads until stopped or the duration has passed, then for one block timeout more:
// the rings hand over what arrived before the end, which is counted too.
core::Status captureLive(std::vector<PcapHandle>& handles, Engine& engine, EventSink& sink,
                         Counters& counters, const MonitorOptions& o,
                         const std::atomic<bool>& stop) {
  const auto start = Clock::now();
  auto next_stats = start + kStatsEvery;
  std::vector<pollfd> fds;
  for (const auto& h : handles) fds.push_back(pollfd{h.selectableFd(), POLLIN, 0});
  KernelCounts kernel(handles.size());
  // A window closes once its gap has passed before the oldest packet that may still be waiting
  // in a ring: a leak in a block not handed over yet would otherwise start a new window.
  const auto lag = deliveryLag(handles);
  const auto tail = lag + lag / 10;  // the kernel's block timer may fire a little late
  auto end = o.duration.count() > 0 ? start + o.duration + tail : Clock::time_point::max();
  for (auto now = start; now < end; now = Clock::now()) {
    if (stop.load(std::memory_order_relaxed) && now + tail < end) end = now + tail;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - now);
    const int wait = static_cast<int>(std::clamp<std::int64_t>(left.count() + 1, 0, kPollMs));
    if (::poll(fds.data(), fds.size(), wait) < 0 && errno != EINTR) {
      return core::sysError("poll on the capture sockets");
    }
    for (std::uint32_t i = 0; i < handles.size(); ++i) VL_TRY(readBatch(handles[i], i, engine));
    kernel.merge(handles, counters);
    engine.expire(wallNow() - lag);
    if (Clock::now() >= next_stats) {
      updateDrops(handles, counters);
      next_stats = Clock::now() + kStatsEvery;
    }
    sink.flush();
  }
  kernel.merge(handles, counters);
  updateDrops(handles, counters);
  return {};
}

}  // namespace

namespace {

// The classifier's framing checks (looksLikeWireGuard/looksLikeOpenVpn) on a UDP payload, in BPF.
// libpcap's udp[] offsets exist for IPv4 only: over IPv6 the UDP header is read at ip6[40]
// (packets with extension headers do not match, so they reach the classifier). The first term
// requires the UDP length to fit the IP payload: a datagram claiming more is malformed, and the
// classifier calls it a leak (endpoint-not-tunnel), so it must reach it.
std::string framing(const TunnelEndpoint& e) {
  if (e.proto == TunnelProto::kUdp || e.proto == TunnelProto::kTcp) return "";  // transport only
  const bool v4 = e.endpoint.address.isV4();
  const auto at = [v4](int offset, int size = 1) {
    const std::string where =
        v4 ? "udp[" + std::to_string(offset) : "ip6[" + std::to_string(40 + offset);
    return where + (size == 1 ? "]" : ":" + std::to_string(size) + "]");
  };
  const std::string len = at(4, 2);
  const std::string type = at(8);
  std::string out = v4 ? " and ip[2:2] - ((ip[0] & 15) << 2) >= " + len
                       : " and ip6[6] = 17 and ip6[4:2] >= " + len;
  if (e.proto == TunnelProto::kWireGuard) {
    return out + " and " + at(9, 2) + " = 0 and " + at(11) + " = 0 and ((" + type + " = 1 and " +
           len + " = 156) or (" + type + " = 2 and " + len + " = 100) or (" + type + " = 3 and " +
           len + " = 72) or (" + type + " = 4 and " + len + " >= 40 and " + len + " & 15 = 8))";
  }
  const std::string opcode = type + " >> 3";
  return out + " and " + opcode + " >= 1 and " + opcode + " <= 11 and (((" + opcode + " = 6 or " +
         opcode + " = 9) and " + len + " >= 13) or " + len + " >= 18)";
}

}  // namespace

std::string prefilterExpression(const std::vector<TunnelEndpoint>& endpoints) {
  std::string keep;
  for (const auto& e : endpoints) {
    const auto host = e.endpoint.address.toString();
    const auto port = std::to_string(e.endpoint.port);
    const std::string proto = e.transport() == pk::kProtoTcp ? "tcp" : "udp";
    if (!keep.empty()) keep += " or ";
    keep += "(" + proto + " and ((dst host " + host + " and dst port " + port + ") or (src host " +
            host + " and src port " + port + "))" + framing(e) + ")";
  }
  return keep.empty() ? std::string{} : "not (" + keep + ")";
}

core::Result<Summary> runMonitor(const MonitorOptions& o, EventSink& sink, Counters& counters,
                                 const std::atomic<bool>& stop) {
  if (o.ifaces.empty() == o.files.empty()) {
    return core::makeError(core::Errc::kInvalidArgument,
                           "give either --iface or --read (one or more of one kind)");
  }
  // Every source opens before anything is reported: bad input fails before the first event.
  std::vector<PcapHandle> handles;
  LiveOptions live = o.live;
  // The tunnel's packets stay in the kernel with --prefilter. Otherwise the kernel counts them
  // and drops them, or where it cannot (no CAP_BPF, not Ethernet) only their first
  // kTunnelSnaplen bytes are copied to the ring (all the classifier reads of them).
  live.filter = prefilterExpression(o.classifier.endpoints);
  live.rejected_snaplen = o.prefilter ? 0 : kTunnelSnaplen;
  live.count_rejected = !o.prefilter;
  for (const auto& f : o.files) {
    auto h = PcapHandle::openFile(f);
    // A stream not begun yet (ssh still connecting, a FIFO without its writer) when stopped.
    if (!h && stop.load(std::memory_order_relaxed)) {
      return core::makeError(core::Errc::kEnvironment,
                             "stopped before the capture '" + f + "' began: nothing was read");
    }
    if (!h) return h.error();
    handles.push_back(std::move(*h));
  }
  for (const auto& i : o.ifaces) {
    VL_TRY_ASSIGN(auto h, PcapHandle::openLive(i, live));
    handles.push_back(std::move(h));
  }
  Engine engine(o, sink, counters);
  const auto sources = describe(handles);
  VL_TRY(sink.accept(sources));
  sink.started(sources);
  const auto t0 = Clock::now();
  if (o.files.empty()) {
    VL_TRY(captureLive(handles, engine, sink, counters, o, stop));
  } else {
    VL_TRY(readFiles(handles, engine, sink, stop));
  }
  engine.finish();
  sink.flush();
  const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  log::debug("monitor finished", {{"seconds", seconds}});
  return engine.summary(seconds, o.prefilter && !o.ifaces.empty());
}

}  // namespace vpnleak::monitor
