// A background process for the monitor's integration tests (vpnleak monitor, tcpdump): started
// with its output in a file, stopped by its pid with a chosen signal, its exit status collected;
// the destructor kills and reaps it when a test ends early.
#pragma once

#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/json.hpp"
#include "core/process.hpp"
#include "test_support.hpp"

namespace vpnleak::testing {

class Background {
 public:
  Background() : log_("/tmp/vlm-bg-" + randomHex(10) + ".log") {}
  ~Background() {
    stop(SIGKILL, std::chrono::milliseconds(2000));
    std::error_code ec;
    std::filesystem::remove(log_, ec);
  }
  Background(const Background&) = delete;
  Background& operator=(const Background&) = delete;

  bool start(const std::vector<std::string>& argv) {
    auto pid = core::spawnDaemon(argv, log_);
    if (!pid) return false;
    pid_ = *pid;
    return true;
  }

  // Waits (bounded) until the output contains text.
  bool waitFor(const std::string& text, std::chrono::milliseconds timeout) const {
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < end) {
      if (output().find(text) != std::string::npos) return true;
      if (!running()) return output().find(text) != std::string::npos;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }

  [[nodiscard]] bool running() const { return pid_ > 0 && ::kill(pid_, 0) == 0 && !exited_; }

  // Sends sig and waits for the exit; escalates to SIGKILL after timeout. Returns the exit code
  // (128+signal when killed), or -1 when it was not running.
  int stop(int sig, std::chrono::milliseconds timeout = std::chrono::milliseconds(5000)) {
    if (pid_ <= 0) return exit_code_;
    ::kill(pid_, sig);
    const auto end = std::chrono::steady_clock::now() + timeout;
    int status = 0;
    pid_t w = 0;
    while ((w = ::waitpid(pid_, &status, WNOHANG)) == 0 && std::chrono::steady_clock::now() < end) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (w == 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
    }
    exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    pid_ = -1;
    exited_ = true;
    return exit_code_;
  }

  // Waits for the process to end by itself (bounded), then as stop().
  int wait(std::chrono::milliseconds timeout) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    int status = 0;
    while (pid_ > 0 && std::chrono::steady_clock::now() < end) {
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        pid_ = -1;
        exited_ = true;
        return exit_code_;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return stop(SIGKILL);
  }

  [[nodiscard]] std::string output() const {
    std::ifstream f(log_);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
  }

  // The NDJSON objects in the output (other lines, e.g. logs on stderr, skipped).
  [[nodiscard]] std::vector<core::Json> jsonLines() const {
    std::vector<core::Json> out;
    std::istringstream in(output());
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty() || line.front() != '{') continue;
      if (auto j = core::parseJson(line, "output"); j.ok()) out.push_back(*j);
    }
    return out;
  }

  [[nodiscard]] const std::string& logPath() const { return log_; }

 private:
  std::string log_;
  pid_t pid_ = -1;
  bool exited_ = false;
  int exit_code_ = -1;
};

inline std::vector<core::Json> ofType(const std::vector<core::Json>& lines,
                                      const std::string& type) {
  std::vector<core::Json> out;
  for (const auto& j : lines) {
    if (j.value("type", "") == type) out.push_back(j);
  }
  return out;
}

// The argv of a Python sender (run it in a namespace) of `count` WireGuard transport-data
// datagrams (type 4, 1200 bytes: what the monitor counts as tunnel) to 127.0.0.1:51820, then one
// more datagram with the payload `last`, a Python bytes literal such as "b''". With bind_port the
// port is bound first, so that no ICMP port unreachable (another packet) answers them.
inline std::vector<std::string> sendToWireGuardPort(int count, const std::string& last,
                                                    bool bind_port) {
  std::string py = "import socket\n";
  if (bind_port) {
    py += "r = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\nr.bind(('127.0.0.1', 51820))\n";
  }
  py += "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n";
  py += "for _ in range(" + std::to_string(count) + "):\n";
  py += "  s.sendto(b'\\x04\\x00\\x00\\x00' + b'x' * 1196, ('127.0.0.1', 51820))\n";
  py += "s.sendto(" + last + ", ('127.0.0.1', 51820))\n";
  return {"python3", "-c", py};
}

}  // namespace vpnleak::testing
