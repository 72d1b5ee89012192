// vpnleak guard up|down|status|watch: the kill switch (see src/guard/ and docs/guard.md).
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <iostream>
#include <memory>
#include <optional>
#include <thread>

#include "cli/app.hpp"
#include "core/log.hpp"
#include "core/process.hpp"
#include "guard/apply.hpp"
#include "guard/ruleset.hpp"
#include "guard/watch.hpp"
#include "netlink/netns.hpp"

namespace vpnleak::cli {

namespace {

using core::Errc;

struct GuardArgs {
  std::string netns;
  std::string tunnel;
  bool tunnel_may_be_absent = false;
  std::vector<std::string> endpoints;
  std::vector<std::string> dns;
  bool allow_lan = false;
  std::string lan_iface;
  std::string ipv6 = "block";
  std::string fwmark;
  bool lockdown = false;
  bool dry_run = false;
  bool json = false;
  std::string metrics;
  bool no_follow = false;
  bool no_shadow = false;
};

// Set by the signal handlers, so it must be a global.
// NOLINTNEXTLINE(cppcoreguidelines-avoid-non-const-global-variables)
std::atomic<bool> g_stop{false};

void onSignal(int /*sig*/) { g_stop.store(true); }

int failWith(const core::Error& e) { return fail(e.exitCode(), e.message()); }

core::Result<guard::GuardConfig> buildConfig(const GuardArgs& a) {
  guard::GuardConfig c;
  c.lockdown = a.lockdown;
  c.tunnel = a.tunnel;
  c.tunnel_may_be_absent = a.tunnel_may_be_absent;
  for (const auto& e : a.endpoints) {
    VL_TRY_ASSIGN(auto ep, guard::GuardEndpoint::parse(e));
    c.endpoints.push_back(ep);
  }
  for (const auto& d : a.dns) {
    auto ip = core::IpAddress::parse(d);
    if (!ip) {
      return core::makeError(
          Errc::kInvalidArgument,
          "invalid --dns '" + d + "': expected a literal IPv4 or IPv6 address, e.g. 10.64.0.1");
    }
    c.dns.push_back(*ip);
  }
  c.allow_lan = a.allow_lan;
  c.lan_iface = a.lan_iface;
  c.ipv6 = a.ipv6 == "tunnel" ? guard::Ipv6Mode::kTunnel : guard::Ipv6Mode::kBlock;
  if (!a.fwmark.empty()) {
    std::size_t used = 0;
    unsigned long v = 0;
    try {
      v = std::stoul(a.fwmark, &used, 0);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != a.fwmark.size() || v > 0xffffffffUL || a.fwmark.front() == '-') {
      return core::makeError(
          Errc::kInvalidArgument,
          "invalid --fwmark '" + a.fwmark + "': expected a 32-bit number such as 51820 or 0xca6c");
    }
    c.fwmark = static_cast<std::uint32_t>(v);
  }
  return c;
}

// Everything that can be wrong with the input is reported before anything is touched.
core::Result<guard::Resolved> prepare(const GuardArgs& a) {
  VL_TRY_ASSIGN(auto config, buildConfig(a));
  return guard::resolve(std::move(config));
}

core::Status requireRoot() {
  if (::geteuid() != 0) {
    return core::makeError(Errc::kEnvironment,
                           "guard needs root (CAP_NET_ADMIN) to change the firewall; run it as "
                           "root or with sudo");
  }
  return {};
}

void printUpText(const guard::Resolved& r, bool dry_run, double ms) {
  const auto& c = r.config;
  std::cout << (dry_run ? "guard up --dry-run: would apply" : "guard up: applied")
            << " table inet vpnleak (config " << guard::configDigest(c) << ")";
  if (!dry_run) std::cout << " in " << ms << " ms";
  std::cout << "\n";
  if (c.lockdown) {
    std::cout << "  lockdown: only loopback, DHCP and NDP pass\n";
    return;
  }
  std::cout << "  tunnel    " << c.tunnel << "\n  endpoints";
  for (const auto& e : c.endpoints) std::cout << ' ' << e.toString();
  std::cout << "\n  dns      ";
  if (c.dns.empty()) std::cout << " any resolver, through the tunnel only";
  for (const auto& d : c.dns) std::cout << ' ' << d.toString();
  std::cout << "\n  ipv6      " << guard::ipv6ModeName(c.ipv6) << "\n";
  if (c.allow_lan) {
    std::cout << "  lan      ";
    for (const auto& p : c.lan) std::cout << ' ' << p.toString();
    for (const auto& rej : r.lan.rejected) {
      std::cout << "\n  refused   " << rej.prefix.toString() << " on " << rej.iface << ": "
                << rej.reason;
    }
    std::cout << "\n";
  }
}

int runUp(const GuardArgs& a) {
  auto r = prepare(a);
  if (!r) return failWith(r.error());
  auto doc = core::jsonDocument("vpnleak.guard/1");
  doc["action"] = "up";
  doc["dry_run"] = a.dry_run;
  doc["config"] = guard::toJson(r->config);
  doc["digest"] = guard::configDigest(r->config);
  doc["lan"] = guard::toJson(r->lan);
  double ms = 0;
  if (a.dry_run) {
    doc["ruleset"] = guard::generateRuleset(r->config);
  } else {
    if (auto st = requireRoot(); !st) return failWith(st.error());
    auto nft = guard::NftCtx::create();
    if (!nft) return failWith(nft.error());
    auto lock = guard::StateLock::acquire();  // a running watcher decides under it too
    if (!lock) return failWith(lock.error());
    auto applied = guard::apply(*nft, r->config);
    if (!applied) return failWith(applied.error());
    ms = applied->apply_ms;
    log::info(
        "guard applied",
        {{"table", "inet vpnleak"}, {"config", guard::configDigest(r->config)}, {"apply_ms", ms}});
  }
  doc["applied"] = !a.dry_run;
  doc["apply_ms"] = ms;
  if (a.json) {
    std::cout << doc.dump(2) << "\n";
  } else if (a.dry_run) {
    std::cout << guard::generateRuleset(r->config);
  } else {
    printUpText(*r, false, ms);
  }
  return 0;
}

// SIGTERM, then SIGKILL after 3 s. The watcher is usually not our child, so it is gone once its
// command line is (a zombie has none).
void stopWatcher(pid_t pid) {
  ::kill(pid, SIGTERM);
  for (int i = 0; i < 300 && core::processMatches(pid, "vpnleak"); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (core::processMatches(pid, "vpnleak")) ::kill(pid, SIGKILL);
}

int runDown(const GuardArgs& a) {
  if (auto st = requireRoot(); !st) return failWith(st.error());
  bool stopped_watch = false;
  // A running watcher would put the table back: it is stopped first, on purpose.
  if (auto st = guard::readState(); st && core::processMatches(st->watch_pid, "vpnleak")) {
    stopWatcher(st->watch_pid);
    stopped_watch = true;
    log::info("guard watch stopped by guard down", {{"pid", st->watch_pid}});
  }
  auto nft = guard::NftCtx::create();
  if (!nft) return failWith(nft.error());
  auto removed = guard::remove(*nft);
  if (!removed) return failWith(removed.error());
  log::info("guard down", {{"table", "inet vpnleak"}, {"removed", *removed ? "yes" : "absent"}});
  if (a.json) {
    auto doc = core::jsonDocument("vpnleak.guard/1");
    doc["action"] = "down";
    doc["removed"] = *removed;
    doc["watch_stopped"] = stopped_watch;
    std::cout << doc.dump(2) << "\n";
  } else {
    std::cout << (*removed ? "guard down: table inet vpnleak removed; traffic is no longer "
                             "restricted\n"
                           : "guard down: table inet vpnleak was not present\n");
  }
  return 0;
}

int runStatus(const GuardArgs& a) {
  if (auto st = requireRoot(); !st) return failWith(st.error());
  auto nft = guard::NftCtx::create();
  if (!nft) return failWith(nft.error());
  auto i = guard::inspect(*nft);
  if (!i) return failWith(i.error());
  const auto doc = guard::toJson(*i);
  const bool good = i->present && i->matches.value_or(true);
  if (a.json) {
    std::cout << doc.dump(2) << "\n";
    return good ? 0 : 1;
  }
  std::cout << "table inet vpnleak: "
            << (!i->present   ? "ABSENT (no kill switch)"
                : !i->matches ? "present (no record of what was applied)"
                : *i->matches ? "present, matches what was applied"
                              : "present but MODIFIED since it was applied")
            << "\n";
  std::cout << "guard watch: " << (i->watch_running ? "running" : "not running")
            << (i->shadow_present ? " (shadow table inet vpnleak_watch held)" : "") << "\n";
  std::cout << "dropped packets by reason:";
  for (const auto& [k, v] : doc["counters"].items()) {
    std::cout << ' ' << k << '=' << v["packets"].get<std::uint64_t>();
  }
  std::cout << "\n";
  return good ? 0 : 1;
}

int runWatchCmd(const GuardArgs& a) {
  auto r = prepare(a);
  if (!r) return failWith(r.error());
  guard::WatchOptions o;
  o.config = r->config;
  o.follow_wg = !a.no_follow;
  o.shadow = !a.no_shadow;
  if (!a.metrics.empty()) {
    auto ep = core::Endpoint::parse(a.metrics);
    if (!ep) {
      return fail(2, "invalid --metrics '" + a.metrics +
                         "': expected ADDR:PORT such as 127.0.0.1:9560 or [::1]:9560");
    }
    o.metrics = *ep;
  }
  if (auto st = requireRoot(); !st) return failWith(st.error());
  struct sigaction sa {};
  sa.sa_handler = onSignal;  // no SA_RESTART: poll() returns at once
  ::sigaction(SIGTERM, &sa, nullptr);
  ::sigaction(SIGINT, &sa, nullptr);
  if (auto st = guard::runWatch(o, g_stop); !st) return failWith(st.error());
  return 0;
}

// Runs the action inside --netns NAME when given (the thread enters it; children inherit it).
int inNetns(const GuardArgs& a, int (*fn)(const GuardArgs&)) {
  if (a.netns.empty()) return fn(a);
  auto g = netlink::NetnsGuard::enter(a.netns);
  if (!g) {
    return fail(g.error().code == Errc::kNotFound ? 2 : g.error().exitCode(),
                "--netns " + a.netns + ": " + g.error().message());
  }
  return fn(a);
}

void addConfigFlags(CLI::App* sub, GuardArgs& a) {
  sub->add_option("--tunnel", a.tunnel, "The VPN's interface (matched by name)");
  sub->add_flag("--tunnel-may-be-absent", a.tunnel_may_be_absent,
                "Accept a --tunnel that does not exist yet (wg-quick PreUp, reconnect)");
  sub->add_option("--endpoint", a.endpoints, "VPN server IP:PORT[/udp|/tcp] (repeatable)");
  sub->add_option("--dns", a.dns, "Resolver reached through the tunnel (repeatable)");
  sub->add_flag("--allow-lan", a.allow_lan, "Allow the private prefixes on-link here");
  sub->add_option("--lan-iface", a.lan_iface, "Take LAN prefixes from this interface only");
  sub->add_option("--ipv6", a.ipv6, "IPv6 outside loopback/NDP: block, or allow in the tunnel")
      ->check(CLI::IsMember({"block", "tunnel"}))
      ->capture_default_str();
  sub->add_option("--fwmark", a.fwmark, "Mark on the tunnel's own socket (wg-quick: 51820)");
  sub->add_flag("--lockdown", a.lockdown, "Block all but loopback, DHCP and NDP (boot time)");
  sub->add_flag("--json", a.json, "One JSON document (schema vpnleak.guard/1)");
}

}  // namespace

void addGuardCommand(CLI::App& root, Action& action) {
  auto a = std::make_shared<GuardArgs>();
  auto* g = root.add_subcommand("guard", "The kill switch: one nftables table, fail-closed");
  g->require_subcommand(0, 1);
  g->add_option("--netns", a->netns, "Act inside this named network namespace");

  auto* up = g->add_subcommand("up", "Apply (or atomically replace) table inet vpnleak");
  addConfigFlags(up, *a);
  up->add_flag("--dry-run", a->dry_run, "Print the ruleset, change nothing");
  up->callback([&action, a] { action = [a] { return inNetns(*a, runUp); }; });

  auto* down = g->add_subcommand("down", "Remove table inet vpnleak (stops guard watch first)");
  down->add_flag("--json", a->json, "One JSON document (schema vpnleak.guard/1)");
  down->callback([&action, a] { action = [a] { return inNetns(*a, runDown); }; });

  auto* st = g->add_subcommand("status", "Is the table there, as applied? Drops per reason");
  st->add_flag("--json", a->json, "One JSON document (schema vpnleak.guard/1)");
  st->callback([&action, a] { action = [a] { return inNetns(*a, runStatus); }; });

  auto* w = g->add_subcommand("watch", "Apply, then restore on tamper and follow the endpoint");
  addConfigFlags(w, *a);
  w->add_option("--metrics", a->metrics, "Serve Prometheus text on ADDR:PORT (GET /metrics)");
  w->add_flag("--no-follow", a->no_follow, "Do not add the WireGuard peer's current endpoint");
  w->add_flag("--no-shadow", a->no_shadow, "Do not hold the flush-proof shadow table");
  w->callback([&action, a] { action = [a] { return inNetns(*a, runWatchCmd); }; });
}

}  // namespace vpnleak::cli
