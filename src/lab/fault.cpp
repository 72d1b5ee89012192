#include "lab/fault.hpp"

#include <sys/stat.h>

#include <thread>

#include "core/file.hpp"
#include "core/log.hpp"
#include "core/process.hpp"
#include "lab/context.hpp"
#include "lab/lab.hpp"
#include "lab/openvpn.hpp"
#include "lab/vpn_driver.hpp"

namespace vpnleak::lab {

namespace {

using core::Errc;
using core::Status;
using Clock = std::chrono::steady_clock;

std::string socketPath(const std::string& iface) { return "/var/run/wireguard/" + iface + ".sock"; }

bool linkExists(const std::string& ns, const std::string& iface) {
  auto r = core::run({"ip", "-n", ns, "link", "show", "dev", iface});
  return r && r->ok();
}

// "kernel" or "wireguard-go", as `lab up` recorded it.
std::string recordedImpl(const std::string& prefix) {
  auto j =
      core::parseJson(core::readFile(stateDir(prefix) + "/state.json").value_or(""), "state.json");
  if (!j || !j->contains("vpn")) return "wireguard-go";
  return (*j)["vpn"].value("impl", "wireguard-go");
}

Status createIface(const LabPlan& plan, const LabContext& ctx, const std::string& impl,
                   Clock::time_point deadline) {
  const auto ns = plan.netns("client");
  const auto& iface = plan.tunnel.client_iface;
  if (impl == "kernel") return ctx.ip(ns, {"link", "add", iface, "type", "wireguard"});
  VL_TRY(ctx.daemon(ns, "wireguard-go-" + iface, {"wireguard-go", "-f", iface}));
  while (Clock::now() < deadline) {
    struct stat st {};
    if (linkExists(ns, iface) && ::stat(socketPath(iface).c_str(), &st) == 0) return {};
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return core::makeError(Errc::kTimeout, "wireguard-go did not create " + iface + " in time");
}

// WireGuard's default routes in table 51820 (wg-quick's), for each tunnelled family.
Status replaceTableDefaults(const LabPlan& plan, const LabContext& ctx) {
  const auto& t = plan.tunnel;
  const auto ns = plan.netns("client");
  const auto table = std::to_string(t.table.value());
  VL_TRY(ctx.ip(ns, {"-4", "route", "replace", "default", "dev", t.client_iface, "table", table}));
  if (t.client_v6) {
    VL_TRY(
        ctx.ip(ns, {"-6", "route", "replace", "default", "dev", t.client_iface, "table", table}));
  }
  return {};
}

Status configure(const LabPlan& plan, const LabContext& ctx) {
  const auto& t = plan.tunnel;
  const auto ns = plan.netns("client");
  auto pub =
      core::run({"wg", "pubkey"},
                core::RunOptions::withInput(core::readFile(ctx.path("server.key")).value_or("")));
  if (!pub || !pub->ok()) return core::makeError(Errc::kEnvironment, "'wg pubkey' failed");
  const std::string server_pub = pub->out.substr(0, pub->out.find('\n'));
  std::string allowed = "0.0.0.0/0";
  if (t.client_v6) allowed += ",::/0";
  VL_TRY(
      ctx.exec(ns, {"wg", "set", t.client_iface, "private-key", ctx.path("client.key"), "fwmark",
                    std::to_string(t.fwmark.value()), "peer", server_pub, "endpoint",
                    t.endpoint.toString(), "allowed-ips", allowed, "persistent-keepalive", "25"}));
  VL_TRY(ctx.ip(ns, {"address", "add", t.client_v4.cidr(), "dev", t.client_iface}));
  if (t.client_v6) {
    VL_TRY(ctx.ip(ns, {"address", "add", t.client_v6->cidr(), "dev", t.client_iface, "nodad"}));
  }
  VL_TRY(ctx.ip(ns, {"link", "set", t.client_iface, "mtu", std::to_string(t.mtu), "up"}));
  // The interface's routes went with it; the policy rules did not (they name no interface).
  return replaceTableDefaults(plan, ctx);
}

}  // namespace

Status restoreTunnel(const std::string& prefix, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  VL_TRY_ASSIGN(const auto plan, load(prefix));
  const LabContext ctx(stateDir(prefix));
  const auto ns = plan.netns("client");
  if (linkExists(ns, plan.tunnel.client_iface)) return {};
  if (plan.options.vpn == VpnKind::kOpenVpn) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    VL_TRY(startOpenVpnClient(plan, ctx, left));
    log::info("lab tunnel restored", {{"prefix", prefix}, {"iface", plan.tunnel.client_iface}});
    return {};
  }
  VL_TRY(createIface(plan, ctx, recordedImpl(prefix), deadline));
  VL_TRY(configure(plan, ctx));
  const auto target = plan.tunnel.server_v4.address.toString();
  while (Clock::now() < deadline) {
    auto r = ctx.run(ns, {"ping", "-c", "1", "-W", "1", "-n", "-q", target});
    if (r && r->ok()) {
      log::info("lab tunnel restored", {{"prefix", prefix}, {"iface", plan.tunnel.client_iface}});
      return {};
    }
  }
  return core::makeError(Errc::kTimeout, "the restored tunnel passes no traffic: ping " + target +
                                             " from " + ns + " failed until the timeout");
}

Status restoreTunnelLink(const LabPlan& plan) {
  const LabContext ctx(stateDir(plan.options.prefix));
  const auto& t = plan.tunnel;
  VL_TRY(ctx.ip(plan.netns("client"), {"link", "set", t.client_iface, "up"}));
  if (t.client_v6) {  // IPv6 addresses do not survive a link down; IPv4 ones do
    VL_TRY(ctx.ip(plan.netns("client"),
                  {"address", "replace", t.client_v6->cidr(), "dev", t.client_iface, "nodad"}));
  }
  VL_TRY(plan.options.vpn == VpnKind::kOpenVpn ? restoreOpenVpnRoutes(plan, ctx)
                                               : replaceTableDefaults(plan, ctx));
  if (!waitForTunnel(plan, ctx, std::chrono::seconds(5))) {
    return core::makeError(
        Errc::kTimeout, "the tunnel passes no traffic after " + t.client_iface + " came back up");
  }
  return {};
}

}  // namespace vpnleak::lab
