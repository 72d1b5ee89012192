#include <gtest/gtest.h>

#include <filesystem>

#include "server/api.hpp"
#include "server/candidate.hpp"
#include "server/dns_responder.hpp"
#include "server/rrl.hpp"
#include "test_support.hpp"

namespace vpnleak::server {
namespace {

struct ApiFixture {
  ServerConfig cfg;
  Metrics metrics;
  std::unique_ptr<Store> store = makeMemoryStore(Limits{});
  std::unique_ptr<Recorder> recorder;
  std::unique_ptr<Api> api;

  ApiFixture() {
    cfg.zone = "leak.test";
    cfg.http = {core::Endpoint::parse("192.0.2.10:80").value()};
    cfg.stun = {core::Endpoint::parse("192.0.2.10:3478").value()};
    cfg.answer_v4 = core::IpAddress::parse("192.0.2.10").value();
    cfg.node = "t";
    recorder = std::make_unique<Recorder>(*store, metrics, 1000);
    api = std::make_unique<Api>(cfg, *store, *recorder, metrics, true);
  }

  HttpResponse call(std::string_view method, std::string_view target, std::string_view body = "",
                    const char* peer = "198.51.100.2:40000") {
    HttpRequest r{method, target, body, "test-agent/1", core::Endpoint::parse(peer).value()};
    auto resp = api->handle(r);
    recorder->flush();
    return resp;
  }
  static core::Json json(const HttpResponse& r) { return core::Json::parse(r.body); }
};

TEST(ServerApi, EchoesTheClientAddress) {
  ApiFixture f;
  auto r = f.call("GET", "/api/v1/ip");
  EXPECT_EQ(r.status, 200U);
  auto j = ApiFixture::json(r);
  EXPECT_EQ(j.begin().key(), "schema");
  EXPECT_EQ(j["ip"], "198.51.100.2");
  EXPECT_EQ(j["family"], "ipv4");
  EXPECT_EQ(j["port"], 40000);
  j = ApiFixture::json(f.call("GET", "/api/v1/ip", "", "[2001:db8:77::2]:1"));
  EXPECT_EQ(j["ip"], "2001:db8:77::2");
  EXPECT_EQ(j["family"], "ipv6");
}

TEST(ServerApi, EchoesAnAddressTheCallerFormattedTheSameWay) {
  // The HTTP server formats a connection's address once and passes it with every request.
  ApiFixture f;
  for (const char* peer : {"198.51.100.2:40000", "[2001:db8:77::2]:1"}) {
    const auto ep = core::Endpoint::parse(peer).value();
    const std::string text = ep.address.toString();
    HttpRequest plain{"GET", "/api/v1/ip", "", "ua", ep};
    HttpRequest formatted{"GET", "/api/v1/ip", "", "ua", ep, text};
    EXPECT_EQ(f.api->handle(formatted).body, f.api->handle(plain).body) << peer;
    formatted.peer_address = "203.0.113.9";  // taken as given: proof that it is used
    EXPECT_EQ(ApiFixture::json(f.api->handle(formatted))["ip"], "203.0.113.9");
  }
}

TEST(ServerApi, DescribesItsConfiguration) {
  ApiFixture f;
  const auto j = ApiFixture::json(f.call("GET", "/api/v1/config"));
  EXPECT_EQ(j["zone"], "leak.test");
  EXPECT_EQ(j["stun"][0]["port"], 3478);
  EXPECT_EQ(j["answer_v4"], "192.0.2.10");
  EXPECT_TRUE(j["answer_v6"].is_null());
  EXPECT_EQ(j["store"], "memory");
}

TEST(ServerApi, CreatesTestsAndCollectsObservations) {
  ApiFixture f;
  auto r = f.call("POST", "/api/v1/tests?names=3");
  ASSERT_EQ(r.status, 201U) << r.body;
  const auto created = ApiFixture::json(r);
  const std::string token = created["token"];
  ASSERT_EQ(created["names"].size(), 3U);
  EXPECT_TRUE(created["names"][0].get<std::string>().ends_with("." + token + ".leak.test"));
  EXPECT_NE(created["names"][0], created["names"][1]);

  f.call("GET", "/api/v1/ip?token=" + token, "", "[2001:db8:77::2]:2");
  auto res = f.call("GET", "/api/v1/tests/" + token);
  ASSERT_EQ(res.status, 200U);
  auto j = ApiFixture::json(res);
  EXPECT_EQ(j["token"], token);
  ASSERT_EQ(j["http"].size(), 2U);
  EXPECT_EQ(j["http"][1]["ip"], "2001:db8:77::2");
  EXPECT_EQ(j["summary"]["http_addresses"].size(), 2U);
  EXPECT_TRUE(j["summary"]["webrtc"].is_null());
  // Upper-case tokens name the same test.
  std::string upper = token;
  for (auto& c : upper) c = static_cast<char>(std::toupper(c));
  EXPECT_EQ(f.call("GET", "/api/v1/tests/" + upper).status, 200U);
}

TEST(ServerApi, JudgesPostedCandidates) {
  ApiFixture f;
  const std::string token = ApiFixture::json(f.call("POST", "/api/v1/tests"))["token"];
  const std::string body = R"({"candidates":[
    "candidate:1 1 udp 2122260223 8f1e0b7c-1111-2222-3333-444455556666.local 50000 typ host generation 0",
    "candidate:2 1 udp 1686052607 198.51.100.2 50000 typ srflx raddr 0.0.0.0 rport 0 generation 0",
    {"candidate":"candidate:3 1 udp 2122262783 2001:db8:77::2 50001 typ host generation 0"},
    "garbage", 42, ""]})";
  auto r = f.call("POST", "/api/v1/tests/" + token + "/webrtc", body);
  ASSERT_EQ(r.status, 200U) << r.body;
  auto j = ApiFixture::json(r);
  EXPECT_EQ(j["stored"], 3);
  EXPECT_EQ(j["rejected"], 3);
  EXPECT_EQ(j["verdict"], "leak");
  ASSERT_EQ(j["leaked"].size(), 1U);
  EXPECT_EQ(j["leaked"][0], "2001:db8:77::2");
  auto t = ApiFixture::json(f.call("GET", "/api/v1/tests/" + token));
  ASSERT_EQ(t["webrtc"].size(), 3U);
  EXPECT_TRUE(t["webrtc"][0]["mdns"].get<bool>());
  EXPECT_EQ(t["webrtc"][1]["type"], "srflx");
  EXPECT_EQ(t["summary"]["webrtc"]["verdict"], "leak");
}

