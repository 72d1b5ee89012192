#include "server/config.hpp"

#include <unistd.h>

#include <algorithm>
#include <set>
#include <thread>

#include "server/store.hpp"
#include "wire/dns.hpp"

namespace vpnleak::server {

namespace {

core::Error invalid(std::string msg) {
  return core::makeError(core::Errc::kInvalidArgument, std::move(msg));
}

core::Status normalizeZone(std::string& zone) {
  std::string z = zone;
  if (!z.empty() && z.back() == '.') z.pop_back();
  std::transform(z.begin(), z.end(), z.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  const bool charset = std::all_of(z.begin(), z.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
  });
  if (z.empty() || !charset || !wire::dns::encodeName(z).ok() || z.size() > 200) {
    return invalid("--zone '" + zone +
                   "': expected a DNS name of letters, digits, '-' and '.', e.g. leak.example.com");
  }
  zone = z;
  return {};
}

// Two listeners of one transport on one address and port would split each other's traffic
// (SO_REUSEPORT lets both bind), so they are refused here with the flags named.
core::Status checkUnique(
    const std::vector<std::pair<std::string, const std::vector<core::Endpoint>*>>& groups) {
  std::set<core::Endpoint> seen;
  for (const auto& [flag, eps] : groups) {
    for (const auto& e : *eps) {
      if (!seen.insert(e).second) {
        return invalid(
            flag + " " + e.toString() +
            ": this address and port is already used by another listener of the same transport");
      }
    }
  }
  return {};
}

}  // namespace

core::Status normalize(ServerConfig& cfg) {
  if (cfg.zone.empty() && !cfg.dns.empty()) return invalid("--zone is required with --dns");
  if (!cfg.zone.empty()) VL_TRY(normalizeZone(cfg.zone));
  if (cfg.http.empty() && cfg.dns.empty() && cfg.stun.empty()) {
    return invalid("nothing to serve: give at least one of --http, --dns, --stun");
  }
  if (cfg.answer_v4 && !cfg.answer_v4->isV4()) {
    return invalid("--answer-v4 " + cfg.answer_v4->toString() + ": expected an IPv4 address");
  }
  if (cfg.answer_v6 && !cfg.answer_v6->isV6()) {
    return invalid("--answer-v6 " + cfg.answer_v6->toString() + ": expected an IPv6 address");
  }
  VL_TRY(checkStoreSpec(cfg.store));
  if (cfg.token_ttl.count() < 1 || cfg.token_ttl.count() > 30L * 86400) {
    return invalid("--token-ttl " + std::to_string(cfg.token_ttl.count()) +
                   ": expected 1 to 2592000 seconds");
  }
  if (cfg.names_per_test < 1 || cfg.names_per_test > 100) {
    return invalid("--names " + std::to_string(cfg.names_per_test) + ": expected 1 to 100");
  }
  std::vector<core::Endpoint> metrics;
  if (cfg.metrics) metrics.push_back(*cfg.metrics);
  VL_TRY(checkUnique({{"--dns", &cfg.dns}, {"--stun", &cfg.stun}}));  // UDP
  VL_TRY(
      checkUnique({{"--dns", &cfg.dns}, {"--http", &cfg.http}, {"--metrics", &metrics}}));  // TCP
  if (cfg.threads == 0) cfg.threads = std::max(1U, std::thread::hardware_concurrency());
  cfg.threads = std::min(cfg.threads, 64U);
  if (cfg.node.empty()) {
    char host[256] = {};
    cfg.node = ::gethostname(host, sizeof host - 1) == 0 ? host : "vpnleak";
  }
  return {};
}

}  // namespace vpnleak::server
