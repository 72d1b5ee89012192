// The scenario catalogue of `lab run`: for each known leak cause, how to set the lab up, which
// traffic the client keeps sending, the fault injected (and undone) once per run, and whether the
// VPN alone (guard off) is expected to leak. With the guard on, every scenario must leak nothing.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/json.hpp"
#include "core/result.hpp"
#include "lab/leak_events.hpp"
#include "lab/measure.hpp"
#include "lab/plan.hpp"

namespace vpnleak::lab {

struct Scenario {
  using Step = std::function<core::Status(const LabPlan&)>;
  std::string id;
  std::string description;
  bool leaks_without_guard = true;
  DnsMode dns = DnsMode::kVpn;
  // Only leaks of this class (leak_events.hpp) count for the verdict; the others are reported as
  // ignored. Empty: every leak counts.
  std::optional<LeakClass> only;
  std::function<TrafficPlan(const LabPlan&)> traffic;
  Step setup;    // once, after `lab up`; may be empty
  Step fault;    // at the start of every run; empty: the leak path is there from the start
  Step restore;  // after the hold time of every run; may be empty
  std::chrono::milliseconds hold{1000};
  // Appended to `vpnleak guard up` in the guard-on mode (e.g. --allow-lan for LocalNet).
  std::vector<std::string> guard_args;
  // After the runs, with the lab still up: what the scenario saw besides the wire (e.g. the leak
  // server's record of a browser's ICE candidates). In the mode's result as "observed"; may be
  // empty.
  std::function<core::Json(const LabPlan&)> evidence;
};

const std::vector<Scenario>& catalogue();
// nullptr for an unknown id.
const Scenario* findScenario(const std::string& id);
// "reconnect, dns-isp, ..." for messages.
std::string scenarioIds();

}  // namespace vpnleak::lab
