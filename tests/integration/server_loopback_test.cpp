// `vpnleak server` against real clients (curl, dig, turnutils_stunclient) and hostile input,
// inside a fresh network namespace of its own (loopback only).
#include <gtest/gtest.h>

#include "server/api.hpp"
#include "server_test_util.hpp"
#include "wire/dns.hpp"
#include "wire/stun.hpp"

namespace vpnleak::testing {
namespace {

const auto kDns4 = core::Endpoint::parse("127.0.0.1:5353").value();
const auto kDns6 = core::Endpoint::parse("[::1]:5353").value();
const auto kStun4 = core::Endpoint::parse("127.0.0.1:3478").value();
const auto kHttp4 = core::Endpoint::parse("127.0.0.1:8080").value();

class ServerLoopback : public ::testing::Test {
 protected:
  void SetUp() override {
    VL_REQUIRE_ROOT();
    for (const char* tool : {"curl", "dig", "turnutils_stunclient"}) {
      if (!core::haveExecutable(tool)) GTEST_SKIP() << tool << " not installed (scripts/deps.sh)";
    }
    ns_ = std::make_unique<ScopedNetns>("srv");
    server_ = std::make_unique<ServerProcess>(
        ns_->name(),
        std::vector<std::string>{"--zone",      "leak.test",    "--dns",       "127.0.0.1:5353",
                                 "--dns",       "[::1]:5353",   "--http",      "127.0.0.1:8080",
                                 "--http",      "[::1]:8080",   "--stun",      "127.0.0.1:3478",
                                 "--stun",      "[::1]:3478",   "--answer-v4", "192.0.2.10",
                                 "--answer-v6", "2001:db8::10", "--threads",   "2"},
        dir_.file("server.log"));
    ASSERT_TRUE(server_->waitReady()) << server_->log();
  }
  void TearDown() override {
    if (server_) server_->stop();
    server_.reset();
    ns_.reset();
  }

  std::string newToken() {
    auto r = curl(ns_->name(), {"-X", "POST", "http://127.0.0.1:8080/api/v1/tests"});
    EXPECT_TRUE(r.ok()) << r.err;
    return json(r.out).value("token", "");
  }
  core::Json results(const std::string& token) {
    return json(curl(ns_->name(), {"http://127.0.0.1:8080/api/v1/tests/" + token}).out);
  }
  core::ProcessResult dig(std::vector<std::string> args) {
    args.insert(args.begin(), {"dig", "+time=2", "+tries=1", "-p", "5353"});
    return inNetns(ns_->name(), std::move(args));
  }
  // Still answering DNS, STUN and HTTP.
  void expectServing() {
    EXPECT_EQ(dig({"@127.0.0.1", "+short", "alive.leak.test", "A"}).out, "192.0.2.10\n");
    auto st = inNetns(ns_->name(), {"turnutils_stunclient", "-p", "3478", "127.0.0.1"});
    EXPECT_NE(st.out.find("reflexive addr: 127.0.0.1:"), std::string::npos) << st.out << st.err;
    EXPECT_EQ(json(curl(ns_->name(), {"http://127.0.0.1:8080/api/v1/ip"}).out)["ip"], "127.0.0.1");
    EXPECT_TRUE(server_->running()) << server_->log();
  }

