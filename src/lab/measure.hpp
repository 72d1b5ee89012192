// Measuring leaks on the wire: background traffic from the client, and the pure arithmetic that
// turns leaked-packet timestamps into leak windows (the packets come from lan_monitor.hpp).
#pragma once

#include <sys/types.h>

#include <atomic>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/ip.hpp"
#include "core/result.hpp"

namespace vpnleak::lab {

// One fault: the leaked packets between the fault (fault_s) and the next run (end_s), and the
// leak window from the fault to the first and to the last of them.
struct RunMeasure {
  std::uint64_t leaked = 0;
  std::optional<double> first_ms, last_ms;
};
RunMeasure measureRun(const std::vector<double>& leak_times, double fault_s, double end_s);

// Median, 95th percentile (nearest rank) and maximum; all 0 for no values.
struct WindowStats {
  double median_ms = 0, p95_ms = 0, max_ms = 0;
};
WindowStats windowStats(std::vector<double> values_ms);

// Seconds since the epoch, the clock of the monitor's event times.
double wallSeconds();

// What the client keeps sending during a scenario, each every 10 ms from inside the namespace.
struct TrafficPlan {
  std::vector<core::IpAddress> udp;  // UDP datagrams to port 9, and ping (ICMP/ICMPv6)
  std::vector<core::IpAddress> dns;  // DNS queries (UDP port 53) sent directly to these
  std::string qname = "lab-run.leak.test";
};

class Traffic {
 public:
  Traffic(std::string ns, TrafficPlan plan) : ns_(std::move(ns)), plan_(std::move(plan)) {}
  ~Traffic() { stop(); }
  Traffic(const Traffic&) = delete;
  Traffic& operator=(const Traffic&) = delete;
  Traffic(Traffic&&) = delete;
  Traffic& operator=(Traffic&&) = delete;

  void start();
  void stop();
  [[nodiscard]] std::uint64_t sent() const { return sent_.load(); }

 private:
  void loop();
  std::string ns_;
  TrafficPlan plan_;
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> sent_{0};
  std::vector<pid_t> pings_;
  std::thread thread_;
};

}  // namespace vpnleak::lab
