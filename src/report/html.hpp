// The self-contained HTML report of `lab run`: the verdict table with the leaks per class, the
// audit and test results at each scenario's defined points, and an inline SVG timeline that draws
// every run's leak window (fault → first … last leaked packet) per scenario and guard mode.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace vpnleak::report {

struct LeakWindow {
  double first_ms = 0;
  double last_ms = 0;
};

struct HtmlRow {
  std::string scenario;
  std::string description;
  std::string guard;    // "off" or "on"
  std::string verdict;  // pass, leak, fail, not-reproduced, error
  std::uint64_t leaked = 0;
  double median_ms = 0, p95_ms = 0, max_ms = 0;
  std::vector<LeakWindow> windows;    // one per run that leaked
  std::string note;                   // an error message, or the description
  std::string by_class;               // "dns 120, ipv6 3": the counted leaks per class
  std::vector<std::string> evidence;  // the first leaked packets, one line each
  std::string pcap;                   // link to all of them (lab run --pcap-dir); empty: none
  // The commands run at the scenario's defined points, one line each; empty: not run.
  std::string steady_audit, steady_test, fault_audit;
};

// One HTML document, no external resources.
std::string runReportHtml(const std::string& title, const std::string& summary,
                          const std::vector<HtmlRow>& rows);

// The SVG alone (also embedded by runReportHtml).
std::string timelineSvg(const std::vector<HtmlRow>& rows);

}  // namespace vpnleak::report
