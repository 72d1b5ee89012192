// Bring-your-own VPN for `lab run --vpn-cmd`: the lab's own WireGuard client is removed and the
// user's command brings a client up inside the client namespace instead (and --vpn-down-cmd takes
// it down again for the reconnect fault). The commands run with `sh -c` and get the lab's
// parameters in the environment:
//   VPNLEAK_IFACE (PREFIXwgc: the guard protects this name), VPNLEAK_ADDRESS (10.77.0.2/24),
//   VPNLEAK_ENDPOINT (203.0.113.2:51820), VPNLEAK_SERVER_PUBKEY, VPNLEAK_CLIENT_KEY (a file),
//   VPNLEAK_FWMARK and VPNLEAK_TABLE (51820: the lab's policy rules route through that table),
//   VPNLEAK_NETNS, VPNLEAK_DNS (10.77.0.1).
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "lab/plan.hpp"

namespace vpnleak::lab {

// `env VPNLEAK_...=... sh -c CMD` for this plan.
core::Result<std::vector<std::string>> vpnCommandArgv(const LabPlan& plan, const std::string& cmd);

// Runs CMD in the client namespace; with wait_tunnel, returns once a ping through the tunnel to
// the VPN's resolver address passes (or an error after the timeout).
core::Status runVpnCommand(const LabPlan& plan, const std::string& cmd, bool wait_tunnel,
                           std::chrono::milliseconds timeout = std::chrono::seconds(15));

// Removes the lab's own client tunnel and brings the user's up with CMD.
core::Status replaceVpnClient(const LabPlan& plan, const std::string& cmd);

}  // namespace vpnleak::lab
