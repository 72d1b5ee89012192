// OpenVPN in the lab (the VpnDriver is makeOpenVpnDriver() in vpn_driver.hpp). Configuration is
// pure and unit-tested; the client's start is shared with fault injection, which restarts it.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "core/ip.hpp"
#include "core/result.hpp"
#include "lab/context.hpp"
#include "lab/plan.hpp"

namespace vpnleak::lab {

// The server's config: UDP on the VPN's public address, fixed tunnel addresses from the plan
// (the client's through its client-config-dir file), and what commercial providers push:
// redirect-gateway def1 (plus ipv6 with a dual-stack tunnel). DIR holds keys, certificates, ccd.
std::string openVpnServerConfig(const LabPlan& plan, const std::string& dir);
// The client's: `client` (pull everything), the endpoint, the CA to check the server against.
// REMOTE_HOST, when given, replaces the endpoint's address in `remote HOST PORT`: a name (which
// OpenVPN resolves itself, through the client's resolver) or an address.
std::string openVpnClientConfig(const LabPlan& plan, const std::string& dir,
                                const std::string& remote_host = {});
// The client's client-config-dir file (its common name is "client").
std::string openVpnClientCcd(const LabPlan& plan);

// The routes the client's redirect-gateway puts through the tunnel (IPv4 via the server's tunnel
// address, IPv6 on the device); the host route to the server via the LAN gateway is not among
// them.
std::vector<core::Prefix> openVpnRedirectPrefixes(const LabPlan& plan);

// Starts the client in the client node (again, after a kill: same config and certificate) and
// returns once a ping to the server's tunnel address passes; the error carries its log's tail.
core::Status startOpenVpnClient(const LabPlan& plan, const LabContext& ctx,
                                std::chrono::milliseconds timeout);

// Restarts the client with `remote REMOTE_HOST PORT` (empty: the configured endpoint again):
// SIGTERM first, so that the old client removes its routes as on a clean exit, then the new one,
// which installs its own (the host route to whatever it connects to included). True once the
// tunnel passes traffic within WAIT; false when it does not (a kill switch that allows only the
// configured endpoint keeps it closed); an error when the client exits.
core::Result<bool> restartOpenVpnClient(const LabPlan& plan, const LabContext& ctx,
                                        const std::string& remote_host,
                                        std::chrono::milliseconds wait);

// Brings the routes back that went with the client's tun when its link was set down; OpenVPN
// itself does not notice a flap, so this does what its restart would.
core::Status restoreOpenVpnRoutes(const LabPlan& plan, const LabContext& ctx);

}  // namespace vpnleak::lab
