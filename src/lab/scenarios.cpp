#include "lab/scenarios.hpp"

#include <charconv>
#include <fstream>
#include <sstream>

#include "core/process.hpp"
#include "lab/context.hpp"
#include "lab/fault.hpp"
#include "lab/lab.hpp"
#include "lab/rogue_dhcp.hpp"
#include "lab/rogue_ra.hpp"
#include "lab/tunnelcrack.hpp"
#include "lab/webrtc_browser.hpp"

namespace vpnleak::lab {

namespace {

using core::Status;

// TunnelVision pushes a route to the leak-test server's prefix: more specific than the tunnel's
// default route, so it wins.
core::Prefix pushedPrefix() { return core::Prefix::parse("192.0.2.0/24").value(); }

TrafficPlan udpTo(const core::IpAddress& dst) {
  TrafficPlan t;
  t.udp = {dst};
  return t;
}

TrafficPlan dnsTo(const std::vector<core::IpAddress>& resolvers) {
  TrafficPlan t;
  t.dns = resolvers;
  return t;
}

Status blackhole(const LabPlan& plan, const std::string& verb) {
  const LabContext ctx(stateDir(plan.options.prefix));
  return ctx.ip(plan.netns("internet"),
                {"route", verb, "blackhole", plan.tunnel.endpoint.address.toString() + "/32"});
}

// Stops the dhclient that acceptDhcpRoutes() started (by the pid it wrote) and removes the route
// it installed, so that the next run starts from the clean tunnel again.
Status dropDhcpRoutes(const LabPlan& plan) {
  const LabContext ctx(stateDir(plan.options.prefix));
  std::ifstream f(ctx.path("dhclient.pid"));
  std::string text;
  std::getline(f, text);
  pid_t pid = 0;
  std::from_chars(text.data(), text.data() + text.size(), pid);
  if (pid > 0 && core::processMatches(pid, "dhclient")) {
    core::terminate(pid, std::chrono::milliseconds(1000));
  }
  (void)ctx.run(plan.netns("client"), {"ip", "-4", "route", "del", pushedPrefix().toString()});
  return {};
}

Status setTunnelLink(const LabPlan& plan, const std::string& state) {
  const LabContext ctx(stateDir(plan.options.prefix));
  return ctx.ip(plan.netns("client"), {"link", "set", plan.tunnel.client_iface, state});
}

// Link up again, and the routes that went down with it back, as a VPN client does on its own
// after a flap; returns once a ping passes through the tunnel (at most 5 s).
Status tunnelLinkUp(const LabPlan& plan) { return restoreTunnelLink(plan); }

std::vector<Scenario> build() {
  std::vector<Scenario> all;
  {
    Scenario s;
    s.id = "reconnect";
    s.description = "the tunnel interface disappears (client killed) and is restored";
    s.traffic = [](const LabPlan& p) { return udpTo(p.server_v4); };
    s.fault = [](const LabPlan& p) { return dropTunnel(p.options.prefix); };
    s.restore = [](const LabPlan& p) { return restoreTunnel(p.options.prefix); };
    s.hold = std::chrono::milliseconds(300);
    all.push_back(std::move(s));
  }
  {
    Scenario s;
    s.id = "iface-flap";
    s.description = "the tunnel interface is set down, then up again";
    s.traffic = [](const LabPlan& p) { return udpTo(p.server_v4); };
    s.fault = [](const LabPlan& p) { return setTunnelLink(p, "down"); };
    s.restore = tunnelLinkUp;
    s.hold = std::chrono::milliseconds(300);
    all.push_back(std::move(s));
  }
  {
    Scenario s;
    s.id = "dns-isp";
    s.description = "resolv.conf keeps the ISP's (router's) resolver, outside the tunnel";
    s.dns = DnsMode::kIsp;
    s.traffic = [](const LabPlan& p) { return dnsTo(p.clientResolvers()); };
    all.push_back(std::move(s));
  }
  {
    Scenario s;
    s.id = "ipv6-native";
    s.description = "IPv4-only tunnel on a dual-stack LAN: IPv6 uses the native route";
    s.traffic = [](const LabPlan& p) { return udpTo(p.server_v6); };
    all.push_back(std::move(s));
  }
  {
    Scenario s;
    s.id = "tunnelvision";
    s.description = "rogue DHCP option 121 pushes a route to the server's prefix (CVE-2024-3661)";
    s.traffic = [](const LabPlan& p) { return udpTo(p.server_v4); };
    s.setup = [](const LabPlan& p) { return startRogueDhcp(p.options.prefix, {pushedPrefix()}); };
    s.fault = [](const LabPlan& p) { return acceptDhcpRoutes(p.options.prefix, {pushedPrefix()}); };
    s.restore = dropDhcpRoutes;
    s.hold = std::chrono::milliseconds(500);
    all.push_back(std::move(s));
  }
  {
    Scenario s;
    s.id = "endpoint-blocked";
    s.description = "the path to the VPN server is black-holed, then restored";
    s.leaks_without_guard = false;  // WireGuard keeps its routes: traffic waits in the tunnel
    s.traffic = [](const LabPlan& p) { return udpTo(p.server_v4); };
    s.fault = [](const LabPlan& p) { return blackhole(p, "add"); };
    s.restore = [](const LabPlan& p) { return blackhole(p, "del"); };
    s.hold = std::chrono::milliseconds(2000);
    all.push_back(std::move(s));
  }
  {
    Scenario s;
    s.id = "dns-hardcoded";
    s.description = "an application queries the LAN resolver directly, bypassing resolv.conf";
    s.traffic = [](const LabPlan& p) { return dnsTo({p.isp_resolver_v4}); };
    all.push_back(std::move(s));
  }
  {
    Scenario s;
    s.id = "webrtc";
    s.description =
        "headless Chromium opens the leak server's WebRTC page: ICE gathering sends STUN from "
        "every interface, the native IPv6 one too";
    s.only = LeakClass::kStun;  // the STUN the candidates come from
    s.traffic = [](const LabPlan&) { return TrafficPlan{}; };
    s.setup = createWebrtcTest;
    s.fault = startBrowser;
    s.hold = std::chrono::milliseconds(2500);  // start-up and gathering; restore waits for the post
    s.restore = [](const LabPlan& p) { return stopBrowser(p); };
    s.evidence = collectWebrtcEvidence;
    all.push_back(std::move(s));
  }
  {
    Scenario s;
    s.id = "rogue-ra";
    s.description =
        "IPv4-only LAN and tunnel; a rogue router advertisement (radvd) gives the client an IPv6 "
        "address and default route";
    s.traffic = [](const LabPlan& p) { return udpTo(p.server_v6); };
    s.setup = makeLanIpv4Only;
    s.fault = [](const LabPlan& p) { return startRogueRa(p); };
    s.restore = stopRogueRa;
    s.hold = std::chrono::milliseconds(500);
    all.push_back(std::move(s));
  }
  {
    Scenario s;
    s.id = "localnet";
    s.description =
        "allow-LAN on; the LAN leases the client an address in the server's public prefix, whose "
        "connected route beats the tunnel (TunnelCrack LocalNet)";
    s.traffic = [](const LabPlan& p) { return udpTo(p.server_v4); };
    s.setup = prepareLocalNetRouter;
    s.fault = claimServerPrefixAsLocal;
    s.restore = releaseServerPrefix;
    s.hold = std::chrono::milliseconds(500);
    s.guard_args = {"--allow-lan", "--lan-iface", "lan0"};  // the premise of the attack
    all.push_back(std::move(s));
  }
  {
    Scenario s;
    s.id = "serverip";
    s.description =
        "the VPN server's name, resolved by the LAN's resolver, is spoofed to the server's "
        "address; the endpoint host route (OpenVPN adds one, wg-quick on Linux does not) "
        "carries its traffic outside the tunnel (TunnelCrack ServerIP)";
    s.traffic = [](const LabPlan& p) { return udpTo(p.server_v4); };
    s.setup = spoofVpnServerName;
    s.fault = followSpoofedEndpoint;
    s.restore = restoreVpnEndpoint;
    s.hold = std::chrono::milliseconds(500);
    s.evidence = serverIpEvidence;
    all.push_back(std::move(s));
  }
  return all;
}

}  // namespace

const std::vector<Scenario>& catalogue() {
  static const std::vector<Scenario> kAll = build();
  return kAll;
}

const Scenario* findScenario(const std::string& id) {
  for (const auto& s : catalogue()) {
    if (s.id == id) return &s;
  }
  return nullptr;
}

std::string scenarioIds() {
  std::string out;
  for (const auto& s : catalogue()) out += (out.empty() ? "" : ", ") + s.id;
  return out;
}

}  // namespace vpnleak::lab
