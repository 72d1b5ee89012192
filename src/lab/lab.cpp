#include "lab/lab.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <csignal>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/file.hpp"
#include "core/log.hpp"
#include "core/process.hpp"
#include "core/unique_fd.hpp"
#include "lab/context.hpp"
#include "lab/leak_server.hpp"
#include "lab/resolver.hpp"
#include "lab/vpn_driver.hpp"

namespace vpnleak::lab {

namespace fs = std::filesystem;
using core::Errc;
using core::Status;

namespace {

constexpr const char* kRunRoot = "/run/vpnleak/lab";

bool netnsExists(const std::string& ns) {
  struct stat st {};
  return ::stat(("/run/netns/" + ns).c_str(), &st) == 0;
}

std::string etcNetns(const std::string& ns) { return "/etc/netns/" + ns; }

// Serialises up/down of one prefix; released when the fd closes (also on kill -9).
core::Result<core::UniqueFd> lockLab(const std::string& prefix) {
  std::error_code ec;
  fs::create_directories(kRunRoot, ec);
  const std::string p = std::string(kRunRoot) + "/" + prefix + ".lock";
  core::UniqueFd fd(::open(p.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!fd.valid()) return core::sysError("open " + p);
  if (::flock(fd.get(), LOCK_EX) != 0) return core::sysError("flock " + p);
  return fd;
}

Status checkEnvironment(const LabOptions& opts) {
  if (::geteuid() != 0) {
    return core::makeError(Errc::kEnvironment,
                           "lab needs root (network namespaces); run it as root or with sudo");
  }
  std::vector<std::string> tools{"ip",  "nft",  "unbound", "unbound-checkconf",
                                 "dig", "ping", "sysctl"};
  if (opts.vpn == VpnKind::kOpenVpn) {
    tools.insert(tools.end(), {"openvpn", "openssl"});
  } else {
    tools.emplace_back("wg");
    if (opts.wg != WgImpl::kKernel) tools.emplace_back("wireguard-go");
  }
  if (!opts.server_binary.empty()) tools.emplace_back("curl");
  for (const auto& t : tools) {
    if (!core::haveExecutable(t)) {
      return core::makeError(Errc::kEnvironment,
                             "lab needs '" + t + "' which is not in PATH; run scripts/deps.sh");
    }
  }
  return {};
}

Status createNodes(const LabPlan& plan, const LabContext& ctx) {
  for (const auto& n : plan.nodes) {
    VL_TRY(core::runChecked({"ip", "netns", "add", n.netns}));
    VL_TRY(ctx.ip(n.netns, {"link", "set", "lo", "up"}));
    std::vector<std::string> sysctls{
        "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0",
        "net.ipv6.conf.all.accept_ra=0", "net.ipv6.conf.default.accept_ra=0"};
    if (n.forwarding) {
      sysctls.emplace_back("net.ipv4.ip_forward=1");
      sysctls.emplace_back("net.ipv6.conf.all.forwarding=1");
    }
    for (const auto& s : sysctls) VL_TRY(ctx.exec(n.netns, {"sysctl", "-qw", s}));
  }
  for (const auto& l : plan.links) {
    // Both ends are born inside namespaces: nothing is ever created in the root namespace.
    VL_TRY(ctx.ip(plan.netns(l.a_role), {"link", "add", l.a_iface, "type", "veth", "peer", "name",
                                         l.b_iface, "netns", plan.netns(l.b_role)}));
  }
  for (const auto& n : plan.nodes) {
    for (const auto& i : n.ifaces) {
      for (const auto& a : i.addresses) {
        std::vector<std::string> args{"address", "add", a.cidr(), "dev", i.name};
        if (a.address.isV6()) args.emplace_back("nodad");
        VL_TRY(ctx.ip(n.netns, args));
      }
      VL_TRY(ctx.ip(n.netns, {"link", "set", i.name, "up"}));
    }
    for (const auto& gw : n.gateways) {
      VL_TRY(ctx.ip(n.netns,
                    {gw.isV4() ? "-4" : "-6", "route", "add", "default", "via", gw.toString()}));
    }
  }
  for (const auto& r : plan.routes) {
    VL_TRY(ctx.ip(plan.netns(r.role), {"route", "add", r.dst.toString(), "via", r.via.toString()}));
  }
  return {};
}

Status configureNat(const LabPlan& plan, const LabContext& ctx) {
  // The home router hides the LAN behind its public IPv4; IPv6 is routed, as at most ISPs.
  const std::string router =
      "table ip lab_nat {\n"
      "  chain post { type nat hook postrouting priority srcnat; oifname \"wan0\" masquerade; }\n"
      "}\n";
  VL_TRY(ctx.exec(plan.netns("router"), {"nft", "-f", "-"}, core::RunOptions::withInput(router)));
  std::string vpn =
      "table inet lab_nat {\n"
      "  chain post {\n"
      "    type nat hook postrouting priority srcnat;\n"
      "    oifname \"wan0\" ip saddr " +
      plan.tunnel.client_v4.address.masked(24).toString() + "/24 masquerade\n";
  if (plan.tunnel.client_v6) {
    vpn += "    oifname \"wan0\" ip6 saddr " +
           plan.tunnel.client_v6->address.masked(64).toString() + "/64 masquerade\n";
  }
  vpn += "  }\n}\n";
  return ctx.exec(plan.netns("vpn"), {"nft", "-f", "-"}, core::RunOptions::withInput(vpn));
}

Status writeClientResolvConf(const LabPlan& plan) {
  const std::string dir = etcNetns(plan.netns("client"));
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return core::makeError(Errc::kSystem, "mkdir " + dir + ": " + ec.message());
  std::ofstream f(dir + "/resolv.conf", std::ios::trunc);
  f << "# written by vpnleak lab (--dns " << (plan.options.dns == DnsMode::kVpn ? "vpn" : "isp")
    << ")\n";
  for (const auto& r : plan.clientResolvers()) f << "nameserver " << r.toString() << "\n";
  f << "options timeout:2 attempts:1\n";
  if (!f) return core::makeError(Errc::kSystem, "cannot write " + dir + "/resolv.conf");
  return {};
}

Status startResolvers(const LabPlan& plan, const LabContext& ctx) {
  const std::vector<core::IpAddress> zone_servers{plan.server_v4};
  VL_TRY(startResolver(plan.netns("router"),
                       {"unbound-router",
                        {plan.isp_resolver_v4, plan.isp_resolver_v6},
                        plan.options.zone,
                        zone_servers,
                        ctx.dir()},
                       ctx));
  std::vector<core::IpAddress> vpn_listen{plan.vpn_resolver_v4};
  if (plan.vpn_resolver_v6) vpn_listen.push_back(*plan.vpn_resolver_v6);
  return startResolver(plan.netns("vpn"),
                       {"unbound-vpn", vpn_listen, plan.options.zone, zone_servers, ctx.dir()},
                       ctx);
}

core::Json optionsToJson(const LabOptions& o) {
  return {{"prefix", o.prefix},
          {"tunnel_ipv6", o.tunnel_ipv6},
          {"dns", o.dns == DnsMode::kVpn ? "vpn" : "isp"},
          {"vpn", vpnKindName(o.vpn)},
          {"wg", o.wg == WgImpl::kKernel ? "kernel"
                 : o.wg == WgImpl::kGo   ? "go"
                                         : "auto"},
          {"zone", o.zone},
          {"server_binary", o.server_binary}};
}

Status buildLab(const LabPlan& plan, const LabContext& ctx, core::Json& vpn_desc) {
  VL_TRY(createNodes(plan, ctx));
  VL_TRY(configureNat(plan, ctx));
  VL_TRY(writeClientResolvConf(plan));
  auto driver = makeVpnDriver(plan.options);
  VL_TRY(driver->up(plan, ctx));
  vpn_desc = driver->describe();
  VL_TRY(startResolvers(plan, ctx));
  return plan.options.server_binary.empty() ? core::Status{} : startLeakServer(plan, ctx);
}

void killPid(pid_t pid) { core::terminate(pid, std::chrono::milliseconds(1000)); }

}  // namespace

std::string stateDir(const std::string& prefix) { return std::string(kRunRoot) + "/" + prefix; }

bool present(const std::string& prefix) {
  if (fs::exists(stateDir(prefix))) return true;
  return std::ranges::any_of(roles(),
                             [&](const std::string& r) { return netnsExists(prefix + r); });
}

Status up(const LabOptions& opts) {
  VL_TRY(validate(opts));
  VL_TRY(checkEnvironment(opts));
  auto lock = lockLab(opts.prefix);
  if (!lock) return lock.error();
  if (present(opts.prefix)) {
    return core::makeError(Errc::kExists, "lab '" + opts.prefix +
                                              "' is already up; run 'vpnleak lab down --prefix " +
                                              opts.prefix + "' first or pick another --prefix");
  }
  const LabPlan plan = makePlan(opts);
  const LabContext ctx(stateDir(opts.prefix));
  std::error_code ec;
  fs::create_directories(ctx.dir(), ec);
  if (ec) return core::makeError(Errc::kSystem, "mkdir " + ctx.dir() + ": " + ec.message());
  // The options go to disk first, so that `down` can clean up whatever happens next.
  auto state = core::jsonDocument("vpnleak.labstate/1");
  state["options"] = optionsToJson(opts);
  VL_TRY(ctx.writeFile("state.json", state.dump(2)));

  log::info("lab up", {{"prefix", opts.prefix}});
  core::Json vpn_desc;
  if (auto st = buildLab(plan, ctx, vpn_desc); !st) {
    log::error("lab up failed, removing what was built", {{"error", st.error().message()}});
    lock->reset();
    (void)down(opts.prefix);
    return st;
  }
  state["vpn"] = vpn_desc;
  state["up_since"] = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  return ctx.writeFile("state.json", state.dump(2));
}

Status down(const std::string& prefix) {
  LabOptions o;
  o.prefix = prefix;
  VL_TRY(validate(o));
  if (::geteuid() != 0) {
    return core::makeError(Errc::kEnvironment, "lab down needs root; run it as root or with sudo");
  }
  auto lock = lockLab(prefix);
  if (!lock) return lock.error();
  const std::string dir = stateDir(prefix);
  // Daemons we recorded (and still recognise by their executable), then anything else still
  // running inside the lab's namespaces: all of it was started by the lab.
  std::ifstream pids(dir + "/pids");
  pid_t pid = 0;
  std::string exe;
  std::string name;
  while (pids >> pid >> exe >> name) {
    if (core::processMatches(pid, exe)) killPid(pid);
  }
  for (const auto& r : roles()) {
    const std::string ns = prefix + r;
    if (!netnsExists(ns)) continue;
    auto left = core::run({"ip", "netns", "pids", ns});
    if (left && left->ok()) {
      std::istringstream in(left->out);
      while (in >> pid) killPid(pid);
    }
    VL_TRY(core::runChecked({"ip", "netns", "del", ns}));
  }
  for (const auto kind : {VpnKind::kWireGuard, VpnKind::kOpenVpn}) {
    o.vpn = kind;
    makeVpnDriver(o)->cleanup(makePlan(o));
  }
  std::error_code ec;
  for (const auto& r : roles()) fs::remove_all(etcNetns(prefix + r), ec);
  fs::remove_all(dir, ec);
  // The lock file goes too (we still hold it): a lab leaves nothing behind.
  fs::remove(std::string(kRunRoot) + "/" + prefix + ".lock", ec);
  log::info("lab down", {{"prefix", prefix}});
  return {};
}

core::Result<LabPlan> load(const std::string& prefix) {
  const std::string file = stateDir(prefix) + "/state.json";
  const auto text = core::readFile(file);
  if (!text || !netnsExists(prefix + "client")) {
    return core::makeError(
        Errc::kNotFound,
        "lab '" + prefix + "' is not up; run 'vpnleak lab up --prefix " + prefix + "'");
  }
  auto j = core::parseJson(*text, file);
  if (!j) return j.error();
  const auto& o = (*j)["options"];
  if (!o.is_object()) return core::makeError(Errc::kMalformed, file + ": no options");
  LabOptions opts;
  opts.prefix = o.value("prefix", prefix);
  opts.tunnel_ipv6 = o.value("tunnel_ipv6", false);
  opts.dns = o.value("dns", "vpn") == "isp" ? DnsMode::kIsp : DnsMode::kVpn;
  const auto vpn = parseVpnKind(o.value("vpn", "wireguard"));
  if (!vpn) return core::makeError(Errc::kMalformed, file + ": unknown options.vpn");
  opts.vpn = *vpn;
  const auto wg = o.value("wg", "auto");
  opts.wg = wg == "kernel" ? WgImpl::kKernel : wg == "go" ? WgImpl::kGo : WgImpl::kAuto;
  opts.zone = o.value("zone", "leak.test");
  opts.server_binary = o.value("server_binary", "");
  return makePlan(opts);
}

Status dropTunnel(const std::string& prefix) {
  auto plan = load(prefix);
  if (!plan) return plan.error();
  const LabContext ctx(stateDir(prefix));
  return makeVpnDriver(plan->options)->downClient(*plan, ctx);
}

}  // namespace vpnleak::lab
