#include "core/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <csignal>

#include <algorithm>
#include <array>
#include <cstring>
#include <fstream>
#include <string_view>
#include <thread>

#include "core/unique_fd.hpp"

namespace vpnleak::core {

namespace {

std::vector<char*> cArgv(const std::vector<std::string>& argv) {
  std::vector<char*> v;
  v.reserve(argv.size() + 1);
  for (const auto& a : argv) v.push_back(const_cast<char*>(a.c_str()));  // NOLINT: execvp's API
  v.push_back(nullptr);
  return v;
}

// This process's environment with the NAME=value entries of extra set over it.
std::vector<std::string> mergedEnvironment(const std::vector<std::string>& extra) {
  std::vector<std::string> out;
  const auto name = [](std::string_view e) { return e.substr(0, e.find('=')); };
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {  // NOLINT: the C environment
    const std::string_view entry(*e);
    const bool replaced = std::any_of(extra.begin(), extra.end(),
                                      [&](const std::string& x) { return name(x) == name(entry); });
    if (!replaced) out.emplace_back(entry);
  }
  out.insert(out.end(), extra.begin(), extra.end());
  return out;
}

int decodeStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace

std::string joinArgv(const std::vector<std::string>& argv) {
  std::string s;
  for (const auto& a : argv) {
    if (!s.empty()) s += ' ';
    s += a;
  }
  return s;
}

bool haveExecutable(const std::string& name) {
  if (name.find('/') != std::string::npos) return ::access(name.c_str(), X_OK) == 0;
  const char* path = std::getenv("PATH");
  std::string p = path != nullptr ? path : "/usr/sbin:/usr/bin:/sbin:/bin";
  std::size_t pos = 0;
  while (pos <= p.size()) {
    auto end = p.find(':', pos);
    if (end == std::string::npos) end = p.size();
    const std::string full = p.substr(pos, end - pos) + "/" + name;
    if (::access(full.c_str(), X_OK) == 0) return true;
    pos = end + 1;
  }
  return false;
}

Result<ProcessResult> run(const std::vector<std::string>& argv, const RunOptions& opts) {
  if (argv.empty()) return makeError(Errc::kInternal, "run: empty argv");
  std::array<int, 2> in{};
  std::array<int, 2> out{};
  std::array<int, 2> err{};
  if (pipe2(in.data(), O_CLOEXEC) != 0 || pipe2(out.data(), O_CLOEXEC) != 0 ||
      pipe2(err.data(), O_CLOEXEC) != 0) {
    return sysError("pipe");
  }
  UniqueFd in_r(in[0]);
  UniqueFd in_w(in[1]);
  UniqueFd out_r(out[0]);
  UniqueFd out_w(out[1]);
  UniqueFd err_r(err[0]);
  UniqueFd err_w(err[1]);
  auto args = cArgv(argv);
  const pid_t pid = fork();
  if (pid < 0) return sysError("fork");
  if (pid == 0) {
    dup2(in_r.get(), 0);
    dup2(out_w.get(), 1);
    dup2(err_w.get(), 2);
    execvp(args[0], args.data());
    std::fprintf(stderr, "cannot execute %s: %s\n", args[0], std::strerror(errno));
    _exit(127);
  }
  in_r.reset();
  out_w.reset();
  err_w.reset();
  if (!opts.input.empty()) {
    // Small inputs only (configs): fits the pipe buffer.
    [[maybe_unused]] auto n = ::write(in_w.get(), opts.input.data(), opts.input.size());
  }
  in_w.reset();

  ProcessResult r;
  const auto deadline = std::chrono::steady_clock::now() + opts.timeout;
  std::array<pollfd, 2> fds{pollfd{out_r.get(), POLLIN, 0}, pollfd{err_r.get(), POLLIN, 0}};
  int open_fds = 2;
  std::array<char, 4096> buf{};
  while (open_fds > 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      r.timed_out = true;
      ::kill(pid, SIGKILL);
      break;
    }
    const int n = ::poll(fds.data(), fds.size(), static_cast<int>(left.count()));
    if (n < 0 && errno != EINTR) break;
    for (std::size_t i = 0; i < fds.size(); ++i) {
      if (fds[i].fd < 0 || (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
      const auto got = ::read(fds[i].fd, buf.data(), buf.size());
      if (got <= 0) {
        fds[i].fd = -1;
        --open_fds;
        continue;
      }
      (i == 0 ? r.out : r.err).append(buf.data(), static_cast<std::size_t>(got));
    }
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  r.exit_code = decodeStatus(status);
  return r;
}

Status runChecked(const std::vector<std::string>& argv, const RunOptions& opts) {
  auto r = run(argv, opts);
  if (!r) return r.error();
  if (r->ok()) return {};
  std::string first = r->err.substr(0, r->err.find('\n'));
  if (first.empty()) first = r->out.substr(0, r->out.find('\n'));
  const std::string why = r->timed_out ? "timed out" : "exit " + std::to_string(r->exit_code);
  return makeError(Errc::kSystem, "'" + joinArgv(argv) + "' failed (" + why + ")" +
                                      (first.empty() ? "" : ": " + first));
}

Result<pid_t> spawnDaemon(const std::vector<std::string>& argv, const std::string& log_path,
                          const std::vector<std::string>& env) {
  if (argv.empty()) return makeError(Errc::kInternal, "spawnDaemon: empty argv");
  for (const auto& e : env) {
    if (e.find('=') == std::string::npos || e.front() == '=') {
      return makeError(Errc::kInternal,
                       "spawnDaemon: environment entry '" + e + "': expected NAME=value");
    }
  }
  UniqueFd log(::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
  if (!log.valid()) return sysError("open " + log_path);
  UniqueFd devnull(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  // The child reports a failed exec through a close-on-exec pipe; EOF means exec happened, so
  // the pid names the new program by the time we return it.
  std::array<int, 2> status_pipe{};
  if (pipe2(status_pipe.data(), O_CLOEXEC) != 0) return sysError("pipe");
  UniqueFd status_r(status_pipe[0]);
  UniqueFd status_w(status_pipe[1]);
  auto args = cArgv(argv);
  // Built before fork: the child of a threaded process may only make async-signal-safe calls.
  const auto env_strings = mergedEnvironment(env);
  auto envp = cArgv(env_strings);
  const pid_t pid = fork();
  if (pid < 0) return sysError("fork");
  if (pid == 0) {
    setpgid(0, 0);
    dup2(devnull.get(), 0);
    dup2(log.get(), 1);
    dup2(log.get(), 2);
    execvpe(args[0], args.data(), envp.data());
    const int err = errno;
    [[maybe_unused]] auto n = ::write(status_w.get(), &err, sizeof(err));
    _exit(127);
  }
  status_w.reset();
  int child_errno = 0;
  ssize_t got = 0;
  do {
    got = ::read(status_r.get(), &child_errno, sizeof(child_errno));
  } while (got < 0 && errno == EINTR);
  if (got == sizeof(child_errno)) {
    waitpid(pid, nullptr, 0);
    return Error{Errc::kEnvironment, child_errno, "cannot execute " + argv.front()};
  }
  return pid;
}

bool processMatches(pid_t pid, const std::string& expected_exe) {
  if (pid <= 0) return false;
  std::ifstream f("/proc/" + std::to_string(pid) + "/cmdline");
  std::string first;
  if (!std::getline(f, first, '\0')) return false;
  return first.size() >= expected_exe.size() &&
         first.compare(first.size() - expected_exe.size(), expected_exe.size(), expected_exe) == 0;
}

void terminate(pid_t pid, std::chrono::milliseconds grace) {
  if (pid <= 0 || ::kill(pid, SIGTERM) != 0) return;
  const auto deadline = std::chrono::steady_clock::now() + grace;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    const pid_t w = waitpid(pid, &status, WNOHANG);
    if (w == pid) return;                      // our child, reaped
    if (w < 0 && ::kill(pid, 0) != 0) return;  // not our child, and gone
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ::kill(pid, SIGKILL);
  waitpid(pid, nullptr, WNOHANG);
}

}  // namespace vpnleak::core
