#include "lab/verdict.hpp"

#include <cmath>

namespace vpnleak::lab {

namespace {

using core::Json;

double round1(double v) { return std::round(v * 10.0) / 10.0; }

Json statsJson(const std::vector<double>& values) {
  const auto s = windowStats(values);
  return {{"median", round1(s.median_ms)}, {"p95", round1(s.p95_ms)}, {"max", round1(s.max_ms)}};
}

Json optMs(const std::optional<double>& v) { return v ? Json(round1(*v)) : Json(nullptr); }

}  // namespace

std::string verdictFor(bool guard_on, bool expect_leak, std::uint64_t leaked) {
  if (guard_on) return leaked == 0 ? "pass" : "fail";
  if (expect_leak) return leaked > 0 ? "leak" : "not-reproduced";
  return leaked > 0 ? "leak" : "pass";
}

bool verdictFails(const std::string& verdict) {
  return verdict == "fail" || verdict == "not-reproduced" || verdict == "error";
}

Json modeResult(bool guard_on, bool expect_leak, const std::vector<RunMeasure>& runs) {
  std::uint64_t leaked = 0;
  std::vector<double> first;
  std::vector<double> last;
  Json list = Json::array();
  for (std::size_t i = 0; i < runs.size(); ++i) {
    const auto& r = runs[i];
    leaked += r.leaked;
    if (r.first_ms) first.push_back(*r.first_ms);
    if (r.last_ms) last.push_back(*r.last_ms);
    list.push_back({{"run", i + 1},
                    {"leaked", r.leaked},
                    {"first_ms", optMs(r.first_ms)},
                    {"last_ms", optMs(r.last_ms)}});
  }
  return {
      {"guard", guard_on ? "on" : "off"}, {"verdict", verdictFor(guard_on, expect_leak, leaked)},
      {"leaked_packets", leaked},         {"runs", list},
      {"first_ms", statsJson(first)},     {"window_ms", statsJson(last)}};
}

Json classCounts(const std::array<std::uint64_t, kLeakClasses.size()>& counts) {
  Json j = Json::object();
  for (const auto c : kLeakClasses) j[leakClassName(c)] = counts[static_cast<std::size_t>(c)];
  return j;
}

Json modeResult(bool guard_on, bool expect_leak, const ClassifiedRuns& c,
                std::optional<LeakClass> only, std::size_t evidence) {
  Json r = modeResult(guard_on, expect_leak, c.runs);
  r["leaks_by_class"] = classCounts(c.by_class);
  if (only) {
    r["counted_class"] = leakClassName(*only);
    r["ignored_by_class"] = classCounts(c.ignored);
  }
  r["leaks_before_first_fault"] = c.before_first_fault;
  Json lines = Json::array();
  for (std::size_t i = 0; i < c.counted.size() && i < evidence; ++i) {
    lines.push_back(evidenceLine(c.counted[i]));
  }
  r["evidence"] = lines;
  return r;
}

void applyMonitorSummary(Json& result, const MonitorSummary& s) {
  result["monitor"] = {{"packets", s.packets},           {"tunnel", s.tunnel},
                       {"allowed", s.allowed},           {"leaks", s.leaks},
                       {"kernel_drops", s.kernel_drops}, {"if_drops", s.if_drops}};
  const auto drops = s.kernel_drops + s.if_drops;
  const auto verdict = result.value("verdict", "error");
  if (drops > 0 && (verdict == "pass" || verdict == "not-reproduced")) {
    result["verdict"] = "error";
    result["error"] = "the monitor lost " + std::to_string(drops) +
                      " packets (kernel/interface drops): no leak seen is not proof of none";
  }
}

Json summarize(const Json& scenarios) {
  int cases = 0;
  int pass = 0;
  int leak = 0;
  int fail = 0;
  int not_reproduced = 0;
  int error = 0;
  for (const auto& s : scenarios) {
    for (const auto& r : s["results"]) {
      ++cases;
      const auto v = r.value("verdict", "error");
      pass += v == "pass" ? 1 : 0;
      leak += v == "leak" ? 1 : 0;
      fail += v == "fail" ? 1 : 0;
      not_reproduced += v == "not-reproduced" ? 1 : 0;
      error += v == "error" ? 1 : 0;
    }
  }
  return {{"cases", cases},
          {"pass", pass},
          {"leak", leak},
          {"fail", fail},
          {"not_reproduced", not_reproduced},
          {"error", error}};
}

int exitCodeFor(const Json& doc) {
  const auto& s = doc["summary"];
  if (s.value("error", 0) > 0) return 4;
  if (s.value("fail", 0) > 0 || s.value("not_reproduced", 0) > 0) return 1;
  return 0;
}

}  // namespace vpnleak::lab
