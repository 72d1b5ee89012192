#include "guard/metrics.hpp"

#include <sstream>

#include "guard/ruleset.hpp"

namespace vpnleak::guard {

namespace {

void family(std::ostringstream& o, const char* name, const char* type, const char* help) {
  o << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n';
}

}  // namespace

std::string formatPrometheus(const WatchMetrics& m) {
  std::ostringstream o;
  family(o, "vpnleak_guard_table_present", "gauge", "1 when table inet vpnleak exists");
  o << "vpnleak_guard_table_present " << (m.present ? 1 : 0) << '\n';
  family(o, "vpnleak_guard_table_matches", "gauge",
         "1 when table inet vpnleak equals what was applied");
  o << "vpnleak_guard_table_matches " << (m.matches ? 1 : 0) << '\n';
  family(o, "vpnleak_guard_shadow_present", "gauge",
         "1 while the watcher's owned shadow table inet vpnleak_watch exists");
  o << "vpnleak_guard_shadow_present " << (m.shadow_present ? 1 : 0) << '\n';
  family(o, "vpnleak_guard_checks_total", "counter", "Verifications of the table");
  o << "vpnleak_guard_checks_total " << m.checks << '\n';
  family(o, "vpnleak_guard_restores_total", "counter", "Re-applies after the table was changed");
  o << "vpnleak_guard_restores_total " << m.restores << '\n';
  family(o, "vpnleak_guard_endpoint_updates_total", "counter",
         "Re-applies because the tunnel's endpoint changed");
  o << "vpnleak_guard_endpoint_updates_total " << m.endpoint_updates << '\n';
  family(o, "vpnleak_guard_last_restore_seconds", "gauge",
         "From the change notification to the table being restored, last time");
  o << "vpnleak_guard_last_restore_seconds " << m.last_restore_ms / 1000.0 << '\n';
  family(o, "vpnleak_guard_max_restore_seconds", "gauge", "The longest restore so far");
  o << "vpnleak_guard_max_restore_seconds " << m.max_restore_ms / 1000.0 << '\n';
  family(o, "vpnleak_guard_dropped_packets_total", "counter", "Packets dropped, by reason");
  for (const auto& r : dropReasons()) {
    const auto it = m.drops.find(std::string(r.name));
    o << "vpnleak_guard_dropped_packets_total{reason=\"" << r.name << "\"} "
      << (it == m.drops.end() ? 0 : it->second.packets) << '\n';
  }
  family(o, "vpnleak_guard_dropped_bytes_total", "counter", "Bytes dropped, by reason");
  for (const auto& r : dropReasons()) {
    const auto it = m.drops.find(std::string(r.name));
    o << "vpnleak_guard_dropped_bytes_total{reason=\"" << r.name << "\"} "
      << (it == m.drops.end() ? 0 : it->second.bytes) << '\n';
  }
  return o.str();
}

}  // namespace vpnleak::guard
