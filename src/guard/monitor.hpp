// Notification of any change to the nftables ruleset of this namespace (what `nft monitor`
// listens to): the watcher re-checks its table on every event instead of polling.
#pragma once

#include <memory>

#include "core/result.hpp"

struct mnl_socket;

namespace vpnleak::guard {

class NftMonitor {
 public:
  // Joins NFNLGRP_NFTABLES on a NETLINK_NETFILTER socket in the calling thread's namespace.
  static core::Result<NftMonitor> open();

  [[nodiscard]] int fd() const;
  // Reads every pending notification without blocking; returns how many arrived. An overrun
  // (ENOBUFS) counts as one: something changed, we only lost the details.
  core::Result<int> drain();

 private:
  struct Closer {
    void operator()(mnl_socket* s) const;
  };
  explicit NftMonitor(mnl_socket* s) : sock_(s) {}
  std::unique_ptr<mnl_socket, Closer> sock_;
};

}  // namespace vpnleak::guard
