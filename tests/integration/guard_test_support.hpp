// Shared by the guard's lab tests: a capture on the router's LAN side that counts what left the
// client, and a traffic generator inside the client namespace that tries every leak path.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "../support/test_support.hpp"
#include "core/ip.hpp"
#include "core/process.hpp"
#include "core/sockaddr.hpp"
#include "core/unique_fd.hpp"
#include "lab/context.hpp"
#include "lab/lab.hpp"
#include "netlink/netns.hpp"

namespace vpnleak::testing {

// What is allowed on the wire: the tunnel's own UDP to the endpoint, DHCP, DHCPv6, NDP, ARP.
// Everything else that the client sends is a leak.
inline std::string leakFilter(const core::Endpoint& vpn) {
  return "(ip or ip6) and not (udp and host " + vpn.address.toString() + " and port " +
         std::to_string(vpn.port) +
         ") and not (udp and (port 67 or port 68 or port 546 or port 547))"
         " and not (icmp6 and ip6[40] >= 133 and ip6[40] <= 137)";
}

// tcpdump on IFACE in NS, inbound direction only (packets the client sent to the router).
class Capture {
 public:
  Capture(std::string ns, std::string iface)
      : ns_(std::move(ns)),
        iface_(std::move(iface)),
        file_("/tmp/vlg-capture-" + randomHex(8) + ".pcap"),
        log_(file_ + ".log") {}
  ~Capture() {
    stop();
    std::error_code ec;
    std::filesystem::remove(file_, ec);
    std::filesystem::remove(log_, ec);
  }
  Capture(const Capture&) = delete;
  Capture& operator=(const Capture&) = delete;

  // Returns once tcpdump reports that it listens (at most 10 s).
  bool start() {
    auto pid =
        core::spawnDaemon(lab::inNetns(ns_, {"tcpdump", "--immediate-mode", "-i", iface_, "-Q",
                                             "in", "-n", "-U", "-s", "256", "-w", file_}),
                          log_);
    if (!pid) return false;
    pid_ = *pid;
    for (int i = 0; i < 500; ++i) {
      std::ifstream f(log_);
      std::stringstream ss;
      ss << f.rdbuf();
      if (ss.str().find("listening on") != std::string::npos) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }

  void stop() {
    if (pid_ > 0) {
      // SIGINT lets tcpdump flush its buffer; -U already writes packet by packet.
      ::kill(pid_, SIGINT);
      core::terminate(pid_, std::chrono::milliseconds(2000));
      pid_ = -1;
    }
  }

  [[nodiscard]] std::string log() const {
    std::ifstream f(log_);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
  }

  // The packets matching a pcap filter, one text line each (tcpdump -r).
  [[nodiscard]] std::vector<std::string> packets(const std::string& filter) const {
    auto r = core::run({"tcpdump", "-r", file_, "-n", "-tt", filter},
                       core::RunOptions::withTimeout(std::chrono::seconds(30)));
    std::vector<std::string> lines;
    if (!r) return lines;
    std::istringstream in(r->out);
    for (std::string l; std::getline(in, l);) {
      if (!l.empty()) lines.push_back(l);
    }
    return lines;
  }

 private:
  std::string ns_, iface_, file_, log_;
  pid_t pid_ = -1;
};

inline std::string summarize(const std::vector<std::string>& lines, std::size_t max = 15) {
  std::string s;
  for (std::size_t i = 0; i < lines.size() && i < max; ++i) s += "  " + lines[i] + "\n";
  return s;
}

// Sends, every tick from inside NS: UDP and TCP SYNs to the server over IPv4 and IPv6, DNS to the
// router's resolver (the ISP's) and to the tunnel's resolver, plus ping/ping6 processes.
class TrafficGenerator {
 public:
  struct Targets {
    core::IpAddress server_v4, server_v6, isp_dns, vpn_dns;
  };

  TrafficGenerator(std::string ns, Targets t) : ns_(std::move(ns)), t_(t) {}
  ~TrafficGenerator() { stop(); }
  TrafficGenerator(const TrafficGenerator&) = delete;
  TrafficGenerator& operator=(const TrafficGenerator&) = delete;

  void start() {
    stop_.store(false);
    for (const auto& dst : {t_.server_v4, t_.server_v6}) {
      auto pid = core::spawnDaemon(
          lab::inNetns(ns_, {"ping", "-n", "-q", "-i", "0.02", "-W", "1", dst.toString()}),
          "/dev/null");
      if (pid) pings_.push_back(*pid);
    }
    thread_ = std::thread([this] { loop(); });
  }

