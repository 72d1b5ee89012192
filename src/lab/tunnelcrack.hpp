// TunnelCrack (Vanhoef, Xu et al., USENIX Security 2023) in the lab: a hostile LAN that abuses
// the exceptions a VPN client makes for the local network (LocalNet) and for its own server
// (ServerIP) to see traffic in plaintext.
#pragma once

#include <string>

#include "core/ip.hpp"
#include "core/json.hpp"
#include "core/result.hpp"
#include "lab/context.hpp"
#include "lab/plan.hpp"

namespace vpnleak::lab {

// LocalNet. The address the hostile LAN leases to the client, inside the leak-test server's
// public prefix (192.0.2.0/24).
inline constexpr const char* kLocalNetLease = "192.0.2.77/24";

// Setup, on the router: answers ARP for any address on lan0 (proxy_arp) and routes the leased
// address back to lan0, so that the plaintext reaches the server and its replies come back.
core::Status prepareLocalNetRouter(const LabPlan& plan);
// Fault: the client gets kLocalNetLease on lan0, as a DHCP lease from the attacker would give it;
// the kernel adds 192.0.2.0/24 dev lan0, which beats the tunnel's default route.
core::Status claimServerPrefixAsLocal(const LabPlan& plan);
// Restore: the address (and with it the connected route) goes.
core::Status releaseServerPrefix(const LabPlan& plan);

// ServerIP. The name the VPN client is configured with for its server.
inline constexpr const char* kVpnServerName = "vpn.vpn-provider.test";

// unbound "server:" clause answering `name` A with `addr` (a static local zone). Pure.
std::string spoofedRecordConfig(const std::string& name, const core::IpAddress& addr);
// nftables ruleset for the router: UDP to spoofed:port arriving on lan0 goes on to the real
// endpoint, so the tunnel keeps working through the attacker. Pure.
std::string endpointDnatRuleset(const core::IpAddress& spoofed, const core::Endpoint& real);

// Setup: the spoofed record in the router's unbound (reloaded with SIGHUP) and the DNAT; then
// the name is resolved once from the client through the router, as the VPN client did when it
// connected, and the answer kept in the state directory.
core::Status spoofVpnServerName(const LabPlan& plan);
// Fault: resolves the name again through the LAN's resolver (plaintext; when that is blocked the
// answer from setup is used, as a client's cache would), points the tunnel at the answer, and
// the host route to it via the LAN gateway that VPN clients add for their endpoint is there:
// OpenVPN installs it itself, for WireGuard the lab adds it. The route is kept for the evidence.
core::Status followSpoofedEndpoint(const LabPlan& plan);
// Restore: the real endpoint again, the host route removed if the client left it.
core::Status restoreVpnEndpoint(const LabPlan& plan);
// {"name", "resolver", "answer", "real_endpoint", "endpoint_route"}: what the client was told,
// and its route to the answer after the last fault (null: none, e.g. OpenVPN never connected).
core::Json serverIpEvidence(const LabPlan& plan);

// Points the client's VPN at another server address: WireGuard `wg set IF peer KEY endpoint`;
// OpenVPN restarts its client with `remote ADDRESS PORT` (the configured port) and waits for it
// to connect, which a kill switch may prevent (not an error, except for the configured endpoint).
// The one VPN-specific step of the ServerIP scenario.
core::Status retargetEndpoint(const LabPlan& plan, const LabContext& ctx,
                              const core::Endpoint& endpoint);

}  // namespace vpnleak::lab
