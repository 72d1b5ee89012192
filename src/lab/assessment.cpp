#include "lab/assessment.hpp"

#include <chrono>
#include <filesystem>
#include <thread>

#include "core/process.hpp"
#include "lab/byo_vpn.hpp"
#include "lab/checkpoints.hpp"
#include "lab/lab.hpp"
#include "lab/lan_monitor.hpp"
#include "lab/measure.hpp"
#include "lab/scenarios.hpp"
#include "lab/verdict.hpp"

namespace vpnleak::lab {

namespace {

using core::Json;
using Clock = std::chrono::steady_clock;

constexpr auto kSettle = std::chrono::milliseconds(500);  // after each restore
constexpr auto kLead = std::chrono::milliseconds(300);    // traffic before the first fault
constexpr std::size_t kEvidence = 5;                      // leak events quoted per result

long long msSince(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count();
}

core::Status guardCli(const AssessmentOptions& opts, const LabPlan& plan,
                      const std::vector<std::string>& args) {
  std::vector<std::string> argv{opts.self, "guard", "--netns", plan.netns("client")};
  argv.insert(argv.end(), args.begin(), args.end());
  return core::runChecked(argv, core::RunOptions::withTimeout(std::chrono::seconds(30)));
}

core::Status guardUp(const AssessmentOptions& opts, const LabPlan& plan,
                     const std::vector<std::string>& extra) {
  const auto& t = plan.tunnel;
  std::vector<std::string> args{"up", "--tunnel", t.client_iface, "--endpoint",
                                t.endpoint.toString() + "/udp"};
  args.insert(args.end(), {"--dns", plan.vpn_resolver_v4.toString(), "--ipv6", "block"});
  // OpenVPN marks nothing: its endpoint rule then covers any socket (the host route's path).
  if (t.fwmark) args.insert(args.end(), {"--fwmark", std::to_string(*t.fwmark)});
  args.insert(args.end(), extra.begin(), extra.end());  // the scenario's (Scenario::guard_args)
  return guardCli(opts, plan, args);
}

// The fault and its restore, once per run; returns the time of each fault. The first fault's
// hold also runs the "fault" point (checkpoints.hpp) into FAULT_POINT.
core::Result<std::vector<double>> injectFaults(const Scenario& s, const Scenario::Step& fault,
                                               const Scenario::Step& restore,
                                               const AssessmentOptions& opts, const LabPlan& plan,
                                               Json& fault_point) {
  std::vector<double> faults;
  for (int r = 0; r < opts.runs; ++r) {
    faults.push_back(wallSeconds());
    if (fault) VL_TRY(fault(plan));
    const auto held = Clock::now();
    if (r == 0) fault_point = {{"audit", auditPoint(opts.self, plan)}};
    std::this_thread::sleep_until(held + s.hold);
    if (restore) VL_TRY(restore(plan));
    std::this_thread::sleep_for(kSettle);
  }
  return faults;
}

// Where one scenario × guard mode's leaked packets go (lab run --pcap-dir); empty without it.
std::string pcapPath(const AssessmentOptions& opts, const Scenario& s, bool guard_on) {
  if (opts.pcap_dir.empty()) return {};
  return opts.pcap_dir + "/" + s.id + "-guard-" + (guard_on ? "on" : "off") + ".pcapng";
}

// Everything between `lab up` and `lab down` of one scenario × guard mode: the setup, the guard,
// the steady-state point, then the monitor on the client's LAN side for the traffic and faults.
// MONITOR_STARTED: set once the monitor (and with it this run's pcap file) is there.
core::Result<Json> measure(const Scenario& s, bool guard_on, const AssessmentOptions& opts,
                           const LabPlan& plan, bool& monitor_started) {
  // An earlier run's file for this mode must not pass for this one's if this one fails early.
  if (const auto earlier = pcapPath(opts, s, guard_on); !earlier.empty()) {
    std::error_code ec;
    std::filesystem::remove(earlier, ec);
  }
  Scenario::Step fault = s.fault;
  Scenario::Step restore = s.restore;
  if (!opts.vpn_cmd.empty()) {
    VL_TRY(replaceVpnClient(plan, opts.vpn_cmd));
    if (s.id == "reconnect") {
      fault = [&opts](const LabPlan& p) { return runVpnCommand(p, opts.vpn_down_cmd, false); };
      restore = [&opts](const LabPlan& p) { return runVpnCommand(p, opts.vpn_cmd, true); };
    }
  }
  if (s.setup) VL_TRY(s.setup(plan));
  if (guard_on) VL_TRY(guardUp(opts, plan, s.guard_args));
  // Before the monitor starts: the test's own probes never count as the scenario's leaks.
  Json points{
      {"steady", {{"audit", auditPoint(opts.self, plan)}, {"test", testPoint(opts.self, plan)}}}};
  const std::string mode = guard_on ? "on" : "off";
  const std::string pcap = pcapPath(opts, s, guard_on);
  LanMonitor monitor(opts.self, plan, "monitor-" + mode, pcap);
  VL_TRY(monitor.start());
  monitor_started = true;
  Traffic traffic(plan.netns("client"), s.traffic(plan));
  traffic.start();
  std::this_thread::sleep_for(kLead);
  VL_TRY_ASSIGN(const auto faults, injectFaults(s, fault, restore, opts, plan, points["fault"]));
  traffic.stop();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  VL_TRY_ASSIGN(auto seen, monitor.stop());
  const auto runs = classifyRuns(std::move(seen.leaks), faults, s.only);
  Json result = modeResult(guard_on, s.leaks_without_guard, runs, s.only, kEvidence);
  result["packets_sent"] = traffic.sent();
  applyMonitorSummary(result, *seen.summary);
  if (!pcap.empty()) result["pcap"] = pcap;
  result["points"] = std::move(points);
  return result;
}

// A lab that cannot be built is an environment problem (not root, missing tool, prefix taken):
// it ends the whole run with that error. A scenario step that fails is recorded as "error".
core::Result<Json> runMode(const Scenario& s, bool guard_on, const AssessmentOptions& opts,
                           bool last) {
  const auto started = Clock::now();
  LabOptions lo;
  lo.prefix = opts.prefix;
  lo.dns = s.dns;
  lo.vpn = opts.vpn;
  lo.server_binary = opts.self;  // every lab: the steady-state `vpnleak test` needs it
  VL_TRY(up(lo));
  Json result;
  if (auto plan = load(opts.prefix); !plan) {
    result = {{"guard", guard_on ? "on" : "off"},
              {"verdict", "error"},
              {"error", plan.error().message()}};
  } else {
    bool monitor_started = false;
    auto r = measure(s, guard_on, opts, *plan, monitor_started);
    if (r) {
      result = std::move(*r);
      if (s.evidence) result["observed"] = s.evidence(*plan);
    } else {
      result = {
          {"guard", guard_on ? "on" : "off"}, {"verdict", "error"}, {"error", r.error().message()}};
      // What the monitor saved before the step failed is evidence too.
      std::error_code ec;
      if (const auto pcap = pcapPath(opts, s, guard_on);
          monitor_started && !pcap.empty() && std::filesystem::is_regular_file(pcap, ec)) {
        result["pcap"] = pcap;
      }
    }
    if (guard_on && !(last && opts.keep)) (void)guardCli(opts, *plan, {"down"});
  }
  if (!(last && opts.keep)) (void)down(opts.prefix);
  result["duration_ms"] = msSince(started);
  return result;
}

}  // namespace

core::Status validate(const AssessmentOptions& opts) {
  for (const auto& id : opts.scenarios) {
    if (findScenario(id) == nullptr) {
      return core::makeError(core::Errc::kInvalidArgument,
                             "unknown scenario '" + id + "': expected one of " + scenarioIds());
    }
  }
  if (opts.vpn_cmd.empty() != opts.vpn_down_cmd.empty()) {
    return core::makeError(core::Errc::kInvalidArgument,
                           "--vpn-cmd and --vpn-down-cmd go together: give both or neither");
  }
  if (!opts.vpn_cmd.empty() && opts.vpn != VpnKind::kWireGuard) {
    return core::makeError(core::Errc::kInvalidArgument,
                           "--vpn-cmd replaces the lab's WireGuard client: use it with --vpn "
                           "wireguard");
  }
  if (opts.runs < 1 || opts.runs > 100) {
    return core::makeError(core::Errc::kInvalidArgument,
                           "--runs " + std::to_string(opts.runs) + ": expected 1 to 100");
  }
  if (!opts.pcap_dir.empty()) {
    namespace fs = std::filesystem;
    std::error_code ec;
    const fs::path dir = resolvePcapDir(opts.pcap_dir);
    const bool is_dir = fs::is_directory(dir, ec);
    if (!is_dir && fs::exists(dir, ec)) {
      return core::makeError(core::Errc::kInvalidArgument,
                             "--pcap-dir '" + opts.pcap_dir + "' is not a directory");
    }
    if (!is_dir && !fs::is_directory(dir.parent_path(), ec)) {
      return core::makeError(core::Errc::kInvalidArgument,
                             "--pcap-dir '" + opts.pcap_dir +
                                 "': expected a directory, or a new one in an existing directory");
    }
  }
  LabOptions lo;
  lo.prefix = opts.prefix;
  return validate(lo);
}

std::string resolvePcapDir(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  auto p = fs::weakly_canonical(fs::absolute(dir, ec), ec);
  if (ec) p = fs::absolute(dir, ec).lexically_normal();
  if (!p.has_filename()) p = p.parent_path();  // "new/" names "new"
  return p.string();
}

core::Result<Json> runAssessment(const AssessmentOptions& given) {
  VL_TRY(validate(given));
  AssessmentOptions opts = given;
  if (!opts.pcap_dir.empty()) {
    opts.pcap_dir = resolvePcapDir(given.pcap_dir);
    std::error_code ec;
    std::filesystem::create_directory(opts.pcap_dir, ec);
    if (ec) {
      return core::makeError(core::Errc::kEnvironment,
                             "cannot create --pcap-dir '" + given.pcap_dir + "': " + ec.message());
    }
  }
  std::vector<const Scenario*> chosen;
  if (opts.scenarios.empty()) {
    for (const auto& s : catalogue()) chosen.push_back(&s);
  } else {
    for (const auto& id : opts.scenarios) chosen.push_back(findScenario(id));
  }
  const auto started = Clock::now();
  auto doc = core::jsonDocument("vpnleak.run/1");
  doc["prefix"] = opts.prefix;
  doc["vpn"] = opts.vpn_cmd.empty() ? vpnKindName(opts.vpn) : "command";
  if (!opts.vpn_cmd.empty()) doc["vpn_cmd"] = opts.vpn_cmd;
  doc["runs"] = opts.runs;
  Json list = Json::array();
  const std::size_t total = chosen.size() * 2;
  std::size_t k = 0;
  for (std::size_t i = 0; i < chosen.size(); ++i) {
    const Scenario& s = *chosen[i];
    Json entry{{"id", s.id},
               {"description", s.description},
               {"leaks_without_guard", s.leaks_without_guard},
               {"results", Json::array()}};
    for (const bool guard_on : {false, true}) {
      ++k;
      if (opts.progress) {
        opts.progress("scenario " + std::to_string(i + 1) + " of " + std::to_string(chosen.size()) +
                      " (" + std::to_string(k) + "/" + std::to_string(total) + "): " + s.id +
                      ", guard " + (guard_on ? "on" : "off") + ", elapsed " +
                      std::to_string(msSince(started) / 1000) + " s");
      }
      VL_TRY_ASSIGN(auto r, runMode(s, guard_on, opts, k == total));
      if (opts.progress) {
        opts.progress("  " + s.id + " guard " + (guard_on ? "on" : "off") + ": " +
                      r.value("verdict", "error") + ", " +
                      std::to_string(r.value("leaked_packets", 0ULL)) + " leaked packets" +
                      (r.contains("error") ? " (" + r["error"].get<std::string>() + ")" : ""));
      }
      entry["results"].push_back(std::move(r));
    }
    list.push_back(std::move(entry));
  }
  doc["scenarios"] = list;
  doc["summary"] = summarize(doc["scenarios"]);
  doc["duration_ms"] = msSince(started);
  return doc;
}

}  // namespace vpnleak::lab
