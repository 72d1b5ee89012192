// What a lab step needs: commands in a node's namespace, daemons it starts, files it writes.
// Every daemon is recorded (pid and executable) in the state directory before it can do
// anything, so that `lab down` finds it even after `lab up` was killed.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "core/process.hpp"
#include "core/result.hpp"

namespace vpnleak::lab {

class LabContext {
 public:
  explicit LabContext(std::string state_dir) : dir_(std::move(state_dir)) {}

  [[nodiscard]] const std::string& dir() const { return dir_; }
  [[nodiscard]] std::string path(const std::string& file) const { return dir_ + "/" + file; }

  // `ip -n NS ARGS...`
  core::Status ip(const std::string& ns, const std::vector<std::string>& args) const;
  // `ip netns exec NS ARGV...`, failing on a non-zero exit.
  core::Status exec(const std::string& ns, const std::vector<std::string>& argv,
                    const core::RunOptions& opts = {}) const;
  core::Result<core::ProcessResult> run(const std::string& ns, const std::vector<std::string>& argv,
                                        const core::RunOptions& opts = {}) const;
  // Starts ARGV in NS in the background, logging to DIR/NAME.log; env: "NAME=value" entries
  // added to its environment.
  core::Result<pid_t> daemon(const std::string& ns, const std::string& name,
                             const std::vector<std::string>& argv,
                             const std::vector<std::string>& env = {}) const;
  core::Status writeFile(const std::string& file, const std::string& content) const;
  // The first line of DIR/FILE ("" when it is missing), and that line as a number (0 when it is
  // missing or not a number): a token or a pid the lab kept.
  [[nodiscard]] std::string readLine(const std::string& file) const;
  [[nodiscard]] long long readNumber(const std::string& file) const;

 private:
  std::string dir_;
};

std::vector<std::string> inNetns(const std::string& ns, const std::vector<std::string>& argv);

// Polls cond every 20 ms until it holds (true) or limit has passed (false).
bool waitUntil(const std::function<bool()>& cond, std::chrono::milliseconds limit);

}  // namespace vpnleak::lab
