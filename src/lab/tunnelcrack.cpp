#include "lab/tunnelcrack.hpp"

#include <csignal>
#include <fstream>

#include "core/process.hpp"
#include "lab/lab.hpp"
#include "lab/openvpn.hpp"

namespace vpnleak::lab {

namespace {

using core::Errc;
using core::Status;

constexpr const char* kLan = "lan0";
constexpr const char* kAnswerFile = "serverip.answer";
constexpr const char* kRouteFile = "serverip.route";  // the client's route to the answer
// How long the fault waits for an OpenVPN client pointed at the answer to connect.
constexpr auto kOpenVpnConnectWait = std::chrono::seconds(10);

core::IpAddress leaseAddress() {
  const std::string_view cidr = kLocalNetLease;
  return core::IpAddress::parse(cidr.substr(0, cidr.find('/'))).value();
}

// The pid `lab up` recorded for the daemon it named `name` (the last one, if it was restarted).
pid_t recordedPid(const LabContext& ctx, const std::string& name) {
  std::ifstream pids(ctx.path("pids"));
  pid_t pid = 0;
  pid_t found = 0;
  std::string exe;
  std::string n;
  while (pids >> pid >> exe >> n) {
    if (n == name) found = pid;
  }
  return found;
}

core::IpAddress lanGateway(const LabPlan& plan) {
  for (const auto& gw : plan.node("client").gateways) {
    if (gw.isV4()) return gw;
  }
  return plan.isp_resolver_v4;
}

// A plaintext A query for the VPN server's name to the LAN's resolver, from the client.
core::Result<core::IpAddress> resolveViaLan(const LabPlan& plan, const LabContext& ctx) {
  VL_TRY_ASSIGN(const auto r, ctx.run(plan.netns("client"),
                                      {"dig", "+short", "+time=1", "+tries=1",
                                       "@" + plan.isp_resolver_v4.toString(), kVpnServerName, "A"},
                                      core::RunOptions::withTimeout(std::chrono::seconds(5))));
  const auto line = r.out.substr(0, r.out.find('\n'));
  auto a = core::IpAddress::parse(line);
  if (!r.ok() || !a || !a->isV4()) {
    return core::makeError(Errc::kNotFound, std::string("no A record for ") + kVpnServerName +
                                                " from the LAN's resolver");
  }
  return *a;
}

core::Result<core::IpAddress> storedAnswer(const LabContext& ctx) {
  return core::IpAddress::parse(ctx.readLine(kAnswerFile));
}

// The client's route to ADDR (`ip -4 -o route show ADDR/32`), "" when it has none.
std::string hostRoute(const LabPlan& plan, const LabContext& ctx, const core::IpAddress& addr) {
  auto r =
      ctx.run(plan.netns("client"), {"ip", "-4", "-o", "route", "show", addr.toString() + "/32"});
  if (!r || !r->ok()) return {};
  auto line = r->out.substr(0, r->out.find('\n'));
  while (!line.empty() && line.back() == ' ') line.pop_back();
  return line;
}

// OpenVPN takes its remote from its config, so the client restarts with the new one and installs
// its host route to it itself. The real client is configured with kVpnServerName, but the
// client's resolver here (resolv.conf: the VPN's, --dns vpn) is reachable only through the tunnel
// that is down while it reconnects, and does not know the name: so the client is given the
// address the LAN's resolver answered, as a client resolving through the LAN would have it.
Status retargetOpenVpn(const LabPlan& plan, const LabContext& ctx, const core::Endpoint& endpoint) {
  const bool configured = endpoint == plan.tunnel.endpoint;
  VL_TRY_ASSIGN(const bool up,
                restartOpenVpnClient(plan, ctx, configured ? "" : endpoint.address.toString(),
                                     kOpenVpnConnectWait));
  // Pointed elsewhere, a client that does not connect is what a kill switch allowing only the
  // configured endpoint makes of it (fail closed), not an error.
  if (!up && configured) {
    return core::makeError(Errc::kTimeout,
                           "the OpenVPN tunnel passes no traffic after the client "
                           "restarted with its configured endpoint " +
                               endpoint.toString());
  }
  return {};
}

Status reloadRouterResolver(const LabPlan& plan, const LabContext& ctx) {
  const auto conf = ctx.path("unbound-router.conf");
  {
    std::ofstream f(conf, std::ios::app);
    f << spoofedRecordConfig(kVpnServerName, plan.server_v4);
    if (!f) return core::makeError(Errc::kSystem, "cannot append to " + conf);
  }
  VL_TRY(core::runChecked({"unbound-checkconf", conf}));
  const pid_t pid = recordedPid(ctx, "unbound-router");
  if (pid <= 0 || !core::processMatches(pid, "unbound")) {
    return core::makeError(Errc::kNotFound, "the router's unbound is not running");
  }
  if (::kill(pid, SIGHUP) != 0) return core::sysError("kill -HUP unbound");
  return {};
}

}  // namespace

Status prepareLocalNetRouter(const LabPlan& plan) {
  const LabContext ctx(stateDir(plan.options.prefix));
  const auto ns = plan.netns("router");
  VL_TRY(ctx.exec(ns, {"sysctl", "-qw", std::string("net.ipv4.conf.") + kLan + ".proxy_arp=1",
                       std::string("net.ipv4.neigh.") + kLan + ".proxy_delay=0"}));
  return ctx.ip(ns, {"route", "replace", leaseAddress().toString() + "/32", "dev", kLan});
}

Status claimServerPrefixAsLocal(const LabPlan& plan) {
  const LabContext ctx(stateDir(plan.options.prefix));
  return ctx.ip(plan.netns("client"), {"address", "add", kLocalNetLease, "dev", kLan});
}

Status releaseServerPrefix(const LabPlan& plan) {
  const LabContext ctx(stateDir(plan.options.prefix));
  return ctx.ip(plan.netns("client"), {"address", "del", kLocalNetLease, "dev", kLan});
}

std::string spoofedRecordConfig(const std::string& name, const core::IpAddress& addr) {
  const auto zone = name.substr(name.find('.') + 1);
  return "# vpnleak lab (serverip): the LAN's resolver lies about the VPN server's name\n"
         "server:\n"
         "  local-zone: \"" +
         zone +
         ".\" static\n"
         "  local-data: \"" +
         name + ". 60 IN A " + addr.toString() + "\"\n";
}

std::string endpointDnatRuleset(const core::IpAddress& spoofed, const core::Endpoint& real) {
  return "table ip lab_serverip {\n"
         "  chain pre {\n"
         "    type nat hook prerouting priority dstnat;\n"
         "    iifname \"lan0\" ip daddr " +
         spoofed.toString() + " udp dport " + std::to_string(real.port) + " dnat to " +
         real.toString() +
         "\n"
         "  }\n"
         "}\n";
}

Status spoofVpnServerName(const LabPlan& plan) {
  const LabContext ctx(stateDir(plan.options.prefix));
  VL_TRY(reloadRouterResolver(plan, ctx));
  VL_TRY(ctx.exec(
      plan.netns("router"), {"nft", "-f", "-"},
      core::RunOptions::withInput(endpointDnatRuleset(plan.server_v4, plan.tunnel.endpoint))));
  core::Result<core::IpAddress> answer = core::IpAddress{};
  // The reload is asynchronous: ask until the new record is served.
  const bool ok = waitUntil(
      [&] {
        answer = resolveViaLan(plan, ctx);
        return answer && *answer == plan.server_v4;
      },
      std::chrono::seconds(10));
  if (!ok) {
    return core::makeError(Errc::kTimeout, std::string("the router's unbound does not serve the "
                                                       "spoofed record for ") +
                                               kVpnServerName + "; see " +
                                               ctx.path("unbound-router.log"));
  }
  return ctx.writeFile(kAnswerFile, answer->toString() + "\n");
}

Status followSpoofedEndpoint(const LabPlan& plan) {
  const LabContext ctx(stateDir(plan.options.prefix));
  auto answer = resolveViaLan(plan, ctx);
  if (!answer) answer = storedAnswer(ctx);
  if (!answer) return answer.error();
  VL_TRY(retargetEndpoint(plan, ctx, core::Endpoint{*answer, plan.tunnel.endpoint.port}));
  // OpenVPN installs its own host route (redirect-gateway: the remote via net_gateway), with
  // its other routes just after the tunnel passes traffic, or never when it does not connect;
  // wg-quick on Linux adds none, so the lab adds it as the WireGuard clients that do.
  std::string route;
  if (plan.options.vpn == VpnKind::kWireGuard) {
    VL_TRY(ctx.ip(plan.netns("client"), {"-4", "route", "replace", answer->toString() + "/32",
                                         "via", lanGateway(plan).toString(), "dev", kLan}));
    route = hostRoute(plan, ctx, *answer);
  } else {
    waitUntil([&] { return !(route = hostRoute(plan, ctx, *answer)).empty(); },
              std::chrono::seconds(1));
  }
  return ctx.writeFile(kRouteFile, route + "\n");
}

Status restoreVpnEndpoint(const LabPlan& plan) {
  const LabContext ctx(stateDir(plan.options.prefix));
  VL_TRY(retargetEndpoint(plan, ctx, plan.tunnel.endpoint));
  // A client that did not exit cleanly leaves its host route behind.
  if (auto answer = storedAnswer(ctx)) {
    (void)ctx.run(plan.netns("client"), {"ip", "-4", "route", "del", answer->toString() + "/32"});
  }
  return {};
}

core::Json serverIpEvidence(const LabPlan& plan) {
  const LabContext ctx(stateDir(plan.options.prefix));
  const auto answer = storedAnswer(ctx);
  const auto route = ctx.readLine(kRouteFile);
  return {{"name", kVpnServerName},
          {"resolver", plan.isp_resolver_v4.toString()},
          {"answer", answer ? core::Json(answer->toString()) : core::Json(nullptr)},
          {"real_endpoint", plan.tunnel.endpoint.toString()},
          {"endpoint_route", route.empty() ? core::Json(nullptr) : core::Json(route)}};
}

Status retargetEndpoint(const LabPlan& plan, const LabContext& ctx,
                        const core::Endpoint& endpoint) {
  if (plan.options.vpn == VpnKind::kOpenVpn) return retargetOpenVpn(plan, ctx, endpoint);
  const auto ns = plan.netns("client");
  const auto& iface = plan.tunnel.client_iface;
  VL_TRY_ASSIGN(const auto peers, ctx.run(ns, {"wg", "show", iface, "peers"}));
  const auto peer = peers.out.substr(0, peers.out.find('\n'));
  if (!peers.ok() || peer.empty()) {
    return core::makeError(Errc::kNotFound, iface + " in " + ns + " has no peer to move");
  }
  return ctx.exec(ns, {"wg", "set", iface, "peer", peer, "endpoint", endpoint.toString()});
}

}  // namespace vpnleak::lab
