// The lab's recursive resolvers (unbound): the home router's and the VPN server's. Each answers
// only on its own addresses and sends the test zone to the leak-test server as a stub zone, with
// caching off so that every client query is visible at the server.
#pragma once

#include <string>
#include <vector>

#include "core/ip.hpp"
#include "core/result.hpp"
#include "lab/context.hpp"

namespace vpnleak::lab {

struct ResolverConfig {
  std::string name;  // file stem: unbound-router, unbound-vpn
  std::vector<core::IpAddress> listen;
  std::string zone;
  std::vector<core::IpAddress> zone_servers;
  std::string work_dir;
};

// unbound.conf text; pure.
std::string unboundConfig(const ResolverConfig& cfg);

// Writes the config, checks it with unbound-checkconf, starts unbound in NS and waits until it
// answers on its first address.
core::Status startResolver(const std::string& ns, const ResolverConfig& cfg, const LabContext& ctx);

}  // namespace vpnleak::lab
