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