struct ErrorCase {
  const char* method;
  std::string target;
  std::string body;
  unsigned status;
};

TEST(ServerApi, RejectsBadRequestsWithJsonErrors) {
  ApiFixture f;
  const std::string token = ApiFixture::json(f.call("POST", "/api/v1/tests"))["token"];
  const std::string unknown(32, 'a');
  const std::vector<ErrorCase> cases = {
      {"GET", "/nope", "", 404},
      {"GET", "/api/v1/tests/xyz", "", 404},
      {"GET", "/api/v1/tests/" + unknown, "", 404},
      {"GET", "/api/v1/tests/" + token + "/other", "", 404},
      {"POST", "/api/v1/ip", "", 405},
      {"DELETE", "/api/v1/tests/" + token, "", 405},
      {"GET", "/api/v1/tests", "", 405},
      {"POST", "/api/v1/tests?names=0", "", 400},
      {"POST", "/api/v1/tests?names=101", "", 400},
      {"POST", "/api/v1/tests?names=1x", "", 400},
      {"POST", "/api/v1/tests/" + token + "/webrtc", "not json", 400},
      {"POST", "/api/v1/tests/" + token + "/webrtc", "[1,2]", 400},
      {"POST", "/api/v1/tests/" + token + "/webrtc", R"({"candidates":{}})", 400},
      {"POST", "/api/v1/tests/" + unknown + "/webrtc", R"({"candidates":[]})", 404},
      {"POST", "/webrtc", "", 405},
  };
  for (const auto& c : cases) {
    const auto r = f.call(c.method, c.target, c.body);
    EXPECT_EQ(r.status, c.status) << c.method << " " << c.target;
    const auto j = core::Json::parse(r.body, nullptr, false);
    ASSERT_TRUE(j.is_object()) << r.body;
    EXPECT_EQ(j["schema"], "vpnleak.error/1");
    EXPECT_EQ(j["status"], c.status);
  }
  std::string many = R"({"candidates":[)";
  for (int i = 0; i < 65; ++i) many += std::string(i ? "," : "") + "\"x\"";
  EXPECT_EQ(f.call("POST", "/api/v1/tests/" + token + "/webrtc", many + "]}").status, 413U);
}

