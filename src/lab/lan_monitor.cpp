#include "lab/lan_monitor.hpp"
#include "core/file.hpp"

#include <sys/wait.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <thread>

#include "lab/context.hpp"
#include "lab/lab.hpp"

namespace vpnleak::lab {

namespace {

std::string slurp(const std::string& path) { return core::readFile(path).value_or(""); }

// True once PID (our child) has exited; reaps it and puts its exit code (128 + N for signal N,
// -1 when it was reaped elsewhere) in *code.
bool exited(pid_t pid, int* code = nullptr) {
  int status = 0;
  const pid_t w = waitpid(pid, &status, WNOHANG);
  if (w == pid && code != nullptr) {
    *code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  if (w < 0 && errno == ECHILD && code != nullptr) *code = -1;
  return w == pid || (w < 0 && errno == ECHILD);
}

std::string firstLine(const std::string& text, const std::string& fallback) {
  auto line = text.substr(0, text.find('\n'));
  return line.empty() ? fallback : line;
}

}  // namespace

LanMonitor::LanMonitor(std::string self, const LabPlan& plan, std::string name, std::string pcap)
    : self_(std::move(self)),
      ns_(plan.netns("client")),
      iface_(plan.node("client").ifaces.front().name),
      state_dir_(stateDir(plan.options.prefix)),
      name_(std::move(name)),
      pcap_(std::move(pcap)),
      endpoint_(plan.tunnel.endpoint) {}

LanMonitor::~LanMonitor() {
  if (pid_ > 0) core::terminate(pid_, std::chrono::milliseconds(1000));
}

std::string LanMonitor::log() const { return state_dir_ + "/" + name_ + ".log"; }

std::vector<std::string> LanMonitor::argv() const {
  // The endpoint as /udp (no framing check), as the guard names it: any VPN protocol over UDP
  // to the endpoint is the tunnel. DHCP, NDP and ARP are what a host on a real network needs,
  // and MLD/IGMP reports (multicast group joins, e.g. when something opens an mDNS socket) are
  // link-local control: none leaves the link, so none counts as a leak.
  std::vector<std::string> out{
      self_,     "monitor", "--iface", iface_, "--endpoint",  endpoint_.toString() + "/udp",
      "--allow", "dhcp",    "--allow", "ndp",  "--allow",     "arp",
      "--allow", "mld",     "--allow", "igmp", "--direction", "out",
      "--json"};
  if (!pcap_.empty()) out.insert(out.end(), {"--write", pcap_});
  return out;
}

core::Status LanMonitor::start() {
  const LabContext ctx(state_dir_);
  VL_TRY_ASSIGN(pid_, ctx.daemon(ns_, name_, argv()));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    if (slurp(log()).find("\"type\":\"start\"") != std::string::npos) return {};
    if (exited(pid_)) {
      pid_ = -1;
      return core::makeError(core::Errc::kEnvironment,
                             "vpnleak monitor on " + iface_ + " in " + ns_ +
                                 " exited: " + firstLine(slurp(log()), "no output; see " + log()));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  core::terminate(pid_, std::chrono::milliseconds(1000));
  pid_ = -1;
  return core::makeError(core::Errc::kTimeout, "vpnleak monitor on " + iface_ + " in " + ns_ +
                                                   " did not start within 10 s; see " + log());
}

core::Result<MonitorOutput> LanMonitor::stop() {
  if (pid_ <= 0) {
    return core::makeError(core::Errc::kInternal, "vpnleak monitor stopped before it started");
  }
  // A monitor that ended on its own (a --write file that could not be written, a capture that
  // failed) did not watch the whole scenario: whatever it printed proves nothing.
  int code = 0;
  const bool early = exited(pid_, &code);
  if (!early) ::kill(pid_, SIGINT);  // it ends its capture within 0.3 s and prints its summary
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  bool done = early;
  while (!done && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    done = exited(pid_, &code);
  }
  if (!done) core::terminate(pid_, std::chrono::milliseconds(500));
  pid_ = -1;
  VL_TRY_ASSIGN(auto out, parseMonitorOutput(slurp(log())));
  if (early || (done && code != 0 && code != 1 && code != -1)) {
    return core::makeError(
        core::Errc::kSystem,
        "vpnleak monitor on " + iface_ + (early ? " ended early" : " failed") +
            (code < 0 ? " (exit status unknown)" : " (exit " + std::to_string(code) + ")") +
            (out.error.empty() ? "; see " + log() : ": " + out.error));
  }
  if (!out.summary) {
    return core::makeError(core::Errc::kSystem, "vpnleak monitor on " + iface_ +
                                                    " ended without its summary" +
                                                    (done ? "" : " (killed after 5 s)") +
                                                    (out.error.empty() ? "" : ": " + out.error));
  }
  if (out.summary->leaks != out.leaks.size()) {
    return core::makeError(core::Errc::kInternal,
                           "vpnleak monitor counted " + std::to_string(out.summary->leaks) +
                               " leaks but printed " + std::to_string(out.leaks.size()) +
                               " leak events; see " + log());
  }
  return out;
}

}  // namespace vpnleak::lab
