#include "lab/assessment.hpp"

#include <chrono>

#include "lab/lab.hpp"
#include "lab/observe.hpp"

namespace vpnleak::lab {

namespace {

using core::IpAddress;
using core::Json;

struct Scenario {
  std::string id;
  std::string description;
  bool tunnel_ipv6;
  DnsMode dns;
};

const std::vector<Scenario>& scenarios() {
  static const std::vector<Scenario> kAll{
      {"default", "IPv4-only WireGuard tunnel, the VPN's resolver", false, DnsMode::kVpn},
      {"dns-isp", "IPv4-only tunnel, the ISP's resolver left in resolv.conf", false, DnsMode::kIsp},
      {"tunnel-ipv6", "dual-stack tunnel, the VPN's resolver", true, DnsMode::kVpn},
  };
  return kAll;
}

std::string str(const std::optional<IpAddress>& a) { return a ? a->toString() : "nothing"; }

// Judges one observation: arriving with an expected exit address passes, arriving with the
// client's real address (or through its ISP's resolver) leaks, nothing arriving is judged by
// whether something was expected to arrive.
Json check(const std::string& id, const std::string& what, const std::optional<IpAddress>& expected,
           const std::optional<IpAddress>& observed, const std::string& leak_detail) {
  std::string verdict;
  std::string detail;
  if (observed && expected && *observed == *expected) {
    verdict = "pass";
    detail = what + " arrived from the VPN's exit " + observed->toString();
  } else if (observed) {
    verdict = "leak";
    detail =
        what + " arrived from " + observed->toString() + ", outside the tunnel: " + leak_detail;
  } else if (expected) {
    verdict = "error";
    detail = what + " did not arrive: the tunnel is broken";
  } else {
    verdict = "pass";
    detail = what + " cannot leave: no path outside the tunnel";
  }
  return {{"id", id},
          {"expected", str(expected)},
          {"observed", str(observed)},
          {"verdict", verdict},
          {"detail", detail}};
}

core::Result<Json> runScenario(const Scenario& s, const AssessmentOptions& opts, bool last) {
  LabOptions lo;
  lo.prefix = opts.prefix;
  lo.tunnel_ipv6 = s.tunnel_ipv6;
  lo.dns = s.dns;
  const auto started = std::chrono::steady_clock::now();
  if (auto st = up(lo); !st) return st.error();
  const LabPlan plan = makePlan(lo);
  const auto client = plan.netns("client");
  const auto server = plan.netns("server");
  Json checks = Json::array();
  auto fail = [&](const core::Error& e) -> core::Result<Json> {
    (void)down(opts.prefix);
    return e;
  };

  auto v4 = observeUdpSource(client, server, plan.server_v4, 40000);
  if (!v4) return fail(v4.error());
  checks.push_back(check("ipv4", "IPv4 to the server", plan.vpn_public_v4, *v4,
                         "the tunnel does not carry IPv4"));
  auto v6 = observeUdpSource(client, server, plan.server_v6, 40000);
  if (!v6) return fail(v6.error());
  checks.push_back(check("ipv6", "IPv6 to the server", plan.expectedExit(core::Family::kV6), *v6,
                         "the tunnel carries IPv4 only and the LAN's IPv6 route is still used"));
  const std::string qname =
      "lab-" + std::to_string(started.time_since_epoch().count() % 1000000007) + "." + lo.zone;
  auto dns = observeDnsResolvers(client, server, {plan.server_v4}, qname);
  if (!dns) return fail(dns.error());
  std::optional<IpAddress> resolver;
  if (!dns->empty()) resolver = dns->front();
  checks.push_back(check("dns", "the client's DNS query", plan.vpn_public_v4, resolver,
                         "the resolver in resolv.conf is reached outside the tunnel"));
  // The classic failure: the tunnel disappears and nothing stops traffic from using the LAN.
  if (auto st = dropTunnel(opts.prefix); !st) return fail(st.error());
  auto dropped = observeUdpSource(client, server, plan.server_v4, 40000);
  if (!dropped) return fail(dropped.error());
  checks.push_back(check("tunnel-drop", "IPv4 after the tunnel dropped", std::nullopt, *dropped,
                         "no kill switch: traffic falls back to the LAN route"));

  if (!(last && opts.keep)) {
    if (auto st = down(opts.prefix); !st) return st.error();
  }
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - started)
                      .count();
  return Json{
      {"id", s.id}, {"description", s.description}, {"checks", checks}, {"duration_ms", ms}};
}

}  // namespace

core::Result<Json> runAssessment(const AssessmentOptions& opts) {
  auto doc = core::jsonDocument("vpnleak.run/1");
  doc["prefix"] = opts.prefix;
  Json list = Json::array();
  int leaks = 0;
  int errors = 0;
  int total = 0;
  const auto& all = scenarios();
  for (std::size_t i = 0; i < all.size(); ++i) {
    if (opts.progress) {
      opts.progress("scenario " + std::to_string(i + 1) + " of " + std::to_string(all.size()) +
                    ": " + all[i].id + " (" + all[i].description + ")");
    }
    auto r = runScenario(all[i], opts, i + 1 == all.size());
    if (!r) return r.error();
    for (const auto& c : (*r)["checks"]) {
      ++total;
      leaks += c["verdict"] == "leak" ? 1 : 0;
      errors += c["verdict"] == "error" ? 1 : 0;
    }
    list.push_back(std::move(*r));
  }
  doc["scenarios"] = list;
  doc["summary"] = {{"checks", total}, {"leaks", leaks}, {"errors", errors}};
  return doc;
}

}  // namespace vpnleak::lab
