#include "lab/measure.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <sstream>

#include "core/process.hpp"
#include "core/sockaddr.hpp"
#include "core/unique_fd.hpp"
#include "lab/context.hpp"
#include "netlink/netns.hpp"

namespace vpnleak::lab {

namespace {

socklen_t toSockaddr(const core::IpAddress& a, std::uint16_t port, sockaddr_storage& ss) {
  return core::toSockaddr(core::Endpoint{a, port}, ss);
}

// A recursive A query for qname with the given id.
std::string dnsQuery(std::uint16_t id, const std::string& qname) {
  std::string q;
  q += static_cast<char>(id >> 8);
  q += static_cast<char>(id & 0xff);
  q += std::string("\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00", 10);
  std::istringstream labels(qname);
  for (std::string l; std::getline(labels, l, '.');) {
    if (l.empty() || l.size() > 63) continue;
    q += static_cast<char>(l.size());
    q += l;
  }
  q += std::string("\x00\x00\x01\x00\x01", 5);
  return q;
}

}  // namespace

RunMeasure measureRun(const std::vector<double>& leak_times, double fault_s, double end_s) {
  RunMeasure m;
  for (const double t : leak_times) {
    if (t < fault_s || t >= end_s) continue;
    const double ms = (t - fault_s) * 1000.0;
    ++m.leaked;
    if (!m.first_ms || ms < *m.first_ms) m.first_ms = ms;
    if (!m.last_ms || ms > *m.last_ms) m.last_ms = ms;
  }
  return m;
}

WindowStats windowStats(std::vector<double> values_ms) {
  WindowStats s;
  if (values_ms.empty()) return s;
  std::sort(values_ms.begin(), values_ms.end());
  const std::size_t n = values_ms.size();
  s.median_ms = n % 2 == 1 ? values_ms[n / 2] : (values_ms[n / 2 - 1] + values_ms[n / 2]) / 2.0;
  // Nearest rank: the smallest value with at least 95% of the values at or below it.
  const auto rank = static_cast<std::size_t>(std::ceil(0.95 * static_cast<double>(n)));
  s.p95_ms = values_ms[std::max<std::size_t>(rank, 1) - 1];
  s.max_ms = values_ms.back();
  return s;
}

double wallSeconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

void Traffic::start() {
  stop_.store(false);
  for (const auto& dst : plan_.udp) {
    auto pid = core::spawnDaemon(
        inNetns(ns_, {"ping", "-n", "-q", "-i", "0.05", "-W", "1", dst.toString()}), "/dev/null");
    if (pid) pings_.push_back(*pid);
  }
  thread_ = std::thread([this] { loop(); });
}

void Traffic::stop() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
  for (const auto pid : pings_) core::terminate(pid, std::chrono::milliseconds(500));
  pings_.clear();
}

void Traffic::loop() {
  auto in = netlink::NetnsGuard::enter(ns_);
  if (!in) return;
  auto send = [this](const core::IpAddress& dst, std::uint16_t port, const std::string& payload) {
    const core::UniqueFd fd(
        ::socket(dst.isV4() ? AF_INET : AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK, 0));
    sockaddr_storage ss{};
    const auto len = toSockaddr(dst, port, ss);
    if (::sendto(fd.get(), payload.data(), payload.size(), 0, reinterpret_cast<sockaddr*>(&ss),
                 len) > 0) {
      ++sent_;
    }
  };
  std::uint16_t id = 1;
  // Bounded: at most 10 minutes of 10 ms ticks even if stop() is never called.
  for (int tick = 0; tick < 60000 && !stop_.load(); ++tick) {
    for (const auto& dst : plan_.udp) send(dst, 9, "vpnleak-lab-run");
    for (const auto& dst : plan_.dns) send(dst, 53, dnsQuery(id++, plan_.qname));
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

}  // namespace vpnleak::lab
