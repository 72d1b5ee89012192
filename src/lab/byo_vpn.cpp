#include "lab/byo_vpn.hpp"

#include <fstream>
#include <sstream>

#include "core/process.hpp"
#include "lab/context.hpp"
#include "lab/lab.hpp"

namespace vpnleak::lab {

namespace {

using Clock = std::chrono::steady_clock;

std::string firstLine(const std::string& s) { return s.substr(0, s.find('\n')); }

}  // namespace

core::Result<std::vector<std::string>> vpnCommandArgv(const LabPlan& plan, const std::string& cmd) {
  const LabContext ctx(stateDir(plan.options.prefix));
  std::ifstream f(ctx.path("server.key"));
  std::stringstream key;
  key << f.rdbuf();
  VL_TRY_ASSIGN(const auto pub,
                core::run({"wg", "pubkey"}, core::RunOptions::withInput(key.str())));
  if (!pub.ok()) {
    return core::makeError(core::Errc::kEnvironment, "'wg pubkey' failed: " + firstLine(pub.err));
  }
  const auto& t = plan.tunnel;
  return std::vector<std::string>{"env",
                                  "VPNLEAK_IFACE=" + t.client_iface,
                                  "VPNLEAK_ADDRESS=" + t.client_v4.cidr(),
                                  "VPNLEAK_ENDPOINT=" + t.endpoint.toString(),
                                  "VPNLEAK_SERVER_PUBKEY=" + firstLine(pub.out),
                                  "VPNLEAK_CLIENT_KEY=" + ctx.path("client.key"),
                                  "VPNLEAK_FWMARK=" + std::to_string(t.fwmark.value()),
                                  "VPNLEAK_TABLE=" + std::to_string(t.table.value()),
                                  "VPNLEAK_NETNS=" + plan.netns("client"),
                                  "VPNLEAK_DNS=" + plan.vpn_resolver_v4.toString(),
                                  "sh",
                                  "-c",
                                  cmd};
}

core::Status runVpnCommand(const LabPlan& plan, const std::string& cmd, bool wait_tunnel,
                           std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  const LabContext ctx(stateDir(plan.options.prefix));
  const auto ns = plan.netns("client");
  VL_TRY_ASSIGN(const auto argv, vpnCommandArgv(plan, cmd));
  VL_TRY_ASSIGN(const auto r, ctx.run(ns, argv, core::RunOptions::withTimeout(timeout)));
  if (!r.ok()) {
    return core::makeError(core::Errc::kInvalidArgument,
                           "the VPN command '" + cmd + "' failed (exit " +
                               std::to_string(r.exit_code) + "): " + firstLine(r.err));
  }
  if (!wait_tunnel) return {};
  const auto target = plan.tunnel.server_v4.address.toString();
  while (Clock::now() < deadline) {
    auto p = ctx.run(ns, {"ping", "-c", "1", "-W", "1", "-n", "-q", target});
    if (p && p->ok()) return {};
  }
  return core::makeError(
      core::Errc::kTimeout,
      "after the VPN command '" + cmd + "' no ping reaches " + target + " through the tunnel");
}

core::Status replaceVpnClient(const LabPlan& plan, const std::string& cmd) {
  VL_TRY(dropTunnel(plan.options.prefix));
  return runVpnCommand(plan, cmd, true);
}

}  // namespace vpnleak::lab
