// Fault injection beyond dropTunnel() (lab.hpp): bringing the client's tunnel back the way a VPN
// client reconnects, so that tests can cycle drop/restore many times.
#pragma once

#include <chrono>
#include <string>

#include "core/result.hpp"
#include "lab/plan.hpp"

namespace vpnleak::lab {

// Brings the client's tunnel back after dropTunnel(). WireGuard: re-creates the interface with
// the same keys, peer, fwmark, addresses and table-51820 default route as `lab up` set (the
// policy rules survive the drop), with the implementation the lab was built with. OpenVPN:
// starts the client again with its config (it re-adds its routes itself). Returns once a ping
// through the tunnel passes, or an error after timeout. A tunnel that is already there is left
// alone.
core::Status restoreTunnel(const std::string& prefix,
                           std::chrono::milliseconds timeout = std::chrono::seconds(15));

// After the client's tunnel link was set down: sets it up again and puts back the routes (and
// IPv6 address) that went down with it (WireGuard: table 51820's default routes; OpenVPN: the
// redirect-gateway routes), as a VPN client re-establishing its tunnel does. Returns once a ping through the
// tunnel passes (at most 5 s).
core::Status restoreTunnelLink(const LabPlan& plan);

}  // namespace vpnleak::lab
