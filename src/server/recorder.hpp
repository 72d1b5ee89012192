// Hands observations from the event loops to the store on one background thread, so that a
// slow store (SQLite fsync, a Redis round trip) never stalls DNS or STUN. The queue is bounded:
// when the store falls behind, new observations are dropped and counted, never buffered
// without limit.
#pragma once

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
  Recorder(Store& store, Metrics& metrics, std::size_t capacity);
  ~Recorder();  // writes what is queued, then stops
  Recorder(const Recorder&) = delete;
  Recorder& operator=(const Recorder&) = delete;

  // Never blocks on the store.
  void record(Observation obs);
  // Waits until everything recorded so far has reached the store (tests, shutdown).
  void flush();

 private:
  void run();

  Store& store_;
  Metrics& metrics_;
  std::size_t capacity_;
  std::mutex mu_;
  std::condition_variable wake_;
  std::condition_variable drained_;
  std::vector<Observation> queue_;
  std::uint64_t queued_total_ = 0;
  std::uint64_t written_total_ = 0;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace vpnleak::server
