#include "audit/analyze.hpp"

#include <algorithm>
#include <set>

#include "audit/fib.hpp"

namespace vpnleak::audit {

namespace {

using core::IpAddress;
using core::Json;

const std::vector<IpAddress>& probes(core::Family f) {
  // Well-known public destinations: where "the internet" is for the routing decision. No packet
  // is sent to them.
  static const std::vector<IpAddress> kV4{IpAddress::parse("1.1.1.1").value(),
                                          IpAddress::parse("8.8.8.8").value(),
                                          IpAddress::parse("151.101.1.1").value()};
  static const std::vector<IpAddress> kV6{IpAddress::parse("2606:4700:4700::1111").value(),
                                          IpAddress::parse("2001:4860:4860::8888").value()};
  return f == core::Family::kV4 ? kV4 : kV6;
}

bool isTunnelKind(const Interface& i) {
  static const std::set<std::string> kKinds{"wireguard", "tun", "tap", "ppp"};
  if (kKinds.contains(i.kind)) return true;
  if (!i.kind.empty()) return false;
  return std::ranges::any_of(
      std::initializer_list<std::string_view>{"wg", "tun", "tap", "ppp", "utun"},
      [&](std::string_view p) { return i.name.starts_with(p); });
}

struct Ctx {
  const Snapshot& s;
  const TunnelView& t;
  [[nodiscard]] bool inTunnel(const Decision& d) const {
    return std::find(t.interfaces.begin(), t.interfaces.end(), d.dev()) != t.interfaces.end();
  }
  // Delivered through a non-tunnel, non-loopback interface: the packet would leave outside.
  [[nodiscard]] bool outside(const Decision& d) const {
    if (!d.delivered() || inTunnel(d) || d.route->type == "local") return false;
    const auto* dev = s.interface(d.dev());
    return dev == nullptr || !dev->loopback;
  }
  [[nodiscard]] std::optional<IpAddress> globalAddressOn(const std::string& dev,
                                                         core::Family f) const {
    if (const auto* i = s.interface(dev)) {
      for (const auto& a : i->addresses) {
        if (a.address.family() == f && a.address.isGlobalUnicast()) return a.address;
      }
    }
    return std::nullopt;
  }
};

Json decisionJson(const IpAddress& dst, const Decision& d) {
  Json j{{"destination", dst.toString()}, {"decision", d.describe()}};
  if (d.delivered()) {
    j["route"] = d.route->dst.toString();
    j["dev"] = d.route->dev;
    j["protocol"] = d.route->protocol;
    j["table"] = tableLabel(d.table);
  }
  return j;
}

std::string tunnelNames(const TunnelView& t) {
  std::string s;
  for (const auto& i : t.interfaces) s += (s.empty() ? "" : ", ") + i;
  return s;
}

void judgeIpv6(const Ctx& c, std::vector<Finding>& out) {
  for (const auto& dst : probes(core::Family::kV6)) {
    const auto d = decide(c.s, Packet::to(dst));
    if (!c.outside(d)) continue;
    const auto src = c.globalAddressOn(d.dev(), core::Family::kV6);
    out.push_back(
        {"ipv6-outside-tunnel", src ? Severity::kHigh : Severity::kLow,
         "IPv6 to " + dst.toString() + " leaves via " + d.describe() + " outside the tunnel" +
             (src ? " with the real address " + src->toString() : " (no global IPv6 address yet)") +
             ": the tunnel does not carry IPv6",
         "route ::/0 through the tunnel (WireGuard AllowedIPs = ::/0) or block IPv6 outside it "
         "('vpnleak guard up --ipv6 block')",
         decisionJson(dst, d)});
    return;
  }
}

void judgeDefault(const Ctx& c, std::vector<Finding>& out) {
  for (const auto& dst : probes(core::Family::kV4)) {
    const auto d = decide(c.s, Packet::to(dst));
    if (!c.outside(d)) continue;
    out.push_back({"route-bypass", Severity::kHigh,
                   "IPv4 to " + dst.toString() + " leaves via " + d.describe() +
                       ", not through the tunnel " + tunnelNames(c.t) +
                       ": the tunnel does not carry the default route",
                   "route 0.0.0.0/0 through the tunnel (wg-quick does it with AllowedIPs = "
                   "0.0.0.0/0) and keep a kill switch up",
                   decisionJson(dst, d)});
    return;
  }
}

bool isEndpoint(const TunnelView& t, const IpAddress& a) {
  return std::any_of(t.endpoints.begin(), t.endpoints.end(),
                     [&](const TunnelEndpoint& e) { return e.address.address == a; });
}

// Every prefix in any table, tried as a destination: a more specific route that wins over the
// tunnel's default is a bypass (TunnelVision); a public prefix that is "on the LAN" is LocalNet.
void judgePrefixes(const Ctx& c, bool v6_leaks, std::vector<Finding>& out) {
  std::set<const RouteEntry*> seen;
  for (const auto& r : c.s.routes) {
    if (r.type != "unicast" || r.dst.isDefault() || r.table == 255) continue;
    if (r.family == core::Family::kV6 && v6_leaks) continue;  // already reported as a whole
    const IpAddress& probe = r.dst.address();
    if (probe.isLinkLocal() || probe.isMulticast() || probe.isLoopback()) continue;
    const auto d = decide(c.s, Packet::to(probe));
    if (!c.outside(d) || !seen.insert(d.route).second) continue;
    if (isEndpoint(c.t, probe) && d.route->dst.length() == probe.bitLength()) continue;
    const auto& route = *d.route;
    const bool on_link = !route.gateway && route.scope == "link";
    if (on_link && (probe.isPrivate() || probe.isLinkLocal())) continue;  // the real LAN
    if (on_link) {
      out.push_back({"localnet-exposure", Severity::kHigh,
                     "the public prefix " + route.dst.toString() + " is on-link on " + route.dev +
                         ", so traffic to it stays outside the tunnel: a network can claim any "
                         "public range as its LAN (TunnelCrack LocalNet)",
                     "do not exempt the local network from the tunnel, or only RFC 1918/ULA "
                     "prefixes ('vpnleak guard up --allow-lan' checks this)",
                     decisionJson(probe, d)});
      continue;
    }
    out.push_back({"route-bypass", probe.isPrivate() ? Severity::kMedium : Severity::kHigh,
                   "traffic to " + route.dst.toString() + " leaves via " + d.describe() +
                       " (installed by " + route.protocol + ") instead of the tunnel " +
                       tunnelNames(c.t) +
                       ": a more specific route beats the tunnel's default (DHCP option 121, "
                       "TunnelVision CVE-2024-3661)",
                   "delete the route or ignore classless static routes from DHCP, and enforce "
                   "the tunnel with a kill switch that does not depend on routes ('vpnleak guard "
                   "up')",
                   decisionJson(probe, d)});
  }
}

std::vector<IpAddress> effectiveResolvers(const Snapshot& s) {
  std::vector<IpAddress> out;
  const auto stub = IpAddress::parse("127.0.0.53").value();
  for (const auto& r : s.resolvers) {
    if (r == stub && !s.link_dns.empty()) {
      for (const auto& [link, servers] : s.link_dns)
        out.insert(out.end(), servers.begin(), servers.end());
    } else {
      out.push_back(r);
    }
  }
  return out;
}

void judgeDns(const Ctx& c, std::vector<Finding>& out, std::vector<std::string>& notes) {
  for (const auto& r : effectiveResolvers(c.s)) {
    if (r.isLoopback()) {
      notes.push_back("resolver " + r.toString() +
                      " is local: where it forwards to is not visible to the audit");
      continue;
    }
    const auto d = decide(c.s, Packet::to(r));
    if (!c.outside(d)) continue;
    out.push_back({"dns-outside-tunnel", Severity::kHigh,
                   "the " + std::string(core::familyName(r.family())) + " resolver " +
                       r.toString() + " is reached via " + d.describe() +
                       " outside the tunnel: every name looked up is visible to that network",
                   "use the VPN's resolver (DNS = in the tunnel's config) and allow port 53 only "
                   "to it ('vpnleak guard up --dns IP')",
                   decisionJson(r, d)});
  }
}

void judgeEndpoints(const Ctx& c, std::vector<Finding>& out) {
  for (const auto& te : c.t.endpoints) {
    const core::Endpoint& e = te.address;
    const auto d = decide(c.s, Packet::to(e.address));
    if (!c.outside(d)) continue;  // fwmark-based exception: only the tunnel's own socket
    const bool broad = d.route->dst.length() < e.address.bitLength();
    out.push_back(
        {"endpoint-exception-broad", broad ? Severity::kHigh : Severity::kMedium,
         broad ? "the exception for the VPN endpoint " + e.address.toString() + " is the route " +
                     d.route->dst.toString() + ": every address in it bypasses the tunnel"
               : "all traffic to the VPN endpoint " + e.address.toString() +
                     " (any program, port and protocol) bypasses the tunnel, not only the "
                     "tunnel's own packets (TunnelCrack ServerIP)",
         "exempt only the tunnel's own socket (fwmark policy routing, as wg-quick does) and allow "
         "only its port and protocol ('vpnleak guard up --endpoint " +
             te.toString() + "')",
         decisionJson(e.address, d)});
  }
}

// A path the routes would take still ends at a fail-closed firewall: only what its rules allow
// gets out, so the finding stays (the routes are wrong) but it is no longer a leak by itself.
void mitigate(const Snapshot& s, std::vector<Finding>& findings) {
  const auto closed = failClosed(s);
  for (auto& f : findings) {
    auto dst = IpAddress::parse(f.evidence.value("destination", ""));
    if (!dst || !(dst->isV4() ? closed.v4 : closed.v6)) continue;
    f.severity = Severity::kLow;
    f.detail +=
        "; mitigated: an nftables output chain with policy drop blocks it unless a rule "
        "allows it";
    f.evidence["mitigated_by_firewall"] = true;
  }
}

}  // namespace

std::string severityName(Severity s) {
  switch (s) {
    case Severity::kInfo:
      return "info";
    case Severity::kLow:
      return "low";
    case Severity::kMedium:
      return "medium";
    case Severity::kHigh:
      return "high";
    case Severity::kCritical:
      return "critical";
  }
  return "info";
}

core::Result<Severity> parseSeverity(std::string_view text) {
  for (auto s :
       {Severity::kInfo, Severity::kLow, Severity::kMedium, Severity::kHigh, Severity::kCritical}) {
    if (severityName(s) == text) return s;
  }
  return core::makeError(
      core::Errc::kInvalidArgument,
      "invalid severity '" + std::string(text) + "': expected info, low, medium, high or critical");
}

std::optional<Severity> Report::highest() const {
  std::optional<Severity> h;
  for (const auto& f : findings) {
    if (!h || f.severity > *h) h = f.severity;
  }
  return h;
}

TunnelView findTunnel(const Snapshot& s) {
  TunnelView t;
  for (const auto& i : s.interfaces) {
    if (i.up && isTunnelKind(i)) t.interfaces.push_back(i.name);
  }
  for (const auto& w : s.wireguard) {
    if (std::find(t.interfaces.begin(), t.interfaces.end(), w.name) == t.interfaces.end()) continue;
    if (w.fwmark) t.fwmark = w.fwmark;
    for (const auto& p : w.peers) {
      if (p.endpoint) t.endpoints.push_back({*p.endpoint, "udp", "wireguard"});
    }
  }
  // Other clients' servers (OpenVPN's remotes): their processes run in this namespace, and any
  // tunnel up here may be theirs.
  if (!t.interfaces.empty()) {
    for (const auto& e : s.endpoints) {
      if (e.endpoint) t.endpoints.push_back({*e.endpoint, e.proto, e.source});
    }
  }
  return t;
}

Report analyze(const Snapshot& s) {
  Report r;
  r.tunnel = findTunnel(s);
  r.notes = s.notes;
  if (r.tunnel.interfaces.empty()) {
    r.findings.push_back({"no-tunnel", Severity::kInfo,
                          "no VPN tunnel interface is up (WireGuard, tun/tap, ppp): with no tunnel "
                          "there is nothing to leak around, and nothing protects this traffic",
                          "connect the VPN, then run the audit again", Json::object()});
    return r;
  }
  const Ctx c{s, r.tunnel};
  judgeDefault(c, r.findings);
  judgeIpv6(c, r.findings);
  const bool v6_leaks = std::any_of(r.findings.begin(), r.findings.end(),
                                    [](const Finding& f) { return f.id == "ipv6-outside-tunnel"; });
  judgePrefixes(c, v6_leaks, r.findings);
  judgeDns(c, r.findings, r.notes);
  judgeEndpoints(c, r.findings);
  mitigate(s, r.findings);
  for (auto& f : judgeFirewall(s, r.tunnel)) r.findings.push_back(std::move(f));
  std::stable_sort(r.findings.begin(), r.findings.end(),
                   [](const Finding& a, const Finding& b) { return a.severity > b.severity; });
  return r;
}

core::Json toJson(const Report& r) {
  auto doc = core::jsonDocument("vpnleak.audit/1");
  Json endpoints = Json::array();
  Json details = Json::array();
  for (const auto& e : r.tunnel.endpoints) {
    endpoints.push_back(e.address.toString());
    details.push_back(
        {{"endpoint", e.address.toString()}, {"proto", e.proto}, {"source", e.source}});
  }
  doc["tunnel"] = {{"interfaces", r.tunnel.interfaces},
                   {"endpoints", endpoints},
                   {"endpoint_details", details},
                   {"fwmark", r.tunnel.fwmark ? Json(*r.tunnel.fwmark) : Json(nullptr)}};
  doc["findings"] = Json::array();
  for (const auto& f : r.findings) {
    doc["findings"].push_back({{"id", f.id},
                               {"severity", severityName(f.severity)},
                               {"detail", f.detail},
                               {"fix", f.fix},
                               {"evidence", f.evidence}});
  }
  const auto h = r.highest();
  doc["summary"] = {{"findings", r.findings.size()},
                    {"highest", h ? Json(severityName(*h)) : Json(nullptr)}};
  doc["notes"] = r.notes;
  return doc;
}

}  // namespace vpnleak::audit
