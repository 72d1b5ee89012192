#include "server/recorder.hpp"

#include <algorithm>
#include <iterator>

#include "core/log.hpp"

namespace vpnleak::server {

namespace {
constexpr auto kExpiryInterval = std::chrono::seconds(30);
}

Recorder::Recorder(Store& store, Metrics& metrics, std::size_t capacity)
    : store_(store),
      metrics_(metrics),
      inline_(store.appendsInline()),
      capacity_(capacity),
      wake_at_(std::max<std::size_t>(capacity / 4, 1)) {
  if (!inline_) queue_.reserve(std::min<std::size_t>(capacity_, 1024));
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

bool Recorder::wakeFor(std::size_t before) const {
  // Empty before: the thread may be asleep without a deadline. Otherwise it is writing or
  // gathering and wakes by itself, unless the queue just became worth an early write.
  return before == 0 || (before < wake_at_ && queue_.size() >= wake_at_);
}

void Recorder::record(Observation obs) {
  if (inline_) {
    write(std::span(&obs, 1));
    return;
  }
  bool wake = false;
  {
    const std::lock_guard lock(mu_);
    if (queue_.size() >= capacity_) {
      bump(metrics_.observations_dropped);
      return;
    }
    const std::size_t before = queue_.size();
    queue_.push_back(std::move(obs));
    ++queued_total_;
    wake = wakeFor(before);
  }
  if (wake) wake_.notify_one();
}

void Recorder::recordInPlace(std::span<Observation> batch) {
  if (batch.empty()) return;
  if (inline_) {
    write(batch);
    return;
  }
  bool wake = false;
  {
    const std::lock_guard lock(mu_);
    const std::size_t before = queue_.size();
    const std::size_t take = std::min(capacity_ - std::min(capacity_, before), batch.size());
    if (take < batch.size()) bump(metrics_.observations_dropped, batch.size() - take);
    const auto first = std::make_move_iterator(batch.begin());
    queue_.insert(queue_.end(), first, first + static_cast<std::ptrdiff_t>(take));
    queued_total_ += take;
    wake = take > 0 && wakeFor(before);
  }
  if (wake) wake_.notify_one();
}

void Recorder::flush() {
  std::unique_lock lock(mu_);
  const auto target = queued_total_;
  if (written_total_ >= target) return;
  ++flushing_;
  wake_.notify_one();
  drained_.wait(lock, [&] { return written_total_ >= target || stop_; });
  --flushing_;
}

void Recorder::write(std::span<Observation> batch) {
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

void Recorder::run() {
  using Clock = std::chrono::steady_clock;
  std::vector<Observation> batch;
  auto next_expiry = Clock::now() + kExpiryInterval;
  auto earliest = Clock::now();  // when the next batch may be taken without a reason to hurry
  std::unique_lock lock(mu_);
  while (true) {
    wake_.wait_until(lock, next_expiry, [&] { return stop_ || !queue_.empty(); });
    if (!stop_ && !queue_.empty() && Clock::now() < earliest) {
      wake_.wait_until(lock, earliest,
                       [&] { return stop_ || flushing_ > 0 || queue_.size() >= wake_at_; });
    }
    if (queue_.empty() && stop_) break;
    batch.swap(queue_);
    lock.unlock();
    if (!batch.empty()) write(batch);
    const std::size_t written = batch.size();
    batch.clear();  // frees what the store did not keep, outside the lock
    const auto now = Clock::now();
    if (now >= next_expiry) {
      store_.expire(nowMs());
      next_expiry = now + kExpiryInterval;
    }
    earliest = now + kMinInterval;
    lock.lock();
    written_total_ += written;
    drained_.notify_all();
  }
  drained_.notify_all();
}

}  // namespace vpnleak::server
