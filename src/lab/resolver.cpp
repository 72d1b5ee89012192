#include "lab/resolver.hpp"

#include <chrono>
#include <thread>

namespace vpnleak::lab {

std::string unboundConfig(const ResolverConfig& cfg) {
  std::string c = "server:\n";
  for (const auto& a : cfg.listen) c += "  interface: " + a.toString() + "\n";
  c += "  port: 53\n"
       "  do-ip6: yes\n"
       "  access-control: 0.0.0.0/0 allow\n"
       "  access-control: ::/0 allow\n"
       "  username: \"\"\n"
       "  chroot: \"\"\n"
       "  directory: \"" +
       cfg.work_dir +
       "\"\n"
       "  pidfile: \"\"\n"
       "  do-daemonize: no\n"
       "  use-syslog: no\n"
       "  logfile: \"\"\n"
       "  verbosity: 1\n"
       "  num-threads: 1\n"
       "  so-reuseport: no\n"
       "  module-config: \"iterator\"\n"
       "  cache-max-ttl: 0\n"
       "  cache-max-negative-ttl: 0\n"
       "  prefetch: no\n"
       "  qname-minimisation: no\n"
       "  minimal-responses: yes\n"
       "  do-not-query-localhost: no\n"
       "  domain-insecure: \"" +
       cfg.zone +
       "\"\n"
       "  local-zone: \"" +
       cfg.zone +
       ".\" transparent\n"
       "remote-control:\n"
       "  control-enable: no\n"
       "stub-zone:\n"
       "  name: \"" +
       cfg.zone + ".\"\n";
  for (const auto& s : cfg.zone_servers) c += "  stub-addr: " + s.toString() + "\n";
  return c;
}

core::Status startResolver(const std::string& ns, const ResolverConfig& cfg,
                           const LabContext& ctx) {
  const std::string file = cfg.name + ".conf";
  VL_TRY(ctx.writeFile(file, unboundConfig(cfg)));
  VL_TRY(core::runChecked({"unbound-checkconf", ctx.path(file)}));
  VL_TRY(ctx.daemon(ns, cfg.name, {"unbound", "-d", "-c", ctx.path(file)}));
  // Ready when it answers anything (a REFUSED/SERVFAIL is an answer) on its first address.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  const std::string at = "@" + cfg.listen.front().toString();
  while (std::chrono::steady_clock::now() < deadline) {
    auto r = ctx.run(ns, {"dig", at, "+tries=1", "+time=1", "localhost", "A"});
    if (r && r->ok()) return {};
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return core::makeError(core::Errc::kEnvironment, "unbound in " + ns + " did not answer on " +
                                                       cfg.listen.front().toString() +
                                                       " within 10 s; see " +
                                                       ctx.path(cfg.name + ".log"));
}

}  // namespace vpnleak::lab
