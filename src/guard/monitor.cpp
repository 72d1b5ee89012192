#include "guard/monitor.hpp"

#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <sys/socket.h>

#include <array>
#include <cerrno>

namespace vpnleak::guard {

void NftMonitor::Closer::operator()(mnl_socket* s) const { mnl_socket_close(s); }

core::Result<NftMonitor> NftMonitor::open() {
  mnl_socket* s = mnl_socket_open2(NETLINK_NETFILTER, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (s == nullptr) return core::sysError("netlink netfilter socket");
  NftMonitor m(s);
  if (mnl_socket_bind(s, 0, MNL_SOCKET_AUTOPID) < 0) return core::sysError("bind netlink");
  int group = NFNLGRP_NFTABLES;
  if (mnl_socket_setsockopt(s, NETLINK_ADD_MEMBERSHIP, &group, sizeof(group)) < 0) {
    return core::sysError("join NFNLGRP_NFTABLES");
  }
  // A burst (a whole ruleset being loaded) must not overrun the queue before we read it.
  int size = 1 << 20;
  (void)::setsockopt(mnl_socket_get_fd(s), SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size));
  return m;
}

int NftMonitor::fd() const { return mnl_socket_get_fd(sock_.get()); }

core::Result<int> NftMonitor::drain() {
  std::array<char, 16384> buf{};
  int events = 0;
  for (int i = 0; i < 4096; ++i) {  // bounded: a flood cannot keep us here forever
    const auto n = mnl_socket_recvfrom(sock_.get(), buf.data(), buf.size());
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return events;
      if (errno == ENOBUFS) {
        ++events;
        continue;
      }
      return core::sysError("read nftables notifications");
    }
    ++events;
  }
  return events;
}

}  // namespace vpnleak::guard
