#include "lab/context.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <charconv>
#include <fstream>
#include <thread>

#include "core/unique_fd.hpp"

namespace vpnleak::lab {

std::vector<std::string> inNetns(const std::string& ns, const std::vector<std::string>& argv) {
  std::vector<std::string> full{"ip", "netns", "exec", ns};
  full.insert(full.end(), argv.begin(), argv.end());
  return full;
}

// NOLINTNEXTLINE(readability-convert-member-functions-to-static): part of the context's interface
core::Status LabContext::ip(const std::string& ns, const std::vector<std::string>& args) const {
  std::vector<std::string> full{"ip", "-n", ns};
  full.insert(full.end(), args.begin(), args.end());
  return core::runChecked(full);
}

// NOLINTNEXTLINE(readability-convert-member-functions-to-static)
core::Status LabContext::exec(const std::string& ns, const std::vector<std::string>& argv,
                              const core::RunOptions& opts) const {
  return core::runChecked(inNetns(ns, argv), opts);
}

// NOLINTNEXTLINE(readability-convert-member-functions-to-static)
core::Result<core::ProcessResult> LabContext::run(const std::string& ns,
                                                  const std::vector<std::string>& argv,
                                                  const core::RunOptions& opts) const {
  return core::run(inNetns(ns, argv), opts);
}

core::Result<pid_t> LabContext::daemon(const std::string& ns, const std::string& name,
                                       const std::vector<std::string>& argv,
                                       const std::vector<std::string>& env) const {
  auto pid = core::spawnDaemon(inNetns(ns, argv), path(name + ".log"), env);
  if (!pid) return pid.error();
  // `ip netns exec` replaces itself with the program, so the pid is the daemon's.
  std::ofstream pids(path("pids"), std::ios::app);
  pids << *pid << ' ' << argv.front() << ' ' << name << '\n';
  if (!pids) return core::sysError("write " + path("pids"));
  return pid;
}

bool waitUntil(const std::function<bool()>& cond, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return cond();
}

std::string LabContext::readLine(const std::string& file) const {
  std::ifstream f(path(file));
  std::string line;
  std::getline(f, line);
  return line;
}

long long LabContext::readNumber(const std::string& file) const {
  const auto line = readLine(file);
  long long v = 0;
  std::from_chars(line.data(), line.data() + line.size(), v);
  return v;
}

core::Status LabContext::writeFile(const std::string& file, const std::string& content) const {
  const std::string p = path(file);
  core::UniqueFd fd(::open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!fd.valid()) return core::sysError("open " + p);
  std::size_t off = 0;
  while (off < content.size()) {
    const auto n = ::write(fd.get(), content.data() + off, content.size() - off);
    if (n < 0) return core::sysError("write " + p);
    off += static_cast<std::size_t>(n);
  }
  return {};
}

}  // namespace vpnleak::lab
