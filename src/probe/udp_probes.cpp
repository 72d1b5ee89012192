#include "probe/udp_probes.hpp"

#include <linux/errqueue.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/random.h>
#include <sys/socket.h>

#include <array>
#include <cstring>

#include "core/sockaddr.hpp"
#include "wire/stun.hpp"

namespace vpnleak::probe {

namespace {

// Waits for a STUN success with our transaction id, ignoring anything else that arrives.
std::optional<core::Endpoint> awaitStun(int fd, const wire::stun::TransactionId& id,
                                        Deadline until) {
  std::array<std::uint8_t, 1500> buf{};
  while (waitReadable(fd, until)) {
    const auto n = ::recv(fd, buf.data(), buf.size(), 0);
    if (n <= 0) {
      if (n < 0 && errno == EAGAIN) continue;
      return std::nullopt;  // e.g. ECONNREFUSED from an ICMP port unreachable
    }
    auto msg = wire::stun::parse({buf.data(), static_cast<std::size_t>(n)});
    if (!msg || msg->transaction_id != id) continue;
    auto mapped = wire::stun::mappedAddress(*msg);
    if (mapped) return *mapped;
  }
  return std::nullopt;
}

}  // namespace

core::Result<std::optional<core::Endpoint>> stunBinding(const core::Endpoint& server,
                                                        const Binding& binding, Deadline deadline) {
  auto fd = openSocket(server.address.family(), SOCK_DGRAM, binding);
  if (!fd) return fd.error();
  sockaddr_storage ss{};
  const socklen_t len = core::toSockaddr(server, ss);
  if (::connect(fd->get(), reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    return std::optional<core::Endpoint>();  // no route from here: nothing can leak this way
  }
  wire::stun::TransactionId id{};
  if (::getrandom(id.data(), id.size(), 0) != static_cast<ssize_t>(id.size())) {
    return core::sysError("getrandom");
  }
  std::array<std::uint8_t, 64> req{};
  auto size = wire::stun::buildBindingRequest(req, id, true);
  if (!size) return size.error();
  // Retransmit like an ICE agent (RFC 8489 7.2.1, compressed into the deadline).
  for (int attempt = 0; attempt < 3 && msLeft(deadline) > 0; ++attempt) {
    if (::send(fd->get(), req.data(), *size, 0) < 0) return std::optional<core::Endpoint>();
    const auto step = std::min(deadline, Clock::now() + std::chrono::milliseconds(150 << attempt));
    if (auto got = awaitStun(fd->get(), id, attempt == 2 ? deadline : step)) return got;
  }
  return std::optional<core::Endpoint>();
}

core::Result<TtlProbeResult> ttlProbe(const core::Endpoint& dst, const Binding& binding,
                                      int max_ttl, Deadline deadline) {
  TtlProbeResult out;
  const bool v4 = dst.address.isV4();
  auto fd = openSocket(dst.address.family(), SOCK_DGRAM, binding);
  if (!fd) return fd.error();
  const int one = 1;
  ::setsockopt(fd->get(), v4 ? IPPROTO_IP : IPPROTO_IPV6, v4 ? IP_RECVERR : IPV6_RECVERR, &one,
               sizeof(one));
  sockaddr_storage ss{};
  const socklen_t len = core::toSockaddr(dst, ss);
  for (int ttl = 1; ttl <= max_ttl; ++ttl) {
    ::setsockopt(fd->get(), v4 ? IPPROTO_IP : IPPROTO_IPV6, v4 ? IP_TTL : IPV6_UNICAST_HOPS, &ttl,
                 sizeof(ttl));
    const std::string payload = "vpnleak-ttl-" + std::to_string(ttl);
    if (::sendto(fd->get(), payload.data(), payload.size(), 0, reinterpret_cast<sockaddr*>(&ss),
                 len) < 0) {
      out.send_errors.push_back("ttl " + std::to_string(ttl) + ": " + std::strerror(errno));
    }
  }
  // ICMP errors arrive on the error queue: POLLERR, read with MSG_ERRQUEUE.
  while (msLeft(deadline) > 0 && static_cast<int>(out.answers.size()) < max_ttl) {
    pollfd p{fd->get(), POLLERR, 0};
    if (::poll(&p, 1, msLeft(deadline)) <= 0) break;
    std::array<char, 512> data{};
    std::array<char, 512> control{};
    iovec iov{data.data(), data.size()};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.data();
    msg.msg_controllen = control.size();
    if (::recvmsg(fd->get(), &msg, MSG_ERRQUEUE) < 0) break;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      if (!((c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_RECVERR) ||
            (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_RECVERR))) {
        continue;
      }
      sock_extended_err ee{};
      std::memcpy(&ee, CMSG_DATA(c), sizeof(ee));
      if (ee.ee_origin != SO_EE_ORIGIN_ICMP && ee.ee_origin != SO_EE_ORIGIN_ICMP6) continue;
      sockaddr_storage offender{};
      std::memcpy(&offender, SO_EE_OFFENDER(reinterpret_cast<sock_extended_err*>(CMSG_DATA(c))),
                  v4 ? sizeof(sockaddr_in) : sizeof(sockaddr_in6));
      out.answers.push_back({static_cast<int>(out.answers.size()) + 1,
                             core::fromSockaddr(offender).address, ee.ee_type, ee.ee_code});
    }
  }
  return out;
}

}  // namespace vpnleak::probe
