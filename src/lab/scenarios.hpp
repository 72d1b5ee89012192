// The scenario catalogue of `lab run`: for each known leak cause, how to set the lab up, which
// traffic the client keeps sending, the fault injected (and undone) once per run, and whether the
// VPN alone (guard off) is expected to leak. With the guard on, every scenario must leak nothing.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "lab/measure.hpp"
#include "lab/plan.hpp"

namespace vpnleak::lab {

struct Scenario {
  using Step = std::function<core::Status(const LabPlan&)>;
  std::string id;
  std::string description;
  bool leaks_without_guard = true;
  DnsMode dns = DnsMode::kVpn;
  bool leak_server = false;  // start `vpnleak server` in the server node
  std::string only;          // a pcap filter narrowing the leaks counted to this class; empty: all
  std::function<TrafficPlan(const LabPlan&)> traffic;
  Step setup;    // once, after `lab up`; may be empty
  Step fault;    // at the start of every run; empty: the leak path is there from the start
  Step restore;  // after the hold time of every run; may be empty
  std::chrono::milliseconds hold{1000};
};

const std::vector<Scenario>& catalogue();
// nullptr for an unknown id.
const Scenario* findScenario(const std::string& id);
// "reconnect, dns-isp, ..." for messages.
std::string scenarioIds();

}  // namespace vpnleak::lab
