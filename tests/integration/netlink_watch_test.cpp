// Watcher: changes made with ip in a namespace arrive as typed events, promptly.
#include <gtest/gtest.h>
#include <linux/rtnetlink.h>
#include <poll.h>

#include <algorithm>
#include <chrono>
#include <deque>
#include <functional>
#include <string>
#include <vector>

#include "../support/test_support.hpp"
#include "netlink/netns.hpp"
#include "netlink/watch.hpp"
#include "netlink_test_net.hpp"

namespace vpnleak::netlink {
namespace {

using core::IpAddress;
using core::Prefix;
using std::chrono::milliseconds;
using testing::ScopedNetns;

constexpr auto kEventDeadline = std::chrono::seconds(3);

IpAddress ip(const std::string& s) { return IpAddress::parse(s).value(); }
Prefix pfx(const std::string& s) { return Prefix::parse(s).value(); }

class NetlinkWatch : public ::testing::Test {
 protected:
  void SetUp() override {
    VL_REQUIRE_ROOT();
    ns_ = std::make_unique<ScopedNetns>("nlwatch");
    testnet::ip(*ns_, {"link", "add", "name", "lan0", "type", "veth", "peer", "name", "lan1"});
    testnet::ip(*ns_, {"link", "set", "dev", "lan0", "addrgenmode", "none"});
    testnet::ip(*ns_, {"link", "set", "dev", "lan0", "up"});
    ASSERT_FALSE(HasFatalFailure());
    // Opened inside the namespace; read from outside it, as a daemon thread would.
    auto guard = NetnsGuard::enter(ns_->name());
    ASSERT_TRUE(guard.ok());
    auto w = Watcher::open();
    ASSERT_TRUE(w.ok()) << w.error().message();
    watcher_ = std::make_unique<Watcher>(std::move(*w));
  }

  // Consumes events until one matches or the deadline passes. Events read after the match
  // stay queued for the next call: one datagram often carries several (address, then routes).
  bool waitFor(const std::function<bool(const Event&)>& match) {
    const auto start = std::chrono::steady_clock::now();
    while (true) {
      while (!pending_.empty()) {
        Event e = std::move(pending_.front());
        pending_.pop_front();
        seen_.push_back(toJson(e).dump());
        if (match(e)) return true;
      }
      if (std::chrono::steady_clock::now() - start > kEventDeadline) return false;
      auto events = watcher_->read(milliseconds(100));
      EXPECT_TRUE(events.ok()) << events.error().message();
      if (!events.ok()) return false;
      for (auto& e : *events) pending_.push_back(std::move(e));
    }
  }
  std::string seen() const {
    std::string all;
    for (const auto& s : seen_) all += s + "\n";
    return all;
  }

