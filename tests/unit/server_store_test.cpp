#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>

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

// Behaviour every backend shares; run against memory and sqlite here, redis in integration.
void exerciseStore(Store& s) {
  const std::int64_t t0 = 1'000'000;
  ASSERT_TRUE(s.create(token(1), t0, 10'000).ok());
  ASSERT_TRUE(s.create(token(2), t0, 10'000).ok());
  const std::vector<Observation> batch{obs(token(1), Kind::kDns, 1), obs(token(1), Kind::kHttp, 2),
                                       obs(token(9), Kind::kDns, 3),  // never created
                                       obs(token(2), Kind::kWebrtc, 4)};
  auto stored = s.append(batch, t0 + 1);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(*stored, 3U);
  auto r = s.get(token(1), t0 + 2);
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(r->has_value());
  EXPECT_EQ((*r)->created_ms, t0);
  EXPECT_EQ((*r)->expires_ms, t0 + 10'000);
  ASSERT_EQ((*r)->observations.size(), 2U);
  EXPECT_EQ((*r)->observations[0].first, Kind::kDns);
  EXPECT_EQ((*r)->observations[1].second, R"({"n":2})");
  auto none = s.get(token(9), t0 + 2);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  // Expired: invisible and no longer appendable.
  auto late = s.append(std::vector<Observation>{obs(token(2), Kind::kDns, 5)}, t0 + 10'000);
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
    ASSERT_TRUE((*s)->append(std::vector<Observation>{obs(token(3), Kind::kDns, 7)}, 6).ok());
  }
  {
    auto s = openSqliteStore(path, Limits{});
    ASSERT_TRUE(s.ok()) << s.error().message();
    auto r = (*s)->get(token(3), 7);
    ASSERT_TRUE(r.ok() && r->has_value());
    ASSERT_EQ((*r)->observations.size(), 1U);
    EXPECT_EQ((*r)->observations[0].second, R"({"n":7})");
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
      const std::vector<Observation> b(5, obs(token(i), Kind::kDns, 1));
      auto n = s->append(b, now);
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
  ASSERT_TRUE(s->append(std::vector<Observation>(2, obs(token(0), Kind::kDns, 0)), 1).ok());
  ASSERT_TRUE(s->append(std::vector<Observation>(2, obs(token(1), Kind::kDns, 0)), 1).ok());
  ASSERT_TRUE(s->append(std::vector<Observation>(1, obs(token(2), Kind::kDns, 0)), 1).ok());
  EXPECT_FALSE(s->get(token(0), 1)->has_value());
  EXPECT_EQ(s->get(token(2), 1)->value().observations.size(), 1U);
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
  EXPECT_EQ(randomHex(5)->size(), 5U);
}

}  // namespace
}  // namespace vpnleak::server
