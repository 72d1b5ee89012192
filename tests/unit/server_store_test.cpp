#include <gtest/gtest.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <thread>

#include "server/recorder.hpp"
#include "server/store.hpp"
#include "server/token.hpp"
#include "test_support.hpp"

namespace vpnleak::server {
namespace {

std::string token(std::size_t i) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%032zx", i);
  return buf;
}

Observation obs(const std::string& t, Kind k, int n) {
  return Observation{t, k, core::Json{{"n", n}}.dump()};
}

// A DNS query as the responder hands it over: plain values, rendered when read.
Observation dnsObs(const std::string& t, std::int64_t time_ms) {
  Observation o{t, Kind::kDns, {}};
  o.dns = DnsQuery{time_ms,
                   core::Endpoint::parse("[2001:db8::53]:5353").value(),
                   "Q1." + t + ".leak.test",
                   wire::dns::kTypeAaaa,
                   Transport::kTcp,
                   true,
                   wire::dns::ClientSubnet{24, 0, core::IpAddress::parse("198.51.100.0").value()},
                   internName("node-a")};
  return o;
}

core::Result<std::size_t> append(Store& s, std::vector<Observation> batch, std::int64_t now) {
  return s.append(batch, now);
}

// Behaviour every backend shares; run against memory and sqlite here, redis in integration.
void exerciseStore(Store& s) {
  const std::int64_t t0 = 1'000'000;
  ASSERT_TRUE(s.create(token(1), t0, 10'000).ok());
  ASSERT_TRUE(s.create(token(2), t0, 10'000).ok());
  auto stored = append(s,
                       {obs(token(1), Kind::kDns, 1), obs(token(1), Kind::kHttp, 2),
                        obs(token(9), Kind::kDns, 3),  // never created
                        obs(token(2), Kind::kWebrtc, 4), dnsObs(token(1), 1'700'000'000'123)},
                       t0 + 1);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(*stored, 4U);
  auto r = s.get(token(1), t0 + 2);
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(r->has_value());
  EXPECT_EQ((*r)->created_ms, t0);
  EXPECT_EQ((*r)->expires_ms, t0 + 10'000);
  ASSERT_EQ((*r)->observations.size(), 3U);
  EXPECT_EQ((*r)->observations[0].first, Kind::kDns);
  EXPECT_EQ((*r)->observations[1].second, R"({"n":2})");
  EXPECT_EQ((*r)->observations[2].first, Kind::kDns);
  EXPECT_EQ((*r)->observations[2].second,
            R"({"time":"2023-11-14T22:13:20.123Z","resolver":"2001:db8::53","family":"ipv6",)"
            R"("port":5353,"qname":"Q1.)" +
                token(1) +
                R"(.leak.test","qtype":"AAAA",)"
                R"("transport":"tcp","edns":true,"ecs":"198.51.100.0/24","node":"node-a"})");
  auto none = s.get(token(9), t0 + 2);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  // Expired: invisible and no longer appendable.
  auto late = append(s, {obs(token(2), Kind::kDns, 5)}, t0 + 10'000);
  ASSERT_TRUE(late.ok());
  EXPECT_EQ(*late, 0U);
  s.expire(t0 + 20'000);
  auto gone = s.get(token(2), t0 + 20'000);
  ASSERT_TRUE(gone.ok());
  EXPECT_FALSE(gone->has_value());
}

TEST(ServerStore, MemoryBehavesLikeAStore) {
  auto s = makeMemoryStore(Limits{});
  exerciseStore(*s);
}

TEST(ServerStore, SqliteBehavesLikeAStoreAndSurvivesReopening) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("vpnleak-store-" + testing::randomHex(8));
  std::filesystem::create_directories(dir);
  const auto path = (dir / "results.db").string();
  {
    auto s = openSqliteStore(path, Limits{});
    ASSERT_TRUE(s.ok()) << s.error().message();
    exerciseStore(**s);
    ASSERT_TRUE((*s)->create(token(3), 5, 1'000'000'000'000).ok());
    ASSERT_TRUE(append(**s, {obs(token(3), Kind::kDns, 7), dnsObs(token(3), 8)}, 6).ok());
  }
  {
    auto s = openSqliteStore(path, Limits{});
    ASSERT_TRUE(s.ok()) << s.error().message();
    auto r = (*s)->get(token(3), 7);
    ASSERT_TRUE(r.ok() && r->has_value());
    ASSERT_EQ((*r)->observations.size(), 2U);
    EXPECT_EQ((*r)->observations[0].second, R"({"n":7})");
    EXPECT_EQ(core::Json::parse((*r)->observations[1].second)["qname"],
              "Q1." + token(3) + ".leak.test");
  }
  std::filesystem::remove_all(dir);
}

TEST(ServerStore, SqliteReportsAnUnopenableFile) {
  auto s = openSqliteStore("/proc/no/such/dir/x.db", Limits{});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, core::Errc::kEnvironment);
}

TEST(ServerStore, MemoryStaysBoundedWithAMillionTokens) {
  Limits l;
  l.max_tests = 10'000;
  l.max_observations = 20'000;
  l.max_observations_per_test = 3;
  auto s = makeMemoryStore(l);
  const std::int64_t now = 1'000;
  for (std::size_t i = 0; i < 1'000'000; ++i) {
    ASSERT_TRUE(s->create(token(i), now, 3'600'000).ok());
    if (i % 100 == 0) {
      auto n = append(*s, std::vector<Observation>(5, obs(token(i), Kind::kDns, 1)), now);
      ASSERT_TRUE(n.ok());
      EXPECT_EQ(*n, 3U);  // per-test cap
    }
    ASSERT_LE(s->size(), 10'000);
  }
  EXPECT_EQ(s->size(), 10'000);
  EXPECT_FALSE(s->get(token(0), now)->has_value());       // evicted, oldest first
  EXPECT_TRUE(s->get(token(999'999), now)->has_value());  // the newest stay
  EXPECT_TRUE(s->get(token(990'000), now)->has_value());
  EXPECT_FALSE(s->get(token(989'999), now)->has_value());
}

TEST(ServerStore, MemoryEvictsOldestTestsWhenObservationsRunOut) {
  Limits l;
  l.max_observations = 4;
  auto s = makeMemoryStore(l);
  for (std::size_t i = 0; i < 3; ++i) ASSERT_TRUE(s->create(token(i), 0, 1000).ok());
  ASSERT_TRUE(append(*s, std::vector<Observation>(2, obs(token(0), Kind::kDns, 0)), 1).ok());
  ASSERT_TRUE(append(*s, {dnsObs(token(1), 0), dnsObs(token(1), 0)}, 1).ok());
  ASSERT_TRUE(append(*s, std::vector<Observation>(1, obs(token(2), Kind::kDns, 0)), 1).ok());
  EXPECT_FALSE(s->get(token(0), 1)->has_value());
  // token 1's two DNS queries (kept as structs) survive the eviction and read back as JSON.
  const auto kept = s->get(token(1), 1)->value();
  ASSERT_EQ(kept.observations.size(), 2U);
  EXPECT_EQ(core::Json::parse(kept.observations[0].second)["qname"],
            "Q1." + token(1) + ".leak.test");
  EXPECT_EQ(s->get(token(2), 1)->value().observations.size(), 1U);
}

// The memory store remembers the last test it appended to, across batches: a test dropped in
// between (evicted here by a newer one) must be looked up again, not written through.
TEST(ServerStore, MemoryForgetsADroppedTestBetweenBatches) {
  Limits l;
  l.max_tests = 1;
  auto s = makeMemoryStore(l);
  ASSERT_TRUE(s->create(token(1), 0, 1000).ok());
  EXPECT_EQ(*append(*s, {dnsObs(token(1), 0)}, 1), 1U);
  ASSERT_TRUE(s->create(token(2), 2, 1000).ok());  // evicts token 1
  EXPECT_EQ(*append(*s, {dnsObs(token(1), 0)}, 3), 0U);
  EXPECT_FALSE(s->get(token(1), 3)->has_value());
  ASSERT_TRUE(s->create(token(1), 4, 1000).ok());  // evicts token 2; token 1 anew, empty
  EXPECT_EQ(*append(*s, {obs(token(1), Kind::kHttp, 7), dnsObs(token(1), 5)}, 5), 2U);
  EXPECT_EQ(*append(*s, {obs(token(1), Kind::kWebrtc, 8)}, 6), 1U);
  // Kinds and forms interleave in arrival order.
  const auto rec = s->get(token(1), 6)->value();
  ASSERT_EQ(rec.observations.size(), 3U);
  EXPECT_EQ(rec.observations[0], std::make_pair(Kind::kHttp, std::string(R"({"n":7})")));
  EXPECT_EQ(rec.observations[1].first, Kind::kDns);
  EXPECT_EQ(core::Json::parse(rec.observations[1].second)["ecs"], "198.51.100.0/24");
  EXPECT_EQ(rec.observations[2], std::make_pair(Kind::kWebrtc, std::string(R"({"n":8})")));
}

// The memory store keys tests by their text held inline: tokens that differ in one octet
// (first, last, or only in length) are different tests, and a string longer than a token
// cannot be created nor found.
TEST(ServerStore, MemoryKeysTestsByEveryOctetOfTheToken) {
  auto s = makeMemoryStore(Limits{});
  std::string first = token(7);
  std::string last = token(7);
  first.front() = 'f';
  last.back() = 'e';
  const std::string shorter = token(7).substr(1);
  for (const auto& t : {token(7), first, last, shorter, std::string("a"), std::string("a\0", 2)}) {
    ASSERT_TRUE(s->create(t, 0, 1000).ok()) << t;
  }
  EXPECT_FALSE(s->create(token(7), 0, 1000).ok());  // exists
  EXPECT_EQ(*append(*s,
                    {dnsObs(token(7), 1), dnsObs(first, 2), dnsObs(first, 3), dnsObs(last, 4),
                     dnsObs(shorter, 5), dnsObs(token(7), 6), dnsObs(token(8), 7)},
                    1),
            6U);
  EXPECT_EQ(s->get(token(7), 1)->value().observations.size(), 2U);
  EXPECT_EQ(s->get(first, 1)->value().observations.size(), 2U);
  EXPECT_EQ(s->get(last, 1)->value().observations.size(), 1U);
  EXPECT_EQ(s->get(shorter, 1)->value().observations.size(), 1U);
  EXPECT_EQ(s->get(std::string("a\0", 2), 1)->value().observations.size(), 0U);
  EXPECT_FALSE(s->get("b", 1)->has_value());
  const std::string longer = token(7) + "0";
  const auto refused = s->create(longer, 0, 1000);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message().find("'" + longer + "': expected at most 32 characters"),
            std::string::npos)
      << refused.error().message();
  EXPECT_FALSE(s->get(longer, 1)->has_value());
  EXPECT_EQ(*append(*s, {dnsObs(longer, 8)}, 1), 0U);
  EXPECT_EQ(s->size(), 6);
}

TEST(ServerStore, MemoryExpiresByTtl) {
  auto s = makeMemoryStore(Limits{});
  ASSERT_TRUE(s->create(token(1), 0, 100).ok());
  ASSERT_TRUE(s->create(token(2), 50, 100).ok());
  s->expire(120);
  EXPECT_EQ(s->size(), 1);
  EXPECT_FALSE(s->get(token(1), 120)->has_value());
  EXPECT_TRUE(s->get(token(2), 120)->has_value());
  EXPECT_FALSE(s->get(token(2), 150)->has_value());
}

TEST(ServerStore, ChecksSpecs) {
  for (const char* ok : {"memory", "sqlite:/tmp/x.db", "redis://127.0.0.1:6379", "redis://[::1]:1",
                         "redis://cache.internal"}) {
    EXPECT_TRUE(checkStoreSpec(ok).ok()) << ok;
  }
  for (const char* bad : {"", "mem", "sqlite:", "redis://", "redis://h:0", "redis://h:99999",
                          "redis://h:x", "redis://[::1", "postgres://x"}) {
    auto st = checkStoreSpec(bad);
    EXPECT_FALSE(st.ok()) << bad;
    if (!st.ok()) {
      EXPECT_EQ(st.error().code, core::Errc::kInvalidArgument) << bad;
    }
  }
}

TEST(ServerStore, RecorderDeliversAndBoundsItsQueue) {
  auto s = makeMemoryStore(Limits{});
  Metrics m;
  ASSERT_TRUE(s->create(token(1), nowMs(), 60'000).ok());
  {
    Recorder r(*s, m, 1000);
    for (int i = 0; i < 10; ++i) r.record(obs(token(1), Kind::kDns, i));
    r.record(obs(token(5), Kind::kDns, 0));  // unknown token: dropped by the store
    r.flush();
    EXPECT_EQ(s->get(token(1), nowMs())->value().observations.size(), 10U);
    EXPECT_EQ(m.observations_recorded.load(), 10U);
    EXPECT_EQ(m.observations_dropped.load(), 1U);
  }
}

TEST(ServerStore, RecorderWritesTheMemoryStoreInTheCallersThread) {
  auto s = makeMemoryStore(Limits{});
  ASSERT_TRUE(s->appendsInline());
  Metrics m;
  ASSERT_TRUE(s->create(token(1), nowMs(), 60'000).ok());
  Recorder r(*s, m, 10);
  // No hand-over to the recorder thread: stored when record returns, queue bound not involved.
  for (std::size_t round = 0; round < 4; ++round) {
    std::vector<Observation> batch(8, dnsObs(token(1), nowMs()));
    r.recordInPlace(batch);
    EXPECT_EQ(s->get(token(1), nowMs())->value().observations.size(), 8 * (round + 1));
  }
  r.record(obs(token(1), Kind::kHttp, 1));
  EXPECT_EQ(s->get(token(1), nowMs())->value().observations.size(), 33U);
  EXPECT_EQ(m.observations_recorded.load(), 33U);
  EXPECT_EQ(m.observations_dropped.load(), 0U);
  r.flush();  // nothing queued: returns at once, and stores nothing more
  EXPECT_EQ(s->get(token(1), nowMs())->value().observations.size(), 33U);
}

// The UDP loop hands over the same observations batch after batch: the memory store copies
// them, and they stay the caller's, intact.
TEST(ServerStore, RecorderRecordsInPlaceAndLeavesTheBatchToTheCaller) {
  auto s = makeMemoryStore(Limits{});
  Metrics m;
  ASSERT_TRUE(s->create(token(1), nowMs(), 60'000).ok());
  Recorder r(*s, m, 10);
  std::vector<Observation> batch(4, dnsObs(token(1), nowMs()));
  for (int round = 0; round < 3; ++round) {
    batch[0].dns->qname = "r" + std::to_string(round) + "." + token(1) + ".leak.test";
    r.recordInPlace(std::span(batch.data(), 3));  // the fourth is not part of it
    ASSERT_EQ(batch.size(), 4U);
    EXPECT_EQ(batch[0].token, token(1));
    ASSERT_TRUE(batch[0].dns.has_value());
  }
  const auto rec = s->get(token(1), nowMs())->value();
  ASSERT_EQ(rec.observations.size(), 9U);
  EXPECT_NE(rec.observations[6].second.find("r2." + token(1)), std::string::npos);
  EXPECT_EQ(m.observations_recorded.load(), 9U);
}

// A store whose writes wait for the test: the recorder's queue fills while it is busy.
class GatedStore final : public Store {
 public:
  explicit GatedStore(Store& inner) : inner_(inner) {}
  [[nodiscard]] std::string_view backend() const override { return "gated"; }
  core::Status create(const std::string& t, std::int64_t now, std::int64_t ttl) override {
    return inner_.create(t, now, ttl);
  }
  core::Result<std::size_t> append(std::span<Observation> batch, std::int64_t now) override {
    std::unique_lock lock(mu_);
    ++writes_;
    cv_.notify_all();
    cv_.wait(lock, [&] { return open_; });
    return inner_.append(batch, now);
  }
  core::Result<std::optional<TestRecord>> get(const std::string& t, std::int64_t now) override {
    return inner_.get(t, now);
  }
  void waitForWrites(int n) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return writes_ >= n; });
  }
  void open() {
    const std::lock_guard lock(mu_);
    open_ = true;
    cv_.notify_all();
  }

 private:
  Store& inner_;
  std::mutex mu_;
  std::condition_variable cv_;
  int writes_ = 0;
  bool open_ = false;
};

TEST(ServerStore, RecorderTakesBatchesWithinItsCapacity) {
  auto inner = makeMemoryStore(Limits{});
  GatedStore s(*inner);
  Metrics m;
  ASSERT_TRUE(s.create(token(1), nowMs(), 60'000).ok());
  Recorder r(s, m, 100);
  r.record(dnsObs(token(1), nowMs()));
  s.waitForWrites(1);  // the recorder is stuck in the store with that one
  // Batches as the event loop hands them over: 100 fit in the queue, the rest are counted.
  for (int round = 0; round < 5; ++round) {
    std::vector<Observation> batch;
    for (int i = 0; i < 30; ++i) batch.push_back(dnsObs(token(1), nowMs()));
    r.recordInPlace(batch);
  }
  EXPECT_EQ(m.observations_dropped.load(), 50U);
  s.open();
  r.flush();
  EXPECT_EQ(s.get(token(1), nowMs())->value().observations.size(), 101U);
  EXPECT_EQ(m.observations_recorded.load(), 101U);
  // An idle recorder writes a lone observation promptly, without a flush.
  r.record(dnsObs(token(1), nowMs()));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (m.observations_recorded.load() < 102 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_EQ(s.get(token(1), nowMs())->value().observations.size(), 102U);
}

TEST(ServerStore, RendersTestsAsJson) {
  TestRecord rec{token(1),
                 0,
                 1000,
                 {{Kind::kDns, R"({"resolver":"192.0.2.1"})"},
                  {Kind::kWebrtc, "not json"},
                  {Kind::kHttp, R"({"ip":"198.51.100.2"})"}}};
  const auto j = testToJson(rec, "leak.test");
  EXPECT_EQ(j["schema"], "vpnleak.server.test/1");
  EXPECT_EQ(j.begin().key(), "schema");
  EXPECT_EQ(j["dns"].size(), 1U);
  EXPECT_EQ(j["http"][0]["ip"], "198.51.100.2");
  EXPECT_TRUE(j["webrtc"].empty());
  EXPECT_EQ(j["created"], "1970-01-01T00:00:00.000Z");
}

TEST(ServerToken, DrawsAndRecognisesTokens) {
  auto a = newToken();
  auto b = newToken();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_TRUE(isToken(*a));
  EXPECT_NE(*a, *b);
  EXPECT_FALSE(isToken("0123456789ABCDEF0123456789abcdef"));
  EXPECT_FALSE(isToken("0123"));
  EXPECT_EQ(tokenFromName("x.y." + *a + ".leak.test", "leak.test"), *a);
  EXPECT_EQ(tokenFromName(*a + ".Leak.Test", "leak.test"), *a);
  EXPECT_EQ(tokenFromName("x." + *a + ".leak.test.evil", "leak.test"), "");
  EXPECT_EQ(tokenFromName(*a + "x.leak.test", "leak.test"), "");
  EXPECT_EQ(tokenFromName("leak.test", "leak.test"), "");
  std::string upper = *a;
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_EQ(tokenFromName("Q." + upper + ".LEAK.test", "leak.test"), *a);  // 0x20 mixed case
  EXPECT_EQ(tokenFromName("x" + *a + ".leak.test", "leak.test"), "");      // 33 characters
  EXPECT_EQ(tokenFromName(a->substr(1) + ".leak.test", "leak.test"), "");  // 31
  EXPECT_EQ(tokenFromName("q." + a->substr(1) + "g.leak.test", "leak.test"), "");
  EXPECT_EQ(tokenFromName("q." + *a, ""), *a);
  EXPECT_EQ(randomHex(5)->size(), 5U);
}

TEST(ServerToken, TakesEveryHexDigitOfEitherCaseAndNothingElse) {
  // Every octet in every position of the token: a hex digit is taken lowercased, anything else
  // makes the name carry no token (the lookup table against the character classes).
  const std::string base(kTokenLength, '0');
  std::string into = "left over";
  for (std::size_t at = 0; at < kTokenLength; ++at) {
    for (int c = 0; c < 256; ++c) {
      std::string label = base;
      label[at] = static_cast<char>(c);
      const bool hex = std::isxdigit(c) != 0;
      std::string want = base;
      want[at] = static_cast<char>(std::tolower(c));
      EXPECT_EQ(tokenFromName("q." + label + ".leak.test", "leak.test"), hex ? want : "")
          << "octet " << c << " at " << at;
      ASSERT_EQ(tokenFromNameInto(label + ".leak.test", "leak.test", into), hex);
      if (hex) {
        EXPECT_EQ(into, want);
      }
    }
  }
}

}  // namespace
}  // namespace vpnleak::server
