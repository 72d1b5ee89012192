// listLinks/listAddresses/listRoutes/listRules/takeSnapshot inside a namespace configured like
// wg-quick: what was configured is there, exactly, and everything agrees with iproute2.
#include <gtest/gtest.h>
#include <linux/fib_rules.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "../support/test_support.hpp"
#include "netlink/dump.hpp"
#include "netlink/netns.hpp"
#include "netlink_test_net.hpp"

namespace vpnleak::netlink {
namespace {

using core::Family;
using core::IpAddress;
using core::Json;
using core::Prefix;
using testing::ScopedNetns;

IpAddress ip(const std::string& s) { return IpAddress::parse(s).value(); }
Prefix pfx(const std::string& s) { return Prefix::parse(s).value(); }

std::vector<std::string> sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

// A field of ip's JSON as a number, with ip's default when it leaves the field out.
unsigned long num(const Json& j, const char* key, unsigned long absent) {
  if (!j.contains(key)) return absent;
  if (j[key].is_number()) return j[key].get<unsigned long>();
  return std::stoul(j[key].get<std::string>(), nullptr, 0);
}
std::string str(const Json& j, const char* key) {
  return j.contains(key) ? j[key].get<std::string>() : std::string();
}

// ---- canonical forms, one line per object, from our values and from `ip -N -j` ----

std::string routeKey(Family f, unsigned long table, unsigned long type, const std::string& dst,
                     const std::string& gw, const std::string& dev, unsigned long metric,
                     const std::string& prefsrc, unsigned long proto, unsigned long scope) {
  return std::string(core::familyName(f)) + " t" + std::to_string(table) + " type" +
         std::to_string(type) + " " + dst + " via[" + gw + "] dev[" + dev + "] metric" +
         std::to_string(metric) + " src[" + prefsrc + "] proto" + std::to_string(proto) + " scope" +
         std::to_string(scope);
}

std::string routeKey(const Route& r) {
  return routeKey(r.family, r.table, static_cast<unsigned long>(r.type), r.dst.toString(),
                  r.gateway ? r.gateway->toString() : "", r.oif_name, r.priority,
                  r.prefsrc ? r.prefsrc->toString() : "", r.protocol,
                  static_cast<unsigned long>(r.scope));
}

std::string ipDst(const Json& j, Family f) {
  const std::string dst = str(j, "dst");
  if (dst == "default") return Prefix::any(f).toString();
  return Prefix::parse(dst).value().toString();  // host routes come without "/32"
}

std::vector<std::string> ipRouteKeys(const ScopedNetns& ns) {
  std::vector<std::string> keys;
  for (auto [flag, fam] : {std::pair{"-4", Family::kV4}, std::pair{"-6", Family::kV6}}) {
    const Json routes = testnet::ipJson(ns, {"-N", flag, "route", "show", "table", "all"});
    for (const auto& j : routes) {
      keys.push_back(routeKey(fam, num(j, "table", RT_TABLE_MAIN), num(j, "type", RTN_UNICAST),
                              ipDst(j, fam), str(j, "gateway"), str(j, "dev"), num(j, "metric", 0),
                              str(j, "prefsrc"), num(j, "protocol", RTPROT_BOOT),
                              num(j, "scope", RT_SCOPE_UNIVERSE)));
    }
  }
  return sorted(keys);
}

std::string ruleKey(const Rule& r) {
  std::string k = std::string(core::familyName(r.family)) + " pref" + std::to_string(r.priority);
  k += " action" + std::to_string(static_cast<int>(r.action));
  if (r.action == RuleAction::kToTable) k += " table" + std::to_string(r.table);
  if (r.invert) k += " not";
  if (r.fwmark) k += " fwmark" + std::to_string(*r.fwmark) + "/" + std::to_string(r.fwmask);
  if (r.src) k += " from" + r.src->toString();
  if (r.dst) k += " to" + r.dst->toString();
  if (!r.iifname.empty()) k += " iif" + r.iifname;
  if (!r.oifname.empty()) k += " oif" + r.oifname;
  if (r.uid_range) {
    k += " uid" + std::to_string(r.uid_range->start) + "-" + std::to_string(r.uid_range->end);
  }
  if (r.suppress_prefixlen >= 0) k += " spl" + std::to_string(r.suppress_prefixlen);
  if (r.suppress_ifgroup >= 0) k += " sig" + std::to_string(r.suppress_ifgroup);
  return k;
}

std::vector<std::string> ipRuleKeys(const ScopedNetns& ns) {
  std::vector<Rule> rules;
  for (auto [flag, fam] : {std::pair{"-4", Family::kV4}, std::pair{"-6", Family::kV6}}) {
    for (const auto& j : testnet::ipJson(ns, {"-N", flag, "rule", "show"})) {
      Rule r;
      r.family = fam;
      r.priority = static_cast<std::uint32_t>(num(j, "priority", 0));
      r.action = static_cast<RuleAction>(num(j, "action", FR_ACT_TO_TBL));
      r.table = static_cast<std::uint32_t>(num(j, "table", 0));
      r.invert = j.contains("not");
      if (j.contains("fwmark")) {
        r.fwmark = static_cast<std::uint32_t>(num(j, "fwmark", 0));
        r.fwmask = static_cast<std::uint32_t>(num(j, "fwmask", 0xffffffffUL));
      }
      if (str(j, "src") != "all") {
        r.src = Prefix::make(ip(str(j, "src")), static_cast<int>(num(j, "srclen", 0))).value();
      }
      if (j.contains("dst")) {
        r.dst = Prefix::make(ip(str(j, "dst")), static_cast<int>(num(j, "dstlen", 0))).value();
      }
      r.iifname = str(j, "iif");
      r.oifname = str(j, "oif");
      if (j.contains("uid_start")) {
        r.uid_range = UidRange{static_cast<std::uint32_t>(num(j, "uid_start", 0)),
                               static_cast<std::uint32_t>(num(j, "uid_end", 0))};
      }
      r.suppress_prefixlen = static_cast<int>(num(j, "suppress_prefixlen", -1UL));
      r.suppress_ifgroup = static_cast<int>(num(j, "suppress_ifgroup", -1UL));
      rules.push_back(r);
    }
  }
  std::vector<std::string> keys;
  for (const auto& r : rules) keys.push_back(ruleKey(r));
  return sorted(keys);
}

std::string addressKey(const Address& a) {
  return std::to_string(a.ifindex) + " " + a.ifname.value_or("?") + " " + a.address.toString() +
         " peer[" + (a.peer ? a.peer->toString() : "") + "] scope" + std::to_string(a.scope) +
         " label[" + a.label + "] nodad" + std::to_string((a.flags & IFA_F_NODAD) != 0) +
         " tentative" + std::to_string(a.tentative());
}

std::vector<std::string> ipAddressKeys(const ScopedNetns& ns) {
  std::vector<std::string> keys;
  for (const auto& link : testnet::ipJson(ns, {"-N", "addr", "show"})) {
    for (const auto& j : link["addr_info"]) {
      const Family fam = str(j, "family") == "inet" ? Family::kV4 : Family::kV6;
      Address a;
      a.family = fam;
      a.ifindex = link["ifindex"].get<int>();
      a.ifname = link["ifname"].get<std::string>();
      a.address = Cidr{ip(str(j, "local")), j["prefixlen"].get<int>()};
      if (j.contains("address")) a.peer = ip(str(j, "address"));
      a.scope = static_cast<std::uint8_t>(num(j, "scope", 0));
      a.label = fam == Family::kV4 ? str(j, "label") : "";
      if (j.contains("nodad")) a.flags |= IFA_F_NODAD;
      if (j.contains("tentative")) a.flags |= IFA_F_TENTATIVE;
      keys.push_back(addressKey(a));
    }
  }
  return sorted(keys);
}

class NetlinkDump : public ::testing::Test {
 protected:
  void SetUp() override {
    VL_REQUIRE_ROOT();
    ns_ = std::make_unique<ScopedNetns>("nldump");
    net_ = testnet::build(*ns_);
    ASSERT_FALSE(HasFatalFailure());
  }
  // Runs f inside the namespace, on this thread.
  template <typename F>
  auto inNs(F&& f) {
    auto guard = NetnsGuard::enter(ns_->name());
    EXPECT_TRUE(guard.ok()) << guard.error().message();
    return f();
  }

