// `lab run`'s pure arithmetic: tcpdump timestamps, windows per run, median/p95/max.
#include <gtest/gtest.h>

#include "lab/measure.hpp"

namespace vpnleak::lab {
namespace {

TEST(LabRunMeasure, ParsesTcpdumpTimestamps) {
  const std::string text =
      "1700000000.123456 IP 192.168.77.2.40000 > 192.0.2.10.9: UDP, length 15\n"
      "reading from file x.pcap, link-type EN10MB (Ethernet)\n"
      "\n"
      "1700000000.5 IP6 2001:db8:77::2 > 2001:db8:192::10: ICMP6, echo request\n";
  const auto t = parseTcpdumpTimes(text);
  ASSERT_EQ(t.size(), 2U);
  EXPECT_DOUBLE_EQ(t[0], 1700000000.123456);
  EXPECT_DOUBLE_EQ(t[1], 1700000000.5);
}

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

TEST(LabRunMeasure, LeakFilterExcludesTheTunnelDhcpAndNdp) {
  const auto f = leakFilter(core::Endpoint{core::IpAddress::parse("203.0.113.2").value(), 51820});
  EXPECT_NE(f.find("not (udp and host 203.0.113.2 and port 51820)"), std::string::npos);
  EXPECT_NE(f.find("port 67 or port 68"), std::string::npos);
  EXPECT_NE(f.find("ip6[40] >= 133"), std::string::npos);
  EXPECT_NE(f.find("not dst net ff02::/16"), std::string::npos);
}

}  // namespace
}  // namespace vpnleak::lab
