#include "lab/observe.hpp"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <thread>

#include "core/process.hpp"
#include "core/sockaddr.hpp"
#include "core/unique_fd.hpp"
#include "lab/context.hpp"
#include "netlink/netns.hpp"

namespace vpnleak::lab {

namespace {

using core::IpAddress;
using core::UniqueFd;

socklen_t toSockaddr(const IpAddress& a, std::uint16_t port, sockaddr_storage& ss) {
  return core::toSockaddr(core::Endpoint{a, port}, ss);
}

IpAddress fromSockaddr(const sockaddr_storage& ss) { return core::fromSockaddr(ss).address; }

// A UDP socket created inside ns (bound when bind_to is set); it stays in that namespace.
core::Result<UniqueFd> udpSocketIn(const std::string& ns, core::Family fam,
                                   const std::optional<IpAddress>& bind_to, std::uint16_t port) {
  auto guard = netlink::NetnsGuard::enter(ns);
  if (!guard) return guard.error();
  UniqueFd fd(::socket(fam == core::Family::kV4 ? AF_INET : AF_INET6,
                       SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd.valid()) return core::sysError("socket in " + ns);
  if (bind_to) {
    const int one = 1;
    ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_storage ss{};
    const socklen_t len = toSockaddr(*bind_to, port, ss);
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0) {
      return core::sysError("bind " + core::Endpoint{*bind_to, port}.toString() + " in " + ns);
    }
  }
  return fd;
}

// Waits for one datagram on any of fds until the deadline.
std::optional<std::pair<std::size_t, IpAddress>> receiveOne(
    const std::vector<UniqueFd>& fds, std::chrono::steady_clock::time_point deadline,
    std::vector<std::uint8_t>& buf, sockaddr_storage& from) {
  std::vector<pollfd> p;
  for (const auto& f : fds) p.push_back({f.get(), POLLIN, 0});
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    if (::poll(p.data(), p.size(), static_cast<int>(left.count())) <= 0) continue;
    for (std::size_t i = 0; i < p.size(); ++i) {
      if ((p[i].revents & POLLIN) == 0) continue;
      socklen_t flen = sizeof(from);
      buf.resize(4096);
      const auto n =
          ::recvfrom(p[i].fd, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from), &flen);
      if (n < 0) continue;
      buf.resize(static_cast<std::size_t>(n));
      return std::make_pair(i, fromSockaddr(from));
    }
  }
}

// The query name of a DNS message, lowercased, without the final dot; empty when malformed.
std::string queryName(const std::vector<std::uint8_t>& m) {
  if (m.size() < 12) return {};
  std::string name;
  std::size_t i = 12;
  while (i < m.size() && m[i] != 0) {
    const std::size_t len = m[i];
    if (len > 63 || i + 1 + len > m.size()) return {};
    if (!name.empty()) name += '.';
    for (std::size_t k = 0; k < len; ++k) {
      name += static_cast<char>(std::tolower(m[i + 1 + k]));
    }
    i += 1 + len;
  }
  return i < m.size() ? name : std::string();
}

}  // namespace

core::Result<std::optional<IpAddress>> observeUdpSource(const std::string& from_ns,
                                                        const std::string& to_ns,
                                                        const IpAddress& dst, std::uint16_t port,
                                                        std::chrono::milliseconds timeout) {
  std::vector<UniqueFd> listen;
  auto srv = udpSocketIn(to_ns, dst.family(), dst, port);
  if (!srv) return srv.error();
  listen.push_back(std::move(*srv));
  auto cli = udpSocketIn(from_ns, dst.family(), std::nullopt, 0);
  if (!cli) return cli.error();
  sockaddr_storage ss{};
  const socklen_t len = toSockaddr(dst, port, ss);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::vector<std::uint8_t> buf;
  sockaddr_storage from{};
  // A few tries spaced out: the first packet may wait for neighbour discovery.
  for (int attempt = 0; attempt < 4; ++attempt) {
    const char probe[] = "vpnleak-lab-probe";
    ::sendto(cli->get(), probe, sizeof(probe) - 1, 0, reinterpret_cast<sockaddr*>(&ss), len);
    const auto step = std::min(deadline, std::chrono::steady_clock::now() + timeout / 4);
    if (auto got = receiveOne(listen, step, buf, from)) return std::optional(got->second);
  }
  return std::optional<IpAddress>();
}

core::Result<std::vector<IpAddress>> observeDnsResolvers(const std::string& client_ns,
                                                         const std::string& server_ns,
                                                         const std::vector<IpAddress>& listen,
                                                         const std::string& qname,
                                                         std::chrono::milliseconds timeout) {
  std::vector<UniqueFd> fds;
  for (const auto& a : listen) {
    auto fd = udpSocketIn(server_ns, a.family(), a, 53);
    if (!fd) return fd.error();
    fds.push_back(std::move(*fd));
  }
  std::thread dig([&] {
    (void)core::run(inNetns(client_ns, {"dig", "+tries=1", "+time=2", "+short", qname, "A"}),
                    core::RunOptions::withTimeout(timeout));
  });
  std::vector<IpAddress> seen;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::vector<std::uint8_t> buf;
  sockaddr_storage from{};
  std::string want = qname;
  std::transform(want.begin(), want.end(), want.begin(), ::tolower);
  while (auto got = receiveOne(fds, deadline, buf, from)) {
    if (queryName(buf) != want) continue;
    if (std::find(seen.begin(), seen.end(), got->second) == seen.end()) {
      seen.push_back(got->second);
    }
    // NXDOMAIN, authoritative, no records: header and question as asked.
    buf[2] = static_cast<std::uint8_t>(0x84 | (buf[2] & 0x01));
    buf[3] = 0x03;
    std::fill(buf.begin() + 6, buf.begin() + 12, 0);
    if (buf.size() > 12) buf.resize(12 + qname.size() + 2 + 4);
    ::sendto(fds[got->first].get(), buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from),
             from.ss_family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6));
    break;  // one answer ends dig's wait; any further query would be a retry
  }
  dig.join();
  return seen;
}

}  // namespace vpnleak::lab
