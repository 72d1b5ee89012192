// Shared helpers for tests: temporary namespaces, running commands, capability checks.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "core/process.hpp"

namespace vpnleak::testing {

// Path of the built vpnleak binary.
const char* vpnleakBinary();

// Empty when the capability is present, else the reason it is not. Tests call
// VL_REQUIRE_ROOT(); outside CI a missing capability skips with the reason printed; in CI
// (CI=true) it fails, because CI must show zero skips.
std::string rootCapabilityMissing();
bool inCi();

#define VL_REQUIRE_ROOT()                                                      \
  do {                                                                         \
    const std::string vl_why_ = ::vpnleak::testing::rootCapabilityMissing();   \
    if (!vl_why_.empty()) {                                                    \
      if (::vpnleak::testing::inCi()) FAIL() << "required in CI: " << vl_why_; \
      GTEST_SKIP() << vl_why_;                                                 \
    }                                                                          \
  } while (0)

// A network namespace "vlt-<tag>-<random>" that is deleted (with every process in it) when the
// object goes away.
class ScopedNetns {
 public:
  explicit ScopedNetns(const std::string& tag);
  ~ScopedNetns();
  ScopedNetns(const ScopedNetns&) = delete;
  ScopedNetns& operator=(const ScopedNetns&) = delete;
  [[nodiscard]] const std::string& name() const { return name_; }
  // Runs argv inside the namespace (ip netns exec), returning the result.
  [[nodiscard]] core::ProcessResult exec(const std::vector<std::string>& argv) const;
  // Same, but a failure is a test failure naming the command.
  void mustExec(const std::vector<std::string>& argv) const;

 private:
  std::string name_;
};

// Runs a command; the result (never an error: a failure to start is exit 127).
core::ProcessResult sh(const std::vector<std::string>& argv);

// A random lowercase hex string of n characters.
std::string randomHex(std::size_t n);

// A file path under /tmp that is removed when the test ends, however it ends.
struct TempFile {
  explicit TempFile(const std::string& stem) : path("/tmp/" + stem + "-" + randomHex(8)) {}
  ~TempFile() {
    std::error_code ec;
    std::filesystem::remove(path, ec);
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  std::string path;
};

// A temporary directory "/tmp/STEM-<random>", removed with everything in it.
class TempDir {
 public:
  explicit TempDir(const std::string& stem = "vpnleak-test")
      : path_(std::filesystem::temp_directory_path() / (stem + "-" + randomHex(8))) {
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  [[nodiscard]] std::string file(const std::string& name) const { return (path_ / name).string(); }
  [[nodiscard]] std::string path() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace vpnleak::testing

// Names parameterised test cases by their index: "case0", "case1", ... (instead of byte dumps).
#define VL_CASE_NAMES [](const auto& vl_case) { return "case" + std::to_string(vl_case.index); }
