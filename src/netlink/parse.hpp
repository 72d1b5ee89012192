// rtnetlink messages -> values. Pure: they read one message and allocate only the result, so
// they are unit-tested on hand-built messages. The kernel is trusted to be well-formed, but a
// truncated message or an attribute of the wrong size is an error, never a guess: a route whose
// destination could not be read must not turn into a default route.
#pragma once

#include <linux/netlink.h>

#include <cstdint>
#include <optional>

#include "core/result.hpp"
#include "netlink/types.hpp"

namespace vpnleak::netlink {

// AF_INET / AF_INET6 -> Family; nullopt for every other family (MPLS, multicast routing...).
std::optional<core::Family> familyFromAf(std::uint8_t af);
std::uint8_t afFromFamily(core::Family family);

// RTM_NEWLINK / RTM_DELLINK.
core::Result<Link> parseLink(const nlmsghdr& nlh);

// RTM_NEWADDR / RTM_DELADDR; nullopt for families other than IPv4 and IPv6.
core::Result<std::optional<Address>> parseAddress(const nlmsghdr& nlh);

// RTM_NEWROUTE / RTM_DELROUTE; nullopt for families other than IPv4 and IPv6.
core::Result<std::optional<Route>> parseRoute(const nlmsghdr& nlh);

// RTM_NEWRULE / RTM_DELRULE; nullopt for families other than IPv4 and IPv6.
core::Result<std::optional<Rule>> parseRule(const nlmsghdr& nlh);

// A 32-bit attribute of a route message (RTA_MARK, RTA_UID...), nullopt when absent or malformed.
std::optional<std::uint32_t> routeAttrU32(const nlmsghdr& nlh, std::uint16_t type);

}  // namespace vpnleak::netlink
