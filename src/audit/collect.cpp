#include "audit/collect.hpp"

#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "core/process.hpp"
#include "netlink/dump.hpp"

namespace vpnleak::audit {

namespace {

void readResolvers(const CollectOptions& opts, Snapshot& s) {
  std::ifstream f(opts.resolv_conf);
  if (!f) {
    s.notes.emplace_back("cannot read " + opts.resolv_conf + ": resolvers not judged");
    return;
  }
  std::stringstream ss;
  ss << f.rdbuf();
  s.resolvers = parseResolvConf(ss.str());
  struct stat st {};
  if (::stat("/run/systemd/resolve/io.systemd.Resolve", &st) == 0 &&
      core::haveExecutable("resolvectl")) {
    auto r =
        core::run({"resolvectl", "dns"}, core::RunOptions::withTimeout(std::chrono::seconds(5)));
    if (r && r->ok()) s.link_dns = parseResolvectlDns(r->out);
  }
}

void readFirewall(Snapshot& s) {
  if (!core::haveExecutable("nft")) {
    s.notes.emplace_back("nft is not installed: the kill switch is not judged");
    return;
  }
  auto r = core::run({"nft", "-j", "list", "ruleset"},
                     core::RunOptions::withTimeout(std::chrono::seconds(10)));
  if (!r || !r->ok()) {
    s.notes.emplace_back(
        "'nft -j list ruleset' failed (root needed?): the kill switch is not judged");
    return;
  }
  auto j = core::parseJson(r->out, "nft -j list ruleset");
  if (j) s.nftables = *j;
}

void readWireGuard(Snapshot& s) {
  if (!core::haveExecutable("wg")) return;
  auto r = core::run({"wg", "show", "all", "dump"},
                     core::RunOptions::withTimeout(std::chrono::seconds(5)));
  if (r && r->ok()) {
    s.wireguard = parseWgDump(r->out);
  } else {
    s.notes.emplace_back("'wg show all dump' failed: WireGuard endpoints unknown");
  }
}

}  // namespace

core::Result<Snapshot> collect(const CollectOptions& opts) {
  auto ns = netlink::takeSnapshot();
  if (!ns) return ns.error();
  Snapshot s = fromNetlink(*ns);
  readResolvers(opts, s);
  readFirewall(s);
  readWireGuard(s);
  return s;
}

}  // namespace vpnleak::audit