  std::unique_ptr<ScopedNetns> ns_;
  testnet::Net net_;
};

TEST_F(NetlinkDump, LinksAreExactlyTheConfiguredOnes) {
  auto links = inNs([] { return listLinks(); });
  ASSERT_TRUE(links.ok()) << links.error().message();
  std::vector<std::string> names;
  for (const auto& l : *links) names.push_back(l.name);
  EXPECT_EQ(sorted(names), (std::vector<std::string>{"lan0", "lan1", "lo", "wg0"}));

  const Json ip_links = testnet::ipJson(*ns_, {"-d", "link", "show"});
  ASSERT_EQ(ip_links.size(), links->size());
  for (const auto& j : ip_links) {
    const std::string name = str(j, "ifname");
    auto it =
        std::find_if(links->begin(), links->end(), [&](const Link& l) { return l.name == name; });
    ASSERT_NE(it, links->end()) << name;
    EXPECT_EQ(it->index, j["ifindex"].get<int>()) << name;
    EXPECT_EQ(it->mtu, j["mtu"].get<std::uint32_t>()) << name;
    EXPECT_EQ(it->mac, str(j, "address")) << name;
    const std::string kind = j.contains("linkinfo") ? str(j["linkinfo"], "info_kind") : "";
    EXPECT_EQ(it->kind, kind) << name;
    std::string oper = str(j, "operstate");
    std::transform(oper.begin(), oper.end(), oper.begin(), ::tolower);
    EXPECT_EQ(operStateName(it->operstate), oper) << name;
  }
  auto find = [&](const std::string& n) {
    return *std::find_if(links->begin(), links->end(), [&](const Link& l) { return l.name == n; });
  };
  EXPECT_EQ(find("lan0").kind, "veth");
  EXPECT_TRUE(find("lan0").up);
  EXPECT_TRUE(find("lan0").lower_up);
  EXPECT_EQ(find("wg0").kind, net_.tunnel_kind);
  EXPECT_EQ(find("wg0").mtu, 1420U);
  EXPECT_EQ(find("lo").kind, "");
}

TEST_F(NetlinkDump, AddressesAreExactlyTheConfiguredOnes) {
  auto addrs = inNs([] { return listAddresses(); });
  ASSERT_TRUE(addrs.ok()) << addrs.error().message();
  std::vector<std::string> got;
  for (const auto& a : *addrs) got.push_back(a.ifname.value_or("?") + " " + a.address.toString());
  EXPECT_EQ(sorted(got),
            (std::vector<std::string>{"lan0 10.0.0.1/24", "lan0 fd00::1/64", "lan1 192.168.50.1/32",
                                      "lo 127.0.0.1/8", "lo ::1/128", "wg0 10.2.0.2/32",
                                      "wg0 fd02::2/128"}));
  for (const auto& a : *addrs) {
    EXPECT_TRUE(a.permanent()) << a.address.toString();
    EXPECT_FALSE(a.tentative()) << a.address.toString();
    if (a.address.address == ip("192.168.50.1")) {
      EXPECT_EQ(a.peer, ip("192.168.50.2"));
    }
    if (a.address.address == ip("fd00::1")) {
      EXPECT_NE(a.flags & IFA_F_NODAD, 0U);
    }
  }
  std::vector<std::string> ours;
  for (const auto& a : *addrs) ours.push_back(addressKey(a));
  EXPECT_EQ(sorted(ours), ipAddressKeys(*ns_));
}

TEST_F(NetlinkDump, RoutesOfEveryTableAgreeWithIproute2) {
  auto routes = inNs([] { return listRoutes(); });
  ASSERT_TRUE(routes.ok()) << routes.error().message();
  std::vector<std::string> ours;
  for (const auto& r : *routes) ours.push_back(routeKey(r));
  EXPECT_EQ(sorted(ours), ipRouteKeys(*ns_));

  auto has = [&](auto pred) { return std::any_of(routes->begin(), routes->end(), pred); };
  EXPECT_TRUE(has([](const Route& r) {
    return r.table == 51820 && r.family == Family::kV4 && r.dst.isDefault() &&
           r.oif_name == "wg0" && !r.gateway;
  }));
  EXPECT_TRUE(has([](const Route& r) {
    return r.table == 51820 && r.family == Family::kV6 && r.dst.isDefault() && r.oif_name == "wg0";
  }));
  EXPECT_TRUE(has([](const Route& r) {
    return r.table == RT_TABLE_MAIN && r.dst.isDefault() && r.gateway == ip("10.0.0.254") &&
           r.oif_name == "lan0" && r.priority == 100;
  }));
  EXPECT_TRUE(has([](const Route& r) {
    return r.dst == pfx("192.168.7.0/24") && r.gateway == ip("10.0.0.253") &&
           r.protocol == RTPROT_STATIC && r.priority == 50;
  }));
  EXPECT_TRUE(has([](const Route& r) {
    return r.table == 3000000000U && r.dst == pfx("172.16.0.0/12") && r.scope == Scope::kLink;
  }));
  EXPECT_TRUE(has([](const Route& r) {
    return r.table == 100 && r.type == RouteType::kBlackhole && r.dst == pfx("203.0.113.0/24");
  }));
  EXPECT_TRUE(has([](const Route& r) {
    return r.table == 100 && r.type == RouteType::kProhibit && r.dst == pfx("192.0.2.0/24");
  }));
  EXPECT_TRUE(has([](const Route& r) {
    return r.table == 100 && r.type == RouteType::kUnreachable &&
           r.dst == pfx("2001:db8:dead::/48");
  }));
  EXPECT_TRUE(has([](const Route& r) {
    return r.table == RT_TABLE_LOCAL && r.type == RouteType::kLocal && r.dst == pfx("10.2.0.2/32");
  }));
}

TEST_F(NetlinkDump, RulesOfBothFamiliesAgreeWithIproute2) {
  auto rules = inNs([] { return listRules(); });
  ASSERT_TRUE(rules.ok()) << rules.error().message();
  std::vector<std::string> ours;
  for (const auto& r : *rules) ours.push_back(ruleKey(r));
  EXPECT_EQ(sorted(ours), ipRuleKeys(*ns_));

  for (Family fam : {Family::kV4, Family::kV6}) {
    auto find = [&](std::uint32_t prio) {
      auto it = std::find_if(rules->begin(), rules->end(),
                             [&](const Rule& r) { return r.family == fam && r.priority == prio; });
      EXPECT_NE(it, rules->end()) << core::familyName(fam) << " priority " << prio;
      return it == rules->end() ? Rule{} : *it;
    };
    // wg-quick takes the two priorities just above main's 32766.
    const Rule mark = find(32765);
    EXPECT_TRUE(mark.invert);
    EXPECT_EQ(mark.fwmark, 51820U);
    EXPECT_EQ(mark.fwmask, 0xffffffffU);
    EXPECT_EQ(mark.table, 51820U);
    EXPECT_EQ(mark.suppress_prefixlen, -1);
    const Rule suppress = find(32764);
    EXPECT_EQ(suppress.table, static_cast<std::uint32_t>(RT_TABLE_MAIN));
    EXPECT_EQ(suppress.suppress_prefixlen, 0);
    EXPECT_FALSE(suppress.invert);
    EXPECT_FALSE(suppress.fwmark);
    EXPECT_EQ(find(900).uid_range, (UidRange{2000, 2999}));
  }
  auto v4 = [&](std::uint32_t prio) {
    return *std::find_if(rules->begin(), rules->end(), [&](const Rule& r) {
      return r.family == Family::kV4 && r.priority == prio;
    });
  };
  EXPECT_EQ(v4(1001).src, pfx("192.168.0.0/16"));
  EXPECT_EQ(v4(1001).iifname, "lan1");
  EXPECT_EQ(v4(1001).oifname, "wg0");
  EXPECT_EQ(v4(1003).fwmark, 0x10U);
  EXPECT_EQ(v4(1003).fwmask, 0xffU);
  EXPECT_EQ(v4(40000).suppress_ifgroup, 5);
  EXPECT_EQ(v4(1200).action, RuleAction::kProhibit);
  EXPECT_EQ(v4(1200).dst, pfx("100.64.1.0/24"));
}

TEST_F(NetlinkDump, SnapshotBundlesTheSameState) {
  auto snap = inNs([] { return takeSnapshot(); });
  ASSERT_TRUE(snap.ok()) << snap.error().message();
  auto links = inNs([] { return listLinks(); });
  auto routes = inNs([] { return listRoutes(); });
  ASSERT_TRUE(links.ok() && routes.ok());
  EXPECT_EQ(snap->links.size(), links->size());
  EXPECT_EQ(snap->routes.size(), routes->size());
  EXPECT_EQ(snap->addresses.size(), 7U);
  for (const auto& a : snap->addresses) EXPECT_TRUE(a.ifname.has_value());
  const Json j = snap->toJson();
  EXPECT_EQ(j.begin().key(), "schema");
  EXPECT_EQ(j["schema"], kSnapshotSchema);
  EXPECT_EQ(j["routes"].size(), routes->size());
  EXPECT_EQ(j["rules"].size(), snap->rules.size());
}

// Feeds lines to `ip -n NS -batch -`.
void ipBatch(const ScopedNetns& ns, const std::string& lines) {
  core::RunOptions opts;
  opts.input = lines;
  auto r = core::run({"ip", "-n", ns.name(), "-batch", "-"}, opts);
  ASSERT_TRUE(r.ok() && r->ok()) << (r ? r->err : r.error().message());
}

TEST_F(NetlinkDump, ManyRoutesSpanManyDatagrams) {
  std::string batch;
  for (int i = 0; i < 3000; ++i) {
    batch += "route add 10.100." + std::to_string(i / 250) + "." + std::to_string(i % 250) +
             "/32 dev lan0 table 300\n";
  }
  ipBatch(*ns_, batch);
  auto routes = inNs([] { return listRoutes(); });
  ASSERT_TRUE(routes.ok()) << routes.error().message();
  EXPECT_EQ(
      std::count_if(routes->begin(), routes->end(), [](const Route& r) { return r.table == 300; }),
      3000);
  std::vector<std::string> ours;
  for (const auto& r : *routes) ours.push_back(routeKey(r));
  EXPECT_EQ(sorted(ours), ipRouteKeys(*ns_));
}

TEST_F(NetlinkDump, InterruptedDumpsAreRetriedNotReturnedHalfDone) {
  // Address dumps are flagged NLM_F_DUMP_INTR when addresses change between two datagrams of
  // the dump: many addresses make the dump long, another process keeps changing others.
  std::string batch;
  for (int i = 0; i < 1500; ++i)
    batch += "addr add fd10::" + std::to_string(i) + "/128 dev lan1 nodad\n";
  ipBatch(*ns_, batch);
  const std::string churn_file = "/tmp/vlt-churn-" + testing::randomHex(8);
  {
    std::ofstream out(churn_file);
    for (int i = 0; i < 200; ++i) {
      const std::string addr = "fd20::" + std::to_string(i) + "/128 dev lan0 nodad\n";
      out << "addr add " << addr << "addr del " << addr;
    }
  }
  auto churner = core::spawnDaemon(
      {"sh", "-c", "while :; do ip -n " + ns_->name() + " -batch " + churn_file + " -force; done"},
      "/dev/null");
  ASSERT_TRUE(churner.ok());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  int rounds = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    auto addrs = inNs([] { return listAddresses(); });
    // Exhausting the retries is the one acceptable failure, and it must say so.
    if (!addrs.ok()) {
      EXPECT_EQ(addrs.error().sys_errno, EINTR) << addrs.error().message();
      continue;
    }
    ++rounds;
    EXPECT_EQ(std::count_if(addrs->begin(), addrs->end(),
                            [](const Address& a) { return a.ifname == "lan1"; }),
              1501);  // the 1500 plus 192.168.50.1
  }
  core::terminate(*churner);
  std::remove(churn_file.c_str());
  EXPECT_GT(rounds, 0);
}

TEST_F(NetlinkDump, ReadsTheNamespaceOfTheCallingThread) {
  ScopedNetns other("nldump2");
  auto guard = NetnsGuard::enter(other.name());
  ASSERT_TRUE(guard.ok());
  auto links = listLinks();
  ASSERT_TRUE(links.ok());
  ASSERT_EQ(links->size(), 1U);
  EXPECT_EQ((*links)[0].name, "lo");
}

}  // namespace
}  // namespace vpnleak::netlink
