// The lab itself, proven with observed addresses: what arrives at the server, from where.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <filesystem>
#include <thread>

#include "core/process.hpp"
#include "lab/lab.hpp"
#include "lab/observe.hpp"
#include "test_support.hpp"

namespace vpnleak::lab {
namespace {

namespace fs = std::filesystem;
using testing::randomHex;
using testing::sh;
using testing::TempFile;

std::string uniquePrefix() { return "vlt" + randomHex(3) + "-"; }

core::ProcessResult vpnleak(std::vector<std::string> args) {
  args.insert(args.begin(), testing::vpnleakBinary());
  return sh(args);
}

// Everything a lab leaves anywhere, listed; empty when it is gone.
std::vector<std::string> traces(const std::string& prefix) {
  std::vector<std::string> found;
  for (const auto& r : roles()) {
    if (fs::exists("/run/netns/" + prefix + r)) found.push_back("netns " + prefix + r);
    if (fs::exists("/etc/netns/" + prefix + r)) found.push_back("/etc/netns/" + prefix + r);
  }
  for (const char* i : {"wgc", "wgs"}) {
    const auto sock = "/var/run/wireguard/" + prefix + i + ".sock";
    if (fs::exists(sock)) found.push_back(sock);
  }
  if (fs::exists(stateDir(prefix))) found.push_back(stateDir(prefix));
  if (fs::exists(stateDir(prefix) + ".lock")) found.push_back(stateDir(prefix) + ".lock");
  auto ps = sh({"pgrep", "-f", prefix + "wg|" + stateDir(prefix)});
  if (!ps.out.empty()) found.push_back("processes " + ps.out);
  // Nothing may ever appear in the root namespace.
  auto links = sh({"ip", "-o", "link", "show"});
  if (links.out.find(prefix) != std::string::npos) found.push_back("root-namespace link");
  return found;
}

class LabTest : public ::testing::Test {
 protected:
  void SetUp() override {
    VL_REQUIRE_ROOT();
    prefix_ = uniquePrefix();
  }
  void TearDown() override {
    if (!prefix_.empty()) {
      EXPECT_TRUE(down(prefix_).ok());
      EXPECT_TRUE(traces(prefix_).empty()) << ::testing::PrintToString(traces(prefix_));
    }
  }
  LabPlan bringUp(bool tunnel_ipv6, DnsMode dns) {
    LabOptions o;
    o.prefix = prefix_;
    o.tunnel_ipv6 = tunnel_ipv6;
    o.dns = dns;
    auto st = up(o);
    EXPECT_TRUE(st.ok()) << (st.ok() ? "" : st.error().message());
    return makePlan(o);
  }
  std::optional<core::IpAddress> sourceAtServer(const LabPlan& p, const core::IpAddress& dst) {
    auto r = observeUdpSource(p.netns("client"), p.netns("server"), dst, 40001);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message());
    return r.ok() ? *r : std::nullopt;
  }
  std::vector<core::IpAddress> resolversAtServer(const LabPlan& p) {
    auto r = observeDnsResolvers(p.netns("client"), p.netns("server"), {p.server_v4},
                                 "t" + randomHex(8) + "." + p.options.zone);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message());
    return r.ok() ? *r : std::vector<core::IpAddress>{};
  }
  std::string prefix_;
};

TEST_F(LabTest, DefaultLabTunnelsIpv4ButLeaksIpv6AndUsesTheVpnResolver) {
  const auto p = bringUp(false, DnsMode::kVpn);
  EXPECT_EQ(sourceAtServer(p, p.server_v4), p.vpn_public_v4);
  // IPv4-only tunnel on a dual-stack LAN: IPv6 leaves with the client's own global address.
  EXPECT_EQ(sourceAtServer(p, p.server_v6), p.client_global_v6);
  EXPECT_EQ(resolversAtServer(p), std::vector<core::IpAddress>{p.vpn_public_v4});

  const auto doc = status(prefix_);
  EXPECT_EQ(doc["schema"], "vpnleak.lab/1");
  EXPECT_EQ(doc["up"], true);
  EXPECT_EQ(doc["tunnel"]["client_iface"], prefix_ + "wgc");
  EXPECT_FALSE(doc["tunnel"]["last_handshake_s"].is_null());
  for (const auto& proc : doc["processes"]) EXPECT_TRUE(proc["alive"].get<bool>()) << proc.dump();
  EXPECT_EQ(doc["processes"].size(), 4U);  // 2 x wireguard-go, 2 x unbound
}

