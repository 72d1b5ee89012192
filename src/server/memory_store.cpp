// The default store: a hash map bounded in tests and in observations, evicting oldest first.
// Every test lives for the same TTL, so creation order is also expiry order and one FIFO
// serves both TTL expiry and capacity eviction in O(1). Appending does no I/O, so the event
// loops call it themselves (Recorder). A test's observations are packed one after another into
// one byte string, in arrival order: a DNS query as its plain fields (about 85 octets for a
// typical name, where a DnsQuery record with its separately allocated name takes some 200, spread
// over more cache lines), anything else as its JSON text. DNS queries become JSON only when the
// test is read, and dropping a test frees one buffer.
#include <array>
#include <cstring>
#include <deque>
#include <mutex>
#include <optional>
#include <string_view>
#include <unordered_map>

#include "server/store.hpp"
#include "server/token.hpp"

namespace vpnleak::server {

namespace {

// The packed form: per observation its kind, then a form octet: kJson, a 32-bit length and the
// text; or kDns and the query's fields in host order (read back by the same process only).
enum class Form : std::uint8_t { kJson, kDns };

// The fixed fields of an observation are gathered here first and appended at once: one append
// instead of one per field.
class Packer {
 public:
  template <typename T>
  void put(const T& v) {
    std::memcpy(buf_.data() + len_, &v, sizeof v);
    len_ += sizeof v;
  }
  void putAddress(const core::IpAddress& a) {
    put(a.family());
    const auto b = a.bytes();
    std::memcpy(buf_.data() + len_, b.data(), b.size());
    len_ += b.size();
  }
  void appendTo(std::string& out) const { out.append(buf_.data(), len_); }

 private:
  std::array<char, 96> buf_;  // NOLINT(cppcoreguidelines-pro-type-member-init): len_ octets used
  std::size_t len_ = 0;
};

template <typename T>
T take(std::string_view& in) {
  T v{};
  std::memcpy(&v, in.data(), sizeof v);
  in.remove_prefix(sizeof v);
  return v;
}

std::string_view takeText(std::string_view& in, std::size_t size) {
  const auto text = in.substr(0, size);
  in.remove_prefix(size);
  return text;
}

core::IpAddress takeAddress(std::string_view& in) {
  const auto family = take<core::Family>(in);
  const auto b = takeText(in, family == core::Family::kV4 ? 4 : 16);
  return core::IpAddress::fromBytes(
      family, std::span(reinterpret_cast<const std::uint8_t*>(b.data()), b.size()));
}

void pack(std::string& out, Kind kind, const DnsQuery& q) {
  Packer p;  // at most 73 octets: kind, form, time, address, port, qtype, flags, ECS, node, size
  p.put(kind);
  p.put(Form::kDns);
  p.put(q.time_ms);
  p.putAddress(q.resolver.address);
  p.put(q.resolver.port);
  p.put(q.qtype);
  p.put(q.transport);
  p.put(q.edns);
  p.put(q.ecs.has_value());
  if (q.ecs) {
    p.put(q.ecs->source_prefix);
    p.put(q.ecs->scope_prefix);
    p.putAddress(q.ecs->address);
  }
  p.put(q.node.data());  // interned: lives as long as the process
  p.put(q.node.size());
  p.put(static_cast<std::uint32_t>(q.qname.size()));
  p.appendTo(out);
  out.append(q.qname);
}

void pack(std::string& out, Kind kind, std::string_view json) {
  Packer p;
  p.put(kind);
  p.put(Form::kJson);
  p.put(static_cast<std::uint32_t>(json.size()));
  p.appendTo(out);
  out.append(json);
}

DnsQuery unpackDns(std::string_view& in) {
  DnsQuery q;
  q.time_ms = take<std::int64_t>(in);
  q.resolver.address = takeAddress(in);
  q.resolver.port = take<std::uint16_t>(in);
  q.qtype = take<std::uint16_t>(in);
  q.transport = take<Transport>(in);
  q.edns = take<bool>(in);
  if (take<bool>(in)) {
    wire::dns::ClientSubnet ecs;
    ecs.source_prefix = take<std::uint8_t>(in);
    ecs.scope_prefix = take<std::uint8_t>(in);
    ecs.address = takeAddress(in);
    q.ecs = ecs;
  }
  const auto* node = take<const char*>(in);
  q.node = std::string_view(node, take<std::size_t>(in));
  q.qname = takeText(in, take<std::uint32_t>(in));
  return q;
}

// The next observation of a packed list, as its kind and JSON text.
std::pair<Kind, std::string> unpack(std::string_view& in) {
  const auto kind = take<Kind>(in);
  if (take<Form>(in) == Form::kDns) return {kind, dnsQueryText(unpackDns(in))};
  return {kind, std::string(takeText(in, take<std::uint32_t>(in)))};
}

// A token as the map's key, held inline: a 32-character token is too long for std::string's
// own buffer, so a string key costs a lookup one more cache miss (the key's text) and a copy one
// more allocation. Tokens are 32 hex digits (isToken); a longer string is no key at all.
struct Key {
  std::array<char, kTokenLength> text{};  // zero past size: == compares the whole array
  std::uint8_t size = 0;

