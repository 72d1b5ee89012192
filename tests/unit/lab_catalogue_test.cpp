// The scenario catalogue and the pure parts of its helpers: radvd's config, the spoofed resolver
// record and DNAT of ServerIP, Chromium's command line and the WebRTC evidence.
#include <gtest/gtest.h>

#include <algorithm>

#include "test_support.hpp"

#include "lab/rogue_ra.hpp"
#include "lab/scenarios.hpp"
#include "lab/tunnelcrack.hpp"
#include "lab/webrtc_browser.hpp"

namespace vpnleak::lab {
namespace {

TEST(LabScenarios, CatalogueHasEveryNewScenarioWithItsSteps) {
  for (const char* id : {"rogue-ra", "localnet", "serverip", "webrtc"}) {
    SCOPED_TRACE(id);
    const Scenario* s = findScenario(id);
    ASSERT_NE(s, nullptr);
    EXPECT_TRUE(s->leaks_without_guard);
    EXPECT_TRUE(s->traffic && s->setup && s->fault && s->restore);
    EXPECT_NE(scenarioIds().find(id), std::string::npos);
  }
  const auto& localnet = *findScenario("localnet");
  EXPECT_EQ(localnet.guard_args, (std::vector<std::string>{"--allow-lan", "--lan-iface", "lan0"}));
  EXPECT_TRUE(findScenario("webrtc")->evidence);
  EXPECT_TRUE(findScenario("serverip")->evidence);
  // Only LocalNet changes the guard's flags.
  for (const auto& s : catalogue()) {
    if (s.id != "localnet") {
      EXPECT_TRUE(s.guard_args.empty()) << s.id;
    }
  }
}

TEST(LabScenarios, TrafficGoesWhereEachLeakIs) {
  const auto plan = makePlan(LabOptions{});
  EXPECT_EQ(findScenario("rogue-ra")->traffic(plan).udp,
            std::vector<core::IpAddress>{plan.server_v6});
  EXPECT_EQ(findScenario("localnet")->traffic(plan).udp,
            std::vector<core::IpAddress>{plan.server_v4});
  EXPECT_EQ(findScenario("serverip")->traffic(plan).udp,
            std::vector<core::IpAddress>{plan.server_v4});
}

TEST(LabScenarios, RadvdConfigAdvertisesPrefixAndDefaultRouter) {
  const auto conf = radvdConfig("lan0", core::Prefix::parse("2001:db8:77::/64").value());
  EXPECT_NE(conf.find("interface lan0 {"), std::string::npos) << conf;
  EXPECT_NE(conf.find("AdvSendAdvert on;"), std::string::npos);
  EXPECT_NE(conf.find("prefix 2001:db8:77::/64 {"), std::string::npos);
  EXPECT_NE(conf.find("AdvAutonomous on;"), std::string::npos);
  // A zero lifetime would announce "not a default router": the leak needs a non-zero one.
  EXPECT_NE(conf.find("AdvDefaultLifetime 1800;"), std::string::npos);
  EXPECT_EQ(std::count(conf.begin(), conf.end(), '{'), std::count(conf.begin(), conf.end(), '}'));
}

TEST(LabScenarios, SpoofedRecordIsAStaticLocalZone) {
  const auto conf =
      spoofedRecordConfig("vpn.vpn-provider.test", core::IpAddress::parse("192.0.2.10").value());
  EXPECT_NE(conf.find("server:\n"), std::string::npos);
  EXPECT_NE(conf.find("local-zone: \"vpn-provider.test.\" static"), std::string::npos) << conf;
  EXPECT_NE(conf.find("local-data: \"vpn.vpn-provider.test. 60 IN A 192.0.2.10\""),
            std::string::npos)
      << conf;
}

TEST(LabScenarios, EndpointDnatForwardsOnlyTheVpnPort) {
  const auto rules = endpointDnatRuleset(core::IpAddress::parse("192.0.2.10").value(),
                                         core::Endpoint::parse("203.0.113.2:51820").value());
  EXPECT_NE(rules.find("type nat hook prerouting priority dstnat;"), std::string::npos);
  EXPECT_NE(rules.find("iifname \"lan0\" ip daddr 192.0.2.10 udp dport 51820 dnat to "
                       "203.0.113.2:51820"),
            std::string::npos)
      << rules;
}

TEST(LabScenarios, ChromiumArgvIsHeadlessWithTheProfileAndUrlLast) {
  const auto argv = chromiumArgv("/run/x/profile", "http://192.0.2.10/webrtc?token=abc");
  ASSERT_GE(argv.size(), 3U);
  EXPECT_EQ(argv.front(), "chromium");
  EXPECT_EQ(argv.back(), "http://192.0.2.10/webrtc?token=abc");
  EXPECT_NE(std::find(argv.begin(), argv.end(), "--headless=new"), argv.end());
  EXPECT_NE(std::find(argv.begin(), argv.end(), "--user-data-dir=/run/x/profile"), argv.end());
}

core::Json serverTest(const core::Json& webrtc, int posts) {
  core::Json http = core::Json::array();
  http.push_back({{"ip", "203.0.113.2"}, {"path", "/api/v1/tests"}});
  for (int i = 0; i < posts; ++i) {
    http.push_back({{"ip", "203.0.113.2"}, {"path", "/api/v1/tests/{token}/webrtc"}});
  }
  return {{"schema", "vpnleak.server.test/1"},
          {"token", "0123456789abcdef0123456789abcdef"},
          {"dns", core::Json::array()},
          {"http", http},
          {"webrtc", webrtc}};
}

core::Json candidate(const char* type, const char* address, int port) {
  return {
      {"type", type}, {"protocol", "udp"}, {"address", address}, {"port", port}, {"mdns", false}};
}

struct EvidenceCase {
  std::vector<core::Json> candidates;
  std::vector<std::string> revealed;
};

class WebrtcEvidence : public ::testing::TestWithParam<EvidenceCase> {};

TEST_P(WebrtcEvidence, NamesTheRealAddressesAmongTheCandidates) {
  const auto plan = makePlan(LabOptions{});
  const auto& c = GetParam();
  const auto ev = webrtcEvidence(serverTest(core::Json(c.candidates), 2), plan);
  EXPECT_EQ(ev["token"], "0123456789abcdef0123456789abcdef");
  EXPECT_EQ(ev["browser_posts"], 2);
  EXPECT_EQ(ev["candidates"].size(), c.candidates.size());
  EXPECT_EQ(ev["real_addresses"], core::Json(c.revealed)) << ev.dump();
  EXPECT_EQ(ev["leak"], !c.revealed.empty());
}

INSTANTIATE_TEST_SUITE_P(
    Cases, WebrtcEvidence,
    ::testing::Values(
        // Guard off: STUN over native IPv6 maps to the client's real address.
        EvidenceCase{
            {candidate("host", "69ce62b2-6b03-4e77-935f-593d6a9d14ec.local", 4000),
             candidate("srflx", "2001:db8:77::2", 4001), candidate("srflx", "203.0.113.2", 4000),
             candidate("srflx", "2001:db8:77::2", 4002)},
            {"2001:db8:77::2"}},
        // Guard on: only the tunnel's exit and mDNS names.
        EvidenceCase{{candidate("host", "69ce62b2-6b03-4e77-935f-593d6a9d14ec.local", 4000),
                      candidate("srflx", "203.0.113.2", 4000)},
                     {}},
        // The real IPv4 (the router's public address) counts too.
        EvidenceCase{{candidate("srflx", "198.51.100.2", 4000)}, {"198.51.100.2"}},
        EvidenceCase{{}, {}}),
    VL_CASE_NAMES);

TEST(LabScenarios, WebrtcPostsCountsOnlyThePagesPosts) {
  EXPECT_EQ(webrtcPosts(serverTest(core::Json::array(), 0)), 0U);
  EXPECT_EQ(webrtcPosts(serverTest(core::Json::array(), 3)), 3U);
  EXPECT_EQ(webrtcPosts(core::Json::object()), 0U);
  EXPECT_EQ(webrtcPosts(core::Json{{"http", "garbage"}}), 0U);
}

TEST(LabScenarios, WebrtcEvidenceToleratesAMalformedDocument) {
  const auto plan = makePlan(LabOptions{});
  const auto ev = webrtcEvidence(core::Json{{"webrtc", {1, "x", nullptr}}}, plan);
  EXPECT_EQ(ev["candidates"].size(), 0U);
  EXPECT_EQ(ev["leak"], false);
}

}  // namespace
}  // namespace vpnleak::lab
