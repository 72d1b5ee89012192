// Text rendering of lab documents, and the `lab run` command body.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "core/json.hpp"
#include "lab/plan.hpp"

namespace vpnleak::cli {

void printLabStatus(const core::Json& doc, std::ostream& out);

struct RunArgs {
  std::string prefix;
  std::string scenarios;  // comma-separated ids; empty: all
  int runs = 3;
  bool json = false;
  bool quiet = false;
  bool keep = false;
  std::string junit;  // file paths; empty: none
  std::string html;
  std::string pcap_dir;  // each scenario × guard mode's leaked frames; empty: none
  std::string vpn_cmd, vpn_down_cmd;
  lab::VpnKind vpn = lab::VpnKind::kWireGuard;
};

// The verdict table of a "vpnleak.run/1" document.
void printAssessment(const core::Json& doc, std::ostream& out);
// JUnit XML: one testcase per scenario × guard mode; guard-off leaks are findings, not failures.
std::string assessmentJunit(const core::Json& doc);
// The self-contained HTML report with the SVG timeline.
// HTML_PATH: where the page goes, so that it links each mode's pcap file (lab run --pcap-dir)
// relative to itself; empty: absolute file:// links.
std::string assessmentHtml(const core::Json& doc, const std::string& html_path = {});
int runLabAssessment(const RunArgs& args);

}  // namespace vpnleak::cli
