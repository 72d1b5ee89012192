// `vpnleak lab run` for the scenarios that need real attackers: a rogue radvd (rogue-ra), a LAN
// that claims a public prefix (localnet), a spoofed VPN server name (serverip), and headless
// Chromium gathering ICE candidates (webrtc). One run each: with the guard off the leak is on the
// wire, with it on nothing is; for webrtc the leak-test server's record of the candidates agrees.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "core/json.hpp"
#include "lab/lab.hpp"
#include "lab_fixture.hpp"

namespace vpnleak::testing {
namespace {

// One `lab run` of one scenario under a unique prefix ("vlc" + 3 hex + "-"); whatever it leaves
// behind is removed.
class ScenarioRun {
 public:
  explicit ScenarioRun(const std::string& id) : prefix_("vlc" + randomHex(3) + "-") {
    result_ = core::run({vpnleakBinary(), "lab", "run", "--prefix", prefix_, "--scenarios", id,
                         "--runs", "1", "--json", "--quiet"},
                        core::RunOptions::withTimeout(std::chrono::seconds(200)));
  }
  ~ScenarioRun() {
    if (lab::present(prefix_)) {
      ADD_FAILURE() << "lab run left lab " << prefix_ << " up";
      (void)sh({vpnleakBinary(), "guard", "--netns", prefix_ + "client", "down"});
      (void)lab::down(prefix_);
    }
    std::error_code ec;
    std::filesystem::remove("/run/vpnleak/lab/" + prefix_ + ".lock", ec);
  }
  ScenarioRun(const ScenarioRun&) = delete;
  ScenarioRun& operator=(const ScenarioRun&) = delete;
  ScenarioRun(ScenarioRun&&) = delete;
  ScenarioRun& operator=(ScenarioRun&&) = delete;

  // The scenario's entry of the report; fails the test when the run did not complete.
  [[nodiscard]] core::Json scenario() const {
    if (!result_ || result_->timed_out || result_->exit_code != 0) {
      ADD_FAILURE() << "lab run failed: "
                    << (result_ ? result_->err + result_->out : result_.error().message());
      return {};
    }
    auto doc = core::parseJson(result_->out, "lab run");
    if (!doc || (*doc)["scenarios"].size() != 1U) {
      ADD_FAILURE() << "unexpected report: " << result_->out;
      return {};
    }
    return (*doc)["scenarios"][0];
  }

 private:
  std::string prefix_;
  core::Result<core::ProcessResult> result_ = core::ProcessResult{};
};

class LabScenario : public ::testing::TestWithParam<const char*> {};

TEST_P(LabScenario, GuardOffLeaksGuardOnDoesNot) {
  VL_REQUIRE_ROOT();
  const std::string id = GetParam();
  if (id == "rogue-ra" && !core::haveExecutable("radvd")) {
    if (inCi()) FAIL() << "radvd is required in CI (scripts/deps.sh)";
    GTEST_SKIP() << "radvd not installed (scripts/deps.sh)";
  }
  if (id == "webrtc" && !core::haveExecutable("chromium")) {
    if (inCi()) FAIL() << "chromium is required in CI (scripts/deps.sh)";
    GTEST_SKIP() << "chromium not installed (scripts/deps.sh)";
  }
  const ScenarioRun run(id);
  const auto s = run.scenario();
  ASSERT_FALSE(s.is_null());
  EXPECT_EQ(s["id"], id);
  ASSERT_NO_FATAL_FAILURE(expectLeaksOffPassesOn(s));
  const auto& off = s["results"][0];
  const auto& on = s["results"][1];
  std::cout << "[ lab scenario ] " << id << " off: leaked=" << off["leaked_packets"]
            << " on: leaked=" << on["leaked_packets"] << "\n";

  if (id == "serverip") {
    // The client was told the attacker's choice, in plaintext, by the LAN's resolver.
    EXPECT_EQ(off["observed"]["answer"], "192.0.2.10") << off.dump(2);
    EXPECT_EQ(off["observed"]["resolver"], "192.168.77.1");
  }
  if (id == "webrtc") {
    // What the server recorded: the browser ran and posted in both modes; its candidates carry
    // the client's native IPv6 only when the guard is off.
    const auto& seen_off = off["observed"];
    const auto& seen_on = on["observed"];
    EXPECT_GE(seen_off.value("browser_posts", 0), 1) << seen_off.dump(2);
    EXPECT_GE(seen_on.value("browser_posts", 0), 1) << seen_on.dump(2);
    EXPECT_EQ(seen_off["real_addresses"], core::Json::array({"2001:db8:77::2"}))
        << seen_off.dump(2);
    EXPECT_EQ(seen_on["real_addresses"], core::Json::array()) << seen_on.dump(2);
    const auto has = [](const core::Json& cands, const std::string& addr) {
      return std::any_of(cands.begin(), cands.end(),
                         [&](const core::Json& c) { return c.value("address", "") == addr; });
    };
    EXPECT_TRUE(has(seen_off["candidates"], "2001:db8:77::2")) << seen_off.dump(2);
    EXPECT_FALSE(has(seen_on["candidates"], "2001:db8:77::2")) << seen_on.dump(2);
    // Gathering itself worked with the guard on: STUN through the tunnel maps to the VPN's exit.
    EXPECT_TRUE(has(seen_on["candidates"], "203.0.113.2")) << seen_on.dump(2);
  }
}

INSTANTIATE_TEST_SUITE_P(Catalogue, LabScenario,
                         ::testing::Values("rogue-ra", "localnet", "serverip", "webrtc"),
                         [](const auto& tc) {
                           std::string name = tc.param;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

}  // namespace
}  // namespace vpnleak::testing
