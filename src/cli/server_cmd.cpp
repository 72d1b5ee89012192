// vpnleak server: the self-hosted leak-test backend.
#include <CLI/CLI.hpp>
#include <memory>

#include "cli/app.hpp"
#include "server/server.hpp"

namespace vpnleak::cli {

namespace {

struct ServerArgs {
  server::ServerConfig cfg;
  std::vector<std::string> http, dns, stun;
  std::string metrics, answer_v4, answer_v6;
  long token_ttl = 3600;
  long idle_timeout = 10;
};

core::Status parseEndpoints(const std::string& flag, const std::vector<std::string>& in,
                            std::vector<core::Endpoint>& out) {
  for (const auto& s : in) {
    auto ep = core::Endpoint::parse(s);
    if (!ep) {
      return core::makeError(
          core::Errc::kInvalidArgument,
          flag + (" '" + s + "': expected IP:PORT or [IPv6]:PORT, e.g. 0.0.0.0:53"));
    }
    out.push_back(*ep);
  }
  return {};
}

core::Status parseAddress(const std::string& flag, const std::string& in,
                          std::optional<core::IpAddress>& out) {
  if (in.empty()) return {};
  auto a = core::IpAddress::parse(in);
  if (!a)
    return core::makeError(core::Errc::kInvalidArgument, flag + " '" + in + "': not an IP address");
  out = *a;
  return {};
}

core::Status toConfig(ServerArgs& a) {
  VL_TRY(parseEndpoints("--http", a.http, a.cfg.http));
  VL_TRY(parseEndpoints("--dns", a.dns, a.cfg.dns));
  VL_TRY(parseEndpoints("--stun", a.stun, a.cfg.stun));
  if (!a.metrics.empty()) {
    std::vector<core::Endpoint> m;
    VL_TRY(parseEndpoints("--metrics", {a.metrics}, m));
    a.cfg.metrics = m.front();
  }
  VL_TRY(parseAddress("--answer-v4", a.answer_v4, a.cfg.answer_v4));
  VL_TRY(parseAddress("--answer-v6", a.answer_v6, a.cfg.answer_v6));
  a.cfg.token_ttl = std::chrono::seconds(a.token_ttl);
  if (a.idle_timeout < 1 || a.idle_timeout > 3600) {
    return core::makeError(
        core::Errc::kInvalidArgument,
        "--idle-timeout " + std::to_string(a.idle_timeout) + ": expected 1 to 3600 seconds");
  }
  a.cfg.limits.idle_timeout = std::chrono::seconds(a.idle_timeout);
  return server::normalize(a.cfg);
}

int runServer(ServerArgs& a) {
  if (auto st = toConfig(a); !st) return fail(st.error().exitCode(), st.error().message());
  if (auto st = server::run(a.cfg); !st) return fail(st.error().exitCode(), st.error().message());
  return 0;
}

}  // namespace

void addServerCommand(CLI::App& root, Action& action) {
  auto a = std::make_shared<ServerArgs>();
  auto* s = root.add_subcommand("server",
                                "The self-hosted leak-test backend: HTTP API and WebRTC "
                                "page, authoritative DNS, STUN");
  s->add_option("--zone", a->cfg.zone,
                "Zone this server is authoritative for (e.g. leak.example.com)");
  s->add_option("--http", a->http, "HTTP listener ADDR:PORT (repeatable)");
  s->add_option("--dns", a->dns, "DNS listener ADDR:PORT, UDP and TCP (repeatable)");
  s->add_option("--stun", a->stun, "STUN listener ADDR:PORT, UDP (repeatable)");
  s->add_option("--answer-v4", a->answer_v4, "IPv4 address every name in the zone resolves to");
  s->add_option("--answer-v6", a->answer_v6, "IPv6 address every name in the zone resolves to");
  s->add_option("--store", a->cfg.store, "memory, sqlite:PATH or redis://HOST:PORT")
      ->capture_default_str();
  s->add_option("--metrics", a->metrics,
                "Serve /metrics only on this ADDR:PORT (default: on the HTTP listeners)");
  s->add_option("--token-ttl", a->token_ttl, "Seconds a test and its observations are kept")
      ->capture_default_str();
  s->add_option("--user", a->cfg.user, "Drop root to this user once every port is bound");
  s->add_option("--threads", a->cfg.threads, "Event loops (default: one per CPU)");
  s->add_option("--rrl", a->cfg.rrl_rate,
                "DNS responses/s per client /24 or /56 over UDP; 0 turns rate limiting off")
      ->capture_default_str();
  s->add_option("--names", a->cfg.names_per_test, "Names handed out per test")
      ->capture_default_str();
  s->add_option("--max-tests", a->cfg.limits.max_tests, "Tests kept by the memory store")
      ->capture_default_str();
  s->add_option("--max-connections", a->cfg.limits.max_http_connections,
                "Concurrent HTTP connections")
      ->capture_default_str();
  s->add_option("--idle-timeout", a->idle_timeout,
                "Seconds a TCP client (HTTP, DNS) has to send a request before it is cut off")
      ->capture_default_str();
  s->add_option("--node", a->cfg.node, "Name recorded with observations (default: host name)");
  s->callback([&action, a] { action = [a] { return runServer(*a); }; });
}

}  // namespace vpnleak::cli