TEST(ServerApi, ServesThePageAndMetrics) {
  ApiFixture f;
  auto page = f.call("GET", "/webrtc?token=abc");
  EXPECT_EQ(page.status, 200U);
  EXPECT_NE(page.body.find("RTCPeerConnection"), std::string::npos);
  EXPECT_EQ(page.content_type, "text/html; charset=utf-8");
  f.call("POST", "/api/v1/tests");
  auto m = f.call("GET", "/metrics");
  EXPECT_EQ(m.status, 200U);
  EXPECT_NE(m.body.find("vpnleak_tests_created_total 1\n"), std::string::npos) << m.body;
  EXPECT_NE(m.body.find("vpnleak_store_tests 1\n"), std::string::npos);
  EXPECT_EQ(f.call("OPTIONS", "/api/v1/tests").status, 204U);
}

TEST(ServerApi, HidesMetricsWhenTheyHaveTheirOwnListener) {
  ApiFixture f;
  Api hidden(f.cfg, *f.store, *f.recorder, f.metrics, false);
  HttpRequest r{"GET", "/metrics", "", "", core::Endpoint::parse("192.0.2.1:1").value()};
  EXPECT_EQ(hidden.handle(r).status, 404U);
}

// A DNS query is visible to the API read that follows its answer, also when the store is
// written by the recorder's thread (SQLite here; Redis takes the same queue): the read flushes
// the queue first. No flush or wait between the answer and the read.
TEST(ServerApi, ReadsItsOwnWritesThroughAQueuedStore) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("vpnleak-api-" + testing::randomHex(8));
  std::filesystem::create_directories(dir);
  {
    auto sqlite = openSqliteStore((dir / "results.db").string(), Limits{});
    ASSERT_TRUE(sqlite.ok()) << sqlite.error().message();
    ApiFixture f;  // destroyed first: its recorder writes to sqlite until it stops
    f.api.reset();
    f.recorder = std::make_unique<Recorder>(**sqlite, f.metrics, 1000);
    f.api = std::make_unique<Api>(f.cfg, **sqlite, *f.recorder, f.metrics, true);
    const DnsResponder dns(ZoneConfig{"leak.test", f.cfg.answer_v4, {}, 1, "n1"}, f.metrics);
    const std::string token = ApiFixture::json(f.call("POST", "/api/v1/tests"))["token"];
    ASSERT_EQ(token.size(), 32U);
    std::vector<std::uint8_t> query(512), answer(512);
    for (std::size_t i = 1; i <= 10; ++i) {
      const std::string name = "q" + std::to_string(i) + "." + token + ".leak.test";
      wire::dns::Builder q(query, wire::dns::Header{static_cast<std::uint16_t>(i), 0});
      ASSERT_TRUE(q.addQuestion(name, wire::dns::kTypeA, wire::dns::kClassIn));
      auto o = dns.respond(wire::Bytes(query.data(), q.size()),
                           core::Endpoint::parse("198.51.100.53:5353").value(), Transport::kUdp,
                           answer, nowMs());
      ASSERT_GT(o.size, 0U);
      ASSERT_TRUE(o.observation.has_value());
      f.recorder->record(std::move(*o.observation));
      const std::string target = "/api/v1/tests/" + token;
      const HttpRequest get{"GET", target, "", "ua",
                            core::Endpoint::parse("198.51.100.2:1").value()};
      const auto j = ApiFixture::json(f.api->handle(get));
      ASSERT_EQ(j["dns"].size(), i) << j.dump();
      EXPECT_EQ(j["dns"][i - 1]["qname"], name);
    }
  }
  std::filesystem::remove_all(dir);
}

