#include "lab/rogue_ra.hpp"

#include "core/process.hpp"
#include "lab/context.hpp"
#include "lab/lab.hpp"

namespace vpnleak::lab {

namespace {

using core::Errc;
using core::Status;

constexpr const char* kLan = "lan0";

// The client's native IPv6 address on the LAN, as `lab up` configured it.
core::Result<IfaceAddr> clientLanV6(const LabPlan& plan) {
  for (const auto& i : plan.node("client").ifaces) {
    if (i.name != kLan) continue;
    for (const auto& a : i.addresses) {
      if (a.address.isV6()) return a;
    }
  }
  return core::makeError(Errc::kInternal, "the lab plan gives the client no IPv6 address on lan0");
}

core::Result<core::Prefix> lanPrefix(const LabPlan& plan) {
  VL_TRY_ASSIGN(const auto a, clientLanV6(plan));
  return core::Prefix::make(a.address.masked(a.prefix_len), a.prefix_len);
}

// True once lan0 has an autoconfigured (dynamic) global address and an IPv6 default route.
bool slaacDone(const LabContext& ctx, const std::string& ns) {
  auto addr = ctx.run(ns, {"ip", "-6", "address", "show", "dev", kLan, "scope", "global"});
  auto route = ctx.run(ns, {"ip", "-6", "route", "show", "default", "dev", kLan});
  return addr && addr->ok() && addr->out.find("dynamic") != std::string::npos && route &&
         route->ok() && route->out.find("default") != std::string::npos;
}

}  // namespace

std::string radvdConfig(const std::string& iface, const core::Prefix& prefix) {
  return "# vpnleak lab: a rogue router advertising itself as the IPv6 default router\n"
         "interface " +
         iface +
         " {\n"
         "  AdvSendAdvert on;\n"
         "  MinRtrAdvInterval 3;\n"
         "  MaxRtrAdvInterval 10;\n"
         "  AdvDefaultLifetime 1800;\n"
         "  prefix " +
         prefix.toString() +
         " {\n"
         "    AdvOnLink on;\n"
         "    AdvAutonomous on;\n"
         "  };\n"
         "};\n";
}

Status makeLanIpv4Only(const LabPlan& plan) {
  const LabContext ctx(stateDir(plan.options.prefix));
  const auto ns = plan.netns("client");
  VL_TRY_ASSIGN(const auto a, clientLanV6(plan));
  VL_TRY(ctx.ip(ns, {"-6", "address", "del", a.cidr(), "dev", kLan}));
  VL_TRY(ctx.ip(ns, {"-6", "route", "del", "default"}));
  const std::string conf = std::string("net.ipv6.conf.") + kLan + ".";
  // accept_ra=2: RAs are honoured even where forwarding is on (some hosts, containers).
  for (const char* s : {"accept_ra=2", "accept_ra_defrtr=1", "accept_ra_pinfo=1", "autoconf=1"}) {
    VL_TRY(ctx.exec(ns, {"sysctl", "-qw", conf + s}));
  }
  return {};
}

Status startRogueRa(const LabPlan& plan, std::chrono::milliseconds timeout) {
  if (!core::haveExecutable("radvd")) {
    return core::makeError(Errc::kEnvironment,
                           "the rogue-ra scenario needs 'radvd', which is not in PATH; run "
                           "scripts/deps.sh");
  }
  const LabContext ctx(stateDir(plan.options.prefix));
  VL_TRY_ASSIGN(const auto prefix, lanPrefix(plan));
  VL_TRY(ctx.writeFile("radvd.conf", radvdConfig(kLan, prefix)));
  VL_TRY(ctx.daemon(plan.netns("router"), "radvd",
                    {"radvd", "--nodaemon", "--config", ctx.path("radvd.conf"), "--pidfile",
                     ctx.path("radvd.pid"), "--logmethod", "stderr"}));
  const auto ns = plan.netns("client");
  if (waitUntil([&] { return slaacDone(ctx, ns); }, timeout)) return {};
  return core::makeError(Errc::kTimeout, "the client in " + ns +
                                             " configured no address or IPv6 default route from "
                                             "radvd's advertisements in time; see " +
                                             ctx.path("radvd.log"));
}

Status stopRogueRa(const LabPlan& plan) {
  const LabContext ctx(stateDir(plan.options.prefix));
  const auto pid = static_cast<pid_t>(ctx.readNumber("radvd.pid"));
  if (pid > 0 && core::processMatches(pid, "radvd")) {
    core::terminate(pid, std::chrono::milliseconds(3000));
  }
  const auto ns = plan.netns("client");
  VL_TRY_ASSIGN(const auto prefix, lanPrefix(plan));
  // The final RA removed the default route already; whatever is left of what was learnt goes.
  (void)ctx.ip(ns, {"-6", "route", "flush", "dev", kLan, "proto", "ra"});
  VL_TRY(ctx.ip(ns, {"-6", "address", "flush", "dev", kLan, "scope", "global"}));
  (void)ctx.ip(ns, {"-6", "route", "del", prefix.toString(), "dev", kLan});
  return {};
}

}  // namespace vpnleak::lab
