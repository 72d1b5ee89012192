// vpnleak audit: predict leaks from the machine's own state, before a packet is sent.
#include <CLI/CLI.hpp>
#include <fstream>
#include <iostream>
#include <memory>

#include "audit/analyze.hpp"
#include "audit/collect.hpp"
#include "cli/app.hpp"
#include "core/file.hpp"

namespace vpnleak::cli {

namespace {

struct AuditArgs {
  bool json = false;
  std::string fail_on = "high";
  std::string snapshot_in;
  std::string snapshot_out;
  std::string resolv_conf = "/etc/resolv.conf";
};

core::Result<audit::Snapshot> readSnapshot(const std::string& path) {
  const auto text = core::readFile(path);
  if (!text) {
    return core::makeError(core::Errc::kInvalidArgument,
                           "cannot read --snapshot-in '" + path + "': expected a readable file");
  }
  auto j = core::parseJson(*text, "--snapshot-in '" + path + "'");
  if (!j) return j.error();
  auto s = audit::snapshotFromJson(*j);
  if (!s) {
    return core::makeError(core::Errc::kInvalidArgument,
                           "--snapshot-in '" + path + "': " + s.error().message());
  }
  return s;
}

void printReport(const audit::Report& r, std::ostream& out) {
  if (r.tunnel.interfaces.empty()) {
    out << "tunnel: none found\n";
  } else {
    out << "tunnel:";
    for (const auto& i : r.tunnel.interfaces) out << " " << i;
    for (const auto& e : r.tunnel.endpoints) out << " -> " << e.toString();
    if (r.tunnel.fwmark) out << " (fwmark " << *r.tunnel.fwmark << ")";
    out << "\n";
  }
  if (r.findings.empty()) out << "no findings: nothing would leave outside the tunnel\n";
  for (const auto& f : r.findings) {
    out << "\n[" << audit::severityName(f.severity) << "] " << f.id << "\n  " << f.detail
        << "\n  fix: " << f.fix << "\n";
  }
  for (const auto& n : r.notes) out << "\nnote: " << n << "\n";
}

int runAudit(const AuditArgs& a) {
  auto threshold = audit::parseSeverity(a.fail_on);
  if (!threshold) return fail(2, "--fail-on: " + threshold.error().message());
  core::Result<audit::Snapshot> snap =
      a.snapshot_in.empty() ? audit::collect({a.resolv_conf}) : readSnapshot(a.snapshot_in);
  if (!snap) return fail(snap.error().exitCode(), snap.error().message());
  if (!a.snapshot_out.empty()) {
    std::ofstream f(a.snapshot_out, std::ios::trunc);
    f << audit::toJson(*snap).dump(2) << "\n";
    if (!f) return fail(2, "cannot write --snapshot-out '" + a.snapshot_out + "'");
  }
  const auto report = audit::analyze(*snap);
  if (a.json) {
    std::cout << audit::toJson(report).dump(2) << "\n";
  } else {
    printReport(report, std::cout);
  }
  const auto h = report.highest();
  return h && *h >= *threshold ? 1 : 0;
}

}  // namespace

void addAuditCommand(CLI::App& root, Action& action) {
  auto args = std::make_shared<AuditArgs>();
  auto* sub = root.add_subcommand(
      "audit", "Predict leaks from routes, rules, resolvers and the firewall (changes nothing)");
  sub->add_flag("--json", args->json, "One JSON document (schema vpnleak.audit/1)");
  sub->add_option("--fail-on", args->fail_on,
                  "Exit 1 when a finding of this severity or higher exists "
                  "(info, low, medium, high, critical)")
      ->capture_default_str();
  sub->add_option("--snapshot-in", args->snapshot_in,
                  "Analyse a snapshot file (vpnleak.snapshot/1) instead of this machine");
  sub->add_option("--snapshot-out", args->snapshot_out, "Also write the snapshot to this file");
  sub->add_option("--resolv-conf", args->resolv_conf, "Where to read the resolvers from")
      ->capture_default_str();
  sub->callback([&action, args] { action = [args] { return runAudit(*args); }; });
}

}  // namespace vpnleak::cli
