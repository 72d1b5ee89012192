// The default store: a hash map bounded in tests and in observations, evicting oldest first.
// Every test lives for the same TTL, so creation order is also expiry order and one FIFO
// serves both TTL expiry and capacity eviction in O(1). Appending does no I/O, so the event
// loops call it themselves (Recorder). DNS queries are kept as plain values, moved in from the
// loop's batch (no allocation but the record's), and become JSON only when a test is read.
#include <deque>
#include <mutex>
#include <unordered_map>
#include <variant>

#include "server/store.hpp"

namespace vpnleak::server {

namespace {

class MemoryStore final : public Store {
 public:
  explicit MemoryStore(const Limits& limits) : limits_(limits) {}

  [[nodiscard]] std::string_view backend() const override { return "memory"; }
  [[nodiscard]] bool appendsInline() const override { return true; }

  core::Status create(const std::string& token, std::int64_t now_ms, std::int64_t ttl_ms) override {
    const std::lock_guard lock(mu_);
    dropExpired(now_ms);
    while (!order_.empty() && tests_.size() >= limits_.max_tests) dropOldest();
    if (tests_.contains(token)) {
      return core::makeError(core::Errc::kExists, "test token already exists");
    }
    tests_.emplace(token, Entry{now_ms, now_ms + ttl_ms, {}});
    order_.push_back(Queued{token, now_ms + ttl_ms});
    return {};
  }

  core::Result<std::size_t> append(std::span<Observation> batch, std::int64_t now_ms) override {
    const std::lock_guard lock(mu_);
    dropExpired(now_ms);
    std::size_t stored = 0;
    // A test's names are usually asked together, so a batch holds runs of one token: the last
    // lookup is reused while the token repeats (and forgotten when anything is dropped).
    const std::string* last_token = nullptr;
    auto it = tests_.end();
    for (auto& o : batch) {
      if (last_token == nullptr || *last_token != o.token) {
        it = tests_.find(o.token);
        last_token = &o.token;
      }
      if (it == tests_.end() ||
          it->second.observations.size() >= limits_.max_observations_per_test) {
        continue;
      }
      if (observations_ >= limits_.max_observations) {
        while (observations_ >= limits_.max_observations && !order_.empty()) dropOldest();
        it = tests_.find(o.token);  // the oldest dropped may have been this one
        if (it == tests_.end()) continue;
      }
      auto& list = it->second.observations;
      if (list.empty()) list.reserve(kFirstReserve);
      if (o.dns) {
        list.push_back(Item{o.kind, std::move(*o.dns)});
      } else {
        list.push_back(Item{o.kind, std::move(o.json)});
      }
      ++observations_;
      ++stored;
    }
    return stored;
  }

  core::Result<std::optional<TestRecord>> get(const std::string& token,
                                              std::int64_t now_ms) override {
    Entry copy;
    {
      const std::lock_guard lock(mu_);
      const auto it = tests_.find(token);
      if (it == tests_.end() || it->second.expires_ms <= now_ms) {
        return std::optional<TestRecord>{};
      }
      copy = it->second;
    }
    // Rendered outside the lock: the event loops append under it.
    TestRecord rec{token, copy.created_ms, copy.expires_ms, {}};
    rec.observations.reserve(copy.observations.size());
    for (auto& item : copy.observations) {
      auto* q = std::get_if<DnsQuery>(&item.data);
      rec.observations.emplace_back(
          item.kind, q != nullptr ? dnsQueryText(*q) : std::move(std::get<std::string>(item.data)));
    }
    return std::optional<TestRecord>(std::move(rec));
  }

  void expire(std::int64_t now_ms) override {
    const std::lock_guard lock(mu_);
    dropExpired(now_ms);
  }

  std::int64_t size() override {
    const std::lock_guard lock(mu_);
    return static_cast<std::int64_t>(tests_.size());
  }

 private:
  static constexpr std::size_t kFirstReserve = 4;  // fewer regrowths for the usual handful

  struct Item {
    Kind kind;
    std::variant<std::string, DnsQuery> data;  // JSON text, or a DNS query to render on read
  };
  struct Entry {
    std::int64_t created_ms = 0;
    std::int64_t expires_ms = 0;
    std::vector<Item> observations;
  };

  void dropOldest() {
    const auto it = tests_.find(order_.front().token);
    if (it != tests_.end()) {
      observations_ -= it->second.observations.size();
      tests_.erase(it);
    }
    order_.pop_front();
  }

  // Runs for every batch: the queue holds each test's expiry, so that this costs no lookup.
  void dropExpired(std::int64_t now_ms) {
    while (!order_.empty() && order_.front().expires_ms <= now_ms) dropOldest();
  }

  Limits limits_;
  std::mutex mu_;
  std::unordered_map<std::string, Entry> tests_;
  struct Queued {
    std::string token;
    std::int64_t expires_ms;
  };
  std::deque<Queued> order_;  // creation order, which is also expiry order
  std::size_t observations_ = 0;
};

}  // namespace

std::unique_ptr<Store> makeMemoryStore(const Limits& limits) {
  return std::make_unique<MemoryStore>(limits);
}

}  // namespace vpnleak::server
