// Running other programs: no shell, argv only, output captured, bounded in time.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

#include "core/result.hpp"

namespace vpnleak::core {

struct ProcessResult {
  int exit_code = -1;  // 128+signal when killed by a signal
  std::string out;
  std::string err;
  bool timed_out = false;
  [[nodiscard]] bool ok() const { return exit_code == 0 && !timed_out; }
};

struct RunOptions {
  std::chrono::milliseconds timeout{30000};
  std::string input;  // written to the child's stdin, then closed

  static RunOptions withInput(std::string text) {
    return {std::chrono::milliseconds(30000), std::move(text)};
  }
  static RunOptions withTimeout(std::chrono::milliseconds t) { return {t, {}}; }
};

// Runs argv[0] (looked up in PATH) to completion. An error only when it could not be started.
Result<ProcessResult> run(const std::vector<std::string>& argv, const RunOptions& opts = {});

// Like run(), but a non-zero exit is an error naming the command and its stderr's first line.
Status runChecked(const std::vector<std::string>& argv, const RunOptions& opts = {});

// Starts a long-running program detached into its own process group, stdout/stderr appended
// to log_path, stdin from /dev/null. Returns its pid. env: "NAME=value" entries set in its
// environment on top of (or instead of) this process's.
Result<pid_t> spawnDaemon(const std::vector<std::string>& argv, const std::string& log_path,
                          const std::vector<std::string>& env = {});

// True when pid is alive and its /proc/PID/cmdline's first word ends with expected_exe
// (protects against killing a recycled pid).
bool processMatches(pid_t pid, const std::string& expected_exe);

// SIGTERM, wait up to grace, then SIGKILL. Reaps it if it is our child.
void terminate(pid_t pid, std::chrono::milliseconds grace = std::chrono::milliseconds(1000));

// Looks an executable up in PATH.
bool haveExecutable(const std::string& name);

std::string joinArgv(const std::vector<std::string>& argv);

}  // namespace vpnleak::core