  void stop() {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
    for (const auto pid : pings_) core::terminate(pid, std::chrono::milliseconds(500));
    pings_.clear();
  }

  // Datagrams the kernel accepted (a guard drop makes sendto fail with EPERM).
  [[nodiscard]] std::uint64_t sent() const { return sent_.load(); }

 private:
  static socklen_t toSockaddr(const core::IpAddress& a, std::uint16_t port, sockaddr_storage& ss) {
    return core::toSockaddr(core::Endpoint{a, port}, ss);
  }

  void udp(const core::IpAddress& dst, std::uint16_t port, const std::string& payload) {
    core::UniqueFd fd(::socket(dst.isV4() ? AF_INET : AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK, 0));
    sockaddr_storage ss{};
    const auto len = toSockaddr(dst, port, ss);
    if (::sendto(fd.get(), payload.data(), payload.size(), 0, reinterpret_cast<sockaddr*>(&ss),
                 len) > 0) {
      ++sent_;
    }
  }

  void tcp(const core::IpAddress& dst, std::uint16_t port) {
    core::UniqueFd fd(::socket(dst.isV4() ? AF_INET : AF_INET6, SOCK_STREAM | SOCK_NONBLOCK, 0));
    sockaddr_storage ss{};
    const auto len = toSockaddr(dst, port, ss);
    (void)::connect(fd.get(), reinterpret_cast<sockaddr*>(&ss), len);
    ++sent_;
    tcp_.push_back(std::move(fd));  // kept open a while so that SYN retransmits happen too
    if (tcp_.size() > 64) tcp_.erase(tcp_.begin());
  }

  static std::string dnsQuery(std::uint16_t id) {
    // A minimal query for "vlg.leak.test A" with the given id.
    std::string q;
    q += static_cast<char>(id >> 8);
    q += static_cast<char>(id & 0xff);
    q += std::string("\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00", 10);
    q += std::string("\x03vlg\x04leak\x04test\x00\x00\x01\x00\x01", 20);
    return q;
  }

  void loop() {
    auto in = netlink::NetnsGuard::enter(ns_);
    if (!in) return;
    std::uint16_t id = 1;
    // Bounded: at most 10 minutes of 10 ms ticks even if stop() is never called.
    for (int tick = 0; tick < 60000 && !stop_.load(); ++tick) {
      udp(t_.server_v4, 9, "vlg");
      udp(t_.server_v6, 9, "vlg");
      udp(t_.isp_dns, 53, dnsQuery(id++));
      udp(t_.vpn_dns, 53, dnsQuery(id++));
      if (tick % 5 == 0) {
        tcp(t_.server_v4, 80);
        tcp(t_.server_v6, 80);
        tcp(t_.isp_dns, 53);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    tcp_.clear();
  }

  std::string ns_;
  Targets t_;
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> sent_{0};
  std::vector<pid_t> pings_;
  std::vector<core::UniqueFd> tcp_;
  std::thread thread_;
};

// Runs `vpnleak guard --netns NS ARGS...`.
inline core::ProcessResult guardCli(const std::string& ns, const std::vector<std::string>& args) {
  std::vector<std::string> argv{vpnleakBinary(), "guard", "--netns", ns};
  argv.insert(argv.end(), args.begin(), args.end());
  return sh(argv);
}

// A lab with a unique prefix ("vlg" + 4 hex + "-"), always taken down.
class ScopedLab {
 public:
  ScopedLab() : prefix_("vlg" + randomHex(4) + "-") {}
  ~ScopedLab() {
    // guard down first: it stops a watcher and removes the guard's state file for the namespace.
    if (up_) (void)guardCli(prefix_ + "client", {"down"});
    if (auto st = lab::down(prefix_); !st) ADD_FAILURE() << "lab down: " << st.error().message();
    std::error_code ec;
    std::filesystem::remove("/run/vpnleak/lab/" + prefix_ + ".lock", ec);
  }
  ScopedLab(const ScopedLab&) = delete;
  ScopedLab& operator=(const ScopedLab&) = delete;

  core::Status up() {
    lab::LabOptions o;
    o.prefix = prefix_;
    up_ = true;
    return lab::up(o);
  }
  [[nodiscard]] const std::string& prefix() const { return prefix_; }

 private:
  std::string prefix_;
  bool up_ = false;
};

}  // namespace vpnleak::testing
