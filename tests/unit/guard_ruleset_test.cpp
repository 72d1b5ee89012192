// Golden tests: the generated ruleset for each reviewed config equals tests/data/guard/NAME.nft.
// After an intended change, regenerate with VPNLEAK_UPDATE_GOLDEN=1 and review the diff.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "guard_golden_cases.hpp"

namespace vpnleak::guard {
namespace {

using testing::GoldenCase;

std::string readFile(const std::filesystem::path& p) {
  std::ifstream f(p);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

class GuardGolden : public ::testing::TestWithParam<GoldenCase> {};

TEST_P(GuardGolden, MatchesReviewedFile) {
  const auto& c = GetParam();
  const auto path = testing::goldenDir() / (c.name + ".nft");
  const std::string got = generateRuleset(c.config, c.options);
  if (std::getenv("VPNLEAK_UPDATE_GOLDEN") != nullptr) {
    std::ofstream(path) << got;
  }
  ASSERT_TRUE(std::filesystem::exists(path)) << path;
  EXPECT_EQ(got, readFile(path)) << "regenerate with VPNLEAK_UPDATE_GOLDEN=1 and review";
}

INSTANTIATE_TEST_SUITE_P(Configs, GuardGolden, ::testing::ValuesIn(testing::goldenCases()),
                         [](const auto& golden) { return golden.param.name; });

TEST(GuardRuleset, IsDeterministicAndOrderIndependent) {
  auto a = testing::wgBase();
  a.endpoints = {testing::ep("198.51.100.1:1"), testing::ep("198.51.100.2:2")};
  auto b = a;
  std::swap(b.endpoints[0], b.endpoints[1]);
  b.endpoints.push_back(b.endpoints[0]);
  EXPECT_EQ(generateRuleset(normalized(a)), generateRuleset(normalized(b)));
}

TEST(GuardRuleset, UsesSetsSoRuleCountIsFlatInEndpointsAndLan) {
  auto small = testing::wgBase();
  auto large = small;
  large.allow_lan = true;
  for (int i = 0; i < 200; ++i) {
    large.endpoints.push_back(testing::ep(
        ("198.51.100." + std::to_string(i % 250) + ":" + std::to_string(1000 + i)).c_str()));
    large.lan.push_back(testing::pre(("10." + std::to_string(i) + ".0.0/16").c_str()));
  }
  const auto countRules = [](const std::string& text) {
    std::istringstream in(text);
    std::string line;
    int n = 0;
    while (std::getline(in, line)) {
      if (line.rfind("\t\t", 0) == 0 && line.find("type ") == std::string::npos &&
          line.find("elements") == std::string::npos && line.find("flags") == std::string::npos) {
        ++n;
      }
    }
    return n;
  };
  EXPECT_EQ(countRules(generateRuleset(normalized(small))),
            countRules(generateRuleset(normalized(large))));
}

TEST(GuardRuleset, ReplacesAtomicallyAndNamesEveryReasonCounter) {
  const auto text = generateRuleset(testing::wgBase());
  const auto create = text.find("table inet vpnleak {}\n");
  const auto del = text.find("delete table inet vpnleak\n");
  ASSERT_NE(create, std::string::npos);
  ASSERT_NE(del, std::string::npos);
  EXPECT_LT(create, del);
  for (const auto& r : dropReasons()) {
    EXPECT_NE(text.find("counter drop_" + std::string(r.name) + " {"), std::string::npos) << r.name;
  }
  EXPECT_EQ(removeCommand(), "table inet vpnleak {}\ndelete table inet vpnleak\n");
}

TEST(GuardRuleset, NeverDependsOnRoutes) {
  // Rules match interfaces, addresses and marks: nothing a DHCP-pushed route can change.
  for (const auto& c : testing::goldenCases()) {
    const auto text = generateRuleset(c.config, c.options);
    EXPECT_EQ(text.find(" rt "), std::string::npos) << c.name;
    EXPECT_EQ(text.find("fib daddr oif"), std::string::npos) << c.name;
  }
}

}  // namespace
}  // namespace vpnleak::guard
