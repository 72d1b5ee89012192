#include "lab/fault.hpp"

#include <sys/stat.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "core/log.hpp"
#include "core/process.hpp"
#include "lab/context.hpp"
#include "lab/lab.hpp"

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
  std::ifstream f(stateDir(prefix) + "/state.json");
  std::stringstream ss;
  ss << f.rdbuf();
  auto j = core::parseJson(ss.str(), "state.json");
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

Status configure(const LabPlan& plan, const LabContext& ctx) {
  const auto& t = plan.tunnel;
  const auto ns = plan.netns("client");
  auto pub = core::run({"wg", "pubkey"}, core::RunOptions::withInput([&] {
                         std::ifstream f(ctx.path("server.key"));
                         std::stringstream ss;
                         ss << f.rdbuf();
                         return ss.str();
                       }()));
  if (!pub || !pub->ok()) return core::makeError(Errc::kEnvironment, "'wg pubkey' failed");
  const std::string server_pub = pub->out.substr(0, pub->out.find('\n'));
  std::string allowed = "0.0.0.0/0";
  if (t.client_v6) allowed += ",::/0";
  VL_TRY(
      ctx.exec(ns, {"wg", "set", t.client_iface, "private-key", ctx.path("client.key"), "fwmark",
                    std::to_string(t.fwmark), "peer", server_pub, "endpoint", t.endpoint.toString(),
                    "allowed-ips", allowed, "persistent-keepalive", "25"}));
  VL_TRY(ctx.ip(ns, {"address", "add", t.client_v4.cidr(), "dev", t.client_iface}));
  if (t.client_v6) {
    VL_TRY(ctx.ip(ns, {"address", "add", t.client_v6->cidr(), "dev", t.client_iface, "nodad"}));
  }
  VL_TRY(ctx.ip(ns, {"link", "set", t.client_iface, "mtu", std::to_string(t.mtu), "up"}));
  // The interface's routes went with it; the policy rules did not (they name no interface).
  VL_TRY(ctx.ip(ns, {"-4", "route", "replace", "default", "dev", t.client_iface, "table",
                     std::to_string(t.table)}));
  if (t.client_v6) {
    VL_TRY(ctx.ip(ns, {"-6", "route", "replace", "default", "dev", t.client_iface, "table",
                       std::to_string(t.table)}));
  }
  return {};
}

}  // namespace

Status restoreTunnel(const std::string& prefix, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  VL_TRY_ASSIGN(const auto plan, load(prefix));
  const LabContext ctx(stateDir(prefix));
  const auto ns = plan.netns("client");
  if (linkExists(ns, plan.tunnel.client_iface)) return {};
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

}  // namespace vpnleak::lab
