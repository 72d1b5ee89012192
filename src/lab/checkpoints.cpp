#include "lab/checkpoints.hpp"

#include <chrono>

#include "lab/context.hpp"
#include "lab/lab.hpp"
#include "lab/leak_server.hpp"

namespace vpnleak::lab {

namespace {

using core::Json;
using Clock = std::chrono::steady_clock;

core::Error notA(const char* schema) {
  return core::makeError(core::Errc::kMalformed, std::string("not a ") + schema + " document");
}

// Runs a vpnleak subcommand in the client and digests its JSON; exit 0 and 1 both carry a report.
Json runPoint(const LabPlan& plan, const std::vector<std::string>& argv,
              std::chrono::seconds timeout, core::Result<Json> (*digest)(const Json&)) {
  const auto started = Clock::now();
  const LabContext ctx(stateDir(plan.options.prefix));
  auto r = ctx.run(plan.netns("client"), argv, core::RunOptions::withTimeout(timeout));
  Json point;
  if (!r) {
    point = {{"error", r.error().message()}};
  } else if (r->timed_out) {
    point = {{"error", argv[1] + " timed out after " + std::to_string(timeout.count()) + " s"}};
  } else if (auto j = core::parseJson(r->out, argv[1] + " output"); !j) {
    const auto line = r->err.substr(0, r->err.find('\n'));
    point = {{"exit_code", r->exit_code}, {"error", line.empty() ? j.error().message() : line}};
  } else if (auto d = digest(*j); !d) {
    point = {{"exit_code", r->exit_code}, {"error", d.error().message()}};
  } else {
    point = {{"exit_code", r->exit_code}};
    point.update(*d);
  }
  point["elapsed_ms"] =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count();
  return point;
}

}  // namespace

core::Result<Json> auditDigest(const Json& report) {
  if (!report.is_object() || report.value("schema", "") != "vpnleak.audit/1" ||
      !report.contains("findings") || !report["findings"].is_array()) {
    return notA("vpnleak.audit/1");
  }
  Json findings = Json::array();
  for (const auto& f : report["findings"]) {
    findings.push_back({{"id", f.value("id", "?")}, {"severity", f.value("severity", "?")}});
  }
  return Json{{"findings", findings}};
}

core::Result<Json> testDigest(const Json& report) {
  if (!report.is_object() || report.value("schema", "") != "vpnleak.test/1" ||
      !report.contains("checks") || !report["checks"].is_array()) {
    return notA("vpnleak.test/1");
  }
  Json checks = Json::array();
  for (const auto& c : report["checks"]) {
    checks.push_back({{"id", c.value("id", "?")},
                      {"status", c.value("status", "?")},
                      {"explanation", c.value("explanation", "")}});
  }
  const auto& s = report.value("summary", Json::object());
  return Json{{"verdict", s.value("verdict", "?")}, {"checks", checks}};
}

Json auditPoint(const std::string& self, const LabPlan& plan) {
  return runPoint(plan, {self, "audit", "--json"}, std::chrono::seconds(20), auditDigest);
}

Json testPoint(const std::string& self, const LabPlan& plan) {
  return runPoint(plan, {self, "test", "--server", leakServerUrl(plan), "--json"},
                  std::chrono::seconds(30), testDigest);
}

std::string auditLine(const Json& point) {
  if (point.contains("error")) return "error: " + point["error"].get<std::string>();
  std::string s;
  for (const auto& f : point.value("findings", Json::array())) {
    s += (s.empty() ? "" : " ") + f.value("id", "?") + "(" + f.value("severity", "?") + ")";
  }
  return s.empty() ? "no findings" : s;
}

std::string testLine(const Json& point) {
  if (point.contains("error")) return "error: " + point["error"].get<std::string>();
  std::string s;
  for (const auto& c : point.value("checks", Json::array())) {
    s += (s.empty() ? "" : " ") + c.value("id", "?") + "=" + c.value("status", "?");
  }
  return s.empty() ? "no checks" : s;
}

}  // namespace vpnleak::lab
