// Helpers for the `vpnleak server` integration tests: a server (or any daemon) that is always
// stopped by its pid, bounded polling, sockets created inside a test namespace, JSON from curl.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/json.hpp"
#include "core/process.hpp"
#include "core/unique_fd.hpp"
#include "server/sockets.hpp"
#include "test_support.hpp"

namespace vpnleak::testing {

// Polls until pred() or the deadline; true when pred() held.
inline bool waitFor(const std::function<bool()>& pred,
                    std::chrono::milliseconds timeout = std::chrono::seconds(10),
                    std::chrono::milliseconds step = std::chrono::milliseconds(50)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(step);
  }
  return pred();
}

inline std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A daemon started detached with its output in a log file, stopped by its pid when the object
// goes away (also when an assertion ends the test early).
class Daemon {
 public:
  Daemon(const std::vector<std::string>& argv, std::string log,
         const std::vector<std::string>& env = {})
      : log_(std::move(log)) {
    auto pid = core::spawnDaemon(argv, log_, env);
    if (pid) {
      pid_ = *pid;
    } else {
      ADD_FAILURE() << "cannot start " << core::joinArgv(argv) << ": " << pid.error().message();
    }
  }
  ~Daemon() { stop(); }
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // SIGTERM, SIGKILL after a grace period, then the rest of its process group (spawnDaemon
  // made the daemon a group leader; a browser leaves helper processes behind otherwise).
  void stop() {
    if (pid_ > 0 && running()) {
      core::terminate(pid_, std::chrono::milliseconds(3000));
      ::kill(-pid_, SIGKILL);
    }
    pid_ = -1;
  }
  [[nodiscard]] pid_t pid() const { return pid_; }
  // False once it exited (reaping it: a zombie would still answer kill(pid, 0)).
  [[nodiscard]] bool running() {
    if (pid_ <= 0 || exited_) return false;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) exited_ = true;
    return !exited_;
  }
  [[nodiscard]] std::string log() const { return readFile(log_); }

 private:
  std::string log_;
  pid_t pid_ = -1;
  bool exited_ = false;
};

// `vpnleak server ARGS` inside namespace ns; ready once it logged "server ready".
class ServerProcess : public Daemon {
 public:
  ServerProcess(const std::string& ns, const std::vector<std::string>& args, const std::string& log)
      : Daemon(argv(ns, args), log) {}

  bool waitReady() {
    return waitFor([&] { return log().find("server ready") != std::string::npos || !running(); },
                   std::chrono::seconds(15)) &&
           log().find("server ready") != std::string::npos;
  }

 private:
  static std::vector<std::string> argv(const std::string& ns,
                                       const std::vector<std::string>& args) {
    std::vector<std::string> v{"ip", "netns", "exec", ns, vpnleakBinary(), "server"};
    v.insert(v.end(), args.begin(), args.end());
    return v;
  }
};

inline core::ProcessResult inNetns(const std::string& ns, std::vector<std::string> argv) {
  argv.insert(argv.begin(), {"ip", "netns", "exec", ns});
  return sh(argv);
}

// curl -sS with a time limit; the body on stdout.
inline core::ProcessResult curl(const std::string& ns, std::vector<std::string> args) {
  args.insert(args.begin(), {"curl", "-sS", "--max-time", "10", "-g"});
  return inNetns(ns, std::move(args));
}

inline core::Json json(const std::string& text) { return core::Json::parse(text, nullptr, false); }

// A socket created inside ns (by a thread that joined it): it keeps that namespace for life.
inline core::UniqueFd socketIn(const std::string& ns, int family, int type) {
  core::UniqueFd out;
  std::thread([&] {
    core::UniqueFd nsfd(::open(("/var/run/netns/" + ns).c_str(), O_RDONLY | O_CLOEXEC));
    if (!nsfd.valid() || ::setns(nsfd.get(), CLONE_NEWNET) != 0) return;
    out.reset(::socket(family, type | SOCK_CLOEXEC, 0));
  }).join();
  return out;
}

// Sends one datagram from a fresh socket in ns and waits up to timeout for one reply.
inline std::vector<std::uint8_t> udpExchange(
    const std::string& ns, const core::Endpoint& to, const std::vector<std::uint8_t>& payload,
    std::chrono::milliseconds timeout = std::chrono::milliseconds(1000)) {
  auto fd = socketIn(ns, to.address.isV4() ? AF_INET : AF_INET6, SOCK_DGRAM);
  if (!fd.valid()) return {};
  sockaddr_storage ss{};
  const auto len = server::sockaddrFrom(to, ss);
  ::sendto(fd.get(), payload.data(), payload.size(), 0, reinterpret_cast<sockaddr*>(&ss), len);
  pollfd p{fd.get(), POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1) return {};
  std::vector<std::uint8_t> buf(65536);
  const auto n = ::recv(fd.get(), buf.data(), buf.size(), 0);
  buf.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
  return buf;
}

// Connects a TCP socket in ns, writes data, and reads until EOF or timeout.
inline std::string tcpExchange(
    const std::string& ns, const core::Endpoint& to, const std::string& data,
    std::chrono::milliseconds timeout = std::chrono::milliseconds(3000)) {
  auto fd = socketIn(ns, to.address.isV4() ? AF_INET : AF_INET6, SOCK_STREAM);
  if (!fd.valid()) return {};
  sockaddr_storage ss{};
  const auto len = server::sockaddrFrom(to, ss);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0) return {};
  std::size_t off = 0;
  while (off < data.size()) {
    const auto n = ::send(fd.get(), data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n <= 0) break;
    off += static_cast<std::size_t>(n);
  }
  std::string out;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  char buf[4096];
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd.get(), POLLIN, 0};
    if (::poll(&p, 1, 100) != 1) continue;
    const auto n = ::recv(fd.get(), buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

}  // namespace vpnleak::testing