TEST_F(LabTest, DeletingTheTunnelSendsTrafficOutThroughTheRouter) {
  const auto p = bringUp(false, DnsMode::kVpn);
  ASSERT_EQ(sourceAtServer(p, p.server_v4), p.vpn_public_v4);
  ASSERT_TRUE(dropTunnel(prefix_).ok());
  EXPECT_EQ(sourceAtServer(p, p.server_v4), p.router_public_v4);
}

TEST_F(LabTest, IspResolverQueriesArriveFromTheRouter) {
  const auto p = bringUp(false, DnsMode::kIsp);
  EXPECT_EQ(resolversAtServer(p), std::vector<core::IpAddress>{p.router_public_v4});
  EXPECT_EQ(sourceAtServer(p, p.server_v4), p.vpn_public_v4);
}

TEST_F(LabTest, DualStackTunnelCarriesIpv6) {
  const auto p = bringUp(true, DnsMode::kVpn);
  EXPECT_EQ(sourceAtServer(p, p.server_v6), p.vpn_public_v6);
  EXPECT_EQ(sourceAtServer(p, p.server_v4), p.vpn_public_v4);
}

TEST_F(LabTest, UpOnAnExistingLabIsExit2AndChangesNothing) {
  bringUp(false, DnsMode::kVpn);
  auto again = vpnleak({"lab", "up", "--prefix", prefix_});
  EXPECT_EQ(again.exit_code, 2);
  EXPECT_NE(again.err.find("already up"), std::string::npos) << again.err;
  EXPECT_EQ(status(prefix_)["up"], true);
  auto down_twice = vpnleak({"lab", "down", "--prefix", prefix_});
  EXPECT_EQ(down_twice.exit_code, 0);
  EXPECT_EQ(vpnleak({"lab", "down", "--prefix", prefix_}).exit_code, 0);  // idempotent
}

TEST_F(LabTest, DownCleansUpAfterKill9OfUp) {
  const TempFile log_file("lab-up-" + prefix_ + "log");  // removed however the test ends
  const std::string& log = log_file.path;
  for (int delay_ms : {0, 150}) {
    auto pid = core::spawnDaemon({testing::vpnleakBinary(), "lab", "up", "--prefix", prefix_}, log);
    ASSERT_TRUE(pid.ok());
    // Kill it while it builds: once its state directory appears, after a varying delay.
    for (int i = 0; i < 500 && !fs::exists(stateDir(prefix_) + "/state.json"); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    ::kill(*pid, SIGKILL);
    core::terminate(*pid);
    EXPECT_EQ(vpnleak({"lab", "down", "--prefix", prefix_}).exit_code, 0);
    EXPECT_TRUE(traces(prefix_).empty()) << ::testing::PrintToString(traces(prefix_));
  }
}

TEST_F(LabTest, ExecRunsInTheNodeAndBadInputIsExit2) {
  bringUp(false, DnsMode::kVpn);
  auto ex = vpnleak({"lab", "exec", "--prefix", prefix_, "client", "--", "ip", "-o", "link"});
  EXPECT_EQ(ex.exit_code, 0);
  EXPECT_NE(ex.out.find(prefix_ + "wgc"), std::string::npos);
  auto bad_node = vpnleak({"lab", "exec", "--prefix", prefix_, "nosuch", "--", "true"});
  EXPECT_EQ(bad_node.exit_code, 2);
  EXPECT_NE(bad_node.err.find("'nosuch'"), std::string::npos);
  auto rc = vpnleak({"lab", "exec", "--prefix", prefix_, "server", "--", "sh", "-c", "exit 7"});
  EXPECT_EQ(rc.exit_code, 7);  // the command's own exit code comes through
}

}  // namespace
}  // namespace vpnleak::lab
