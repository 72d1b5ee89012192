// lookupRoute against `ip route get` for a table of destinations in a wg-quick-like namespace:
// the same interface, gateway, source, table and type, or the same error.
#include <gtest/gtest.h>
#include <linux/rtnetlink.h>
#include <net/if.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "../support/test_support.hpp"
#include "netlink/netns.hpp"
#include "netlink/route_lookup.hpp"
#include "netlink_test_net.hpp"

namespace vpnleak::netlink {
namespace {

using core::IpAddress;
using core::Json;
using testing::ScopedNetns;

IpAddress ip(const std::string& s) { return IpAddress::parse(s).value(); }

struct LookupCase {
  std::string dst;
  std::string from;  // "" for none
  std::optional<std::uint32_t> mark;
  std::optional<std::uint32_t> uid;
  std::string oif;  // "" for none
  // What we expect, besides agreeing with ip: the interface ("" when the lookup fails).
  std::string want_dev;
};

std::string describe(const LookupCase& c) {
  std::string s = c.dst;
  if (!c.from.empty()) s += " from " + c.from;
  if (c.mark) s += " mark " + std::to_string(*c.mark);
  if (c.uid) s += " uid " + std::to_string(*c.uid);
  if (!c.oif.empty()) s += " oif " + c.oif;
  return s;
}

const std::vector<LookupCase>& cases() {
  static const std::vector<LookupCase> kCases = {
      // The tunnel catches everything not marked...
      {"1.1.1.1", "", {}, {}, "", "wg0"},
      {"2001:db8::1", "", {}, {}, "", "wg0"},
      // ...while the tunnel's own (marked) packets take the physical route.
      {"1.1.1.1", "", 51820, {}, "", "lan0"},
      {"2001:db8::1", "", 51820, {}, "", "lan0"},
      // suppress_prefixlength 0 keeps main's more specific routes: the LAN stays on the LAN.
      {"10.0.0.5", "", {}, {}, "", "lan0"},
      {"10.0.0.5", "", 51820, {}, "", "lan0"},
      {"fd00::5", "", {}, {}, "", "lan0"},
      {"192.168.7.9", "", {}, {}, "", "lan0"},
      // Local addresses.
      {"10.0.0.1", "", {}, {}, "", "lo"},
      {"fd02::2", "", {}, {}, "", "lo"},
      // uidrange 2000-2999 -> table 200.
      {"1.1.1.1", "", {}, 2500, "", "lan0"},
      {"1.1.1.1", "", {}, 1000, "", "wg0"},
      {"2001:db8::1", "", {}, 2500, "", "lan0"},
      // A socket bound to an interface.
      {"1.1.1.1", "", {}, {}, "lan0", "lan0"},
      {"1.1.1.1", "", {}, {}, "wg0", "wg0"},
      {"2001:db8::1", "", {}, {}, "lan0", "lan0"},
      // A given source address.
      {"1.1.1.1", "10.0.0.1", {}, {}, "", "wg0"},
      {"1.1.1.1", "10.0.0.1", 51820, {}, "", "lan0"},
      {"2001:db8::1", "fd00::1", {}, {}, "", "wg0"},
      // fwmark 0x10/0xff -> table 100, which has no default: falls through to the next rules.
      {"1.1.1.1", "", 0x110, {}, "", "wg0"},
      // Reject routes and rules: errors, as ip reports them.
      {"203.0.113.7", "", {}, {}, "", ""},
      {"198.51.100.7", "", {}, {}, "", ""},
      {"192.0.2.7", "", {}, {}, "", ""},
      {"100.64.1.7", "", {}, {}, "", ""},
      {"2001:db8:dead::7", "", {}, {}, "", ""},
      // Bound to the tunnel with the bypass mark: no route matches, and the kernel then takes
      // the destination as on-link on the bound interface.
      {"8.8.8.8", "", 51820, {}, "wg0", "wg0"},
  };
  return kCases;
}

std::vector<std::string> ipArgs(const LookupCase& c) {
  std::vector<std::string> args{"route", "get", c.dst};
  if (!c.from.empty()) args.insert(args.end(), {"from", c.from});
  if (c.mark) args.insert(args.end(), {"mark", std::to_string(*c.mark)});
  if (c.uid) args.insert(args.end(), {"uid", std::to_string(*c.uid)});
  if (!c.oif.empty()) args.insert(args.end(), {"oif", c.oif});
  return args;
}

class NetlinkRouteLookup : public ::testing::Test {
 protected:
  void SetUp() override {
    VL_REQUIRE_ROOT();
    ns_ = std::make_unique<ScopedNetns>("nlroute");
    testnet::build(*ns_);
    ASSERT_FALSE(HasFatalFailure());
  }
  std::unique_ptr<ScopedNetns> ns_;
};

TEST_F(NetlinkRouteLookup, AgreesWithIpRouteGet) {
  for (const auto& c : cases()) {
    SCOPED_TRACE(describe(c));
    std::string ip_err;
    const Json answer = testnet::ipJson(*ns_, ipArgs(c), &ip_err);

    auto guard = NetnsGuard::enter(ns_->name());
    ASSERT_TRUE(guard.ok());
    RouteQuery q;
    q.dst = ip(c.dst);
    if (!c.from.empty()) q.src = ip(c.from);
    q.mark = c.mark;
    q.uid = c.uid;
    if (!c.oif.empty()) q.oif = static_cast<int>(::if_nametoindex(c.oif.c_str()));
    auto got = lookupRoute(q);

    if (answer.is_null()) {
      ASSERT_FALSE(got.ok()) << "ip failed (" << ip_err << ") but we got " << toJson(*got).dump();
      EXPECT_TRUE(isNoRouteError(got.error())) << got.error().message();
      EXPECT_NE(ip_err.find(std::strerror(got.error().sys_errno)), std::string::npos)
          << "ip: " << ip_err << " we: " << got.error().message();
      EXPECT_EQ(c.want_dev, "");
      continue;
    }
    ASSERT_TRUE(got.ok()) << got.error().message() << "; ip said " << answer.dump();
    ASSERT_EQ(answer.size(), 1U);
    const Json& j = answer[0];
    EXPECT_EQ(got->oif_name, j.value("dev", "")) << answer.dump();
    EXPECT_EQ(got->oif_name, c.want_dev);
    EXPECT_EQ(got->gateway ? got->gateway->toString() : "", j.value("gateway", ""));
    EXPECT_EQ(got->prefsrc ? got->prefsrc->toString() : "", j.value("prefsrc", ""));
    // ip leaves out main, and 0: no table decided (an oif with no route is assumed on-link).
    if (j.contains("table")) {
      EXPECT_EQ(tableName(got->table), j["table"].get<std::string>());
    } else {
      EXPECT_TRUE(got->table == RT_TABLE_MAIN || got->table == RT_TABLE_UNSPEC) << got->table;
    }
    EXPECT_EQ(routeTypeName(got->type), j.value("type", "unicast"));
    EXPECT_EQ(got->dst, ip(c.dst));
    if (c.dst.find(':') == std::string::npos) {
      // ip prints the uid and mark the kernel echoed (IPv4 only).
      EXPECT_EQ(got->uid.value_or(0), j.value("uid", 0U));
      EXPECT_EQ(got->mark.value_or(0), j.value("mark", 0U));
    }
  }
}

TEST_F(NetlinkRouteLookup, ExplicitDecisions) {
  auto guard = NetnsGuard::enter(ns_->name());
  ASSERT_TRUE(guard.ok());
  RouteQuery q;
  q.dst = ip("1.1.1.1");
  auto tunnel = lookupRoute(q);
  ASSERT_TRUE(tunnel.ok()) << tunnel.error().message();
  EXPECT_EQ(tunnel->table, 51820U);
  EXPECT_EQ(tunnel->oif_name, "wg0");
  EXPECT_EQ(tunnel->prefsrc, ip("10.2.0.2"));
  EXPECT_FALSE(tunnel->gateway);

  q.mark = 51820;
  auto physical = lookupRoute(q);
  ASSERT_TRUE(physical.ok());
  EXPECT_EQ(physical->table, static_cast<std::uint32_t>(RT_TABLE_MAIN));
  EXPECT_EQ(physical->gateway, ip("10.0.0.254"));
  EXPECT_EQ(physical->prefsrc, ip("10.0.0.1"));

  RouteQuery local;
  local.dst = ip("10.0.0.1");
  auto l = lookupRoute(local);
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->type, RouteType::kLocal);
  EXPECT_EQ(l->table, static_cast<std::uint32_t>(RT_TABLE_LOCAL));

  RouteQuery prohibited;
  prohibited.dst = ip("192.0.2.1");
  auto p = lookupRoute(prohibited);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error().sys_errno, EACCES);
  EXPECT_NE(p.error().message().find("192.0.2.1"), std::string::npos) << p.error().message();

  RouteQuery mixed;
  mixed.dst = ip("1.1.1.1");
  mixed.src = ip("fd00::1");
  auto m = lookupRoute(mixed);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().code, core::Errc::kInvalidArgument);
}

TEST_F(NetlinkRouteLookup, OneSocketManyLookups) {
  auto guard = NetnsGuard::enter(ns_->name());
  ASSERT_TRUE(guard.ok());
  auto sock = MnlSocket::open();
  ASSERT_TRUE(sock.ok());
  // Errors in between must not leave stale replies that break the next lookup.
  for (int i = 0; i < 50; ++i) {
    RouteQuery q;
    q.dst = ip(i % 2 == 0 ? "1.1.1.1" : "203.0.113.9");
    auto d = lookupRoute(*sock, q);
    EXPECT_EQ(d.ok(), i % 2 == 0) << (d ? "" : d.error().message());
  }
}

}  // namespace
}  // namespace vpnleak::netlink
