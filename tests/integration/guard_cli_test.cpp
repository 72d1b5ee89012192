// The guard against a real kernel, each test in its own network namespace: every golden file
// passes `nft --check`; up/status/down and their JSON; bad input exits 2 and changes nothing;
// replacing the table never leaves a moment without it; watch restores and stops cleanly.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <atomic>
#include <fstream>
#include <functional>
#include <optional>
#include <thread>

#include "../support/test_support.hpp"
#include "../unit/guard_golden_cases.hpp"
#include "core/file.hpp"
#include "core/json.hpp"
#include "guard/nft.hpp"
#include "guard/ruleset.hpp"
#include "guard/state.hpp"
#include "guard_test_support.hpp"
#include "netlink/netns.hpp"

namespace vpnleak::testing {
namespace {

core::ProcessResult guard(const ScopedNetns& ns, std::vector<std::string> args) {
  std::vector<std::string> argv{vpnleakBinary(), "guard", "--netns", ns.name()};
  argv.insert(argv.end(), args.begin(), args.end());
  return sh(argv);
}

const std::vector<std::string> kValid{"--tunnel", "wg0",       "--endpoint", "203.0.113.2:51820",
                                      "--dns",    "10.64.0.1", "--fwmark",   "51820"};

std::vector<std::string> upArgs(std::vector<std::string> extra = {}) {
  std::vector<std::string> a{"up"};
  a.insert(a.end(), kValid.begin(), kValid.end());
  a.insert(a.end(), extra.begin(), extra.end());
  return a;
}

// A namespace with lo and a stand-in tunnel interface "wg0" (a veth: the kernel here may lack
// dummy and wireguard).
struct GuardNs : ::testing::Test {
  void SetUp() override {
    VL_REQUIRE_ROOT();
    ns = std::make_unique<ScopedNetns>("guard");
    ns->mustExec({"ip", "link", "add", "wg0", "type", "veth", "peer", "name", "wg0p"});
    ns->mustExec({"ip", "link", "add", "eth0", "type", "veth", "peer", "name", "eth0p"});
    ns->mustExec({"ip", "address", "add", "192.168.5.2/24", "dev", "eth0"});
    ns->mustExec({"ip", "address", "add", "198.51.100.9/24", "dev", "eth0"});
  }
  void TearDown() override {
    if (ns) (void)guard(*ns, {"down"});
  }
  [[nodiscard]] std::string ruleset() const { return ns->exec({"nft", "list", "ruleset"}).out; }
  std::unique_ptr<ScopedNetns> ns;
};

TEST(GuardGoldenCheck, EveryGoldenFilePassesNftCheck) {
  VL_REQUIRE_ROOT();
  ScopedNetns ns("guardchk");
  for (const auto& c : guard::testing::goldenCases()) {
    const auto path = guard::testing::goldenDir() / (c.name + ".nft");
    auto r = ns.exec({"nft", "-c", "-f", path.string()});
    EXPECT_EQ(r.exit_code, 0) << c.name << ": " << r.err;
  }
}

TEST_F(GuardNs, UpStatusDownWithJson) {
  auto up = guard(*ns, upArgs({"--allow-lan", "--json"}));
  ASSERT_EQ(up.exit_code, 0) << up.err;
  auto doc = core::parseJson(up.out, "up");
  ASSERT_TRUE(doc.ok()) << up.out;
  EXPECT_EQ(doc->begin().key(), "schema");
  EXPECT_EQ((*doc)["schema"], "vpnleak.guard/1");
  EXPECT_EQ((*doc)["action"], "up");
  EXPECT_TRUE((*doc)["applied"].get<bool>());
  // LocalNet: the public prefix claimed on eth0 is refused, the private one allowed.
  EXPECT_EQ((*doc)["lan"]["allowed"], core::Json::array({"192.168.5.0/24"}));
  EXPECT_EQ((*doc)["lan"]["rejected"][0]["prefix"], "198.51.100.0/24");
  EXPECT_NE(ruleset().find("192.168.5.0/24"), std::string::npos);

  auto st = guard(*ns, {"status", "--json"});
  EXPECT_EQ(st.exit_code, 0) << st.err;
  auto sdoc = core::parseJson(st.out, "status");
  ASSERT_TRUE(sdoc.ok());
  for (const char* key :
       {"schema", "table", "present", "matches", "config", "applied_at", "watch", "counters"}) {
    EXPECT_TRUE(sdoc->contains(key)) << key;
  }
  EXPECT_TRUE((*sdoc)["present"].get<bool>());
  EXPECT_TRUE((*sdoc)["matches"].get<bool>());

  // Changed behind our back: status says so, exit 1.
  ns->mustExec({"nft", "delete", "chain", "inet", "vpnleak", "forward"});
  auto modified = guard(*ns, {"status", "--json"});
  EXPECT_EQ(modified.exit_code, 1);
  EXPECT_FALSE(core::parseJson(modified.out, "s")->at("matches").get<bool>());

  EXPECT_EQ(guard(*ns, {"down"}).exit_code, 0);
  EXPECT_EQ(ruleset().find("vpnleak"), std::string::npos);
  EXPECT_EQ(guard(*ns, {"status"}).exit_code, 1);
  EXPECT_EQ(guard(*ns, {"down"}).exit_code, 0) << "down is idempotent";
}

TEST_F(GuardNs, InvalidInputExitsTwoAndLeavesThePreviousRulesetUntouched) {
  ASSERT_EQ(guard(*ns, upArgs()).exit_code, 0);
  const std::string before = ruleset();
  ASSERT_NE(before.find("table inet vpnleak"), std::string::npos);
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases{
      {{"up", "--tunnel", "wg0", "--endpoint", "203.0.113.2"}, "'203.0.113.2'"},
      {{"up", "--tunnel", "wg0", "--endpoint", "vpn.example.com:51820"}, "vpn.example.com"},
      {{"up", "--tunnel", "wg0", "--endpoint", "203.0.113.2:99999"}, "203.0.113.2:99999"},
      {{"up", "--tunnel", "nosuch0", "--endpoint", "203.0.113.2:51820"}, "'nosuch0'"},
      {{"up", "--tunnel", "wg0", "--endpoint", "203.0.113.2:1", "--allow-lan", "--lan-iface",
        "nosuch1"},
       "'nosuch1'"},
      {{"up", "--tunnel", "wg0", "--endpoint", "203.0.113.2:1", "--dns", "10.1.1"}, "'10.1.1'"},
      {{"up", "--tunnel", "wg0", "--endpoint", "203.0.113.2:1", "--dns", "fd00::53"},
       "conflicting flags"},
      {{"up", "--lockdown", "--tunnel", "wg0"}, "conflicting flags"},
      {{"up", "--tunnel", "wg0", "--endpoint", "203.0.113.2:1", "--lan-iface", "eth0"},
       "needs --allow-lan"},
      {{"up", "--tunnel", "wg0", "--endpoint", "203.0.113.2:1", "--fwmark", "0xzz"}, "'0xzz'"},
      {{"up", "--tunnel", "wg0", "--endpoint", "203.0.113.2:1", "--ipv6", "maybe"}, "maybe"},
      {{"up", "--endpoint", "203.0.113.2:1"}, "missing --tunnel"},
      {{"watch", "--tunnel", "wg0", "--endpoint", "203.0.113.2:1", "--metrics", "localhost"},
       "'localhost'"},
  };
  for (const auto& [args, needle] : cases) {
    auto r = guard(*ns, args);
    EXPECT_EQ(r.exit_code, 2) << core::joinArgv(args) << ": " << r.err;
    EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "one line: " << r.err;
    EXPECT_EQ(ruleset(), before) << core::joinArgv(args);
  }
}

TEST_F(GuardNs, AbsentTunnelNeedsItsFlagAndLockdownAndDryRunWork) {
  EXPECT_EQ(guard(*ns, {"up", "--tunnel", "wg9", "--endpoint", "203.0.113.2:51820"}).exit_code, 2);
  EXPECT_EQ(guard(*ns, {"up", "--tunnel", "wg9", "--tunnel-may-be-absent", "--endpoint",
                        "203.0.113.2:51820"})
                .exit_code,
            0);
  EXPECT_NE(ruleset().find("oifname \"wg9\" accept"), std::string::npos);
  ASSERT_EQ(guard(*ns, {"up", "--lockdown"}).exit_code, 0);
  EXPECT_EQ(ruleset().find("wg9"), std::string::npos);
  EXPECT_EQ(ns->exec({"ping", "-c", "1", "-W", "1", "127.0.0.1"}).exit_code, 0) << "loopback";
  ASSERT_EQ(guard(*ns, {"down"}).exit_code, 0);
  auto dry = guard(*ns, upArgs({"--dry-run"}));
  EXPECT_EQ(dry.exit_code, 0);
  EXPECT_NE(dry.out.find("table inet vpnleak {"), std::string::npos);
  EXPECT_EQ(ruleset().find("vpnleak"), std::string::npos) << "--dry-run applied something";
}

TEST_F(GuardNs, ReplacingTheTableNeverLeavesAMomentWithoutIt) {
  ASSERT_EQ(guard(*ns, upArgs()).exit_code, 0);
  std::atomic<bool> done{false};
  std::atomic<int> checks{0};
  std::atomic<int> absent{0};
  std::thread poller([&] {
    auto in = netlink::NetnsGuard::enter(ns->name());
    if (!in) return;
    auto nft = guard::NftCtx::create();
    if (!nft) return;
    for (int i = 0; i < 200000 && !done.load(); ++i) {
      auto has = nft->hasTable(guard::kTable);
      ++checks;
      if (!has.ok() || !*has) ++absent;
    }
  });
  for (int i = 0; i < 30; ++i) {
    const std::string ep = "203.0.113." + std::to_string(2 + i % 2) + ":51820";
    EXPECT_EQ(guard(*ns, {"up", "--tunnel", "wg0", "--endpoint", ep}).exit_code, 0);
  }
  done = true;
  poller.join();
  std::cout << "[ guard ] 30 replacements, " << checks.load() << " checks, table absent in "
            << absent.load() << "\n";
  EXPECT_GT(checks.load(), 30);
  EXPECT_EQ(absent.load(), 0) << "the table was missing in " << absent << " of " << checks;
}

TEST_F(GuardNs, WatchRestoresFollowsGuardUpAndIsStoppedByDown) {
  const TempFile log_file("vlg-watch.log");
  const std::string& log = log_file.path;
  std::vector<std::string> argv{vpnleakBinary(), "guard", "--netns", ns->name(), "watch"};
  argv.insert(argv.end(), kValid.begin(), kValid.end());
  auto pid = core::spawnDaemon(argv, log);
  ASSERT_TRUE(pid.ok());
  const auto waitFor = [&](const std::string& needle, bool present) {
    for (int i = 0; i < 200; ++i) {
      if ((ruleset().find(needle) != std::string::npos) == present) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  };
  ASSERT_TRUE(waitFor("table inet vpnleak_watch", true));
  ns->mustExec({"nft", "delete", "table", "inet", "vpnleak"});
  EXPECT_TRUE(waitFor("table inet vpnleak {", true)) << "not restored";
  // The shadow cannot be removed by others.
  EXPECT_NE(ns->exec({"nft", "delete", "table", "inet", "vpnleak_watch"}).exit_code, 0);
  // A deliberate `guard up` is adopted, not undone.
  auto up = guard(*ns, {"up", "--tunnel", "wg0", "--endpoint", "203.0.113.77:51820"});
  ASSERT_EQ(up.exit_code, 0) << up.err;
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_NE(ruleset().find("203.0.113.77"), std::string::npos);
  EXPECT_EQ(ruleset().find("203.0.113.2 "), std::string::npos) << "shadow kept the old endpoint";
  auto down = guard(*ns, {"down", "--json"});
  EXPECT_EQ(down.exit_code, 0);
  EXPECT_TRUE(core::parseJson(down.out, "down")->at("watch_stopped").get<bool>());
  EXPECT_FALSE(core::processMatches(*pid, "vpnleak"));
  EXPECT_EQ(ruleset().find("vpnleak"), std::string::npos);
  core::terminate(*pid, std::chrono::milliseconds(100));
}

// True once /proc/locks shows pid waiting for a flock ("N: -> FLOCK ADVISORY WRITE PID ...").
bool waitsForFlock(pid_t pid) {
  std::ifstream in("/proc/locks");
  const std::string id = " " + std::to_string(pid) + " ";
  for (std::string line; std::getline(in, line);) {
    if (line.find("-> FLOCK") != std::string::npos && line.find(id) != std::string::npos) {
      return true;
    }
  }
  return false;
}

// The race the state lock closes, made deterministic: the test holds the lock while the watcher
// must restore a deleted table and a `guard up` with a new endpoint starts. Both have to wait (no
// rules appear meanwhile); once the lock is free, whichever runs first, the `guard up` is what
// stays in force and the watcher adopts it.
TEST_F(GuardNs, UpAndTheWatchersRestoreWaitForTheStateLock) {
  const TempFile watch_log("vlg-watch-lock.log");
  const TempFile up_log("vlg-up-lock.log");
  std::vector<std::string> argv{vpnleakBinary(), "guard", "--netns", ns->name(), "watch"};
  argv.insert(argv.end(), kValid.begin(), kValid.end());
  auto watcher = core::spawnDaemon(argv, watch_log.path);
  ASSERT_TRUE(watcher.ok());
  // lab::waitUntil (the lab's poll-until helper) with the 5 s these waits allow.
  const auto waitUntil = [](const std::function<bool()>& cond) {
    return lab::waitUntil(cond, std::chrono::seconds(5));
  };
  ASSERT_TRUE(
      waitUntil([&] { return ruleset().find("table inet vpnleak_watch") != std::string::npos; }));

  auto held = guard::StateLock::acquire();
  ASSERT_TRUE(held.ok()) << held.error().message();
  std::optional<guard::StateLock> lock(std::move(*held));
  ns->mustExec({"nft", "delete", "table", "inet", "vpnleak"});
  EXPECT_TRUE(waitUntil([&] { return waitsForFlock(*watcher); })) << "the watcher did not wait";
  auto up = core::spawnDaemon({vpnleakBinary(), "guard", "--netns", ns->name(), "up", "--tunnel",
                               "wg0", "--endpoint", "203.0.113.77:51820"},
                              up_log.path);
  ASSERT_TRUE(up.ok());
  EXPECT_TRUE(waitUntil([&] { return waitsForFlock(*up); })) << "guard up did not wait";
  EXPECT_EQ(ruleset().find("table inet vpnleak {"), std::string::npos)
      << "rules were applied while the state lock was held";
  lock.reset();

  int status = -1;
  ASSERT_EQ(::waitpid(*up, &status, 0), *up);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << core::readFile(up_log.path).value_or("");
  const auto upsEndpoint = [&] {
    const auto r = ruleset();
    return r.find("203.0.113.77") != std::string::npos &&
           r.find("203.0.113.2 ") == std::string::npos;
  };
  EXPECT_TRUE(waitUntil(upsEndpoint)) << ruleset();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // a late restore would show here
  EXPECT_TRUE(upsEndpoint()) << "the watcher undid guard up:\n" << ruleset();
  EXPECT_EQ(guard(*ns, {"down"}).exit_code, 0);
  EXPECT_FALSE(core::processMatches(*watcher, "vpnleak"));
  core::terminate(*watcher, std::chrono::milliseconds(100));
}

}  // namespace
}  // namespace vpnleak::testing
