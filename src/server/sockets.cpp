#include "server/sockets.hpp"

#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "core/sockaddr.hpp"

namespace vpnleak::server {

namespace {

int sockType(SocketKind kind) { return kind == SocketKind::kUdp ? SOCK_DGRAM : SOCK_STREAM; }

void setInt(int fd, int level, int opt, int v) { ::setsockopt(fd, level, opt, &v, sizeof v); }

core::Result<core::UniqueFd> openBound(const core::Endpoint& ep, SocketKind kind, bool reuseport) {
  const int family = ep.address.isV4() ? AF_INET : AF_INET6;
  core::UniqueFd fd(::socket(family, sockType(kind) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  const std::string what = std::string(kind == SocketKind::kUdp ? "udp " : "tcp ") + ep.toString();
  if (!fd.valid()) return core::sysError("cannot create a socket for " + what);
  if (family == AF_INET6) setInt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, 1);
  if (kind == SocketKind::kTcp) setInt(fd.get(), SOL_SOCKET, SO_REUSEADDR, 1);
  if (reuseport) setInt(fd.get(), SOL_SOCKET, SO_REUSEPORT, 1);
  if (kind == SocketKind::kUdp && ep.address.isUnspecified()) {
    if (family == AF_INET) {
      setInt(fd.get(), IPPROTO_IP, IP_PKTINFO, 1);
    } else {
      setInt(fd.get(), IPPROTO_IPV6, IPV6_RECVPKTINFO, 1);
    }
  }
  if (kind == SocketKind::kUdp) {
    setInt(fd.get(), SOL_SOCKET, SO_RCVBUF, 4 << 20);
    // Answers are at most 1232 octets (DNS) or a few dozen (STUN): never use path MTU discovery,
    // so that a forged ICMP "fragmentation needed" cannot make them fragment (what NSD, BIND and
    // Knot do), and the kernel skips the path MTU lookup for every datagram sent.
    if (family == AF_INET) {
      setInt(fd.get(), IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_OMIT);
    } else {
      setInt(fd.get(), IPPROTO_IPV6, IPV6_MTU_DISCOVER, IPV6_PMTUDISC_OMIT);
    }
  }
  sockaddr_storage ss{};
  const socklen_t len = sockaddrFrom(ep, ss);
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&ss), len) != 0) {
    const int err = errno;
    core::Error e = core::sysError("cannot bind " + what, err);
    if (err == EADDRINUSE) {
      e.code = core::Errc::kEnvironment;
      e.context += " (another process or listener holds it)";
    } else if (err == EACCES) {
      e.code = core::Errc::kEnvironment;
      e.context += " (ports below 1024 need root or CAP_NET_BIND_SERVICE)";
    } else if (err == EADDRNOTAVAIL) {
      e.code = core::Errc::kEnvironment;
      e.context += " (no interface has this address)";
    }
    return e;
  }
  if (kind == SocketKind::kTcp && reuseport && ::listen(fd.get(), 1024) != 0) {
    return core::sysError("cannot listen on " + what);
  }
  return fd;
}

}  // namespace

core::Result<std::vector<core::UniqueFd>> bindListeners(core::Endpoint& ep, SocketKind kind,
                                                        unsigned count) {
  {
    VL_TRY_ASSIGN(core::UniqueFd probe, openBound(ep, kind, false));
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    if (::getsockname(probe.get(), reinterpret_cast<sockaddr*>(&ss), &len) == 0) {
      ep.port = endpointFrom(reinterpret_cast<const sockaddr*>(&ss)).port;
    }
  }
  std::vector<core::UniqueFd> fds;
  for (unsigned i = 0; i < count; ++i) {
    VL_TRY_ASSIGN(core::UniqueFd fd, openBound(ep, kind, true));
    fds.push_back(std::move(fd));
  }
  return fds;
}

core::Status dropPrivileges(const std::string& user) {
  passwd pw{};
  passwd* found = nullptr;
  std::array<char, 4096> buf{};
  if (::getpwnam_r(user.c_str(), &pw, buf.data(), buf.size(), &found) != 0 || found == nullptr) {
    return core::makeError(core::Errc::kInvalidArgument,
                           "--user " + user + ": no such user (see /etc/passwd)");
  }
  if (::geteuid() == pw.pw_uid) return {};
  if (::geteuid() != 0) {
    return core::makeError(
        core::Errc::kEnvironment,
        "--user " + user + ": only root can switch users; run as root or omit --user");
  }
  if (::setgroups(0, nullptr) != 0) return core::sysError("setgroups");
  if (::setgid(pw.pw_gid) != 0) return core::sysError("setgid " + std::to_string(pw.pw_gid));
  if (::setuid(pw.pw_uid) != 0) return core::sysError("setuid " + std::to_string(pw.pw_uid));
  if (pw.pw_uid != 0 && ::setuid(0) == 0) {
    return core::makeError(core::Errc::kInternal, "could regain root after dropping to " + user);
  }
  return {};
}

core::Endpoint endpointFrom(const sockaddr* sa) {
  core::Endpoint ep;
  if (sa->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(sa);
    ep.address = core::IpAddress::fromBytes(
        core::Family::kV4, std::span(reinterpret_cast<const std::uint8_t*>(&in->sin_addr), 4));
    ep.port = ntohs(in->sin_port);
  } else if (sa->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
    const auto* b = reinterpret_cast<const std::uint8_t*>(&in6->sin6_addr);
    static constexpr std::array<std::uint8_t, 12> kMapped{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::memcmp(b, kMapped.data(), kMapped.size()) == 0) {
      ep.address = core::IpAddress::fromBytes(core::Family::kV4, std::span(b + 12, 4));
    } else {
      ep.address = core::IpAddress::fromBytes(core::Family::kV6, std::span(b, 16));
    }
    ep.port = ntohs(in6->sin6_port);
  }
  return ep;
}

socklen_t sockaddrFrom(const core::Endpoint& ep, sockaddr_storage& ss) {
  return core::toSockaddr(ep, ss);
}

}  // namespace vpnleak::server
