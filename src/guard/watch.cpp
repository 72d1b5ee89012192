#include "guard/watch.hpp"

#include <net/if.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <mutex>
#include <sstream>

#include "core/log.hpp"
#include "core/process.hpp"
#include "guard/apply.hpp"
#include "guard/http.hpp"
#include "guard/metrics.hpp"
#include "guard/monitor.hpp"
#include "guard/nft.hpp"
#include "guard/ruleset.hpp"
#include "guard/state.hpp"

namespace vpnleak::guard {

namespace {

using Clock = std::chrono::steady_clock;

double msSince(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

class Watcher {
 public:
  Watcher(const WatchOptions& opts, NftCtx nft, NftMonitor monitor)
      : opts_(opts),
        config_(opts.config),
        base_endpoints_(opts.config.endpoints),
        nft_(std::move(nft)),
        monitor_(std::move(monitor)) {}

  core::Status start() {
    {
      VL_TRY_ASSIGN(auto lock, StateLock::acquire());
      VL_TRY(applyAll(config_));
    }
    if (opts_.metrics) {
      VL_TRY_ASSIGN(metrics_, MetricsServer::start(*opts_.metrics, [this] { return scrape(); }));
      log::info("guard metrics listening",
                {{"addr", core::Endpoint{opts_.metrics->address, metrics_->port()}.toString()}});
    }
    refreshCounters();
    log::info("guard watch started", {{"table", "inet vpnleak"},
                                      {"config", configDigest(config_)},
                                      {"shadow", opts_.shadow ? "inet vpnleak_watch" : "none"}});
    return {};
  }

  core::Status loop(const std::atomic<bool>& stop) {
    auto last_check = Clock::now();
    auto last_follow = Clock::now();
    auto last_counters = Clock::now();
    while (!stop.load()) {
      pollfd p{monitor_.fd(), POLLIN, 0};
      const int n = ::poll(&p, 1, 50);
      if (n < 0 && errno != EINTR) return core::sysError("poll");
      const auto woke = Clock::now();
      int events = 0;
      if (n > 0) {
        VL_TRY_ASSIGN(events, monitor_.drain());
      }
      if (events > 0 || woke - last_check >= opts_.check_interval) {
        last_check = woke;
        VL_TRY(check(woke));
      }
      if (opts_.follow_wg && woke - last_follow >= opts_.follow_interval) {
        last_follow = woke;
        VL_TRY(followEndpoints());
      }
      if (woke - last_counters >= std::chrono::seconds(1)) {
        last_counters = woke;
        refreshCounters();
      }
    }
    return {};
  }

  void stopped() {
    if (auto st = readState(); st && st->watch_pid == ::getpid()) {
      st->watch_pid = 0;
      (void)writeState(*st);
    }
    log::info("guard watch stopped; the rules stay", {{"table", "inet vpnleak"}});
  }

 private:
  // The shadow is re-declared only when the rules change or it is gone: a restore after tamper
  // leaves it alone, since it is what kept the rules in force meanwhile.
  core::Status applyAll(const GuardConfig& c) {
    auto has_shadow = nft_.hasTable(kShadowTable);
    const bool shadow_stale = first_ || c != config_ || !has_shadow.ok() || !*has_shadow;
    first_ = false;
    VL_TRY_ASSIGN(auto applied, apply(nft_, c, ::getpid()));
    expected_ = applied.listing;
    config_ = c;
    return shadow_stale ? applyShadow() : core::Status{};
  }

  core::Status applyShadow() {
    if (!opts_.shadow) return {};
    RulesetOptions o;
    o.table = kShadowTable;
    o.owner = true;
    o.priority = 1;
    auto r = nft_.run(generateRuleset(config_, o));
    if (!r && r.error().code == core::Errc::kEnvironment) {
      return core::makeError(core::Errc::kExists,
                             "another guard watch holds table inet vpnleak_watch in this network "
                             "namespace; stop it first");
    }
    if (!r) return r.error();
    return {};
  }

  core::Status check(Clock::time_point noticed) {
    std::lock_guard<std::mutex> lock(mu_);
    ++m_.checks;
    auto listing = nft_.listStateless(kTable);
    if (!listing && listing.error().code != core::Errc::kNotFound) return listing.error();
    m_.shadow_present = opts_.shadow ? nft_.hasTable(kShadowTable).ok() : false;
    if (listing && *listing == expected_) {
      m_.present = m_.matches = true;
      return {};
    }
    // `guard up` records its config before it applies it: a different recorded config is an
    // intended change, adopted (applied again here, which gives the same table), not undone.
    // Decided and applied under the state lock, which `guard up` holds while it records and
    // applies: a restore never lands between its record and its rules.
    VL_TRY_ASSIGN(auto state_lock, StateLock::acquire());
    if (auto st = readState(); st && st->config != config_) {
      if (auto adopted = applyAll(st->config); adopted) {
        base_endpoints_ = config_.endpoints;
        m_.present = m_.matches = true;
        log::info("guard watch adopts the config applied by guard up",
                  {{"config", configDigest(config_)}});
        return {};
      } else {
        log::error("guard watch cannot apply the recorded config; restoring its own",
                   {{"error", adopted.error().message()}});
      }
    }
    VL_TRY(applyAll(config_));
    const double ms = msSince(noticed);
    ++m_.restores;
    m_.last_restore_ms = ms;
    m_.max_restore_ms = std::max(m_.max_restore_ms, ms);
    m_.present = m_.matches = true;
    log::warn(
        "guard table changed by someone else: restored",
        {{"table", "inet vpnleak"}, {"was", listing ? "modified" : "removed"}, {"restore_ms", ms}});
    return {};
  }

  core::Status followEndpoints() {
    if (config_.lockdown || ::if_nametoindex(config_.tunnel.c_str()) == 0) return {};
    auto r = core::run({"wg", "show", config_.tunnel, "endpoints"},
                       core::RunOptions::withTimeout(std::chrono::milliseconds(2000)));
    if (!r || !r->ok()) return {};  // not WireGuard, or wg missing: nothing to follow
    GuardConfig next = config_;
    next.endpoints = base_endpoints_;
    for (const auto& e : parseWgEndpoints(r->out)) next.endpoints.push_back(e);
    next = normalized(std::move(next));
    if (next.endpoints == config_.endpoints) return {};
    std::lock_guard<std::mutex> lock(mu_);
    VL_TRY_ASSIGN(auto state_lock, StateLock::acquire());
    // A `guard up` recorded since our last apply comes first: the next check adopts it.
    if (auto st = readState(); st && st->config != config_) return {};
    VL_TRY(applyAll(next));
    ++m_.endpoint_updates;
    log::info("guard follows the tunnel's endpoint", {{"config", configDigest(next)}});
    return {};
  }

  void refreshCounters() {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto c = readCounters(nft_); c) m_.drops = *c;
  }

  std::string scrape() {
    std::lock_guard<std::mutex> lock(mu_);
    return formatPrometheus(m_);
  }

  const WatchOptions& opts_;
  GuardConfig config_;
  std::vector<GuardEndpoint> base_endpoints_;  // given by the user; wg's current one is added
  NftCtx nft_;
  NftMonitor monitor_;
  std::string expected_;
  std::mutex mu_;  // m_ and nft_ are shared with the metrics thread's scrape()
  WatchMetrics m_;
  std::unique_ptr<MetricsServer> metrics_;
  bool first_ = true;
};

}  // namespace

std::vector<GuardEndpoint> parseWgEndpoints(std::string_view text) {
  std::vector<GuardEndpoint> out;
  std::istringstream in{std::string(text)};
  std::string key;
  std::string ep;
  while (in >> key >> ep) {
    if (auto e = GuardEndpoint::parse(ep); e) out.push_back(*e);
  }
  return out;
}

core::Status runWatch(const WatchOptions& opts, const std::atomic<bool>& stop) {
  // The monitor first, so that no change between applying and watching goes unseen.
  VL_TRY_ASSIGN(auto monitor, NftMonitor::open());
  VL_TRY_ASSIGN(auto nft, NftCtx::create());
  auto w = std::make_unique<Watcher>(opts, std::move(nft), std::move(monitor));
  VL_TRY(w->start());
  auto st = w->loop(stop);
  w->stopped();
  return st;
}

}  // namespace vpnleak::guard
