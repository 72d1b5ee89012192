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

// UDP: one send-only socket per receiving socket, bound to the same address and port in the
// receivers' SO_REUSEPORT group (bindListeners made them, all of them: call it right after). A
// classic BPF program attached to the group first makes the kernel choose among the receivers
// only, by the datagram's source address and port (one sender stays on one loop, as with the
// kernel's own choice), so no datagram ever waits on a send-only socket. Why: every datagram
// sent wakes the wait queue of its socket when its buffer is freed (write space); on a socket
// the event loop polls, that is an epoll callback per answer (~4% of the DNS path's CPU), on a
// socket nobody polls, nothing.
core::Result<std::vector<core::UniqueFd>> bindSenders(const core::Endpoint& ep,
                                                      const std::vector<core::UniqueFd>& receivers);

// setgroups/setgid/setuid to `user`; afterwards regaining root must fail. A no-op when already
// running as that user; kEnvironment when not root and asked to become someone else.
core::Status dropPrivileges(const std::string& user);

// sockaddr <-> Endpoint; IPv4-mapped IPv6 addresses come out as IPv4.
core::Endpoint endpointFrom(const sockaddr* sa);
socklen_t sockaddrFrom(const core::Endpoint& ep, sockaddr_storage& ss);

}  // namespace vpnleak::server
