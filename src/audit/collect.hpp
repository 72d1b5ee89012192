// Taking a Snapshot of the machine the process runs on (its network namespace): netlink for
// links, addresses, routes and rules; /etc/resolv.conf and systemd-resolved for resolvers;
// `nft -j list ruleset` for the firewall; `wg show all dump` for WireGuard peers; the command
// lines and config files of openvpn processes in the same namespace for OpenVPN's servers (a
// server given by name is looked up then, through the system's resolver). Changes nothing.
#pragma once

#include "audit/snapshot.hpp"
#include "core/result.hpp"

namespace vpnleak::audit {

struct CollectOptions {
  std::string resolv_conf = "/etc/resolv.conf";
};

// Fails only when the kernel's routing state cannot be read; anything else missing is a note.
core::Result<Snapshot> collect(const CollectOptions& opts = {});

}  // namespace vpnleak::audit
