// Fault injection beyond dropTunnel() (lab.hpp): bringing the client's tunnel back the way a VPN
// client reconnects, so that tests can cycle drop/restore many times.
#pragma once

#include <chrono>
#include <string>

#include "core/result.hpp"

namespace vpnleak::lab {

// Re-creates the client's WireGuard interface after dropTunnel(): same keys, peer, fwmark,
// addresses and table-51820 default route as `lab up` set (the policy rules survive the drop).
// Uses the implementation the lab was built with. Returns once a ping through the tunnel passes,
// or an error after timeout. A tunnel that is already there is left alone.
core::Status restoreTunnel(const std::string& prefix,
                           std::chrono::milliseconds timeout = std::chrono::seconds(15));

}  // namespace vpnleak::lab
