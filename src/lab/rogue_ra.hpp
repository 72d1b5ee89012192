// Rogue router advertisements in the lab: the client's LAN starts IPv4-only (no global IPv6
// address, no IPv6 default route), so an IPv4-only tunnel leaves IPv6 with no route at all. A real
// radvd on the router then advertises a prefix and itself as the default router, the client
// (accept_ra=2, autoconf) configures an address and an IPv6 default route, and IPv6 escapes.
#pragma once

#include <chrono>
#include <string>

#include "core/ip.hpp"
#include "core/result.hpp"
#include "lab/plan.hpp"

namespace vpnleak::lab {

// radvd.conf advertising `prefix` (on-link, autonomous) on `iface`, with a non-zero default-router
// lifetime. Pure.
std::string radvdConfig(const std::string& iface, const core::Prefix& prefix);

// Setup: removes the client's global IPv6 address and IPv6 default route from lan0 and makes it
// accept RAs (accept_ra=2, autoconf=1).
core::Status makeLanIpv4Only(const LabPlan& plan);

// Fault: starts radvd (a lab daemon, so `lab down` stops it) in the router on lan0 and waits until
// the client has an autoconfigured address and an IPv6 default route (or the timeout passes).
core::Status startRogueRa(const LabPlan& plan,
                          std::chrono::milliseconds timeout = std::chrono::seconds(10));

// Restore: stops radvd by its pid (it sends a final RA with router lifetime 0) and removes what
// the client learnt (addresses, default and prefix routes), so the LAN is IPv4-only again.
core::Status stopRogueRa(const LabPlan& plan);

}  // namespace vpnleak::lab
