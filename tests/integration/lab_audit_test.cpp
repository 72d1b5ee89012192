// `vpnleak audit` on real lab states, run inside the client namespace as a user would run it.
#include <gtest/gtest.h>

#include <algorithm>

#include "core/json.hpp"
#include "lab/lab.hpp"
#include "lab/observe.hpp"
#include "lab/rogue_dhcp.hpp"
#include "lab_fixture.hpp"
#include "test_support.hpp"

namespace vpnleak::lab {
namespace {

using testing::randomHex;
using testing::sh;

class LabAuditTest : public testing::LabTest {
 protected:
  LabPlan bringUp(DnsMode dns) {
    LabOptions o;
    o.prefix = prefix_;
    o.dns = dns;
    auto st = up(o);
    EXPECT_TRUE(st.ok()) << (st.ok() ? "" : st.error().message());
    return makePlan(o);
  }
  // Runs the audit in the client namespace; returns its JSON report and exit code.
  std::pair<core::Json, int> audit(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> argv{
        "ip", "netns", "exec", prefix_ + "client", testing::vpnleakBinary(), "audit", "--json"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    auto r = sh(argv);
    auto j = core::parseJson(r.out, "audit output");
    EXPECT_TRUE(j.ok()) << r.out << r.err;
    return {j.ok() ? *j : core::Json(), r.exit_code};
  }
  static const core::Json* finding(const core::Json& report, const std::string& id) {
    for (const auto& f : report["findings"]) {
      if (f["id"] == id) return &f;
    }
    return nullptr;
  }
};

TEST_F(LabAuditTest, DefaultLabPredictsTheIpv6LeakAndNoKillSwitch) {
  const auto plan = bringUp(DnsMode::kVpn);
  auto [report, rc] = audit();
  EXPECT_EQ(rc, 1);
  EXPECT_EQ(report["tunnel"]["interfaces"][0], plan.tunnel.client_iface);
  EXPECT_EQ(report["tunnel"]["endpoints"][0], plan.tunnel.endpoint.toString());
  const auto* v6 = finding(report, "ipv6-outside-tunnel");
  ASSERT_NE(v6, nullptr) << report.dump(2);
  EXPECT_NE((*v6)["detail"].get<std::string>().find(plan.client_global_v6.toString()),
            std::string::npos);
  EXPECT_NE(finding(report, "no-killswitch"), nullptr);
  EXPECT_EQ(finding(report, "dns-outside-tunnel"), nullptr) << report.dump(2);
  EXPECT_EQ(finding(report, "route-bypass"), nullptr) << report.dump(2);
  // Below the threshold: exit 0.
  EXPECT_EQ(audit({"--fail-on", "critical"}).second, 0);
}

TEST_F(LabAuditTest, GuardRemovesNoKillSwitchAndIsCheckedAgainstTheTunnel) {
  const auto plan = bringUp(DnsMode::kIsp);
  auto guard = [&](const std::string& endpoint) {
    return sh({"ip", "netns", "exec", prefix_ + "client", testing::vpnleakBinary(), "guard", "up",
               "--tunnel", plan.tunnel.client_iface, "--endpoint", endpoint + "/udp"});
  };
  auto g = guard(plan.tunnel.endpoint.toString());
  ASSERT_EQ(g.exit_code, 0) << g.err;
  auto [report, rc] = audit();
  EXPECT_EQ(finding(report, "no-killswitch"), nullptr) << report.dump(2);
  EXPECT_EQ(finding(report, "guard-mismatch"), nullptr) << report.dump(2);
  // The ISP resolver is still configured, but the guard stops the queries: a low finding.
  const auto* dns = finding(report, "dns-outside-tunnel");
  ASSERT_NE(dns, nullptr);
  EXPECT_EQ((*dns)["severity"], "low");
  // A guard for another endpoint does not match this tunnel.
  ASSERT_EQ(guard("203.0.113.99:51820").exit_code, 0);
  auto [stale, rc2] = audit();
  const auto* mismatch = finding(stale, "guard-mismatch");
  ASSERT_NE(mismatch, nullptr) << stale.dump(2);
  EXPECT_NE((*mismatch)["detail"].get<std::string>().find(plan.tunnel.endpoint.address.toString()),
            std::string::npos);
  EXPECT_EQ(rc2, 1);
}

TEST_F(LabAuditTest, IspResolverIsOutsideTheTunnel) {
  const auto plan = bringUp(DnsMode::kIsp);
  auto [report, rc] = audit();
  const auto* dns = finding(report, "dns-outside-tunnel");
  ASSERT_NE(dns, nullptr) << report.dump(2);
  EXPECT_NE((*dns)["detail"].get<std::string>().find(plan.isp_resolver_v4.toString()),
            std::string::npos);
  EXPECT_EQ(rc, 1);
}

TEST_F(LabAuditTest, RogueDhcpOption121IsARouteBypass) {
  const auto plan = bringUp(DnsMode::kVpn);
  const auto pushed = core::Prefix::parse("192.0.2.0/24").value();  // the server's network
  ASSERT_TRUE(startRogueDhcp(prefix_, {pushed}).ok());
  auto st = acceptDhcpRoutes(prefix_, {pushed});
  ASSERT_TRUE(st.ok()) << st.error().message();
  auto [report, rc] = audit();
  EXPECT_EQ(rc, 1);
  const core::Json* bypass = nullptr;
  for (const auto& f : report["findings"]) {
    if (f["id"] == "route-bypass" && f["evidence"].value("route", "") == pushed.toString()) {
      bypass = &f;
    }
  }
  ASSERT_NE(bypass, nullptr) << report.dump(2);
  EXPECT_EQ((*bypass)["severity"], "high");
  EXPECT_EQ((*bypass)["evidence"]["protocol"], "dhcp");
  // The prediction holds on the wire: traffic to the server now leaves outside the tunnel.
  auto seen = observeUdpSource(plan.netns("client"), plan.netns("server"), plan.server_v4, 40002);
  ASSERT_TRUE(seen.ok());
  EXPECT_EQ(*seen, plan.router_public_v4);
}

TEST_F(LabAuditTest, SnapshotRoundTripAndMalformedSnapshots) {
  bringUp(DnsMode::kIsp);
  const testing::TempFile snap_file("snap-" + prefix_);
  const std::string& file = snap_file.path;
  auto [live, rc] = audit({"--snapshot-out", file});
  auto replay = sh({testing::vpnleakBinary(), "audit", "--json", "--snapshot-in", file});
  auto replayed = core::parseJson(replay.out, "replay");
  ASSERT_TRUE(replayed.ok()) << replay.err;
  // The same state gives the same verdict, on any machine.
  EXPECT_EQ((*replayed)["findings"], live["findings"]);
  EXPECT_EQ(replay.exit_code, rc);

  const testing::TempFile bad_file("bad-" + prefix_);
  const std::string& bad = bad_file.path;
  for (const char* text : {"{", R"({"schema":"vpnleak.snapshot/1","routes":[{"family":"ipv4"}]})",
                           R"({"schema":"nope"})"}) {
    sh({"sh", "-c", std::string("printf '%s' '") + text + "' > " + bad});
    auto r = sh({testing::vpnleakBinary(), "audit", "--snapshot-in", bad});
    EXPECT_EQ(r.exit_code, 2) << text << ": " << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
  auto missing = sh({testing::vpnleakBinary(), "audit", "--snapshot-in", "/nonexistent.json"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("/nonexistent.json"), std::string::npos);
  auto sev = sh({testing::vpnleakBinary(), "audit", "--fail-on", "urgent"});
  EXPECT_EQ(sev.exit_code, 2);
  EXPECT_NE(sev.err.find("'urgent'"), std::string::npos);
}

}  // namespace
}  // namespace vpnleak::lab
