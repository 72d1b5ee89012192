// Hands observations from the event loops to the store. A store that does I/O (SQLite fsync,
// a Redis round trip) is written by one background thread, so that it never stalls DNS or STUN;
// its queue is bounded: when the store falls behind, new observations are dropped and counted,
// never buffered without limit. That thread is woken when the queue stops being empty and then
// takes at most one batch per kMinInterval (sooner past a quarter of its capacity, or for
// flush), so that under load it costs a wake-up per millisecond, not one per datagram batch.
// A store without I/O (memory) is written by the caller directly: an event loop pays a hash
// insert per observation and never hands the CPU to another thread for it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#include "server/metrics.hpp"
#include "server/store.hpp"

namespace vpnleak::server {

class Recorder {
 public:
  static constexpr auto kMinInterval = std::chrono::milliseconds(1);

  Recorder(Store& store, Metrics& metrics, std::size_t capacity);
  ~Recorder();  // writes what is queued, then stops
  Recorder(const Recorder&) = delete;
  Recorder& operator=(const Recorder&) = delete;
  Recorder(Recorder&&) = delete;  // its thread holds this
  Recorder& operator=(Recorder&&) = delete;

  // Never block on the store's I/O. The batch form takes one lock for all; the observations stay
  // the caller's to write over, their strings' capacity kept where the store copies what it keeps
  // (the memory store does); a queued store gets them moved.
  void record(Observation obs);
  void recordInPlace(std::span<Observation> batch);
  // Waits until everything recorded so far has reached the store (tests, shutdown).
  void flush();

 private:
  void run();
  void write(std::span<Observation> batch);
  // Called with mu_ held: whether the thread must be woken now that the queue grew from before.
  [[nodiscard]] bool wakeFor(std::size_t before) const;

  Store& store_;
  Metrics& metrics_;
  const bool inline_;  // the store appends without I/O: callers write it themselves
  std::size_t capacity_;
  std::size_t wake_at_;
  std::mutex mu_;
  std::condition_variable wake_;
  std::condition_variable drained_;
  std::vector<Observation> queue_;
  std::uint64_t queued_total_ = 0;
  std::uint64_t written_total_ = 0;
  unsigned flushing_ = 0;
  bool stop_ = false;
  std::thread thread_;  // writes the queue, and expires the store's old tests
};

}  // namespace vpnleak::server
