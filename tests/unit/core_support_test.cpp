// Result, JSON helpers, processes: the small pieces everything else leans on.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "core/json.hpp"
#include "core/process.hpp"
#include "core/result.hpp"

namespace vpnleak::core {
namespace {

Result<int> half(int v) {
  if (v % 2 != 0) return makeError(Errc::kInvalidArgument, "odd value " + std::to_string(v));
  return v / 2;
}

Result<int> quarter(int v) {
  VL_TRY_ASSIGN(int h, half(v));
  return half(h);
}

Status checkEven(int v) {
  VL_TRY(half(v));
  return {};
}

TEST(Result, ValueErrorAndPropagation) {
  EXPECT_EQ(*quarter(8), 2);
  auto r = quarter(6);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(), "odd value 3");
  EXPECT_TRUE(checkEven(4).ok());
  EXPECT_FALSE(checkEven(5).ok());
}

TEST(Result, ExitCodesFollowTheContract) {
  EXPECT_EQ(makeError(Errc::kInvalidArgument, "x").exitCode(), 2);
  EXPECT_EQ(makeError(Errc::kExists, "x").exitCode(), 2);
  EXPECT_EQ(makeError(Errc::kEnvironment, "x").exitCode(), 3);
  EXPECT_EQ(makeError(Errc::kInternal, "x").exitCode(), 4);
  EXPECT_EQ(sysError("open /nope", ENOENT).message(), "open /nope: No such file or directory");
}

TEST(Json, SchemaComesFirstAndAddressesSerialise) {
  auto doc = jsonDocument("vpnleak.test/1");
  doc["a"] = 1;
  doc["addr"] = IpAddress::parse("2001:db8::1").value();
  doc["net"] = Prefix::parse("10.0.0.0/8").value();
  EXPECT_EQ(doc.dump(),
            R"({"schema":"vpnleak.test/1","a":1,"addr":"2001:db8::1","net":"10.0.0.0/8"})");
  EXPECT_TRUE(parseJson(R"({"x":[1,2]})", "test").ok());
  auto bad = parseJson("{\"x\":", "snapshot.json");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("snapshot.json"), std::string::npos);
  EXPECT_EQ(bad.error().exitCode(), 2);
}

TEST(Process, CapturesOutputAndExitCode) {
  auto r = run({"sh", "-c", "echo out; echo err >&2; exit 3"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->out, "out\n");
  EXPECT_EQ(r->err, "err\n");
  EXPECT_EQ(r->exit_code, 3);
  auto in = run({"cat"}, RunOptions::withInput("hello"));
  ASSERT_TRUE(in.ok());
  EXPECT_EQ(in->out, "hello");
  auto missing = run({"/nonexistent/tool"});
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(missing->exit_code, 127);
  auto st = runChecked({"sh", "-c", "echo boom >&2; exit 1"});
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message().find("boom"), std::string::npos);
}

TEST(Process, TimeoutKillsTheChild) {
  const auto t0 = std::chrono::steady_clock::now();
  auto r = run({"sleep", "10"}, RunOptions::withTimeout(std::chrono::milliseconds(200)));
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->timed_out);
  EXPECT_FALSE(r->ok());
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
}

TEST(Process, DaemonIsRecognisedAndTerminated) {
  const std::string log = ::testing::TempDir() + "/daemon.log";
  auto pid = spawnDaemon({"sleep", "30"}, log);
  ASSERT_TRUE(pid.ok());
  EXPECT_TRUE(processMatches(*pid, "sleep"));
  EXPECT_FALSE(processMatches(*pid, "unbound"));
  terminate(*pid);
  EXPECT_FALSE(processMatches(*pid, "sleep"));
  EXPECT_TRUE(haveExecutable("sh"));
  EXPECT_FALSE(haveExecutable("definitely-not-a-tool-vpnleak"));
}

TEST(Process, DaemonGetsTheExtraEnvironmentOverItsOwn) {
  const std::string log = ::testing::TempDir() + "/daemon-env.log";
  std::remove(log.c_str());
  ::setenv("VL_TEST_KEPT", "kept", 1);
  ::setenv("VL_TEST_SET", "old", 1);
  auto pid = spawnDaemon({"sh", "-c", "echo \"$VL_TEST_KEPT $VL_TEST_SET $VL_TEST_NEW\""}, log,
                         {"VL_TEST_SET=new", "VL_TEST_NEW=a=b"});
  ASSERT_TRUE(pid.ok());
  int status = 0;
  ASSERT_EQ(::waitpid(*pid, &status, 0), *pid);
  std::ifstream in(log);
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "kept new a=b");
  ::unsetenv("VL_TEST_KEPT");
  ::unsetenv("VL_TEST_SET");
  std::remove(log.c_str());

  auto bad = spawnDaemon({"true"}, log, {"NOVALUE"});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("'NOVALUE': expected NAME=value"), std::string::npos);
}

}  // namespace
}  // namespace vpnleak::core
