// lab run's options are checked before any lab is built: --pcap-dir must be a directory or a new
// one in an existing directory (a trailing slash included), and checking creates nothing.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "lab/assessment.hpp"
#include "test_support.hpp"

namespace vpnleak::lab {
namespace {

namespace fs = std::filesystem;

AssessmentOptions withPcapDir(const std::string& dir) {
  AssessmentOptions o;
  o.scenarios = {"reconnect"};
  o.pcap_dir = dir;
  return o;
}

TEST(LabAssessmentOptions, PcapDirIsADirectoryOrANewOneInAnExistingDirectory) {
  const testing::TempFile parent("vlt-pcapdir");
  fs::create_directory(parent.path);
  struct RemoveAll {  // the directory and what the test put in it, however the test ends
    std::string path;
    ~RemoveAll() {
      std::error_code ec;
      fs::remove_all(path, ec);
    }
  } const cleanup{parent.path};
  EXPECT_TRUE(validate(withPcapDir(parent.path)));
  EXPECT_TRUE(validate(withPcapDir(parent.path + "/")));
  for (const auto& fresh : {parent.path + "/new", parent.path + "/new/", parent.path + "/./new"}) {
    const auto st = validate(withPcapDir(fresh));
    EXPECT_TRUE(st) << fresh << ": " << st.error().message();
    EXPECT_FALSE(fs::exists(parent.path + "/new")) << "validate created " << fresh;
  }
  const auto deep = parent.path + "/a/b/";
  auto st = validate(withPcapDir(deep));
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, core::Errc::kInvalidArgument);
  EXPECT_EQ(
      st.error().message(),
      "--pcap-dir '" + deep + "': expected a directory, or a new one in an existing directory");
  const auto file = parent.path + "/file";
  std::ofstream(file) << "x";
  st = validate(withPcapDir(file));
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().message(), "--pcap-dir '" + file + "' is not a directory");
}

TEST(LabAssessmentOptions, PcapDirResolvesToWhereTheFilesAreMade) {
  const testing::TempFile parent("vlt-pcapres");
  fs::create_directories(parent.path + "/real");
  fs::create_directory_symlink(parent.path + "/real", parent.path + "/link");
  struct RemoveAll {
    std::string path;
    ~RemoveAll() {
      std::error_code ec;
      fs::remove_all(path, ec);
    }
  } const cleanup{parent.path};
  const auto real = fs::canonical(parent.path).string() + "/real";
  EXPECT_EQ(resolvePcapDir(parent.path + "/link/new/"), real + "/new");
  EXPECT_EQ(resolvePcapDir(parent.path + "/real/../real/./x"), real + "/x");
  // A relative name is taken from the working directory: the monitor runs elsewhere.
  const auto cwd = fs::current_path();
  fs::current_path(parent.path);
  const auto relative = resolvePcapDir("real/new");
  const auto fresh = resolvePcapDir("fresh");  // nothing of it exists yet
  fs::current_path(cwd);
  EXPECT_EQ(relative, real + "/new");
  EXPECT_EQ(fresh, fs::canonical(parent.path).string() + "/fresh");
}

}  // namespace
}  // namespace vpnleak::lab
