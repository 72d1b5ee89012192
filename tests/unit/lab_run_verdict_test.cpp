// `lab run`'s verdict rules and exit codes.
#include <gtest/gtest.h>

#include "lab/verdict.hpp"

namespace vpnleak::lab {
namespace {

TEST(LabRunVerdict, Table) {
  struct Case {
    bool guard_on, expect_leak;
    std::uint64_t leaked;
    std::string verdict;
    bool fails;
  };
  const std::vector<Case> cases{
      {true, true, 0, "pass", false},   {true, true, 3, "fail", true},
      {true, false, 0, "pass", false},  {true, false, 1, "fail", true},
      {false, true, 7, "leak", false},  {false, true, 0, "not-reproduced", true},
      {false, false, 0, "pass", false}, {false, false, 2, "leak", false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(std::to_string(c.guard_on) + std::to_string(c.expect_leak) +
                 std::to_string(c.leaked));
    EXPECT_EQ(verdictFor(c.guard_on, c.expect_leak, c.leaked), c.verdict);
    EXPECT_EQ(verdictFails(c.verdict), c.fails);
  }
  EXPECT_TRUE(verdictFails("error"));
}

TEST(LabRunVerdict, ModeResultAggregatesRuns) {
  const std::vector<RunMeasure> runs{
      {5, 10.0, 400.0}, {0, std::nullopt, std::nullopt}, {3, 20.0, 600.0}};
  const auto r = modeResult(false, true, runs);
  EXPECT_EQ(r["guard"], "off");
  EXPECT_EQ(r["verdict"], "leak");
  EXPECT_EQ(r["leaked_packets"], 8);
  ASSERT_EQ(r["runs"].size(), 3U);
  EXPECT_TRUE(r["runs"][1]["first_ms"].is_null());
  EXPECT_DOUBLE_EQ(r["window_ms"]["median"].get<double>(), 500.0);
  EXPECT_DOUBLE_EQ(r["window_ms"]["max"].get<double>(), 600.0);
  EXPECT_DOUBLE_EQ(r["first_ms"]["median"].get<double>(), 15.0);
}

TEST(LabRunVerdict, ModeResultFromTheMonitorHasClassesAndEvidence) {
  std::vector<LeakEvent> events;
  for (int i = 0; i < 8; ++i) {
    LeakEvent e;
    e.ts = 10.0 + 0.01 * i;
    e.time = "t" + std::to_string(i);
    e.reason = i % 2 == 0 ? "dns" : "ipv6";
    e.family = i % 2 == 0 ? "ipv4" : "ipv6";
    e.proto = "udp";
    e.cls = classify(e.reason, e.family);
    events.push_back(e);
  }
  const auto c = classifyRuns(events, {10.0}, std::nullopt);
  const auto r = modeResult(false, true, c, std::nullopt, 3);
  EXPECT_EQ(r["verdict"], "leak");
  EXPECT_EQ(r["leaked_packets"], 8);
  EXPECT_EQ(r["leaks_by_class"]["dns"], 4);
  EXPECT_EQ(r["leaks_by_class"]["ipv6"], 4);
  EXPECT_EQ(r["leaks_by_class"].size(), kLeakClasses.size());
  std::uint64_t sum = 0;
  for (const auto& [k, v] : r["leaks_by_class"].items()) sum += v.get<std::uint64_t>();
  EXPECT_EQ(sum, r["leaked_packets"].get<std::uint64_t>());
  ASSERT_EQ(r["evidence"].size(), 3U);
  EXPECT_EQ(r["evidence"][0].get<std::string>().rfind("dns udp", 0), 0U);
  EXPECT_FALSE(r.contains("counted_class"));

  const auto only =
      modeResult(true, true, classifyRuns(events, {10.0}, LeakClass::kDns), LeakClass::kDns, 5);
  EXPECT_EQ(only["verdict"], "fail");
  EXPECT_EQ(only["leaked_packets"], 4);
  EXPECT_EQ(only["counted_class"], "dns");
  EXPECT_EQ(only["ignored_by_class"]["ipv6"], 4);
  EXPECT_EQ(only["leaks_by_class"]["ipv6"], 0);
}

TEST(LabRunVerdict, MonitorDropsMakeAPassInconclusive) {
  struct Case {
    std::string verdict;
    std::uint64_t kernel_drops, if_drops;
    std::string want;
  };
  const std::vector<Case> cases{
      {"pass", 0, 0, "pass"},  {"pass", 3, 0, "error"},
      {"pass", 0, 1, "error"}, {"not-reproduced", 2, 0, "error"},
      {"leak", 5, 0, "leak"},  {"fail", 5, 5, "fail"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.verdict + std::to_string(c.kernel_drops) + std::to_string(c.if_drops));
    core::Json r{{"verdict", c.verdict}};
    MonitorSummary s;
    s.packets = 100;
    s.kernel_drops = c.kernel_drops;
    s.if_drops = c.if_drops;
    applyMonitorSummary(r, s);
    EXPECT_EQ(r["verdict"], c.want);
    EXPECT_EQ(r["monitor"]["kernel_drops"], c.kernel_drops);
    EXPECT_EQ(r["monitor"]["packets"], 100);
    EXPECT_EQ(r.contains("error"), c.want == "error");
  }
}

core::Json docWith(const std::vector<std::string>& verdicts) {
  auto doc = core::jsonDocument("vpnleak.run/1");
  core::Json results = core::Json::array();
  for (const auto& v : verdicts) results.push_back({{"verdict", v}});
  doc["scenarios"] = core::Json::array({{{"id", "x"}, {"results", results}}});
  doc["summary"] = summarize(doc["scenarios"]);
  return doc;
}

TEST(LabRunVerdict, ExitCodes) {
  EXPECT_EQ(exitCodeFor(docWith({"leak", "pass"})), 0);
  EXPECT_EQ(exitCodeFor(docWith({"pass", "pass"})), 0);
  EXPECT_EQ(exitCodeFor(docWith({"leak", "fail"})), 1);
  EXPECT_EQ(exitCodeFor(docWith({"not-reproduced", "pass"})), 1);
  EXPECT_EQ(exitCodeFor(docWith({"leak", "error"})), 4);
  const auto s = docWith({"leak", "fail", "pass", "error", "not-reproduced"})["summary"];
  EXPECT_EQ(s["cases"], 5);
  EXPECT_EQ(s["leak"], 1);
  EXPECT_EQ(s["fail"], 1);
  EXPECT_EQ(s["pass"], 1);
  EXPECT_EQ(s["error"], 1);
  EXPECT_EQ(s["not_reproduced"], 1);
}

}  // namespace
}  // namespace vpnleak::lab
