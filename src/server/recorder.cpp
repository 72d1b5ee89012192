#include "server/recorder.hpp"

#include <chrono>

#include "core/log.hpp"

namespace vpnleak::server {

namespace {
constexpr auto kExpiryInterval = std::chrono::seconds(30);
}

Recorder::Recorder(Store& store, Metrics& metrics, std::size_t capacity)
    : store_(store), metrics_(metrics), capacity_(capacity) {
  queue_.reserve(std::min<std::size_t>(capacity_, 1024));
  thread_ = std::thread([this] { run(); });
}

Recorder::~Recorder() {
  {
    const std::lock_guard lock(mu_);
    stop_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

void Recorder::record(Observation obs) {
  {
    const std::lock_guard lock(mu_);
    if (queue_.size() >= capacity_) {
      bump(metrics_.observations_dropped);
      return;
    }
    queue_.push_back(std::move(obs));
    ++queued_total_;
  }
  wake_.notify_one();
}

void Recorder::flush() {
  std::unique_lock lock(mu_);
  const auto target = queued_total_;
  drained_.wait(lock, [&] { return written_total_ >= target || stop_; });
}

void Recorder::run() {
  std::vector<Observation> batch;
  auto next_expiry = std::chrono::steady_clock::now() + kExpiryInterval;
  while (true) {
    {
      std::unique_lock lock(mu_);
      wake_.wait_until(lock, next_expiry, [&] { return stop_ || !queue_.empty(); });
      if (queue_.empty() && stop_) break;
      batch.swap(queue_);
    }
    if (!batch.empty()) {
      auto stored = store_.append(batch, nowMs());
      if (!stored) {
        bump(metrics_.store_errors);
        bump(metrics_.observations_dropped, batch.size());
        log::warn("store append failed",
                  {{"error", stored.error().message()}, {"observations", batch.size()}});
      } else {
        bump(metrics_.observations_recorded, *stored);
        bump(metrics_.observations_dropped, batch.size() - *stored);
      }
    }
    {
      const std::lock_guard lock(mu_);
      written_total_ += batch.size();
    }
    drained_.notify_all();
    batch.clear();
    if (std::chrono::steady_clock::now() >= next_expiry) {
      store_.expire(nowMs());
      next_expiry = std::chrono::steady_clock::now() + kExpiryInterval;
    }
  }
  drained_.notify_all();
}

}  // namespace vpnleak::server
