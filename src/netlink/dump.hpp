// Reading the whole network state of the calling thread's namespace: links, addresses, routes
// of every table, policy rules; and a Snapshot bundling them for `vpnleak audit`.
#pragma once

#include <vector>

#include "core/json.hpp"
#include "core/result.hpp"
#include "netlink/socket.hpp"
#include "netlink/types.hpp"

namespace vpnleak::netlink {

// Each opens its own socket. Interface names of addresses and routes come from a link dump.
core::Result<std::vector<Link>> listLinks();
core::Result<std::vector<Address>> listAddresses();  // IPv4 and IPv6
core::Result<std::vector<Route>> listRoutes();       // every table, IPv4 and IPv6
core::Result<std::vector<Rule>> listRules();         // IPv4 and IPv6

// The same on a socket the caller owns (its namespace is the one it was opened in). Names are
// left empty here; nameInterfaces() fills them from a link list.
core::Result<std::vector<Link>> listLinks(MnlSocket& sock);
core::Result<std::vector<Address>> listAddresses(MnlSocket& sock);
core::Result<std::vector<Route>> listRoutes(MnlSocket& sock);
core::Result<std::vector<Rule>> listRules(MnlSocket& sock);

// One link by index (RTM_GETLINK); kNotFound when there is none.
core::Result<Link> getLink(MnlSocket& sock, int index);

struct Snapshot {
  std::vector<Link> links;
  std::vector<Address> addresses;  // named from links
  std::vector<Route> routes;       // named from links
  std::vector<Rule> rules;

  // {"schema":"vpnleak.netlink.snapshot/1","links":[...],"addresses":[...],"routes":[...],
  //  "rules":[...]}
  [[nodiscard]] core::Json toJson() const;
};

inline constexpr const char* kSnapshotSchema = "vpnleak.netlink.snapshot/1";

// Links first, so that every address and route refers to a link the snapshot holds (an
// interface created in between may still show up unnamed).
core::Result<Snapshot> takeSnapshot();

}  // namespace vpnleak::netlink
