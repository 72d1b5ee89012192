#include "server/sockets.hpp"

#include <grp.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <pwd.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>

#include "core/sockaddr.hpp"

namespace vpnleak::server {

namespace {

int sockType(SocketKind kind) { return kind == SocketKind::kUdp ? SOCK_DGRAM : SOCK_STREAM; }

void setInt(int fd, int level, int opt, int v) { ::setsockopt(fd, level, opt, &v, sizeof v); }

// A classic BPF statement; k may be one of the negative SKF_ offsets.
sock_filter stmt(int code, std::int64_t k) {
  return sock_filter{static_cast<std::uint16_t>(code), 0, 0, static_cast<std::uint32_t>(k)};
}

// Which receiver (0..count-1) takes a datagram: (source address ^ source port) % count, read
// from the network header (IPv4: its length from IHL; IPv6: UDP right after the fixed header).
// A load past the packet's end ends the program with 0: the first receiver.
std::vector<sock_filter> receiverChoice(bool v6, unsigned count) {
  if (count <= 1) return {stmt(BPF_RET | BPF_K, 0)};
  std::vector<sock_filter> p;
  if (v6) {
    p.push_back(stmt(BPF_LD | BPF_H | BPF_ABS, SKF_NET_OFF + 40));  // source port
    p.push_back(stmt(BPF_MISC | BPF_TAX, 0));
    p.push_back(stmt(BPF_LD | BPF_W | BPF_ABS, SKF_NET_OFF + 20));  // source, last 32 bits
  } else {
    p.push_back(stmt(BPF_LDX | BPF_B | BPF_MSH, SKF_NET_OFF));  // X = header length
    p.push_back(stmt(BPF_LD | BPF_H | BPF_IND, SKF_NET_OFF));   // source port
    p.push_back(stmt(BPF_MISC | BPF_TAX, 0));
    p.push_back(stmt(BPF_LD | BPF_W | BPF_ABS, SKF_NET_OFF + 12));  // source address
  }
  p.push_back(stmt(BPF_ALU | BPF_XOR | BPF_X, 0));
  p.push_back(stmt(BPF_ALU | BPF_MOD | BPF_K, count));
  p.push_back(stmt(BPF_RET | BPF_A, 0));
  return p;
}

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

core::Result<std::vector<core::UniqueFd>> bindSenders(
    const core::Endpoint& ep, const std::vector<core::UniqueFd>& receivers) {
  std::vector<core::UniqueFd> senders;
  if (receivers.empty()) return senders;
  auto program = receiverChoice(!ep.address.isV4(), static_cast<unsigned>(receivers.size()));
  const sock_fprog prog{static_cast<unsigned short>(program.size()), program.data()};
  if (::setsockopt(receivers.front().get(), SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &prog,
                   sizeof prog) != 0) {
    return core::sysError("cannot steer udp " + ep.toString() + " to its receiving sockets");
  }
  for (std::size_t i = 0; i < receivers.size(); ++i) {
    VL_TRY_ASSIGN(core::UniqueFd fd, openBound(ep, SocketKind::kUdp, true));
    setInt(fd.get(), SOL_SOCKET, SO_RCVBUF, 0);  // the kernel's minimum: it never receives
    senders.push_back(std::move(fd));
  }
  return senders;
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