  TempDir dir_;
  std::unique_ptr<ScopedNetns> ns_;
  std::unique_ptr<ServerProcess> server_;
};

TEST_F(ServerLoopback, CurlSeesItsOwnAddressOverIpv4AndIpv6) {
  auto v4 = json(curl(ns_->name(), {"http://127.0.0.1:8080/api/v1/ip"}).out);
  EXPECT_EQ(v4["schema"], "vpnleak.server.ip/1");
  EXPECT_EQ(v4["ip"], "127.0.0.1");
  EXPECT_EQ(v4["family"], "ipv4");
  auto v6 = json(curl(ns_->name(), {"http://[::1]:8080/api/v1/ip"}).out);
  EXPECT_EQ(v6["ip"], "::1");
  EXPECT_EQ(v6["family"], "ipv6");
  // Keep-alive: two requests over one connection.
  auto both = curl(ns_->name(), {"-v", "http://127.0.0.1:8080/api/v1/ip",
                                 "http://127.0.0.1:8080/api/v1/config"});
  EXPECT_NE(both.err.find("Re-using existing connection"), std::string::npos) << both.err;
}

TEST_F(ServerLoopback, DigQueriesAreRecordedUnderTheirToken) {
  const std::string token = newToken();
  ASSERT_EQ(token.size(), 32U);
  const std::string name = "n1." + token + ".leak.test";
  EXPECT_EQ(dig({"@127.0.0.1", "+short", name, "A"}).out, "192.0.2.10\n");
  EXPECT_EQ(dig({"@::1", "+tcp", "+short", name, "AAAA"}).out, "2001:db8::10\n");
  EXPECT_EQ(dig({"@127.0.0.1", "+short", "+subnet=198.51.100.0/24", name, "TXT"}).out,
            "\"127.0.0.1\"\n\"edns-client-subnet 198.51.100.0/24\"\n");
  ASSERT_TRUE(waitFor([&] { return results(token)["dns"].size() >= 3; }));
  const auto dns = results(token)["dns"];
  EXPECT_EQ(dns[0]["resolver"], "127.0.0.1");
  EXPECT_EQ(dns[0]["transport"], "udp");
  EXPECT_EQ(dns[0]["qname"], name);
  EXPECT_EQ(dns[1]["resolver"], "::1");
  EXPECT_EQ(dns[1]["transport"], "tcp");
  EXPECT_EQ(dns[1]["qtype"], "AAAA");
  EXPECT_EQ(dns[2]["ecs"], "198.51.100.0/24");
}

TEST_F(ServerLoopback, DnsIsAuthoritativeOnly) {
  auto flags = [](const std::string& out) {
    const auto at = out.find("flags:");
    return at == std::string::npos ? std::string() : out.substr(at, out.find(';', at) - at);
  };
  auto outside = dig({"@127.0.0.1", "www.example.com", "A"});
  EXPECT_NE(outside.out.find("status: REFUSED"), std::string::npos) << outside.out;
  EXPECT_EQ(flags(outside.out), "flags: qr rd");  // not authoritative, never recursive
  EXPECT_EQ(flags(dig({"@127.0.0.1", "a.leak.test", "A"}).out), "flags: qr aa rd");
  auto soa = dig({"@127.0.0.1", "+short", "leak.test", "SOA"});
  EXPECT_NE(soa.out.find("ns1.leak.test. hostmaster.leak.test."), std::string::npos) << soa.out;
  EXPECT_EQ(dig({"@127.0.0.1", "+short", "leak.test", "NS"}).out, "ns1.leak.test.\n");
  auto nodata = dig({"@127.0.0.1", "x.leak.test", "MX"});
  EXPECT_NE(nodata.out.find("status: NOERROR"), std::string::npos);
  EXPECT_NE(nodata.out.find("AUTHORITY: 1"), std::string::npos);
  EXPECT_EQ(dig({"@::1", "+short", "whoami.leak.test", "TXT"}).out, "\"::1\"\n");
}

TEST_F(ServerLoopback, StunClientGetsItsMappedAddress) {
  for (const char* server : {"127.0.0.1", "::1"}) {
    auto r = inNetns(ns_->name(), {"turnutils_stunclient", "-p", "3478", server});
    ASSERT_TRUE(r.ok()) << r.err;
    EXPECT_NE(r.out.find(std::string("UDP reflexive addr: ") + server + ":"), std::string::npos)
        << r.out;
  }
}

// On a wildcard address an answer leaves from the address its query went to (IP_PKTINFO,
// IPV6_PKTINFO): dig rejects one from another source ("reply from unexpected source").
TEST_F(ServerLoopback, WildcardSocketsAnswerFromTheQueriedAddress) {
  ASSERT_TRUE(
      inNetns(ns_->name(), {"ip", "-6", "addr", "add", "2001:db8::53/128", "dev", "lo"}).ok());
  ServerProcess wild(
      ns_->name(),
      {"--zone", "leak.test", "--dns", "0.0.0.0:5354", "--dns", "[::]:5354", "--http",
       "127.0.0.1:8081", "--stun", "0.0.0.0:3479", "--answer-v4", "192.0.2.10"},
      dir_.file("wild.log"));
  ASSERT_TRUE(wild.waitReady()) << wild.log();
  for (const char* server : {"@127.0.0.2", "@127.0.0.1", "@2001:db8::53", "@::1"}) {
    auto r = inNetns(ns_->name(), {"dig", "+time=2", "+tries=1", "-p", "5354", server, "+short",
                                   "a.leak.test", "A"});
    EXPECT_EQ(r.out, "192.0.2.10\n") << server << ": " << r.out << r.err;
  }
  auto st = inNetns(ns_->name(), {"turnutils_stunclient", "-p", "3479", "127.0.0.2"});
  EXPECT_NE(st.out.find("reflexive addr: 127.0.0.1:"), std::string::npos) << st.out << st.err;
  wild.stop();
}

TEST_F(ServerLoopback, MetricsAreServed) {
  newToken();
  dig({"@127.0.0.1", "+short", "a.leak.test", "A"});
  const auto m = curl(ns_->name(), {"http://127.0.0.1:8080/metrics"}).out;
  EXPECT_NE(m.find("vpnleak_tests_created_total 1\n"), std::string::npos) << m;
  EXPECT_NE(m.find("vpnleak_dns_queries_total{transport=\"udp\"} 1\n"), std::string::npos) << m;
}

std::vector<std::uint8_t> bytes(std::initializer_list<int> v) {
  std::vector<std::uint8_t> b;
  for (int x : v) b.push_back(static_cast<std::uint8_t>(x));
  return b;
}

TEST_F(ServerLoopback, MalformedDnsKeepsTheServerServing) {
  const std::vector<std::vector<std::uint8_t>> garbage = {
      bytes({1, 2, 3}),
      bytes({0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 5, 'a'}),                // truncated name
      bytes({0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1}),  // pointer loop
      bytes({0, 1, 0x80, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1}),      // a response
      std::vector<std::uint8_t>(9000, 0x41),                              // oversized
  };
  for (const auto& g : garbage) udpExchange(ns_->name(), kDns4, g, std::chrono::milliseconds(100));
  // A FORMERR comes back for a query whose name runs off the end.
  auto formerr = udpExchange(ns_->name(), kDns4, garbage[1]);
  ASSERT_GE(formerr.size(), 12U);
  EXPECT_EQ(formerr[3] & 0xf, 1);
  // TCP: a length larger than what follows, then a length below a header, then hang up.
  tcpExchange(ns_->name(), kDns4, std::string("\xff\xff\x01\x02", 4),
              std::chrono::milliseconds(200));
  tcpExchange(ns_->name(), kDns4, std::string("\x00\x05hello", 7), std::chrono::milliseconds(200));
  for (int i = 0; i < 200; ++i) {
    std::vector<std::uint8_t> r(static_cast<std::size_t>(12 + i % 50));
    for (auto& b : r) b = static_cast<std::uint8_t>(std::rand());
    r[2] &= 0x7f;  // queries, so that most are parsed further than the header
    udpExchange(ns_->name(), i % 2 ? kDns4 : kDns6, r, std::chrono::milliseconds(5));
  }
  expectServing();
}

TEST_F(ServerLoopback, MalformedStunIsIgnoredAndUnknownAttributesRefused) {
  std::array<std::uint8_t, 64> req{};
  const wire::stun::TransactionId id{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  const auto n = wire::stun::buildBindingRequest(req, id, false).value();
  std::vector<std::uint8_t> good(req.begin(), req.begin() + static_cast<std::ptrdiff_t>(n));
  auto truncated = good;
  truncated.resize(19);
  auto wrong_length = good;
  wrong_length[3] = 8;
  auto indication = good;
  indication[1] = 0x11;  // binding indication: never answered
  for (const auto& g : {truncated, wrong_length, indication, bytes({0x16, 3, 1, 0, 5})}) {
    EXPECT_TRUE(udpExchange(ns_->name(), kStun4, g, std::chrono::milliseconds(200)).empty());
  }
  auto unknown = good;
  unknown.insert(unknown.end(), {0x7f, 0x01, 0x00, 0x00});
  unknown[3] = 4;
  const auto err = udpExchange(ns_->name(), kStun4, unknown);
  auto parsed = wire::stun::parse(err);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->cls, wire::stun::Class::kError);
  const auto ok = udpExchange(ns_->name(), kStun4, good);
  EXPECT_LE(ok.size(), 52U);  // no amplification beyond a small fixed response
  auto resp = wire::stun::parse(ok);
  ASSERT_TRUE(resp.ok());
  EXPECT_EQ(wire::stun::mappedAddress(*resp)->address.toString(), "127.0.0.1");
  expectServing();
}

TEST_F(ServerLoopback, MalformedHttpGetsJsonErrorsAndTheServerKeepsServing) {
  struct Case {
    std::string request;
    std::string status_line;
  };
  const std::vector<Case> cases = {
      {"GARBAGE\r\n\r\n", "HTTP/1.1 400"},
      {"GET / HTTP/1.1\r\nHost: x\r\nX: " + std::string(9000, 'a') + "\r\n\r\n", "HTTP/1.1 431"},
      {"POST /api/v1/tests HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\nabc",
       "HTTP/1.1 413"},
      {"GET /api/v1/tests/zzz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "HTTP/1.1 404"},
      {"PUT /api/v1/ip HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "HTTP/1.1 405"},
      {"GET /api/v1/ip HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
       "HTTP/1.1 400"},
  };
  for (const auto& c : cases) {
    const auto resp = tcpExchange(ns_->name(), kHttp4, c.request);
    EXPECT_EQ(resp.substr(0, c.status_line.size()), c.status_line) << c.request.substr(0, 60);
    const auto body = resp.substr(resp.find("\r\n\r\n") + 4);
    EXPECT_EQ(json(body)["schema"], "vpnleak.error/1") << resp.substr(0, 300);
  }
  // A body just under the 64 KiB limit is read whole.
  const std::string token = newToken();
  const std::string body = R"({"candidates":["candidate:1 1 udp 1 127.0.0.1 5 typ host"],"pad":")" +
                           std::string(60000, 'x') + "\"}";
  const auto big = tcpExchange(ns_->name(), kHttp4,
                               "POST /api/v1/tests/" + token +
                                   "/webrtc HTTP/1.1\r\nHost: x\r\n"
                                   "Connection: close\r\nContent-Length: " +
                                   std::to_string(body.size()) + "\r\n\r\n" + body);
  EXPECT_EQ(big.substr(0, 12), "HTTP/1.1 200") << big.substr(0, 300);
  // A client that connects and says nothing is cut off by the idle timeout, not kept forever.
  tcpExchange(ns_->name(), kHttp4, "", std::chrono::milliseconds(200));
  expectServing();
}

// The responses in a stream of HTTP/1.1 responses: content type, Connection header, body.
struct Response {
  std::string status_line, content_type, connection, body;
};
std::vector<Response> splitResponses(const std::string& stream) {
  std::vector<Response> out;
  std::size_t at = 0;
  const auto header = [](const std::string& head, const std::string& name) {
    const auto p = head.find("\r\n" + name + ": ");
    if (p == std::string::npos) return std::string();
    const auto v = p + name.size() + 4;
    return head.substr(v, head.find("\r\n", v) - v);
  };
  while (at < stream.size()) {
    const auto end = stream.find("\r\n\r\n", at);
    if (end == std::string::npos) break;
    const std::string head = stream.substr(at, end + 2 - at);
    const auto length = std::stoul(header(head, "Content-Length"));
    out.push_back({head.substr(0, head.find("\r\n")), header(head, "Content-Type"),
                   header(head, "Connection"), stream.substr(end + 4, length)});
    at = end + 4 + length;
  }
  return out;
}

TEST_F(ServerLoopback, PipelinedRequestsAreAnsweredInOrderUpToTheKeepAliveLimit) {
  // 20 requests more than the per-connection limit in one write, pages and addresses in turn,
  // to a client with a tiny receive window that reads nothing for a while: the server's writes
  // fill the socket and must resume when it drains. It answers up to the limit, in order, then
  // closes. Small send buffers in this namespace (the server's too), so that the writes fill up.
  ASSERT_TRUE(inNetns(ns_->name(), {"sysctl", "-qw", "net.ipv4.tcp_wmem=4096 4096 4096"}).ok());
  auto fd = socketIn(ns_->name(), AF_INET, SOCK_STREAM);
  ASSERT_TRUE(fd.valid());
  const int small = 4096;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  sockaddr_storage ss{};
  const auto len = server::sockaddrFrom(kHttp4, ss);
  ASSERT_EQ(::connect(fd.get(), reinterpret_cast<sockaddr*>(&ss), len), 0);
  std::string requests;
  const std::size_t limit = server::Limits{}.http_requests_per_connection;
  for (std::size_t i = 0; i < limit + 20; ++i) {
    requests +=
        std::string("GET ") + (i % 2 == 0 ? "/" : "/api/v1/ip") + " HTTP/1.1\r\nHost: x\r\n\r\n";
  }
  ASSERT_EQ(::send(fd.get(), requests.data(), requests.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(requests.size()));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  std::string stream;
  char buf[4096];
  for (;;) {
    pollfd p{fd.get(), POLLIN, 0};
    ASSERT_EQ(::poll(&p, 1, 3000), 1) << "no EOF after " << stream.size() << " bytes";
    const auto n = ::recv(fd.get(), buf, sizeof buf, 0);
    if (n <= 0) break;
    stream.append(buf, static_cast<std::size_t>(n));
  }
  const auto responses = splitResponses(stream);
  ASSERT_EQ(responses.size(), limit) << stream.substr(0, 300);
  for (std::size_t i = 0; i < responses.size(); ++i) {
    const auto& r = responses[i];
    EXPECT_EQ(r.status_line, "HTTP/1.1 200 OK") << i;
    if (i % 2 == 0) {
      EXPECT_EQ(r.content_type, "text/html; charset=utf-8") << i;
      EXPECT_EQ(r.body.size(), server::webrtcPage().size()) << i;
    } else {
      EXPECT_EQ(json(r.body)["port"], json(responses[1].body)["port"]) << i;
      EXPECT_EQ(json(r.body)["ip"], "127.0.0.1") << i;
    }
    EXPECT_EQ(r.connection, i + 1 == limit ? "close" : "") << i;
  }
  expectServing();
}

TEST(ServerCli, BadFlagsExitTwoWithOneLine) {
  const std::vector<std::vector<std::string>> cases = {
      {"--zone", "leak.test", "--dns", "127.0.0.1"},
      {"--zone", "leak.test", "--dns", "[::1]"},
      {"--zone", "bad zone!", "--dns", "127.0.0.1:53"},
      {"--dns", "127.0.0.1:53"},
      {"--zone", "leak.test"},
      {"--zone", "leak.test", "--http", "127.0.0.1:80", "--answer-v4", "2001:db8::1"},
      {"--zone", "leak.test", "--http", "127.0.0.1:80", "--answer-v6", "192.0.2.1"},
      {"--zone", "leak.test", "--http", "127.0.0.1:80", "--answer-v4", "nope"},
      {"--zone", "leak.test", "--http", "127.0.0.1:80", "--store", "mysql://x"},
      {"--zone", "leak.test", "--http", "127.0.0.1:80", "--store", "redis://host:0"},
      {"--zone", "leak.test", "--http", "127.0.0.1:80", "--token-ttl", "0"},
      {"--zone", "leak.test", "--http", "127.0.0.1:80", "--token-ttl", "abc"},
      {"--zone", "leak.test", "--dns", "127.0.0.1:53", "--stun", "127.0.0.1:53"},
      {"--zone", "leak.test", "--http", "127.0.0.1:80", "--frobnicate"},
  };
  for (const auto& c : cases) {
    std::vector<std::string> argv{vpnleakBinary(), "server"};
    argv.insert(argv.end(), c.begin(), c.end());
    const auto r = sh(argv);
    EXPECT_EQ(r.exit_code, 2) << core::joinArgv(c) << ": " << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_EQ(r.err.rfind("vpnleak: ", 0), 0U) << r.err;
  }
}

TEST(ServerCli, PortInUseExitsThreeAndMetricsListenerIsSeparate) {
  VL_REQUIRE_ROOT();
  ScopedNetns ns("srvport");
  TempDir dir;
  ServerProcess a(
      ns.name(),
      {"--http", "127.0.0.1:8080", "--metrics", "127.0.0.1:9100", "--stun", "127.0.0.1:3478"},
      dir.file("a.log"));
  ASSERT_TRUE(a.waitReady()) << a.log();
  const auto r = ns.exec({vpnleakBinary(), "server", "--http", "127.0.0.1:8080"});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.err.find("127.0.0.1:8080"), std::string::npos) << r.err;
  const auto stun = ns.exec({vpnleakBinary(), "server", "--stun", "127.0.0.1:3478"});
  EXPECT_EQ(stun.exit_code, 3) << stun.err;
  EXPECT_NE(curl(ns.name(), {"http://127.0.0.1:9100/metrics"}).out.find("vpnleak_http_connections"),
            std::string::npos);
  EXPECT_EQ(json(curl(ns.name(), {"http://127.0.0.1:8080/metrics"}).out)["status"], 404);
  EXPECT_TRUE(a.running());
}

TEST(ServerCli, SlowClientsAreCutOffAtTheIdleTimeout) {
  VL_REQUIRE_ROOT();
  ScopedNetns ns("srvidle");
  TempDir dir;
  ServerProcess s(ns.name(),
                  {"--zone", "leak.test", "--http", "127.0.0.1:8080", "--dns", "127.0.0.1:5353",
                   "--idle-timeout", "1"},
                  dir.file("s.log"));
  ASSERT_TRUE(s.waitReady()) << s.log();
  for (const auto& ep : {kHttp4, kDns4}) {
    // Half a request, then silence: the server hangs up after about a second.
    const auto start = std::chrono::steady_clock::now();
    const auto got = tcpExchange(
        ns.name(), ep, ep.port == 8080 ? std::string("GET / HTTP/1.1\r\nHo") : std::string(1, '\0'),
        std::chrono::milliseconds(5000));
    const auto took = std::chrono::steady_clock::now() - start;
    EXPECT_TRUE(got.empty()) << got;
    EXPECT_GE(took, std::chrono::milliseconds(900)) << ep.toString();
    EXPECT_LT(took, std::chrono::milliseconds(4000)) << ep.toString();
  }
  EXPECT_TRUE(s.running());
}

TEST(ServerCli, DropsRootAfterBindingAPrivilegedPort) {
  VL_REQUIRE_ROOT();
  ScopedNetns ns("srvuser");
  TempDir dir;
  ServerProcess s(ns.name(),
                  {"--zone", "leak.test", "--dns", "127.0.0.1:53", "--answer-v4", "192.0.2.10",
                   "--user", "nobody"},
                  dir.file("s.log"));
  ASSERT_TRUE(s.waitReady()) << s.log();
  const auto status = readFile("/proc/" + std::to_string(s.pid()) + "/status");
  const auto uid = status.substr(status.find("Uid:"), 40);
  EXPECT_EQ(uid.find("Uid:\t0"), std::string::npos) << uid;
  EXPECT_NE(uid.find("65534"), std::string::npos) << uid;
  EXPECT_EQ(inNetns(ns.name(), {"dig", "+short", "+time=2", "@127.0.0.1", "x.leak.test"}).out,
            "192.0.2.10\n");
}

}  // namespace
}  // namespace vpnleak::testing
