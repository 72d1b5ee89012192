// `lab run`'s pure arithmetic: windows per run, median/p95/max.
#include <gtest/gtest.h>

#include "lab/measure.hpp"

namespace vpnleak::lab {
namespace {

TEST(LabRunMeasure, RunWindowCountsOnlyPacketsAfterItsFault) {
  struct Case {
    std::vector<double> times;
    double fault, end;
    std::uint64_t leaked;
    std::optional<double> first, last;
  };
  const std::vector<Case> cases{
      {{}, 10.0, 20.0, 0, std::nullopt, std::nullopt},
      {{9.9, 20.0, 25.0}, 10.0, 20.0, 0, std::nullopt, std::nullopt},
      {{10.010, 10.5, 9.0}, 10.0, 20.0, 2, 10.0, 500.0},
      {{10.0}, 10.0, 20.0, 1, 0.0, 0.0},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE(i);
    const auto& c = cases[i];
    const auto m = measureRun(c.times, c.fault, c.end);
    EXPECT_EQ(m.leaked, c.leaked);
    ASSERT_EQ(m.first_ms.has_value(), c.first.has_value());
    if (c.first) {
      EXPECT_NEAR(*m.first_ms, *c.first, 0.01);
      EXPECT_NEAR(*m.last_ms, *c.last, 0.01);
    }
  }
}

TEST(LabRunMeasure, WindowStatistics) {
  struct Case {
    std::vector<double> values;
    double median, p95, max;
  };
  std::vector<double> hundred;
  for (int i = 1; i <= 100; ++i) hundred.push_back(i);
  const std::vector<Case> cases{
      {{}, 0, 0, 0},
      {{42}, 42, 42, 42},
      {{30, 10, 20}, 20, 30, 30},
      {{10, 20, 30, 40}, 25, 40, 40},
      {hundred, 50.5, 95, 100},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE(i);
    const auto s = windowStats(cases[i].values);
    EXPECT_DOUBLE_EQ(s.median_ms, cases[i].median);
    EXPECT_DOUBLE_EQ(s.p95_ms, cases[i].p95);
    EXPECT_DOUBLE_EQ(s.max_ms, cases[i].max);
  }
}

}  // namespace
}  // namespace vpnleak::lab
