// --allow-lan: which prefixes count as the LAN. Only what is on-link on the physical interface
// and private (RFC 1918, RFC 6598, ULA) or link-local: a network that hands out a public prefix
// as "local" (TunnelCrack LocalNet) gets nothing.
#pragma once

#include <string>
#include <vector>

#include "core/ip.hpp"
#include "core/json.hpp"
#include "core/result.hpp"

namespace vpnleak::guard {

struct OnLinkPrefix {
  std::string iface;
  core::Prefix prefix;
};

struct LanSelection {
  std::vector<core::Prefix> allowed;
  struct Rejected {
    std::string iface;
    core::Prefix prefix;
    std::string reason;
  };
  std::vector<Rejected> rejected;
};

// Pure: keeps the private and link-local prefixes of the interfaces that are not the tunnel (or,
// when lan_iface is set, of that one interface only).
LanSelection selectLanPrefixes(const std::vector<OnLinkPrefix>& on_link, const std::string& tunnel,
                               const std::string& lan_iface);

// The on-link prefixes of every interface of this network namespace (from its addresses).
core::Result<std::vector<OnLinkPrefix>> collectOnLinkPrefixes();

core::Json toJson(const LanSelection& s);

}  // namespace vpnleak::guard
