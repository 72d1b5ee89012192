// `vpnleak test` in the lab against the lab's own vpnleak server: the verdict of every check in
// every configuration, observed addresses named in the evidence.
#include <gtest/gtest.h>

#include <chrono>

#include "core/json.hpp"
#include "lab/lab.hpp"
#include "lab/leak_server.hpp"
#include "lab_fixture.hpp"
#include "test_support.hpp"

namespace vpnleak::lab {
namespace {

using testing::sh;

class LabProbeTest : public testing::LabTest {
 protected:
  LabPlan bringUp(bool tunnel_ipv6, DnsMode dns) {
    LabOptions o;
    o.prefix = prefix_;
    o.tunnel_ipv6 = tunnel_ipv6;
    o.dns = dns;
    o.server_binary = testing::vpnleakBinary();
    auto st = up(o);
    EXPECT_TRUE(st.ok()) << (st.ok() ? "" : st.error().message());
    plan_ = makePlan(o);
    return plan_;
  }
  // Runs `vpnleak test --json` in the client namespace.
  core::ProcessResult runTest(std::vector<std::string> extra = {}) {
    std::vector<std::string> argv{"ip",
                                  "netns",
                                  "exec",
                                  prefix_ + "client",
                                  testing::vpnleakBinary(),
                                  "test",
                                  "--server",
                                  leakServerUrl(plan_),
                                  "--json"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return sh(argv);
  }
  std::map<std::string, core::Json> checks(const core::ProcessResult& r) {
    std::map<std::string, core::Json> out;
    auto j = core::parseJson(r.out, "vpnleak test output");
    EXPECT_TRUE(j.ok()) << r.out << r.err;
    if (!j) return out;
    EXPECT_EQ((*j)["schema"], "vpnleak.test/1");
    for (const auto& c : (*j)["checks"]) out[c["id"].get<std::string>()] = c;
    return out;
  }
  static std::string status(const std::map<std::string, core::Json>& c, const std::string& id) {
    auto it = c.find(id);
    return it == c.end() ? "missing" : it->second["status"].get<std::string>();
  }
  // A minimal fail-closed firewall: only loopback, the tunnel and the endpoint may leave.
  void addKillSwitch() {
    const std::string rules =
        "table inet vltks {\n chain out {\n  type filter hook output priority 0; policy drop;\n"
        "  oifname \"lo\" accept\n  oifname \"" +
        plan_.tunnel.client_iface + "\" accept\n  ip daddr " +
        plan_.tunnel.endpoint.address.toString() + " udp dport " +
        std::to_string(plan_.tunnel.endpoint.port) + " accept\n }\n}\n";
    auto r = core::run({"ip", "netns", "exec", prefix_ + "client", "nft", "-f", "-"},
                       core::RunOptions::withInput(rules));
    ASSERT_TRUE(r.ok() && r->ok()) << (r.ok() ? r->err : r.error().message());
  }
  LabPlan plan_;
};

TEST_F(LabProbeTest, DefaultLabLeaksIpv6WebrtcAndHasNoKillSwitch) {
  bringUp(false, DnsMode::kVpn);
  const auto r = runTest();
  EXPECT_EQ(r.exit_code, 1) << r.err;
  auto c = checks(r);
  EXPECT_EQ(status(c, "ipv4"), "pass");
  EXPECT_EQ(c["ipv4"]["evidence"]["seen"], plan_.vpn_public_v4.toString());
  EXPECT_EQ(status(c, "dns"), "pass");
  EXPECT_EQ(status(c, "ipv6"), "leak");
  EXPECT_EQ(c["ipv6"]["evidence"]["seen"], plan_.client_global_v6.toString());
  EXPECT_EQ(status(c, "webrtc"), "leak");
  EXPECT_NE(c["webrtc"]["explanation"].get<std::string>().find(plan_.client_global_v6.toString()),
            std::string::npos);
  EXPECT_EQ(status(c, "killswitch"), "leak");
}

TEST_F(LabProbeTest, DualStackTunnelWithKillSwitchPassesEverything) {
  bringUp(true, DnsMode::kVpn);
  auto c = checks(runTest());
  for (const char* id : {"ipv4", "ipv6", "dns", "webrtc"}) EXPECT_EQ(status(c, id), "pass") << id;
  EXPECT_EQ(c["ipv6"]["evidence"]["seen"], plan_.vpn_public_v6.toString());
  EXPECT_EQ(status(c, "killswitch"), "leak");  // no firewall yet
  addKillSwitch();
  const auto r = runTest();
  EXPECT_EQ(r.exit_code, 0) << r.out;
  c = checks(r);
  for (const char* id : {"ipv4", "ipv6", "dns", "webrtc", "killswitch"}) {
    EXPECT_EQ(status(c, id), "pass") << id << ": " << c[id].dump();
  }
}

TEST_F(LabProbeTest, IspResolverIsADnsLeakNamingIt) {
  bringUp(false, DnsMode::kIsp);
  auto c = checks(runTest({"--only", "dns,ipv4"}));
  ASSERT_EQ(c.size(), 2U);
  EXPECT_EQ(status(c, "ipv4"), "pass");
  EXPECT_EQ(status(c, "dns"), "leak");
  EXPECT_NE(c["dns"]["explanation"].get<std::string>().find(plan_.router_public_v4.toString()),
            std::string::npos);
}

TEST_F(LabProbeTest, DroppedTunnelLeaksIpv4WithTheRoutersAddress) {
  bringUp(false, DnsMode::kVpn);
  ASSERT_TRUE(dropTunnel(prefix_).ok());
  // No tunnel left to discover the exit through: pin it, as a CI job would.
  auto c = checks(runTest({"--expect-exit", plan_.vpn_public_v4.toString(), "--only", "ipv4"}));
  EXPECT_EQ(status(c, "ipv4"), "leak");
  EXPECT_EQ(c["ipv4"]["evidence"]["seen"], plan_.router_public_v4.toString());
  // Without a pin there is nothing to compare with: an environment error, said so.
  const auto r = runTest();
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("no VPN tunnel"), std::string::npos) << r.err;
}

TEST_F(LabProbeTest, BadInputAndBlackholedServerRespectTheContract) {
  bringUp(false, DnsMode::kVpn);
  struct Bad {
    std::vector<std::string> args;
    int code;
    const char* mentions;
  };
  const std::vector<Bad> bad{
      {{"test", "--server", "ftp://x"}, 2, "'ftp://x'"},
      {{"test", "--server", "http://192.0.2.10", "--only", "ipv5"}, 2, "'ipv5'"},
      {{"test", "--server", "http://192.0.2.10", "--expect-exit", "1.2.3.999"}, 2, "'1.2.3.999'"},
      {{"test", "--server", "http://192.0.2.10", "--timeout", "5"}, 2, "--timeout 5"},
      {{"test", "--server", "http://192.0.2.10", "--tunnel", "nosuch0"}, 2, "'nosuch0'"},
      {{"test"}, 2, "--server"},
  };
  for (const auto& b : bad) {
    std::vector<std::string> argv{"ip", "netns", "exec", prefix_ + "client",
                                  testing::vpnleakBinary()};
    argv.insert(argv.end(), b.args.begin(), b.args.end());
    const auto r = sh(argv);
    EXPECT_EQ(r.exit_code, b.code) << core::joinArgv(b.args) << ": " << r.err;
    EXPECT_NE(r.err.find(b.mentions), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
  // A server address nobody answers on (black-holed): exit 3 within the timeout.
  auto t0 = std::chrono::steady_clock::now();
  auto r = sh({"ip", "netns", "exec", prefix_ + "client", testing::vpnleakBinary(), "test",
               "--server", "http://192.0.2.99", "--timeout", "1000"});
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.err.find("cannot reach the server"), std::string::npos) << r.err;
  EXPECT_LT(took, std::chrono::milliseconds(1500));
  // A black-holed IPv6 path (dropped in the client) does not stretch the test either.
  addKillSwitch();
  t0 = std::chrono::steady_clock::now();
  r = sh({"ip", "netns", "exec", prefix_ + "client", testing::vpnleakBinary(), "test", "--server",
          leakServerUrl(plan_), "--timeout", "1500"});
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(2000));
  EXPECT_NE(r.out.find("ipv6        pass"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace vpnleak::lab
