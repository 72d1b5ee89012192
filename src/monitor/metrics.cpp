#include "monitor/metrics.hpp"

#include <sstream>

namespace vpnleak::monitor {

std::string formatPrometheus(const Counters& c) {
  std::ostringstream o;
  const auto counter = [&o](const char* name, const char* help) {
    o << "# HELP " << name << " " << help << "\n# TYPE " << name << " counter\n";
  };
  counter("vpnleak_monitor_packets_total", "Frames captured, by verdict.");
  for (auto v : {Verdict::kTunnel, Verdict::kAllowed, Verdict::kLeak, Verdict::kOther}) {
    const auto& n = v == Verdict::kTunnel    ? c.tunnel
                    : v == Verdict::kAllowed ? c.allowed
                    : v == Verdict::kLeak    ? c.leaks
                                             : c.other;
    o << "vpnleak_monitor_packets_total{verdict=\"" << verdictName(v) << "\"} " << Counters::get(n)
      << "\n";
  }
  counter("vpnleak_monitor_bytes_total", "Bytes of every captured frame, as on the wire.");
  o << "vpnleak_monitor_bytes_total " << Counters::get(c.bytes) << "\n";
  counter("vpnleak_monitor_leaks_total", "Leaked packets, by reason.");
  for (std::size_t i = 1; i < kReasonCount; ++i) {
    o << "vpnleak_monitor_leaks_total{reason=\"" << reasonName(static_cast<Reason>(i)) << "\"} "
      << Counters::get(c.reasons[i]) << "\n";
  }
  counter("vpnleak_monitor_leak_windows_total", "Bursts of leaked packets that ended.");
  o << "vpnleak_monitor_leak_windows_total " << Counters::get(c.windows) << "\n";
  counter("vpnleak_monitor_malformed_total", "Frames whose headers could not be decoded.");
  o << "vpnleak_monitor_malformed_total " << Counters::get(c.malformed) << "\n";
  counter("vpnleak_monitor_kernel_drops_total", "Packets the kernel dropped: the ring was full.");
  o << "vpnleak_monitor_kernel_drops_total " << Counters::get(c.kernel_drops) << "\n";
  counter("vpnleak_monitor_interface_drops_total", "Packets the interface or driver dropped.");
  o << "vpnleak_monitor_interface_drops_total " << Counters::get(c.if_drops) << "\n";
  o << "# HELP vpnleak_monitor_leak_window_ms Duration of the last and the longest leak window.\n"
    << "# TYPE vpnleak_monitor_leak_window_ms gauge\n"
    << "vpnleak_monitor_leak_window_ms{which=\"last\"} " << c.last_window_ms.load() << "\n"
    << "vpnleak_monitor_leak_window_ms{which=\"max\"} " << c.max_window_ms.load() << "\n";
  return o.str();
}

}  // namespace vpnleak::monitor
