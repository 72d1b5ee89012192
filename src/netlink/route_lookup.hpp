// What the kernel would do with one packet: `ip route get DST [from SRC] [mark M] [uid U]
// [oif IF]`, through RTM_GETROUTE, in the calling thread's network namespace.
#pragma once

#include <linux/netlink.h>

#include <cstdint>
#include <optional>
#include <string>

#include "core/ip.hpp"
#include "core/json.hpp"
#include "core/result.hpp"
#include "netlink/socket.hpp"
#include "netlink/types.hpp"

namespace vpnleak::netlink {

struct RouteQuery {
  core::IpAddress dst;
  std::optional<core::IpAddress> src;  // same family as dst
  std::optional<std::uint32_t> mark;   // fwmark, e.g. 51820 for wg-quick's own packets
  std::optional<std::uint32_t> uid;    // the socket owner, for `uidrange` rules
  std::optional<int> oif;              // a socket bound to this interface (SO_BINDTODEVICE)
};

struct RouteDecision {
  core::Family family = core::Family::kV4;
  RouteType type = RouteType::kUnicast;
  std::uint32_t table = 0;  // the table that decided (RTM_F_LOOKUP_TABLE)
  core::IpAddress dst;
  std::optional<core::IpAddress> gateway;
  int oif = 0;
  std::string oif_name;
  std::optional<core::IpAddress> prefsrc;  // the source address a socket would get
  std::optional<std::uint32_t> mark;
  std::optional<std::uint32_t> uid;
  std::uint32_t flags = 0;  // rtm_flags
};

core::Json toJson(const RouteDecision& d);

// The RTM_GETROUTE request for q; kInvalidArgument when src and dst families differ.
core::Result<Request> buildRouteQuery(const RouteQuery& q);

// The kernel's RTM_NEWROUTE answer; oif_name is left empty.
core::Result<RouteDecision> parseRouteDecision(const nlmsghdr& nlh);

// Like `ip route get`, a destination without a usable route is an error (kSystem) whose
// sys_errno is what the kernel said: ENETUNREACH (no route, or an `unreachable` rule),
// EHOSTUNREACH (`unreachable` route), EACCES (`prohibit`), EINVAL (`blackhole`).
core::Result<RouteDecision> lookupRoute(const RouteQuery& q);
core::Result<RouteDecision> lookupRoute(MnlSocket& sock, const RouteQuery& q);

// True for the errors above: the kernel decided that the packet goes nowhere.
bool isNoRouteError(const core::Error& err);

}  // namespace vpnleak::netlink
