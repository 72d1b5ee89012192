#include "netlink/dump.hpp"

#include <linux/fib_rules.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <array>
#include <optional>
#include <string>

#include "netlink/parse.hpp"

namespace vpnleak::netlink {

using core::Errc;
using core::Family;

namespace {

constexpr std::array<Family, 2> kFamilies{Family::kV4, Family::kV6};

// Dumps with req and keeps the values parse returns for messages of type reply_type that are of
// the family asked for. Anything else a dump may carry is skipped: a kernel without IPv6 answers
// an AF_INET6 dump with every family it has.
template <typename T, typename Parse>
core::Status dumpInto(MnlSocket& sock, Request& req, std::uint16_t reply_type,
                      std::optional<Family> family, Parse parse, std::vector<T>& out,
                      const char* what) {
  const std::size_t kept = out.size();
  auto status = sock.dump(
      req,
      [&](const nlmsghdr& nlh) -> core::Status {
        if (nlh.nlmsg_type != reply_type) return {};
        VL_TRY_ASSIGN(std::optional<T> value, parse(nlh));
        if (!value) return {};
        if constexpr (requires { value->family; }) {
          if (family && value->family != *family) return {};
        }
        out.push_back(std::move(*value));
        return {};
      },
      [&] { out.resize(kept); });
  if (!status) return withContext(status.error(), what);
  return {};
}

}  // namespace

core::Result<std::vector<Link>> listLinks(MnlSocket& sock) {
  Request req(RTM_GETLINK, 0);
  req.putHeader<ifinfomsg>().ifi_family = AF_UNSPEC;
  std::vector<Link> links;
  auto parse = [](const nlmsghdr& nlh) -> core::Result<std::optional<Link>> {
    VL_TRY_ASSIGN(auto link, parseLink(nlh));
    return std::optional<Link>(std::move(link));
  };
  VL_TRY(dumpInto(sock, req, RTM_NEWLINK, std::nullopt, parse, links, "list links"));
  return links;
}

core::Result<std::vector<Address>> listAddresses(MnlSocket& sock) {
  std::vector<Address> out;
  for (Family family : kFamilies) {
    Request req(RTM_GETADDR, 0);
    req.putHeader<ifaddrmsg>().ifa_family = afFromFamily(family);
    VL_TRY(dumpInto(sock, req, RTM_NEWADDR, family, parseAddress, out, "list addresses"));
  }
  return out;
}

core::Result<std::vector<Route>> listRoutes(MnlSocket& sock) {
  std::vector<Route> out;
  for (Family family : kFamilies) {
    // No table and no RTA_TABLE: the kernel dumps every table.
    Request req(RTM_GETROUTE, 0);
    req.putHeader<rtmsg>().rtm_family = afFromFamily(family);
    VL_TRY(dumpInto(sock, req, RTM_NEWROUTE, family, parseRoute, out, "list routes"));
  }
  return out;
}

core::Result<std::vector<Rule>> listRules(MnlSocket& sock) {
  std::vector<Rule> out;
  for (Family family : kFamilies) {
    Request req(RTM_GETRULE, 0);
    req.putHeader<fib_rule_hdr>().family = afFromFamily(family);
    VL_TRY(dumpInto(sock, req, RTM_NEWRULE, family, parseRule, out, "list rules"));
  }
  return out;
}

core::Result<Link> getLink(MnlSocket& sock, int index) {
  Request req(RTM_GETLINK, 0);
  auto& ifi = req.putHeader<ifinfomsg>();
  ifi.ifi_family = AF_UNSPEC;
  ifi.ifi_index = index;
  std::optional<Link> found;
  auto status = sock.request(req, [&](const nlmsghdr& nlh) -> core::Status {
    if (nlh.nlmsg_type != RTM_NEWLINK) return {};
    VL_TRY_ASSIGN(found, parseLink(nlh));
    return {};
  });
  const std::string what = "get link " + std::to_string(index);
  if (!status) {
    if (status.error().sys_errno == ENODEV) {
      return core::makeError(Errc::kNotFound, what + ": no such interface");
    }
    return withContext(status.error(), what);
  }
  if (!found) return core::makeError(Errc::kMalformed, what + ": no link in the reply");
  return *std::move(found);
}

namespace {

template <typename F>
auto withSocket(F&& f) -> decltype(f(std::declval<MnlSocket&>())) {
  VL_TRY_ASSIGN(auto sock, MnlSocket::open());
  return f(sock);
}

}  // namespace

core::Result<std::vector<Link>> listLinks() {
  return withSocket([](MnlSocket& s) { return listLinks(s); });
}

core::Result<std::vector<Address>> listAddresses() {
  return withSocket([](MnlSocket& s) -> core::Result<std::vector<Address>> {
    VL_TRY_ASSIGN(const auto links, listLinks(s));
    VL_TRY_ASSIGN(auto addresses, listAddresses(s));
    const auto names = linkNames(links);
    for (auto& a : addresses) nameInterfaces(a, names);
    return addresses;
  });
}

core::Result<std::vector<Route>> listRoutes() {
  return withSocket([](MnlSocket& s) -> core::Result<std::vector<Route>> {
    VL_TRY_ASSIGN(const auto links, listLinks(s));
    VL_TRY_ASSIGN(auto routes, listRoutes(s));
    const auto names = linkNames(links);
    for (auto& r : routes) nameInterfaces(r, names);
    return routes;
  });
}

core::Result<std::vector<Rule>> listRules() {
  return withSocket([](MnlSocket& s) { return listRules(s); });
}

core::Result<Snapshot> takeSnapshot() {
  VL_TRY_ASSIGN(auto sock, MnlSocket::open());
  Snapshot snap;
  VL_TRY_ASSIGN(snap.links, listLinks(sock));
  VL_TRY_ASSIGN(snap.addresses, listAddresses(sock));
  VL_TRY_ASSIGN(snap.routes, listRoutes(sock));
  VL_TRY_ASSIGN(snap.rules, listRules(sock));
  const auto names = linkNames(snap.links);
  for (auto& a : snap.addresses) nameInterfaces(a, names);
  for (auto& r : snap.routes) nameInterfaces(r, names);
  return snap;
}

core::Json Snapshot::toJson() const {
  core::Json doc = core::jsonDocument(kSnapshotSchema);
  auto array_of = [](const auto& items) {
    core::Json arr = core::Json::array();
    for (const auto& item : items) arr.push_back(netlink::toJson(item));
    return arr;
  };
  doc["links"] = array_of(links);
  doc["addresses"] = array_of(addresses);
  doc["routes"] = array_of(routes);
  doc["rules"] = array_of(rules);
  return doc;
}

}  // namespace vpnleak::netlink
