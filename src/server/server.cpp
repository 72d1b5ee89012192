#include "server/server.hpp"

#include <pthread.h>
#include <signal.h>

#include <boost/asio/detail/concurrency_hint.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <memory>
#include <thread>

#include "core/log.hpp"
#include "server/io.hpp"
#include "server/sockets.hpp"

namespace vpnleak::server {

namespace asio = boost::asio;

namespace {

// The sockets of one listener: fds[i] belongs to loop i, and for UDP senders[i] (when the
// kernel took the steering program; else there are none and answers leave through fds[i]).
struct Listener {
  enum class Service { kHttp, kDnsUdp, kDnsTcp, kStun, kMetrics } service;
  core::Endpoint endpoint;
  std::vector<core::UniqueFd> fds;
  std::vector<core::UniqueFd> senders;
};

core::Status bindAll(ServerConfig& cfg, std::vector<Listener>& out) {
  using S = Listener::Service;
  auto add = [&](S s, core::Endpoint& ep, SocketKind kind, unsigned n) -> core::Status {
    VL_TRY_ASSIGN(auto fds, bindListeners(ep, kind, n));
    std::vector<core::UniqueFd> senders;
    if (kind == SocketKind::kUdp) {
      auto bound = bindSenders(ep, fds);
      if (bound) {
        senders = std::move(*bound);
      } else {
        log::warn("answers leave through the receiving sockets",
                  {{"error", bound.error().message()}});
      }
    }
    out.push_back(Listener{s, ep, std::move(fds), std::move(senders)});
    return {};
  };
  for (auto& ep : cfg.dns) {
    VL_TRY(add(S::kDnsUdp, ep, SocketKind::kUdp, cfg.threads));
    VL_TRY(add(S::kDnsTcp, ep, SocketKind::kTcp, cfg.threads));
  }
  for (auto& ep : cfg.stun) VL_TRY(add(S::kStun, ep, SocketKind::kUdp, cfg.threads));
  for (auto& ep : cfg.http) VL_TRY(add(S::kHttp, ep, SocketKind::kTcp, cfg.threads));
  if (cfg.metrics) VL_TRY(add(S::kMetrics, *cfg.metrics, SocketKind::kTcp, 1));
  return {};
}

std::string joined(const std::vector<core::Endpoint>& eps) {
  std::string s;
  for (const auto& e : eps) s += (s.empty() ? "" : ",") + e.toString();
  return s;
}

void attach(asio::io_context& ioc, Listener& l, std::size_t i, SharedState& shared) {
  if (i >= l.fds.size()) return;
  using S = Listener::Service;
  core::UniqueFd sender = i < l.senders.size() ? std::move(l.senders[i]) : core::UniqueFd();
  switch (l.service) {
    case S::kDnsUdp:
      startUdpDns(ioc, std::move(l.fds[i]), shared, std::move(sender));
      break;
    case S::kDnsTcp:
      startTcpDns(ioc, std::move(l.fds[i]), shared);
      break;
    case S::kStun:
      startUdpStun(ioc, std::move(l.fds[i]), shared, std::move(sender));
      break;
    case S::kHttp:
      startHttp(ioc, std::move(l.fds[i]), shared, false);
      break;
    case S::kMetrics:
      startHttp(ioc, std::move(l.fds[i]), shared, true);
      break;
  }
}

// One io_context per thread; listener i's socket number k belongs to loop k.
class Loops {
 public:
  Loops(unsigned n, std::vector<Listener>& listeners, SharedState& shared) {
    for (unsigned i = 0; i < n; ++i) {
      // One thread per loop and no I/O object shared between loops: no locking in the reactor.
      loops_.push_back(std::make_unique<asio::io_context>(BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO));
      for (auto& l : listeners) attach(*loops_.back(), l, i, shared);
    }
    for (auto& ioc : loops_) {
      threads_.emplace_back([&ioc] {
        auto guard = asio::make_work_guard(*ioc);
        ioc->run();
      });
    }
  }
  ~Loops() { stop(); }
  Loops(const Loops&) = delete;
  Loops& operator=(const Loops&) = delete;

  void stop() {
    for (auto& ioc : loops_) ioc->stop();
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
    loops_.clear();
  }

 private:
  std::vector<std::unique_ptr<asio::io_context>> loops_;
  std::vector<std::thread> threads_;
};

}  // namespace

core::Status run(ServerConfig cfg) {
  VL_TRY(normalize(cfg));
  VL_TRY_ASSIGN(auto store, openStore(cfg.store, cfg.limits));
  std::vector<Listener> listeners;
  VL_TRY(bindAll(cfg, listeners));
  if (!cfg.user.empty()) VL_TRY(dropPrivileges(cfg.user));

  // Termination signals are taken by sigwait below, so every thread must block them.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  Metrics metrics;
  Recorder recorder(*store, metrics, cfg.limits.recorder_queue);
  const DnsResponder dns(ZoneConfig{cfg.zone, cfg.answer_v4, cfg.answer_v6,
                                    static_cast<std::uint32_t>(nowMs() / 1000), cfg.node},
                         metrics);
  const StunResponder stun(metrics);
  const Api api(cfg, *store, recorder, metrics, !cfg.metrics.has_value());
  const Api metrics_api(cfg, *store, recorder, metrics, true);
  SharedState shared;
  shared.dns = &dns;
  shared.stun = &stun;
  shared.api = &api;
  shared.metrics_api = &metrics_api;
  shared.recorder = &recorder;
  shared.metrics = &metrics;
  shared.limits = cfg.limits;
  shared.rrl_rate = cfg.rrl_rate;

  Loops loops(cfg.threads, listeners, shared);
  log::info("server ready", {{"zone", cfg.zone},
                             {"dns", joined(cfg.dns)},
                             {"http", joined(cfg.http)},
                             {"stun", joined(cfg.stun)},
                             {"metrics", cfg.metrics ? cfg.metrics->toString() : std::string()},
                             {"store", std::string(store->backend())},
                             {"threads", cfg.threads}});
  int sig = 0;
  sigwait(&sigs, &sig);
  log::info("server stopping", {{"signal", sig}});
  loops.stop();  // closes every socket and ends every session before the recorder goes
  recorder.flush();
  return {};
}

}  // namespace vpnleak::server