TEST(ServerCandidate, ParsesCandidateLines) {
  auto c = parseCandidate(
      "a=candidate:842163049 1 UDP 1677729535 203.0.113.2 54321 typ srflx raddr 10.0.0.2 rport 5 "
      "generation 0 network-cost 999");
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(c->protocol, "udp");
  EXPECT_EQ(c->type, "srflx");
  EXPECT_EQ(c->port, 54321);
  EXPECT_EQ(c->ip->toString(), "203.0.113.2");
  EXPECT_EQ(c->related_ip->toString(), "10.0.0.2");
  for (const char* bad :
       {"", "candidate:", "candidate:1 1 udp 1 1.2.3.4 99999 typ host",
        "candidate:1 1 udp 1 1.2.3.4 5 type host", "foo:1 1 udp 1 1.2.3.4 5 typ host",
        "candidate:1 x udp 1 1.2.3.4 5 typ host"}) {
    EXPECT_FALSE(parseCandidate(bad).ok()) << bad;
  }
}

TEST(ServerCandidate, JudgesAgainstHttpAddresses) {
  auto mk = [](const char* line) { return parseCandidate(line).value(); };
  const std::vector<Candidate> c{
      mk("candidate:1 1 udp 1 192.168.1.5 1 typ host"),
      mk("candidate:2 1 udp 1 203.0.113.2 1 typ srflx raddr 192.168.1.5 rport 1"),
      mk("candidate:3 1 udp 1 abc.local 1 typ host")};
  auto v = judgeWebrtc(c, {core::IpAddress::parse("203.0.113.2").value()});
  EXPECT_FALSE(v.leak);
  EXPECT_EQ(v.public_addresses.size(), 1U);
  v = judgeWebrtc(c, {core::IpAddress::parse("198.51.100.9").value()});
  EXPECT_TRUE(v.leak);
  EXPECT_TRUE(c[2].mdns());
}

TEST(ServerRrl, LimitsPerPrefixAndSlips) {
  RateLimiter rl(10, 2, 1024);
  const auto a = core::IpAddress::parse("198.51.100.7").value();
  const auto same24 = core::IpAddress::parse("198.51.100.200").value();
  const auto other = core::IpAddress::parse("203.0.113.1").value();
  std::int64_t t = 1'000'000'000;
  int sent = 0;
  int slipped = 0;
  for (int i = 0; i < 30; ++i) {
    const auto v = rl.check(i % 2 ? a : same24, t);
    sent += v == RateLimiter::Verdict::kSend;
    slipped += v == RateLimiter::Verdict::kSlip;
  }
  EXPECT_EQ(sent, 10);     // the burst, shared by the /24
  EXPECT_EQ(slipped, 10);  // every second withheld response
  EXPECT_EQ(rl.check(other, t), RateLimiter::Verdict::kSend);
  // A second later the bucket is full again.
  t += 1'000'000'000;
  for (int i = 0; i < 10; ++i) EXPECT_EQ(rl.check(a, t), RateLimiter::Verdict::kSend) << i;
  EXPECT_NE(rl.check(a, t), RateLimiter::Verdict::kSend);
  // Asked every 10 microseconds for a second, it still lets 10 through: refill is not rounded
  // away by frequent calls.
  int trickle = 0;
  for (int i = 1; i <= 100'000; ++i) {
    trickle += rl.check(a, t + i * 10'000) == RateLimiter::Verdict::kSend;
  }
  EXPECT_GE(trickle, 9);
  EXPECT_LE(trickle, 11);
  RateLimiter off(0);
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(off.check(a, t), RateLimiter::Verdict::kSend);
}

}  // namespace
}  // namespace vpnleak::server
