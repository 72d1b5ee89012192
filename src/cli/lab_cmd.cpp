// vpnleak lab up|down|status|exec|run
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <iostream>
#include <memory>

#include "cli/app.hpp"
#include "cli/lab_report.hpp"
#include "lab/lab.hpp"
#include "lab/plan.hpp"
#include "lab/scenarios.hpp"

namespace vpnleak::cli {

namespace {

// "reconnect, iface-flap, ...": the catalogue's ids for the help text.
std::string scenarioIds() {
  std::string ids;
  for (const auto& s : lab::catalogue()) ids += (ids.empty() ? "" : ", ") + s.id;
  return ids;
}

struct LabArgs {
  lab::LabOptions opts;
  std::string dns = "vpn";
  std::string vpn = "wireguard";
  std::string wg = "auto";
  bool wg_given = false;  // --wg on the command line
  bool json = false;
  bool keep = false;
  bool no_server = false;
  std::string node;
  std::vector<std::string> command;
};

int runUp(const LabArgs& a) {
  lab::LabOptions o = a.opts;
  if (!a.no_server) {
    // The leak-test server is this very binary, run in the server node.
    std::error_code ec;
    o.server_binary = std::filesystem::read_symlink("/proc/self/exe", ec).string();
  }
  o.dns = a.dns == "isp" ? lab::DnsMode::kIsp : lab::DnsMode::kVpn;
  o.vpn = lab::parseVpnKind(a.vpn).value_or(lab::VpnKind::kWireGuard);
  if (a.wg_given && o.vpn != lab::VpnKind::kWireGuard) {
    return fail(2, "--wg " + a.wg + " applies to --vpn wireguard only, not --vpn " + a.vpn);
  }
  o.wg = a.wg == "kernel" ? lab::WgImpl::kKernel
         : a.wg == "go"   ? lab::WgImpl::kGo
                          : lab::WgImpl::kAuto;
  if (auto st = lab::up(o); !st) return fail(st.error().exitCode(), st.error().message());
  const auto doc = lab::status(o.prefix);
  if (a.json) {
    std::cout << doc.dump(2) << "\n";
  } else {
    printLabStatus(doc, std::cout);
  }
  return 0;
}

int runDown(const LabArgs& a) {
  if (auto st = lab::down(a.opts.prefix); !st)
    return fail(st.error().exitCode(), st.error().message());
  if (!a.json) std::cout << "lab " << a.opts.prefix << " is down\n";
  return 0;
}

int runStatus(const LabArgs& a) {
  if (auto st = lab::validate(a.opts); !st) return fail(2, st.error().message());
  const auto doc = lab::status(a.opts.prefix);
  if (a.json) {
    std::cout << doc.dump(2) << "\n";
  } else {
    printLabStatus(doc, std::cout);
  }
  return 0;
}

int runExec(const LabArgs& a) {
  if (auto st = lab::validate(a.opts); !st) return fail(2, st.error().message());
  const auto& r = lab::roles();
  if (std::find(r.begin(), r.end(), a.node) == r.end()) {
    return fail(
        2, "unknown lab node '" + a.node + "': expected client, router, vpn, internet or server");
  }
  if (auto plan = lab::load(a.opts.prefix); !plan) return fail(3, plan.error().message());
  std::vector<std::string> argv{"ip", "netns", "exec", a.opts.prefix + a.node};
  argv.insert(argv.end(), a.command.begin(), a.command.end());
  std::vector<char*> cargv;
  cargv.reserve(argv.size() + 1);
  for (auto& s : argv) cargv.push_back(s.data());
  cargv.push_back(nullptr);
  std::cout.flush();
  ::execvp("ip", cargv.data());
  return fail(3, "cannot execute 'ip': " + std::string(std::strerror(errno)));
}

void addVpnFlag(CLI::App* sub, std::string& vpn) {
  sub->add_option("--vpn", vpn, "The lab's VPN: WireGuard or OpenVPN (certificates made per lab)")
      ->check(CLI::IsMember({"wireguard", "openvpn"}))
      ->capture_default_str();
}

void addCommonFlags(CLI::App* sub, LabArgs& a, bool json) {
  sub->add_option("--prefix", a.opts.prefix, "Name prefix of the lab's namespaces")
      ->capture_default_str();
  if (json) sub->add_flag("--json", a.json, "One JSON document (schema vpnleak.lab/1)");
}

}  // namespace

void addLabCommand(CLI::App& root, Action& action) {
  auto args = std::make_shared<LabArgs>();
  auto* lab = root.add_subcommand("lab", "A network lab with a real VPN in network namespaces");
  lab->require_subcommand(0, 1);

  auto* up = lab->add_subcommand("up", "Build the lab: client, router, vpn, internet, server");
  addCommonFlags(up, *args, true);
  up->add_flag("--tunnel-ipv6", args->opts.tunnel_ipv6, "Carry IPv6 through the tunnel too");
  up->add_option("--dns", args->dns, "The client's resolver: the VPN's or the ISP's")
      ->check(CLI::IsMember({"vpn", "isp"}))
      ->capture_default_str();
  addVpnFlag(up, args->vpn);
  auto* wg = up->add_option("--wg", args->wg, "WireGuard implementation (--vpn wireguard)")
                 ->check(CLI::IsMember({"auto", "kernel", "go"}))
                 ->capture_default_str();
  up->add_option("--zone", args->opts.zone, "DNS zone of the leak-test server")
      ->capture_default_str();
  up->add_flag("--no-server", args->no_server,
               "Do not start the leak-test server (vpnleak server) in the server node");
  up->callback([&action, args, wg] {
    args->wg_given = wg->count() > 0;
    action = [args] { return runUp(*args); };
  });

  auto* down = lab->add_subcommand("down", "Remove everything the lab made (idempotent)");
  addCommonFlags(down, *args, false);
  down->callback([&action, args] { action = [args] { return runDown(*args); }; });

  auto* st = lab->add_subcommand("status", "Show the lab's nodes, addresses, tunnel, resolvers");
  addCommonFlags(st, *args, true);
  st->callback([&action, args] { action = [args] { return runStatus(*args); }; });

  auto* ex =
      lab->add_subcommand("exec", "Run a command in a node's namespace: exec NODE -- CMD...");
  addCommonFlags(ex, *args, false);
  ex->add_option("node", args->node, "client, router, vpn, internet or server")->required();
  ex->add_option("command", args->command, "The command and its arguments")->required();
  ex->callback([&action, args] { action = [args] { return runExec(*args); }; });

  auto* run = lab->add_subcommand(
      "run", "Run the scenario catalogue with the guard off and on; report leaks and windows");
  auto ra = std::make_shared<RunArgs>();
  run->add_option("--prefix", args->opts.prefix, "Name prefix of the lab's namespaces")
      ->capture_default_str();
  run->add_option("--scenarios", ra->scenarios,
                  "Comma-separated scenario ids (default: all): " + scenarioIds());
  run->add_option("--runs", ra->runs, "Faults per scenario and guard mode")->capture_default_str();
  addVpnFlag(run, args->vpn);
  run->add_flag("--json", ra->json, "One JSON document (schema vpnleak.run/1)");
  run->add_option("--junit", ra->junit, "Write JUnit XML here (one testcase per scenario x guard)");
  run->add_option("--html", ra->html, "Write a self-contained HTML report with a timeline here");
  run->add_option("--pcap-dir", ra->pcap_dir,
                  "Save each scenario x guard mode's leaked packets here "
                  "(SCENARIO-guard-off|on.pcapng)")
      ->check([](const std::string& v) { return v.empty() ? "expected a directory" : ""; });
  run->add_option("--vpn-cmd", ra->vpn_cmd,
                  "Bring your own VPN: shell command that brings a client up in the client "
                  "namespace (gets VPNLEAK_IFACE, VPNLEAK_ENDPOINT, ... in its environment)");
  run->add_option("--vpn-down-cmd", ra->vpn_down_cmd,
                  "Shell command that takes that client down (the reconnect fault)");
  run->add_flag("--quiet", ra->quiet, "No progress lines on stderr");
  run->add_flag("--keep", ra->keep, "Leave the last scenario's lab up afterwards");
  run->callback([&action, args, ra] {
    action = [args, ra] {
      RunArgs r = *ra;
      r.prefix = args->opts.prefix;
      r.vpn = lab::parseVpnKind(args->vpn).value_or(lab::VpnKind::kWireGuard);
      return runLabAssessment(r);
    };
  });
}

}  // namespace vpnleak::cli
