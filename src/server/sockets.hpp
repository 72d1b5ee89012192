// Listening sockets for the event loops, and dropping root once they are bound.
#pragma once

#include <sys/socket.h>

#include <string>
#include <vector>

#include "core/ip.hpp"
#include "core/result.hpp"
#include "core/unique_fd.hpp"

namespace vpnleak::server {

enum class SocketKind { kUdp, kTcp };

// `count` non-blocking sockets bound to ep with SO_REUSEPORT, one per event loop, so that the
// kernel spreads datagrams and connections across loops. A plain bind first makes sure that
// nothing else (another process, another of our listeners) holds the port, which SO_REUSEPORT
// would otherwise silently share, and resolves port 0. IPv6 sockets are IPv6-only. UDP sockets
// on a wildcard address ask for the destination address of each datagram so that replies leave
// from the address the query arrived at.
core::Result<std::vector<core::UniqueFd>> bindListeners(core::Endpoint& ep, SocketKind kind,
                                                        unsigned count);

// setgroups/setgid/setuid to `user`; afterwards regaining root must fail. A no-op when already
// running as that user; kEnvironment when not root and asked to become someone else.
core::Status dropPrivileges(const std::string& user);

// sockaddr <-> Endpoint; IPv4-mapped IPv6 addresses come out as IPv4.
core::Endpoint endpointFrom(const sockaddr* sa);
socklen_t sockaddrFrom(const core::Endpoint& ep, sockaddr_storage& ss);

}  // namespace vpnleak::server
