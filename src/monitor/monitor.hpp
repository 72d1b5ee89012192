// The monitor: captures from interfaces or files, classifies every frame, tracks leak windows
// and hands leaks and windows to a sink. The command line and the tests provide the sink.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "monitor/capture.hpp"
#include "monitor/classifier.hpp"
#include "monitor/metrics.hpp"
#include "monitor/window.hpp"

namespace vpnleak::monitor {

struct MonitorOptions {
  std::vector<std::string> ifaces;  // live capture on each (exclusive with files)
  std::vector<std::string> files;   // pcap/pcapng, read one after the other
  ClassifierConfig classifier;
  std::chrono::milliseconds gap{1000};    // leaks further apart start a new window
  std::chrono::milliseconds duration{0};  // live: stop after this long; 0 runs until stopped
  LiveOptions live;
  // Leave the tunnel's traffic in the kernel (BPF, prefilterExpression): cheaper under heavy
  // tunnel traffic, but such packets are then not counted.
  bool prefilter = false;
};

struct SourceInfo {
  std::string name;
  bool live = false;
  wire::packet::LinkType link = wire::packet::LinkType::kEthernet;
};

struct LeakEvent {
  Timestamp ts;
  std::string_view source;  // interface name or file path
  const wire::packet::Packet& packet;
  const Classification& verdict;
  std::uint32_t frame_length;      // on the wire
  wire::Bytes frame{};             // the frame as captured (for --write)
  std::uint32_t source_index = 0;  // the source's place in started()'s list
};

class EventSink {
 public:
  virtual ~EventSink() = default;
  // Every source is open: an error here ends the run before anything is reported (the sink
  // cannot take these sources).
  virtual core::Status accept(const std::vector<SourceInfo>& /*sources*/) { return {}; }
  // Every source is open (and, live, capturing): from here on nothing is missed.
  virtual void started(const std::vector<SourceInfo>& sources) = 0;
  virtual void leak(const LeakEvent& e) = 0;
  virtual void window(const LeakWindow& w) = 0;
  // After each batch of a live capture: a chance to flush buffered output.
  virtual void flush() {}
};

struct Summary {
  std::uint64_t packets = 0, bytes = 0, tunnel = 0, allowed = 0, leaks = 0, other = 0;
  std::uint64_t malformed = 0, windows = 0, kernel_drops = 0, if_drops = 0;
  std::array<std::uint64_t, kReasonCount> reasons{};
  std::optional<Timestamp> first_leak, last_leak;
  double max_window_ms = 0;
  double seconds = 0;  // wall-clock time the capture ran
  bool prefilter = false;
  // With --write: the files the leaked frames went to that are still there, oldest first (one
  // unless split with --write-limit; numbered one after the other). Filled in by the command,
  // not by runMonitor; reported as their count, the first and the last.
  std::vector<std::string> written;
};

// Runs until the files end, the duration passes or stop becomes true (a signal handler may set
// it). Errors: bad files and link types (kInvalidArgument), missing interfaces (kNotFound), no
// permission (kEnvironment), a capture failing mid-way (kSystem or, for files, kInvalidArgument).
core::Result<Summary> runMonitor(const MonitorOptions& opts, EventSink& sink, Counters& counters,
                                 const std::atomic<bool>& stop);

// The BPF expression --prefilter installs: everything except what the classifier would call
// tunnel traffic (each endpoint's transport and, for WireGuard and OpenVPN, its framing), so that
// no leak is filtered away with it. Later fragments and IPv6 packets with extension headers are
// left to the classifier.
std::string prefilterExpression(const std::vector<TunnelEndpoint>& endpoints);

}  // namespace vpnleak::monitor
