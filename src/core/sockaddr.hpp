// Between our address types and the socket API's sockaddr_storage.
#pragma once

#include <sys/socket.h>

#include "core/ip.hpp"

namespace vpnleak::core {

// Fills ss and returns the length to pass to bind/connect/sendto.
socklen_t toSockaddr(const Endpoint& ep, sockaddr_storage& ss);
// AF_INET or AF_INET6 only; anything else yields 0.0.0.0:0.
Endpoint fromSockaddr(const sockaddr_storage& ss);

inline int socketFamily(Family f) { return f == Family::kV4 ? AF_INET : AF_INET6; }

}  // namespace vpnleak::core
