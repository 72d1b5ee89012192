// Stores behind real processes: two server nodes sharing one real redis-server (DNS on one,
// HTTP on the other), and an SQLite store that keeps its records across a restart.
#include <gtest/gtest.h>

#include "server_test_util.hpp"

namespace vpnleak::testing {
namespace {

std::string createTest(const std::string& ns, const std::string& http) {
  auto r = curl(ns, {"-X", "POST", "http://" + http + "/api/v1/tests"});
  EXPECT_TRUE(r.ok()) << r.err;
  return json(r.out).value("token", "");
}

core::Json results(const std::string& ns, const std::string& http, const std::string& token) {
  return json(curl(ns, {"http://" + http + "/api/v1/tests/" + token}).out);
}

std::string dig(const std::string& ns, const std::string& server, const std::string& name) {
  return inNetns(ns, {"dig", "+short", "+time=2", "+tries=1", "-p", "5353", "@" + server, name})
      .out;
}

TEST(ServerStores, TwoNodesShareOneRedis) {
  VL_REQUIRE_ROOT();
  if (!core::haveExecutable("redis-server"))
    GTEST_SKIP() << "redis-server not installed (scripts/deps.sh)";
  ScopedNetns ns("srvredis");
  TempDir dir;
  Daemon redis(
      {"ip", "netns", "exec", ns.name(), "redis-server", "--bind", "127.0.0.1", "--port", "6390",
       "--dir", dir.file(""), "--save", "", "--appendonly", "no", "--protected-mode", "yes"},
      dir.file("redis.log"));
  ASSERT_TRUE(waitFor([&] {
    return redis.log().find("Ready to accept connections") != std::string::npos;
  })) << redis.log();
  const std::string store = "redis://127.0.0.1:6390";
  ServerProcess dns_node(ns.name(),
                         {"--zone", "leak.test", "--dns", "127.0.0.1:5353", "--answer-v4",
                          "192.0.2.10", "--store", store, "--node", "dns-node"},
                         dir.file("dns.log"));
  ServerProcess http_node(
      ns.name(),
      {"--zone", "leak.test", "--http", "127.0.0.1:8080", "--store", store, "--node", "http-node"},
      dir.file("http.log"));
  ASSERT_TRUE(dns_node.waitReady()) << dns_node.log();
  ASSERT_TRUE(http_node.waitReady()) << http_node.log();

  const std::string token = createTest(ns.name(), "127.0.0.1:8080");
  ASSERT_EQ(token.size(), 32U);
  EXPECT_EQ(dig(ns.name(), "127.0.0.1", "q1." + token + ".leak.test"), "192.0.2.10\n");
  ASSERT_TRUE(
      waitFor([&] { return results(ns.name(), "127.0.0.1:8080", token)["dns"].size() == 1; }));
  const auto r = results(ns.name(), "127.0.0.1:8080", token);
  EXPECT_EQ(r["dns"][0]["node"], "dns-node");
  EXPECT_EQ(r["dns"][0]["resolver"], "127.0.0.1");
  EXPECT_EQ(r["http"][0]["node"], "http-node");
  // A token nobody created is not stored by the DNS node.
  const std::string stranger(32, 'f');
  dig(ns.name(), "127.0.0.1", "q1." + stranger + ".leak.test");
  EXPECT_EQ(results(ns.name(), "127.0.0.1:8080", stranger)["status"], 404);
}

TEST(ServerStores, RedisUnreachableIsAnEnvironmentError) {
  VL_REQUIRE_ROOT();
  ScopedNetns ns("srvnoredis");
  const auto r = ns.exec(
      {vpnleakBinary(), "server", "--http", "127.0.0.1:8080", "--store", "redis://127.0.0.1:6391"});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.err.find("redis"), std::string::npos) << r.err;
}

TEST(ServerStores, SqliteRecordsSurviveARestart) {
  VL_REQUIRE_ROOT();
  ScopedNetns ns("srvsqlite");
  TempDir dir;
  const std::vector<std::string> args{"--zone",      "leak.test",
                                      "--dns",       "127.0.0.1:5353",
                                      "--http",      "127.0.0.1:8080",
                                      "--answer-v4", "192.0.2.10",
                                      "--store",     "sqlite:" + dir.file("results.db")};
  std::string token;
  {
    ServerProcess s(ns.name(), args, dir.file("first.log"));
    ASSERT_TRUE(s.waitReady()) << s.log();
    token = createTest(ns.name(), "127.0.0.1:8080");
    ASSERT_EQ(token.size(), 32U);
    dig(ns.name(), "127.0.0.1", "before." + token + ".leak.test");
    ASSERT_TRUE(
        waitFor([&] { return results(ns.name(), "127.0.0.1:8080", token)["dns"].size() == 1; }));
  }
  ServerProcess s(ns.name(), args, dir.file("second.log"));
  ASSERT_TRUE(s.waitReady()) << s.log();
  dig(ns.name(), "127.0.0.1", "after." + token + ".leak.test");
  ASSERT_TRUE(waitFor([&] {
    return results(ns.name(), "127.0.0.1:8080", token)["dns"].size() == 2;
  })) << results(ns.name(), "127.0.0.1:8080", token).dump();
  const auto r = results(ns.name(), "127.0.0.1:8080", token);
  EXPECT_EQ(r["dns"][0]["qname"], "before." + token + ".leak.test");
  EXPECT_EQ(r["dns"][1]["qname"], "after." + token + ".leak.test");
  EXPECT_EQ(r["http"].size(), 1U);
}

}  // namespace
}  // namespace vpnleak::testing
