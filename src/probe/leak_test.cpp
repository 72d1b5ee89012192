#include "probe/leak_test.hpp"

#include <future>
#include <thread>

#include "audit/analyze.hpp"
#include "core/process.hpp"
#include "netlink/dump.hpp"
#include "netlink/route_lookup.hpp"
#include "probe/http_client.hpp"
#include "probe/resolve.hpp"

namespace vpnleak::probe {

namespace {

using core::Errc;
using core::IpAddress;
using core::Json;

struct Network {
  audit::Snapshot snap;
  std::string tunnel;
  std::optional<std::uint32_t> fwmark;
  std::string physical;
};

std::optional<std::uint32_t> wireguardMark(const std::string& iface) {
  auto r = core::run({"wg", "show", iface, "fwmark"},
                     core::RunOptions::withTimeout(std::chrono::milliseconds(500)));
  if (!r || !r->ok()) return std::nullopt;
  try {
    return static_cast<std::uint32_t>(std::stoul(r->out, nullptr, 0));
  } catch (const std::exception&) {
    return std::nullopt;  // "off"
  }
}

// The tunnel: given, or the tunnel-like interface that unmarked traffic to the server takes, or
// the first tunnel-like interface. The physical interface: where the tunnel's own (marked)
// packets go, else the main table's default route outside the tunnel.
core::Result<Network> viewNetwork(const TestOptions& o, const std::vector<IpAddress>& servers) {
  auto ns = netlink::takeSnapshot();
  if (!ns) return ns.error();
  Network n{audit::fromNetlink(*ns), o.tunnel, std::nullopt, ""};
  const auto tunnels = audit::findTunnel(n.snap).interfaces;
  if (!n.tunnel.empty() && n.snap.interface(n.tunnel) == nullptr) {
    return core::makeError(Errc::kInvalidArgument,
                           "--tunnel '" + n.tunnel + "': no such interface here");
  }
  for (const auto& s : servers) {
    if (!n.tunnel.empty()) break;
    netlink::RouteQuery q;
    q.dst = s;
    auto d = netlink::lookupRoute(q);
    if (d && std::find(tunnels.begin(), tunnels.end(), d->oif_name) != tunnels.end()) {
      n.tunnel = d->oif_name;
    }
  }
  if (n.tunnel.empty() && !tunnels.empty()) n.tunnel = tunnels.front();
  if (!n.tunnel.empty()) n.fwmark = wireguardMark(n.tunnel);
  for (const auto& s : servers) {
    if (!n.physical.empty()) break;
    netlink::RouteQuery q;
    q.dst = s;
    q.mark = n.fwmark.value_or(0);
    auto d = netlink::lookupRoute(q);
    if (d && d->oif_name != n.tunnel && d->oif_name != "lo") n.physical = d->oif_name;
  }
  for (const auto& r : n.snap.routes) {
    if (!n.physical.empty()) break;
    if (r.table == 254 && r.dst.isDefault() && r.dev != n.tunnel && !r.dev.empty())
      n.physical = r.dev;
  }
  return n;
}

// Where to reach the server over each family: the URL's addresses, completed by the addresses
// the server announces in /api/v1/config.
struct ServerView {
  std::optional<core::Endpoint> http_v4, http_v6, stun_v4, stun_v6;
  std::string token;
  std::vector<std::string> names;
  core::Endpoint api;  // the address that answered
};

void takeAnnounced(const Json& list, std::optional<core::Endpoint>& v4,
                   std::optional<core::Endpoint>& v6) {
  if (!list.is_array()) return;
  for (const auto& e : list) {
    auto a = IpAddress::parse(e.value("address", ""));
    if (!a || a->isUnspecified() || a->isLoopback() || !e.contains("port")) continue;
    auto& slot = a->isV4() ? v4 : v6;
    if (!slot) slot = core::Endpoint{*a, e["port"].get<std::uint16_t>()};
  }
}

core::Result<ServerView> openTest(const TestOptions& o, const std::vector<IpAddress>& addrs,
                                  Deadline d) {
  ServerView v;
  std::string why;
  for (const auto& a : addrs) {
    const core::Endpoint ep{a, o.server.port};
    auto created =
        httpJson(o.server, ep, "POST", "/api/v1/tests?names=" + std::to_string(o.dns_names), {}, d);
    if (!created) {
      why = created.error().message();
      continue;
    }
    v.api = ep;
    v.token = created->value("token", "");
    for (const auto& n : (*created)["names"]) v.names.push_back(n.get<std::string>());
    auto cfg = httpJson(o.server, ep, "GET", "/api/v1/config", {}, d);
    if (cfg) {
      takeAnnounced((*cfg)["http"], v.http_v4, v.http_v6);
      takeAnnounced((*cfg)["stun"], v.stun_v4, v.stun_v6);
    }
    for (const auto& b : addrs) {  // the URL's own addresses come first
      (b.isV4() ? v.http_v4 : v.http_v6) = core::Endpoint{b, o.server.port};
    }
    return v;
  }
  return core::makeError(Errc::kEnvironment, "cannot reach the server " + o.server.toString() +
                                                 " (" + why + "); check --server and the VPN");
}

std::optional<IpAddress> seenAddress(const Json& j) {
  auto a = IpAddress::parse(j.value("ip", ""));
  return a ? std::optional(*a) : std::nullopt;
}

FamilyProbe probeFamily(const TestOptions& o, const ServerView& v, core::Family f, const Binding& b,
                        Deadline d) {
  FamilyProbe p;
  p.server = f == core::Family::kV4 ? v.http_v4 : v.http_v6;
  p.attempted = p.server.has_value();
  if (!p.attempted) return p;
  auto r = httpJson(o.server, *p.server, "GET", "/api/v1/ip?token=" + v.token, b, d);
  if (r) {
    p.seen = seenAddress(*r);
  } else {
    p.error = r.error().message();
  }
  return p;
}

std::vector<StunSeen> probeStun(const Network& n, const ServerView& v, Deadline d) {
  std::vector<std::future<StunSeen>> jobs;
  for (const auto& i : n.snap.interfaces) {
    if (!i.up || i.loopback) continue;
    for (const auto& a : i.addresses) {
      const auto& ip = a.address;
      if (ip.isLinkLocal() || ip.isLoopback()) continue;
      const auto& server = ip.isV4() ? v.stun_v4 : v.stun_v6;
      if (!server) continue;
      jobs.push_back(std::async(std::launch::async, [=, name = i.name] {
        Binding b;
        b.source = ip;
        StunSeen s{name, ip, *server, std::nullopt, ""};
        auto m = stunBinding(*server, b, d);
        if (m) s.mapped = *m;
        if (!m) s.error = m.error().message();
        return s;
      }));
    }
  }
  std::vector<StunSeen> out;
  for (auto& j : jobs) out.push_back(j.get());
  return out;
}

void probeKillswitch(const TestOptions& o, const Network& n, const ServerView& v, Deadline d,
                     Observations& obs) {
  obs.physical = n.physical;
  if (n.physical.empty()) return;
  Binding b;
  b.device = n.physical;
  for (const auto& server : {v.http_v4, v.http_v6}) {
    if (!server) continue;
    BoundHttp h{server->address.family(), std::nullopt, ""};
    auto r = httpJson(o.server, *server, "GET", "/api/v1/ip?token=" + v.token, b, d);
    if (r) h.seen = seenAddress(*r);
    if (!r) h.error = r.error().message();
    obs.bound_http.push_back(h);
    auto ttl = ttlProbe({server->address, 33434}, b, 2, d);
    if (ttl) {
      obs.ttl_answers.insert(obs.ttl_answers.end(), ttl->answers.begin(), ttl->answers.end());
      obs.ttl_send_errors.insert(obs.ttl_send_errors.end(), ttl->send_errors.begin(),
                                 ttl->send_errors.end());
    }
  }
}

void discoverExits(const TestOptions& o, const Network& n, const ServerView& v, Deadline d,
                   Observations& obs) {
  for (const auto& pinned : o.expect_exit) (pinned.isV4() ? obs.exit_v4 : obs.exit_v6) = pinned;
  obs.exits_pinned = !o.expect_exit.empty();
  if (obs.exits_pinned || n.tunnel.empty()) return;
  Binding b;
  b.device = n.tunnel;
  auto f4 =
      std::async(std::launch::async, [&] { return probeFamily(o, v, core::Family::kV4, b, d); });
  auto f6 =
      std::async(std::launch::async, [&] { return probeFamily(o, v, core::Family::kV6, b, d); });
  obs.exit_v4 = f4.get().seen;
  obs.exit_v6 = f6.get().seen;
}

void collectDns(const TestOptions& o, const ServerView& v, Deadline d, Observations& obs) {
  auto r = httpJson(o.server, v.api, "GET", "/api/v1/tests/" + v.token, {}, d);
  if (!r) return;
  for (const auto& q : (*r)["dns"]) {
    const std::string qname = q.value("qname", "");
    auto resolver = IpAddress::parse(q.value("resolver", ""));
    if (!resolver) continue;
    bool ours = false;
    for (const auto& name : v.names) {
      if (qname.size() >= name.size() &&
          std::equal(name.rbegin(), name.rend(), qname.rbegin(),
                     [](char a, char b) { return std::tolower(a) == std::tolower(b); })) {
        ours = true;
      }
    }
    if (ours) {
      obs.dns.push_back({*resolver, qname, q.value("qtype", ""), q.value("transport", "")});
    }
  }
}

}  // namespace

bool TestReport::leaked() const {
  return std::any_of(checks.begin(), checks.end(),
                     [](const CheckResult& c) { return c.status == "leak"; });
}

core::Result<TestReport> runLeakTest(const TestOptions& o) {
  const auto start = Clock::now();
  const Deadline deadline = start + o.timeout;
  // The results are fetched last: keep a share of the time for it.
  const Deadline probes_end = deadline - o.timeout / 6;
  std::vector<IpAddress> addrs;
  if (o.server.literal) {
    addrs = {*o.server.literal};
  } else {
    auto r = resolveHost(o.server.host, start + o.timeout / 4);
    if (!r) return r.error();
    addrs = *r;
  }
  std::stable_sort(addrs.begin(), addrs.end(),
                   [](const IpAddress& a, const IpAddress& b) { return a.isV4() && !b.isV4(); });
  auto net = viewNetwork(o, addrs);
  if (!net) return net.error();
  if (net->tunnel.empty() && o.expect_exit.empty()) {
    return core::makeError(Errc::kEnvironment,
                           "no VPN tunnel interface found (WireGuard, tun/tap, ppp): connect the "
                           "VPN, or name it with --tunnel, or give --expect-exit");
  }
  auto view = openTest(o, addrs, start + o.timeout / 3);
  if (!view) return view.error();

  TestReport rep;
  rep.server = o.server.toString();
  rep.token = view->token;
  Observations& obs = rep.observations;
  obs.tunnel = net->tunnel;
  obs.names_sent = view->names.size();
  obs.stun_available = view->stun_v4 || view->stun_v6;
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(probes_end - Clock::now());
  auto exits =
      std::async(std::launch::async, [&] { discoverExits(o, *net, *view, probes_end, obs); });
  auto v4 = std::async(std::launch::async,
                       [&] { return probeFamily(o, *view, core::Family::kV4, {}, probes_end); });
  auto v6 = std::async(std::launch::async,
                       [&] { return probeFamily(o, *view, core::Family::kV6, {}, probes_end); });
  auto dns = std::async(std::launch::async,
                        [&] { return resolveAll(view->names, left * 2 / 5, probes_end); });
  // Probes whose good outcome is silence (STUN from addresses that must not get out, packets
  // bound outside the tunnel) get a shorter budget, so a clean run does not wait for the deadline.
  const Deadline quiet_end = std::min(probes_end, start + o.timeout * 3 / 5);
  auto stun = std::async(std::launch::async, [&] { return probeStun(*net, *view, quiet_end); });
  Observations ks;
  auto kill =
      std::async(std::launch::async, [&] { probeKillswitch(o, *net, *view, quiet_end, ks); });
  exits.get();
  obs.v4 = v4.get();
  obs.v6 = v6.get();
  for (const auto& l : dns.get()) obs.names_resolved += l.addresses.empty() ? 0 : 1;
  obs.stun = stun.get();
  kill.get();
  obs.physical = ks.physical;
  obs.bound_http = ks.bound_http;
  obs.ttl_answers = ks.ttl_answers;
  obs.ttl_send_errors = ks.ttl_send_errors;
  collectDns(o, *view, deadline, obs);
  rep.checks = judgeAll(obs, o.only);
  rep.duration_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
  return rep;
}

core::Json toJson(const TestReport& r) {
  auto doc = core::jsonDocument("vpnleak.test/1");
  const auto& o = r.observations;
  doc["server"] = r.server;
  doc["token"] = r.token;
  doc["tunnel"] = {{"interface", o.tunnel.empty() ? Json(nullptr) : Json(o.tunnel)},
                   {"physical", o.physical.empty() ? Json(nullptr) : Json(o.physical)}};
  doc["expected_exit"] = {{"ipv4", o.exit_v4 ? Json(o.exit_v4->toString()) : Json(nullptr)},
                          {"ipv6", o.exit_v6 ? Json(o.exit_v6->toString()) : Json(nullptr)},
                          {"pinned", o.exits_pinned}};
  doc["checks"] = Json::array();
  std::size_t leaks = 0;
  for (const auto& c : r.checks) {
    leaks += c.status == "leak" ? 1 : 0;
    doc["checks"].push_back({{"id", c.id},
                             {"status", c.status},
                             {"explanation", c.explanation},
                             {"evidence", c.evidence}});
  }
  doc["summary"] = {
      {"verdict", leaks > 0 ? "leak" : "pass"}, {"leaks", leaks}, {"checks", r.checks.size()}};
  doc["duration_ms"] = r.duration_ms;
  return doc;
}

}  // namespace vpnleak::probe
