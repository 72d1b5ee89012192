// `lab run`: the scenario catalogue (scenarios.hpp) against the lab's VPN, each scenario
// with the guard off and on, measured on the client's LAN side (measure.hpp) and judged by the
// rules in verdict.hpp.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/json.hpp"
#include "core/result.hpp"
#include "lab/plan.hpp"

namespace vpnleak::lab {

struct AssessmentOptions {
  std::string prefix = "vl-";
  std::vector<std::string> scenarios;  // ids; empty: the whole catalogue
  int runs = 3;                        // faults per scenario and guard mode
  std::string self;                    // the vpnleak binary, run as `vpnleak guard`
  VpnKind vpn = VpnKind::kWireGuard;   // the lab's own VPN
  bool keep = false;                   // leave the last lab up
  std::string vpn_cmd;       // bring-your-own VPN client (byo_vpn.hpp); empty: the lab's own
  std::string vpn_down_cmd;  // takes it down for the reconnect fault; needed with vpn_cmd
  // Each scenario × guard mode's leaked frames as pcapng in this directory (created if missing;
  // its parent must exist): SCENARIO-guard-off.pcapng, SCENARIO-guard-on.pcapng. Empty: none.
  std::string pcap_dir;
  std::function<void(const std::string&)> progress;  // one line per step, may be empty
};

// Errc::kInvalidArgument for an unknown scenario id, runs outside 1..100, or a pcap_dir that is
// neither a directory nor a new one in an existing directory.
core::Status validate(const AssessmentOptions& opts);

// pcap_dir as the files are made (the monitor writing them runs elsewhere): absolute, symbolic
// links followed, ".." folded, no trailing '/'.
std::string resolvePcapDir(const std::string& dir);

// Document "vpnleak.run/1". A scenario step that fails is recorded with verdict "error"; the
// whole run errors on invalid options and when a lab cannot be built.
core::Result<core::Json> runAssessment(const AssessmentOptions& opts);

}  // namespace vpnleak::lab
