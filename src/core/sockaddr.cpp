#include "core/sockaddr.hpp"

#include <netinet/in.h>

#include <cstring>

namespace vpnleak::core {

socklen_t toSockaddr(const Endpoint& ep, sockaddr_storage& ss) {
  std::memset(&ss, 0, sizeof(ss));
  if (ep.address.isV4()) {
    sockaddr_in s4{};
    s4.sin_family = AF_INET;
    s4.sin_port = htons(ep.port);
    std::memcpy(&s4.sin_addr, ep.address.bytes().data(), 4);
    std::memcpy(&ss, &s4, sizeof(s4));
    return sizeof(sockaddr_in);
  }
  sockaddr_in6 s6{};
  s6.sin6_family = AF_INET6;
  s6.sin6_port = htons(ep.port);
  std::memcpy(&s6.sin6_addr, ep.address.bytes().data(), 16);
  std::memcpy(&ss, &s6, sizeof(s6));
  return sizeof(sockaddr_in6);
}

Endpoint fromSockaddr(const sockaddr_storage& ss) {
  if (ss.ss_family == AF_INET) {
    sockaddr_in s4{};
    std::memcpy(&s4, &ss, sizeof(s4));
    return {
        IpAddress::fromBytes(Family::kV4, {reinterpret_cast<const std::uint8_t*>(&s4.sin_addr), 4}),
        ntohs(s4.sin_port)};
  }
  if (ss.ss_family == AF_INET6) {
    sockaddr_in6 s6{};
    std::memcpy(&s6, &ss, sizeof(s6));
    return {IpAddress::fromBytes(Family::kV6,
                                 {reinterpret_cast<const std::uint8_t*>(&s6.sin6_addr), 16}),
            ntohs(s6.sin6_port)};
  }
  return {};
}

}  // namespace vpnleak::core
