#include "lab/rogue_dhcp.hpp"

#include <sys/stat.h>

#include <chrono>
#include <thread>

#include "core/process.hpp"
#include "lab/context.hpp"
#include "lab/lab.hpp"

namespace vpnleak::lab {

using core::Errc;

std::string classlessRoutesScript() {
  return R"SH(#!/bin/sh
# vpnleak lab: install the classless static routes (DHCP option 121) of a lease, and only them.
case "$reason" in BOUND|RENEW|REBIND|REBOOT) ;; *) exit 0 ;; esac
set -- $new_rfc3442_classless_static_routes
while [ $# -ge 5 ]; do
  width=$1; shift
  n=$(( (width + 7) / 8 ))
  net=""; i=0
  while [ $i -lt 4 ]; do
    if [ $i -lt $n ]; then o=$1; shift; else o=0; fi
    net="$net${net:+.}$o"; i=$((i + 1))
  done
  gw="$1.$2.$3.$4"; shift 4
  ip route replace "$net/$width" via "$gw" dev "$interface" proto dhcp
done
)SH";
}

core::Status startRogueDhcp(const std::string& prefix, const std::vector<core::Prefix>& pushed) {
  auto plan = load(prefix);
  if (!plan) return plan.error();
  const LabContext ctx(stateDir(prefix));
  const auto& router = plan->isp_resolver_v4.toString();  // the router's LAN address
  std::string routes = "121";
  for (const auto& p : pushed) {
    if (!p.address().isV4()) {
      return core::makeError(Errc::kInvalidArgument,
                             "DHCP option 121 carries IPv4 routes only, not " + p.toString());
    }
    routes += "," + p.toString() + "," + router;
  }
  // Option 121 replaces option 3 at the client (RFC 3442), so the default route is pushed too.
  routes += ",0.0.0.0/0," + router;
  VL_TRY(ctx.daemon(
      plan->netns("router"), "dnsmasq-dhcp",
      {"dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null", "--port=0", "--user=root",
       "--interface=lan0", "--bind-interfaces",
       "--dhcp-range=192.168.77.100,192.168.77.150,255.255.255.0,1h", "--dhcp-option=" + routes,
       "--dhcp-leasefile=" + ctx.path("dnsmasq.leases"), "--pid-file=", "--log-dhcp"}));
  return {};
}

core::Status acceptDhcpRoutes(const std::string& prefix, const std::vector<core::Prefix>& pushed,
                              std::chrono::milliseconds timeout) {
  auto plan = load(prefix);
  if (!plan) return plan.error();
  const LabContext ctx(stateDir(prefix));
  VL_TRY(ctx.writeFile("dhclient-routes.sh", classlessRoutesScript()));
  ::chmod(ctx.path("dhclient-routes.sh").c_str(), 0700);
  VL_TRY(ctx.writeFile(
      "dhclient.conf",
      "option rfc3442-classless-static-routes code 121 = array of unsigned "
      "integer 8;\nrequest subnet-mask, routers, rfc3442-classless-static-routes;\n"));
  const auto ns = plan->netns("client");
  VL_TRY(ctx.daemon(ns, "dhclient",
                    {"dhclient", "-d", "-4", "-sf", ctx.path("dhclient-routes.sh"), "-cf",
                     ctx.path("dhclient.conf"), "-lf", ctx.path("dhclient.leases"), "-pf",
                     ctx.path("dhclient.pid"), "lan0"}));
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    auto r = ctx.run(ns, {"ip", "-4", "route", "show", "proto", "dhcp"});
    bool all = r && r->ok();
    for (const auto& p : pushed) all = all && r->out.find(p.toString()) != std::string::npos;
    if (all) return {};
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return core::makeError(Errc::kEnvironment,
                         "dhclient in " + ns + " did not install the pushed routes in time; see " +
                             ctx.path("dhclient.log"));
}

}  // namespace vpnleak::lab
