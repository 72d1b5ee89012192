// The command line's error contract: one line naming the bad value, documented exit codes.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <filesystem>

#include "test_support.hpp"

namespace vpnleak {
namespace {

struct CliCase {
  std::vector<std::string> args;
  int exit_code;
  const char* must_mention;
};

class CliErrorTest : public ::testing::TestWithParam<CliCase> {};

TEST_P(CliErrorTest, OneLineErrorAndExitCode) {
  const auto& c = GetParam();
  auto argv = c.args;
  argv.insert(argv.begin(), testing::vpnleakBinary());
  auto r = testing::sh(argv);
  EXPECT_EQ(r.exit_code, c.exit_code) << r.err;
  EXPECT_NE(r.err.find(c.must_mention), std::string::npos) << r.err;
  if (c.exit_code != 0) {
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "one line: " << r.err;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, CliErrorTest,
    ::testing::Values(
        CliCase{{"frobnicate"}, 2, "frobnicate"}, CliCase{{}, 2, "subcommand"},
        CliCase{{"lab", "up", "--no-such-flag"}, 2, "--no-such-flag"},
        CliCase{{"lab", "up", "--prefix", "Bad!"}, 2, "'Bad!'"},
        CliCase{{"lab", "up", "--prefix", "waytoolongprefix"}, 2, "'waytoolongprefix'"},
        CliCase{{"lab", "up", "--dns", "google"}, 2, "google"},
        CliCase{{"lab", "up", "--zone", "bad..zone"}, 2, "'bad..zone'"},
        CliCase{{"lab", "status", "--prefix", "../x"}, 2, "'../x'"},
        CliCase{{"lab", "exec", "--prefix", "vltnone-", "client", "--", "true"}, 3, "not up"},
        CliCase{{"--log-format", "xml", "lab", "status"}, 2, "xml"}),
    [](const ::testing::TestParamInfo<CliCase>& tc) {
      std::string name = "case" + std::to_string(tc.index);
      for (const auto& a : tc.param.args) {
        for (char ch : a) name += std::isalnum(static_cast<unsigned char>(ch)) != 0 ? ch : '_';
      }
      return name;
    });

TEST(Cli, VersionAndHelpOnEverySubcommand) {
  auto v = testing::sh({testing::vpnleakBinary(), "--version"});
  EXPECT_EQ(v.exit_code, 0);
  EXPECT_EQ(v.out.rfind("vpnleak ", 0), 0U);
  for (const char* sub : {"up", "down", "status", "exec", "run"}) {
    auto h = testing::sh({testing::vpnleakBinary(), "lab", sub, "--help"});
    EXPECT_EQ(h.exit_code, 0) << sub;
    EXPECT_NE(h.out.find(std::string("vpnleak lab ") + sub), std::string::npos) << h.out;
  }
}

TEST(Cli, WithoutRootLabIsExit3) {
  VL_REQUIRE_ROOT();  // needs root to drop to another user
  auto r = testing::sh({"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                        testing::vpnleakBinary(), "lab", "up", "--prefix", "vltnr-"});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.err.find("root"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists("/run/netns/vltnr-client"));
}

}  // namespace
}  // namespace vpnleak
