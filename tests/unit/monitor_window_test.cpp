// Leak windows: bursts split at the gap, out-of-order packets, expiry as time passes.
#include <gtest/gtest.h>

#include "monitor/window.hpp"

namespace vpnleak::monitor {
namespace {

using std::chrono::milliseconds;

Timestamp at(std::int64_t ms) { return Timestamp(milliseconds(1'700'000'000'000LL + ms)); }

TEST(MonitorWindow, SplitsBurstsAtTheGap) {
  WindowTracker t(milliseconds(100));
  EXPECT_FALSE(t.add(at(0), 100, Reason::kDns));
  EXPECT_FALSE(t.add(at(50), 60, Reason::kIpv4));
  EXPECT_FALSE(t.add(at(150), 60, Reason::kIpv4));  // exactly the gap: still the same burst
  auto w = t.add(at(251), 10, Reason::kIpv6);       // more than the gap: the first one closes
  ASSERT_TRUE(w);
  EXPECT_EQ(w->first, at(0));
  EXPECT_EQ(w->last, at(150));
  EXPECT_EQ(w->duration(), milliseconds(150));
  EXPECT_EQ(w->packets, 3U);
  EXPECT_EQ(w->bytes, 220U);
  EXPECT_EQ(w->reasons[static_cast<std::size_t>(Reason::kDns)], 1U);
  EXPECT_EQ(w->reasons[static_cast<std::size_t>(Reason::kIpv4)], 2U);
  EXPECT_TRUE(t.isOpen());
  auto last = t.finish();
  ASSERT_TRUE(last);
  EXPECT_EQ(last->packets, 1U);
  EXPECT_EQ(last->duration(), milliseconds(0));
  EXPECT_FALSE(t.finish());
  EXPECT_EQ(t.closedCount(), 2U);
}

TEST(MonitorWindow, ExpiresOnlyAfterTheGap) {
  WindowTracker t(milliseconds(100));
  EXPECT_FALSE(t.expire(at(1000)));  // nothing open
  t.add(at(0), 1, Reason::kIpv4);
  EXPECT_FALSE(t.expire(at(100)));
  auto w = t.expire(at(101));
  ASSERT_TRUE(w);
  EXPECT_EQ(w->packets, 1U);
  EXPECT_FALSE(t.isOpen());
  EXPECT_FALSE(t.expire(at(500)));
}

TEST(MonitorWindow, OutOfOrderPacketsWidenTheWindow) {
  WindowTracker t(milliseconds(100));
  t.add(at(50), 1, Reason::kIpv4);
  t.add(at(40), 1, Reason::kIpv4);  // another interface's packet, read a little later
  t.add(at(60), 1, Reason::kIpv4);
  auto w = t.finish();
  ASSERT_TRUE(w);
  EXPECT_EQ(w->first, at(40));
  EXPECT_EQ(w->last, at(60));
}

}  // namespace
}  // namespace vpnleak::monitor
