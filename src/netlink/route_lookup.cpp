#include "netlink/route_lookup.hpp"

#include <linux/rtnetlink.h>

#include <cerrno>

#include "netlink/dump.hpp"
#include "netlink/parse.hpp"

namespace vpnleak::netlink {

using core::Errc;

core::Json toJson(const RouteDecision& d) {
  auto opt = [](const auto& v) { return v ? core::Json(*v) : core::Json(nullptr); };
  return core::Json{{"family", core::familyName(d.family)},
                    {"type", routeTypeName(d.type)},
                    {"table", d.table},
                    {"table_name", tableName(d.table)},
                    {"dst", d.dst},
                    {"gateway", opt(d.gateway)},
                    {"oif", d.oif == 0 ? core::Json(nullptr) : core::Json(d.oif)},
                    {"oif_name", d.oif_name.empty() ? core::Json(nullptr) : core::Json(d.oif_name)},
                    {"prefsrc", opt(d.prefsrc)},
                    {"mark", opt(d.mark)},
                    {"uid", opt(d.uid)}};
}

core::Result<Request> buildRouteQuery(const RouteQuery& q) {
  if (q.src && q.src->family() != q.dst.family()) {
    return core::makeError(Errc::kInvalidArgument, "route lookup: source " + q.src->toString() +
                                                       " and destination " + q.dst.toString() +
                                                       " are of different families");
  }
  Request req(RTM_GETROUTE, 0);
  auto& rtm = req.putHeader<rtmsg>();
  rtm.rtm_family = afFromFamily(q.dst.family());
  rtm.rtm_dst_len = static_cast<std::uint8_t>(q.dst.bitLength());
  // Report the table that matched rather than "main", as `ip route get` asks too.
  rtm.rtm_flags = RTM_F_LOOKUP_TABLE;
  req.putBytes(RTA_DST, q.dst.bytes());
  if (q.src) {
    rtm.rtm_src_len = static_cast<std::uint8_t>(q.src->bitLength());
    req.putBytes(RTA_SRC, q.src->bytes());
  }
  if (q.mark) req.putU32(RTA_MARK, *q.mark);
  if (q.uid) req.putU32(RTA_UID, *q.uid);
  if (q.oif) req.putU32(RTA_OIF, static_cast<std::uint32_t>(*q.oif));
  return req;
}

core::Result<RouteDecision> parseRouteDecision(const nlmsghdr& nlh) {
  VL_TRY_ASSIGN(auto route, parseRoute(nlh));
  if (!route) return core::makeError(Errc::kMalformed, "route lookup answered in another family");
  RouteDecision d;
  d.family = route->family;
  d.type = route->type;
  d.table = route->table;
  d.dst = route->dst.address();
  d.gateway = route->gateway;
  d.oif = route->oif;
  d.prefsrc = route->prefsrc;
  d.flags = route->flags;
  d.mark = routeAttrU32(nlh, RTA_MARK);
  d.uid = routeAttrU32(nlh, RTA_UID);
  return d;
}

core::Result<RouteDecision> lookupRoute(MnlSocket& sock, const RouteQuery& q) {
  VL_TRY_ASSIGN(auto req, buildRouteQuery(q));
  std::optional<RouteDecision> decision;
  auto status = sock.request(req, [&](const nlmsghdr& nlh) -> core::Status {
    if (nlh.nlmsg_type != RTM_NEWROUTE) return {};
    VL_TRY_ASSIGN(decision, parseRouteDecision(nlh));
    return {};
  });
  const std::string what = "route lookup for " + q.dst.toString();
  if (!status) return withContext(status.error(), what);
  if (!decision) return core::makeError(Errc::kMalformed, what + ": no route in the reply");
  if (decision->oif != 0) {
    // The interface may vanish between the two requests; the decision stands without a name.
    if (auto link = getLink(sock, decision->oif)) decision->oif_name = link->name;
  }
  return *std::move(decision);
}

core::Result<RouteDecision> lookupRoute(const RouteQuery& q) {
  VL_TRY_ASSIGN(auto sock, MnlSocket::open());
  return lookupRoute(sock, q);
}

bool isNoRouteError(const core::Error& err) {
  if (err.code != Errc::kSystem) return false;
  switch (err.sys_errno) {
    case ENETUNREACH:
    case EHOSTUNREACH:
    case EACCES:
    case EINVAL:
      return true;
    default:
      return false;
  }
}

}  // namespace vpnleak::netlink
