#include "probe/socket.hpp"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include "core/sockaddr.hpp"

namespace vpnleak::probe {

int msLeft(Deadline d) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(d - Clock::now()).count();
  return left > 0 ? static_cast<int>(left) : 0;
}

std::string Binding::describe() const {
  std::string s;
  if (!device.empty()) s += "dev " + device;
  if (source) s += std::string(s.empty() ? "" : " ") + "from " + source->toString();
  if (mark) s += std::string(s.empty() ? "" : " ") + "mark " + std::to_string(*mark);
  if (ttl) s += std::string(s.empty() ? "" : " ") + "ttl " + std::to_string(*ttl);
  return s;
}

core::Result<core::UniqueFd> openSocket(core::Family f, int type, const Binding& b) {
  core::UniqueFd fd(::socket(core::socketFamily(f), type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return core::sysError("socket");
  if (!b.device.empty() && ::setsockopt(fd.get(), SOL_SOCKET, SO_BINDTODEVICE, b.device.c_str(),
                                        static_cast<socklen_t>(b.device.size())) != 0) {
    return core::sysError("bind to device " + b.device);
  }
  if (b.mark && ::setsockopt(fd.get(), SOL_SOCKET, SO_MARK, &*b.mark, sizeof(*b.mark)) != 0) {
    return core::sysError("set mark " + std::to_string(*b.mark));
  }
  if (b.ttl) {
    const int level = f == core::Family::kV4 ? IPPROTO_IP : IPPROTO_IPV6;
    const int opt = f == core::Family::kV4 ? IP_TTL : IPV6_UNICAST_HOPS;
    if (::setsockopt(fd.get(), level, opt, &*b.ttl, sizeof(*b.ttl)) != 0) {
      return core::sysError("set ttl");
    }
  }
  if (b.source) {
    sockaddr_storage ss{};
    const socklen_t len = core::toSockaddr({*b.source, 0}, ss);
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0) {
      return core::sysError("bind to " + b.source->toString());
    }
  }
  return fd;
}

core::Status connectWithin(int fd, const core::Endpoint& to, Deadline d) {
  sockaddr_storage ss{};
  const socklen_t len = core::toSockaddr(to, ss);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 && errno != EINPROGRESS) {
    return core::sysError("connect " + to.toString());
  }
  pollfd p{fd, POLLOUT, 0};
  if (::poll(&p, 1, msLeft(d)) <= 0) {
    return core::makeError(core::Errc::kTimeout, "connect " + to.toString() + ": timed out");
  }
  int err = 0;
  socklen_t elen = sizeof(err);
  ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen);
  if (err != 0) return core::sysError("connect " + to.toString(), err);
  return {};
}

bool waitReadable(int fd, Deadline d) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, msLeft(d)) > 0;
}

}  // namespace vpnleak::probe