  std::unique_ptr<ScopedNetns> ns_;
  std::unique_ptr<Watcher> watcher_;
  std::deque<Event> pending_;
  std::vector<std::string> seen_;
};

bool isAddress(const Event& e, Change change, const std::string& cidr) {
  const auto* a = std::get_if<Address>(&e.object);
  return e.kind == EventKind::kAddress && e.change == change && a != nullptr &&
         a->address.toString() == cidr && a->ifname == "lan0";
}

bool isRoute(const Event& e, Change change, const std::string& dst, std::uint32_t table) {
  const auto* r = std::get_if<Route>(&e.object);
  return e.kind == EventKind::kRoute && e.change == change && r != nullptr && r->dst == pfx(dst) &&
         r->table == table && r->oif_name == "lan0";
}

TEST_F(NetlinkWatch, AddressAddAndRemove) {
  testnet::ip(*ns_, {"addr", "add", "10.5.0.1/24", "dev", "lan0"});
  EXPECT_TRUE(waitFor([](const Event& e) { return isAddress(e, Change::kAdded, "10.5.0.1/24"); }))
      << seen();
  // The kernel's prefix route for it comes too.
  EXPECT_TRUE(waitFor([](const Event& e) {
    return isRoute(e, Change::kAdded, "10.5.0.0/24", RT_TABLE_MAIN);
  })) << seen();
  testnet::ip(*ns_, {"addr", "del", "10.5.0.1/24", "dev", "lan0"});
  EXPECT_TRUE(waitFor([](const Event& e) { return isAddress(e, Change::kRemoved, "10.5.0.1/24"); }))
      << seen();

  testnet::ip(*ns_, {"addr", "add", "fd05::1/64", "dev", "lan0", "nodad"});
  EXPECT_TRUE(waitFor([](const Event& e) { return isAddress(e, Change::kAdded, "fd05::1/64"); }))
      << seen();
  testnet::ip(*ns_, {"addr", "del", "fd05::1/64", "dev", "lan0"});
  EXPECT_TRUE(waitFor([](const Event& e) { return isAddress(e, Change::kRemoved, "fd05::1/64"); }))
      << seen();
}

TEST_F(NetlinkWatch, RouteAddAndRemoveInAnyTable) {
  testnet::ip(*ns_, {"addr", "add", "10.5.0.1/24", "dev", "lan0"});
  testnet::ip(
      *ns_, {"route", "add", "10.6.0.0/16", "via", "10.5.0.254", "dev", "lan0", "table", "51820"});
  bool gateway_ok = false;
  EXPECT_TRUE(waitFor([&](const Event& e) {
    if (!isRoute(e, Change::kAdded, "10.6.0.0/16", 51820)) return false;
    gateway_ok = std::get<Route>(e.object).gateway == ip("10.5.0.254");
    return true;
  })) << seen();
  EXPECT_TRUE(gateway_ok);
  testnet::ip(*ns_, {"route", "del", "10.6.0.0/16", "table", "51820"});
  EXPECT_TRUE(waitFor([](const Event& e) {
    return isRoute(e, Change::kRemoved, "10.6.0.0/16", 51820);
  })) << seen();

  testnet::ip(*ns_, {"-6", "route", "add", "2001:db8:6::/48", "dev", "lan0", "table", "7"});
  EXPECT_TRUE(waitFor([](const Event& e) {
    return isRoute(e, Change::kAdded, "2001:db8:6::/48", 7);
  })) << seen();
  testnet::ip(*ns_, {"-6", "route", "del", "2001:db8:6::/48", "dev", "lan0", "table", "7"});
  EXPECT_TRUE(waitFor([](const Event& e) {
    return isRoute(e, Change::kRemoved, "2001:db8:6::/48", 7);
  })) << seen();
}

TEST_F(NetlinkWatch, RulesAndLinks) {
  testnet::ip(*ns_, {"-6", "rule", "add", "not", "fwmark", "51820", "table", "51820"});
  EXPECT_TRUE(waitFor([](const Event& e) {
    const auto* r = std::get_if<Rule>(&e.object);
    return e.kind == EventKind::kRule && e.change == Change::kAdded && r != nullptr &&
           r->family == core::Family::kV6 && r->invert && r->fwmark == 51820U && r->table == 51820;
  })) << seen();

  testnet::ip(*ns_, {"link", "add", "name", "br9", "type", "bridge"});
  EXPECT_TRUE(waitFor([](const Event& e) {
    const auto* l = std::get_if<Link>(&e.object);
    return e.kind == EventKind::kLink && e.change == Change::kAdded && l != nullptr &&
           l->name == "br9" && l->kind == "bridge";
  })) << seen();
  testnet::ip(*ns_, {"link", "del", "dev", "br9"});
  EXPECT_TRUE(waitFor([](const Event& e) {
    const auto* l = std::get_if<Link>(&e.object);
    return e.kind == EventKind::kLink && e.change == Change::kRemoved && l != nullptr &&
           l->name == "br9";
  })) << seen();
}

TEST_F(NetlinkWatch, PollableAndQuietWhenNothingHappens) {
  // Drain whatever the set-up left queued.
  while (true) {
    auto e = watcher_->read(milliseconds(200));
    ASSERT_TRUE(e.ok());
    if (e->empty()) break;
  }
  const auto start = std::chrono::steady_clock::now();
  auto none = watcher_->read(milliseconds(150));
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  EXPECT_GE(std::chrono::steady_clock::now() - start, milliseconds(140));

  testnet::ip(*ns_, {"addr", "add", "10.7.0.1/24", "dev", "lan0"});
  pollfd pfd{watcher_->fd(), POLLIN, 0};
  ASSERT_EQ(::poll(&pfd, 1, 3000), 1);
  auto events = watcher_->read(milliseconds(0));
  ASSERT_TRUE(events.ok());
  EXPECT_FALSE(events->empty());
}

TEST_F(NetlinkWatch, DroppedNotificationsAreReportedAsOverflow) {
  std::unique_ptr<Watcher> small;
  {
    auto guard = NetnsGuard::enter(ns_->name());
    ASSERT_TRUE(guard.ok());
    auto w = Watcher::open(4096);
    ASSERT_TRUE(w.ok()) << w.error().message();
    small = std::make_unique<Watcher>(std::move(*w));
  }
  std::string batch;
  for (int i = 0; i < 500; ++i) {
    batch += "route add 10.77." + std::to_string(i / 250) + "." + std::to_string(i % 250) +
             "/32 dev lan0 table 77\n";
  }
  core::RunOptions opts;
  opts.input = batch;
  auto r = core::run({"ip", "-n", ns_->name(), "-batch", "-"}, opts);
  ASSERT_TRUE(r.ok() && r->ok());
  auto events = small->read(milliseconds(1000));
  ASSERT_TRUE(events.ok()) << events.error().message();
  EXPECT_TRUE(std::any_of(events->begin(), events->end(),
                          [](const Event& e) { return e.kind == EventKind::kOverflow; }));
  // The watcher goes on working after an overflow.
  while (true) {
    auto more = small->read(milliseconds(100));
    ASSERT_TRUE(more.ok());
    if (more->empty()) break;
  }
  testnet::ip(*ns_, {"route", "add", "10.78.0.0/16", "dev", "lan0", "table", "78"});
  auto after = small->read(milliseconds(3000));
  ASSERT_TRUE(after.ok());
  EXPECT_TRUE(std::any_of(after->begin(), after->end(), [](const Event& e) {
    return e.kind == EventKind::kRoute && std::get<Route>(e.object).table == 78;
  }));
}

}  // namespace
}  // namespace vpnleak::netlink
