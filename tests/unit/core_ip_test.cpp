#include <gtest/gtest.h>

#include "test_support.hpp"

#include "core/ip.hpp"

namespace vpnleak::core {
namespace {

struct ParseCase {
  const char* text;
  bool ok;
  const char* canonical;  // expected toString() when ok
};

class IpParseTest : public ::testing::TestWithParam<ParseCase> {};

TEST_P(IpParseTest, ParsesOrRejects) {
  const auto& c = GetParam();
  auto r = IpAddress::parse(c.text);
  ASSERT_EQ(r.ok(), c.ok) << c.text;
  if (c.ok) {
    EXPECT_EQ(r->toString(), c.canonical);
  } else {
    EXPECT_EQ(r.error().code, Errc::kInvalidArgument);
    EXPECT_NE(r.error().message().find(c.text), std::string::npos) << "error must name the value";
    EXPECT_EQ(r.error().exitCode(), 2);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, IpParseTest,
    ::testing::Values(ParseCase{"192.0.2.1", true, "192.0.2.1"},
                      ParseCase{"0.0.0.0", true, "0.0.0.0"},
                      ParseCase{"255.255.255.255", true, "255.255.255.255"},
                      ParseCase{"2001:db8::1", true, "2001:db8::1"},
                      ParseCase{"2001:DB8:0:0:0:0:0:1", true, "2001:db8::1"},
                      ParseCase{"::", true, "::"},
                      ParseCase{"::ffff:192.0.2.1", true, "::ffff:192.0.2.1"},
                      ParseCase{"", false, ""}, ParseCase{"256.0.0.1", false, ""},
                      ParseCase{"1.2.3", false, ""}, ParseCase{"1.2.3.4.5", false, ""},
                      ParseCase{"1.2.3.", false, ""}, ParseCase{".1.2.3", false, ""},
                      ParseCase{"01.2.3.4", false, ""}, ParseCase{"1..2.3", false, ""},
                      ParseCase{"1.2.3.4 ", false, ""}, ParseCase{"a.b.c.d", false, ""},
                      ParseCase{"2001:db8::1::2", false, ""}, ParseCase{"fe80::1%eth0", false, ""},
                      ParseCase{"2001:db8:::1", false, ""}, ParseCase{"12345::", false, ""}),
    VL_CASE_NAMES);

TEST(IpAddress, Classification) {
  auto a = [](const char* t) { return IpAddress::parse(t).value(); };
  EXPECT_TRUE(a("10.1.2.3").isPrivate());
  EXPECT_TRUE(a("172.16.0.1").isPrivate());
  EXPECT_FALSE(a("172.32.0.1").isPrivate());
  EXPECT_TRUE(a("192.168.1.1").isPrivate());
  EXPECT_TRUE(a("100.64.0.1").isPrivate());
  EXPECT_TRUE(a("fd00::1").isPrivate());
  EXPECT_FALSE(a("2001:db8::1").isPrivate());
  EXPECT_TRUE(a("127.0.0.1").isLoopback());
  EXPECT_TRUE(a("::1").isLoopback());
  EXPECT_TRUE(a("169.254.1.1").isLinkLocal());
  EXPECT_TRUE(a("fe80::1").isLinkLocal());
  EXPECT_TRUE(a("224.0.0.1").isMulticast());
  EXPECT_TRUE(a("ff02::1").isMulticast());
  EXPECT_TRUE(a("198.51.100.2").isGlobalUnicast());
  EXPECT_TRUE(a("2001:db8:77::2").isGlobalUnicast());
  EXPECT_FALSE(a("fd77::2").isGlobalUnicast());
  EXPECT_FALSE(a("0.0.0.0").isGlobalUnicast());
  EXPECT_TRUE(a("::").isUnspecified());
}

TEST(IpAddress, OrderingAndFamilies) {
  auto v4 = IpAddress::parse("0.0.0.1").value();
  auto v6 = IpAddress::parse("::1").value();
  EXPECT_NE(v4, v6);  // same low bits, different family
  EXPECT_EQ(IpAddress::v4(0xC0000201), IpAddress::parse("192.0.2.1").value());
  EXPECT_EQ(familyName(Family::kV6), "ipv6");
}

struct PrefixCase {
  const char* text;
  bool allow_host_bits;
  bool ok;
  const char* canonical;
};

class PrefixParseTest : public ::testing::TestWithParam<PrefixCase> {};

TEST_P(PrefixParseTest, ParsesOrRejects) {
  const auto& c = GetParam();
  auto r = Prefix::parse(c.text, c.allow_host_bits);
  ASSERT_EQ(r.ok(), c.ok) << c.text;
  if (c.ok) {
    EXPECT_EQ(r->toString(), c.canonical);
  } else {
    EXPECT_NE(r.error().message().find(c.text), std::string::npos);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, PrefixParseTest,
    ::testing::Values(
        PrefixCase{"10.0.0.0/8", false, true, "10.0.0.0/8"},
        PrefixCase{"0.0.0.0/0", false, true, "0.0.0.0/0"},
        PrefixCase{"192.0.2.1", false, true, "192.0.2.1/32"},
        PrefixCase{"2001:db8::/32", false, true, "2001:db8::/32"},
        PrefixCase{"::/0", false, true, "::/0"}, PrefixCase{"10.1.2.3/8", true, true, "10.0.0.0/8"},
        PrefixCase{"10.1.2.3/8", false, false, ""}, PrefixCase{"10.0.0.0/33", false, false, ""},
        PrefixCase{"2001:db8::/129", false, false, ""}, PrefixCase{"10.0.0.0/", false, false, ""},
        PrefixCase{"10.0.0.0/-1", false, false, ""}, PrefixCase{"10.0.0.0/8x", false, false, ""},
        PrefixCase{"/8", false, false, ""}, PrefixCase{"garbage", false, false, ""}),
    VL_CASE_NAMES);

TEST(Prefix, Containment) {
  auto p = [](const char* t) { return Prefix::parse(t).value(); };
  auto a = [](const char* t) { return IpAddress::parse(t).value(); };
  EXPECT_TRUE(p("10.0.0.0/8").contains(a("10.255.1.1")));
  EXPECT_FALSE(p("10.0.0.0/8").contains(a("11.0.0.0")));
  EXPECT_TRUE(p("0.0.0.0/0").contains(a("203.0.113.9")));
  EXPECT_FALSE(p("0.0.0.0/0").contains(a("::1")));  // never across families
  EXPECT_TRUE(p("::/0").contains(a("2001:db8::1")));
  EXPECT_TRUE(p("2001:db8::/32").contains(p("2001:db8:77::/64")));
  EXPECT_FALSE(p("2001:db8:77::/64").contains(p("2001:db8::/32")));
  EXPECT_TRUE(p("192.168.0.0/23").contains(a("192.168.1.255")));
  EXPECT_FALSE(p("192.168.0.0/23").contains(a("192.168.2.0")));
  EXPECT_TRUE(p("10.0.0.0/8").overlaps(p("10.1.0.0/16")));
  EXPECT_TRUE(p("10.1.0.0/16").overlaps(p("10.0.0.0/8")));
  EXPECT_FALSE(p("10.1.0.0/16").overlaps(p("10.2.0.0/16")));
  EXPECT_TRUE(Prefix::any(Family::kV6).isDefault());
  EXPECT_FALSE(Prefix::make(a("10.0.0.0"), 40).ok());
}

TEST(Endpoint, ParseAndFormat) {
  auto e = Endpoint::parse("203.0.113.2:51820");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->port, 51820);
  EXPECT_EQ(e->toString(), "203.0.113.2:51820");
  auto e6 = Endpoint::parse("[2001:db8::1]:443");
  ASSERT_TRUE(e6.ok());
  EXPECT_EQ(e6->toString(), "[2001:db8::1]:443");
  for (const char* bad : {"203.0.113.2", "203.0.113.2:", "203.0.113.2:65536", "2001:db8::1:443",
                          "[2001:db8::1]443", "[2001:db8::1:443", ":80", "host:80", "1.2.3.4:8o"}) {
    auto r = Endpoint::parse(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_NE(r.error().message().find(bad), std::string::npos);
    }
  }
}

}  // namespace
}  // namespace vpnleak::core