  // Word by word, without branches: a call to memcmp would cost more than the comparison.
  friend bool operator==(const Key& a, const Key& b) {
    static_assert(kTokenLength % sizeof(std::uint64_t) == 0);
    std::uint64_t diff = a.size ^ b.size;
    for (std::size_t i = 0; i < kTokenLength; i += sizeof(std::uint64_t)) {
      std::uint64_t x = 0;
      std::uint64_t y = 0;
      std::memcpy(&x, a.text.data() + i, sizeof x);
      std::memcpy(&y, b.text.data() + i, sizeof y);
      diff |= x ^ y;
    }
    return diff == 0;
  }
};

struct KeyHash {
  std::size_t operator()(const Key& k) const noexcept {
    return std::hash<std::string_view>{}(std::string_view(k.text.data(), k.size));
  }
};

std::optional<Key> keyOf(std::string_view token) {
  if (token.size() > kTokenLength) return std::nullopt;
  Key k;
  std::memcpy(k.text.data(), token.data(), token.size());
  k.size = static_cast<std::uint8_t>(token.size());
  return k;
}

class MemoryStore final : public Store {
 public:
  explicit MemoryStore(const Limits& limits) : limits_(limits) {}

  [[nodiscard]] std::string_view backend() const override { return "memory"; }
  [[nodiscard]] bool appendsInline() const override { return true; }

  core::Status create(const std::string& token, std::int64_t now_ms, std::int64_t ttl_ms) override {
    const auto key = keyOf(token);
    if (!key) {
      return core::makeError(core::Errc::kInvalidArgument,
                             "test token '" + token + "': expected at most " +
                                 std::to_string(kTokenLength) + " characters");
    }
    const std::lock_guard lock(mu_);
    dropExpired(now_ms);
    while (!order_.empty() && tests_.size() >= limits_.max_tests) dropOldest();
    if (tests_.contains(*key)) {
      return core::makeError(core::Errc::kExists, "test token already exists");
    }
    tests_.emplace(*key, Entry{now_ms, now_ms + ttl_ms, {}, 0});
    order_.push_back(Queued{*key, now_ms + ttl_ms});
    return {};
  }

  core::Result<std::size_t> append(std::span<Observation> batch, std::int64_t now_ms) override {
    const std::lock_guard lock(mu_);
    dropExpired(now_ms);
    std::size_t stored = 0;
    for (auto& o : batch) {
      Entry* entry = find(o.token);
      if (entry == nullptr || entry->count >= limits_.max_observations_per_test) continue;
      if (observations_ >= limits_.max_observations) {
        while (observations_ >= limits_.max_observations && !order_.empty()) dropOldest();
        entry = find(o.token);  // the oldest dropped may have been this one
        if (entry == nullptr) continue;
      }
      if (entry->packed.empty()) entry->packed.reserve(kFirstReserve);
      if (o.dns) {
        pack(entry->packed, o.kind, *o.dns);
      } else {
        pack(entry->packed, o.kind, o.json);
      }
      ++entry->count;
      ++observations_;
      ++stored;
    }
    return stored;
  }

  core::Result<std::optional<TestRecord>> get(const std::string& token,
                                              std::int64_t now_ms) override {
    const auto key = keyOf(token);
    if (!key) return std::optional<TestRecord>{};
    Entry copy;
    {
      const std::lock_guard lock(mu_);
      const auto it = tests_.find(*key);
      if (it == tests_.end() || it->second.expires_ms <= now_ms) {
        return std::optional<TestRecord>{};
      }
      copy = it->second;
    }
    // Rendered outside the lock: the event loops append under it.
    TestRecord rec{token, copy.created_ms, copy.expires_ms, {}};
    rec.observations.reserve(copy.count);
    std::string_view in = copy.packed;
    for (std::size_t i = 0; i < copy.count; ++i) rec.observations.push_back(unpack(in));
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
  static constexpr std::size_t kFirstReserve = 512;  // octets: the usual handful of queries

  struct Entry {
    std::int64_t created_ms = 0;
    std::int64_t expires_ms = 0;
    std::string packed;  // the observations, in arrival order (pack above)
    std::size_t count = 0;
  };

  // A test's names are usually asked together, so the next observation most likely belongs to
  // the test of the one before, also across batches: that test is remembered (elements of an
  // unordered_map keep their address until erased, and dropOldest forgets it).
  Entry* find(std::string_view token) {
    const auto key = keyOf(token);
    if (!key) return nullptr;
    if (last_ == nullptr || !(last_key_ == *key)) {
      const auto it = tests_.find(*key);
      last_ = it == tests_.end() ? nullptr : &it->second;
      last_key_ = *key;
    }
    return last_;
  }

  void dropOldest() {
    const auto it = tests_.find(order_.front().key);
    if (it != tests_.end()) {
      observations_ -= it->second.count;
      tests_.erase(it);
      last_ = nullptr;
    }
    order_.pop_front();
  }

  // Runs for every batch: the queue holds each test's expiry, so that this costs no lookup.
  void dropExpired(std::int64_t now_ms) {
    while (!order_.empty() && order_.front().expires_ms <= now_ms) dropOldest();
  }

  Limits limits_;
  std::mutex mu_;
  std::unordered_map<Key, Entry, KeyHash> tests_;
  struct Queued {
    Key key;
    std::int64_t expires_ms;
  };
  std::deque<Queued> order_;  // creation order, which is also expiry order
  std::size_t observations_ = 0;
  Key last_key_;  // find's memory
  Entry* last_ = nullptr;
};

}  // namespace

std::unique_ptr<Store> makeMemoryStore(const Limits& limits) {
  return std::make_unique<MemoryStore>(limits);
}

}  // namespace vpnleak::server
