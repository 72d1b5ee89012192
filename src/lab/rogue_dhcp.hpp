// TunnelVision (CVE-2024-3661) in the lab: a DHCP server on the router (dnsmasq) that pushes
// classless static routes (option 121), and a real DHCP client (dhclient) on the client's LAN
// interface that installs them, as Debian's rfc3442 hook does.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "core/ip.hpp"
#include "core/result.hpp"

namespace vpnleak::lab {

// Starts dnsmasq (DHCP only, no DNS) on the router's LAN side, offering routes to `pushed` via
// the router. Recorded as a lab daemon, so `lab down` stops it.
core::Status startRogueDhcp(const std::string& prefix, const std::vector<core::Prefix>& pushed);

// Runs dhclient once on the client's LAN interface and waits until the pushed routes are
// installed (or the timeout passes). Only the option 121 routes are applied: the lab's address,
// default route and resolv.conf stay as they are.
core::Status acceptDhcpRoutes(const std::string& prefix, const std::vector<core::Prefix>& pushed,
                              std::chrono::milliseconds timeout = std::chrono::seconds(15));

// The dhclient script: installs new_rfc3442_classless_static_routes with `ip route replace`.
std::string classlessRoutesScript();

}  // namespace vpnleak::lab
