#include "test_support.hpp"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>

namespace vpnleak::testing {

const char* vpnleakBinary() { return VPNLEAK_BINARY; }

bool inCi() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && std::string(ci) == "true";
}

std::string rootCapabilityMissing() {
  if (::geteuid() != 0) return "needs root (network namespaces)";
  if (!core::haveExecutable("ip")) return "needs iproute2 ('ip' not in PATH)";
  return {};
}

std::string randomHex(std::size_t n) {
  std::random_device rd;
  std::string s;
  const char* digits = "0123456789abcdef";
  for (std::size_t i = 0; i < n; ++i) s += digits[rd() % 16];
  return s;
}

core::ProcessResult sh(const std::vector<std::string>& argv) {
  auto r = core::run(argv);
  if (!r) return core::ProcessResult{127, "", r.error().message(), false};
  return *r;
}

ScopedNetns::ScopedNetns(const std::string& tag) : name_("vlt-" + tag + "-" + randomHex(6)) {
  auto r = sh({"ip", "netns", "add", name_});
  if (!r.ok()) ADD_FAILURE() << "ip netns add " << name_ << ": " << r.err;
  sh({"ip", "-n", name_, "link", "set", "lo", "up"});
}

ScopedNetns::~ScopedNetns() {
  auto pids = sh({"ip", "netns", "pids", name_});
  std::istringstream in(pids.out);
  std::string pid;
  while (in >> pid) sh({"kill", "-9", pid});
  sh({"ip", "netns", "del", name_});
}

core::ProcessResult ScopedNetns::exec(const std::vector<std::string>& argv) const {
  std::vector<std::string> full{"ip", "netns", "exec", name_};
  full.insert(full.end(), argv.begin(), argv.end());
  return sh(full);
}

void ScopedNetns::mustExec(const std::vector<std::string>& argv) const {
  auto r = exec(argv);
  ASSERT_TRUE(r.ok()) << core::joinArgv(argv) << " in " << name_ << " failed: " << r.err;
}

}  // namespace vpnleak::testing
