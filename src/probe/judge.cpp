#include "probe/judge.hpp"

#include <algorithm>
#include <set>

namespace vpnleak::probe {

namespace {

using core::IpAddress;
using core::Json;

Json ipOrNull(const std::optional<IpAddress>& a) { return a ? Json(a->toString()) : Json(nullptr); }

bool isExit(const Observations& o, const IpAddress& a) {
  return (o.exit_v4 && *o.exit_v4 == a) || (o.exit_v6 && *o.exit_v6 == a);
}

std::string exitsText(const Observations& o) {
  std::string s;
  if (o.exit_v4) s += o.exit_v4->toString();
  if (o.exit_v6) s += (s.empty() ? "" : " / ") + o.exit_v6->toString();
  return s.empty() ? "none known" : s;
}

}  // namespace

CheckResult judgeFamily(const Observations& o, core::Family f) {
  const bool v4 = f == core::Family::kV4;
  const auto& p = v4 ? o.v4 : o.v6;
  const auto& exit = v4 ? o.exit_v4 : o.exit_v6;
  const std::string fam = v4 ? "IPv4" : "IPv6";
  CheckResult r{v4 ? "ipv4" : "ipv6", "", "", Json::object()};
  r.evidence = {{"server", p.server ? Json(p.server->toString()) : Json(nullptr)},
                {"seen", ipOrNull(p.seen)},
                {"expected_exit", ipOrNull(exit)}};
  if (!p.attempted) {
    r.status = "skip";
    r.explanation = "the server has no " + fam + " address, so " + fam + " cannot be tested";
    return r;
  }
  if (!p.seen) {
    r.status = "pass";
    r.evidence["error"] = p.error;
    r.explanation = fam + " cannot reach the server at all (" + p.error + "), so it cannot leak";
    return r;
  }
  if (exit && *p.seen == *exit) {
    r.status = "pass";
    r.explanation = fam + " reaches the server from the tunnel's exit " + exit->toString();
    return r;
  }
  r.status = "leak";
  r.explanation = exit ? "the server saw " + fam + " from " + p.seen->toString() +
                             ", not the tunnel's exit " + exit->toString() + ": " + fam +
                             " goes around the tunnel; route it into the tunnel or block it"
                       : "the server saw your " + fam + " address " + p.seen->toString() +
                             " but the tunnel carries no " + fam + ": block " + fam +
                             " outside the tunnel (vpnleak guard up" + (v4 ? "" : " --ipv6 block") +
                             ") or tunnel it";
  return r;
}

CheckResult judgeDns(const Observations& o) {
  CheckResult r{"dns", "", "", Json::object()};
  Json resolvers = Json::array();
  std::set<IpAddress> outside;
  std::set<IpAddress> all;
  for (const auto& d : o.dns) all.insert(d.resolver);
  for (const auto& a : all) {
    const bool inside = isExit(o, a);
    std::size_t n = 0;
    for (const auto& d : o.dns) n += d.resolver == a ? 1 : 0;
    resolvers.push_back({{"address", a.toString()},
                         {"family", core::familyName(a.family())},
                         {"queries", n},
                         {"inside_tunnel", inside}});
    if (!inside) outside.insert(a);
  }
  r.evidence = {{"names_sent", o.names_sent},
                {"names_resolved", o.names_resolved},
                {"queries_seen", o.dns.size()},
                {"resolvers", resolvers},
                {"expected_exit", exitsText(o)}};
  if (o.dns.empty()) {
    r.status = "error";
    r.explanation = "none of the " + std::to_string(o.names_sent) +
                    " test names reached the server's DNS: is the zone delegated to it, and does "
                    "any resolver work here?";
    return r;
  }
  if (outside.empty()) {
    r.status = "pass";
    r.explanation = "all " + std::to_string(o.dns.size()) +
                    " queries reached the server from the tunnel's exit (" + exitsText(o) + ")";
    return r;
  }
  std::string list;
  for (const auto& a : outside) list += (list.empty() ? "" : ", ") + a.toString();
  r.status = "leak";
  r.explanation = "DNS queries reached the server from " + list +
                  ", outside the tunnel: that resolver sees every name you look up; use the "
                  "VPN's resolver and allow DNS only to it (vpnleak guard up --dns IP)";
  return r;
}

CheckResult judgeWebrtc(const Observations& o) {
  CheckResult r{"webrtc", "", "", Json::object()};
  Json bindings = Json::array();
  std::vector<std::string> leaked;
  std::size_t answered = 0;
  for (const auto& s : o.stun) {
    Json b{{"iface", s.iface},
           {"local", s.local.toString()},
           {"server", s.server.toString()},
           {"mapped", s.mapped ? Json(s.mapped->address.toString()) : Json(nullptr)}};
    if (!s.error.empty()) b["error"] = s.error;
    if (s.mapped) {
      ++answered;
      const bool inside = isExit(o, s.mapped->address);
      b["inside_tunnel"] = inside;
      if (!inside) leaked.push_back(s.mapped->address.toString() + " (from " + s.iface + ")");
    }
    bindings.push_back(b);
  }
  r.evidence = {{"bindings", bindings}, {"expected_exit", exitsText(o)}};
  if (!o.stun_available) {
    r.status = "skip";
    r.explanation = "the server announces no STUN address";
    return r;
  }
  if (!leaked.empty()) {
    std::string list;
    for (const auto& l : leaked) list += (list.empty() ? "" : ", ") + l;
    r.status = "leak";
    r.explanation = "STUN, which every web page can use through WebRTC, revealed " + list +
                    ": block traffic outside the tunnel, or disable WebRTC's non-proxied UDP";
    return r;
  }
  r.status = "pass";
  r.explanation = answered == 0 ? "no STUN binding from any local address was answered"
                                : "every STUN answer (" + std::to_string(answered) +
                                      ") mapped to the tunnel's exit";
  return r;
}

CheckResult judgeKillswitch(const Observations& o) {
  CheckResult r{"killswitch", "", "", Json::object()};
  Json http = Json::array();
  std::vector<std::string> escaped;
  for (const auto& b : o.bound_http) {
    http.push_back(
        {{"family", core::familyName(b.family)}, {"seen", ipOrNull(b.seen)}, {"error", b.error}});
    if (b.seen) escaped.push_back("an HTTP request reached the server from " + b.seen->toString());
  }
  Json ttl = Json::array();
  for (const auto& a : o.ttl_answers) {
    ttl.push_back(
        {{"from", a.from.toString()}, {"icmp_type", a.icmp_type}, {"icmp_code", a.icmp_code}});
  }
  if (!o.ttl_answers.empty()) {
    escaped.push_back("TTL-limited probes were answered by " +
                      o.ttl_answers.front().from.toString());
  }
  r.evidence = {{"physical", o.physical},
                {"bound_http", http},
                {"ttl_answers", ttl},
                {"send_errors", o.ttl_send_errors}};
  if (o.physical.empty()) {
    r.status = "skip";
    r.explanation = "no interface outside the tunnel was found to probe";
    return r;
  }
  if (!escaped.empty()) {
    std::string list;
    for (const auto& e : escaped) list += (list.empty() ? "" : "; ") + e;
    r.status = "leak";
    r.explanation = "packets bound to " + o.physical + " leave outside the tunnel (" + list +
                    "): nothing would stop traffic if the tunnel dropped; run vpnleak guard up";
    return r;
  }
  r.status = "pass";
  r.explanation = "probes bound to " + o.physical +
                  " were blocked: traffic cannot leave outside "
                  "the tunnel";
  return r;
}

std::vector<CheckResult> judgeAll(const Observations& o, const std::vector<std::string>& only) {
  std::vector<CheckResult> out;
  auto want = [&](const char* id) {
    return only.empty() || std::find(only.begin(), only.end(), id) != only.end();
  };
  if (want("ipv4")) out.push_back(judgeFamily(o, core::Family::kV4));
  if (want("ipv6")) out.push_back(judgeFamily(o, core::Family::kV6));
  if (want("dns")) out.push_back(judgeDns(o));
  if (want("webrtc")) out.push_back(judgeWebrtc(o));
  if (want("killswitch")) out.push_back(judgeKillswitch(o));
  return out;
}

}  // namespace vpnleak::probe
