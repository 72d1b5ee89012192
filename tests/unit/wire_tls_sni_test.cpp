// TLS ClientHello server_name extraction and HTTP Host extraction from crafted first segments.
#include <gtest/gtest.h>

#include "monitor_frames.hpp"
#include "test_support.hpp"
#include "wire/http_host.hpp"
#include "wire/tls_sni.hpp"

namespace vpnleak::wire {
namespace {

namespace f = testing::frames;
using f::Bytes8;
using tls::SniStatus;

struct SniCase {
  std::string what;
  Bytes8 segment;
  SniStatus status;
  std::string name;
};

Bytes8 mutate(Bytes8 b, std::size_t at, std::uint8_t v) {
  b.at(at) = v;
  return b;
}
Bytes8 cut(Bytes8 b, std::size_t n) {
  b.resize(n);
  return b;
}

std::vector<SniCase> sniCases() {
  const auto hello = f::clientHello("vpn.example.org");
  // Offsets in f::clientHello: record 5, handshake 4, version 2, random 32, sid 1+32, suites 2+4,
  // compression 1+1, extensions length at 84.
  return {
      {"found", hello, SniStatus::kFound, "vpn.example.org"},
      {"tls 1.0 record version", mutate(hello, 2, 1), SniStatus::kFound, "vpn.example.org"},
      {"no server_name", f::clientHello("", false), SniStatus::kNoSni, ""},
      {"cut inside extensions", cut(hello, hello.size() - 4), SniStatus::kIncomplete, ""},
      {"cut inside cipher suites", cut(hello, 80), SniStatus::kIncomplete, ""},
      {"only the record header", cut(hello, 6), SniStatus::kIncomplete, ""},
      {"session id over 32", mutate(hello, 43, 33), SniStatus::kMalformed, ""},
      {"odd cipher suite length", mutate(hello, 77, 3), SniStatus::kMalformed, ""},
      {"server hello", mutate(hello, 5, 2), SniStatus::kNotClientHello, ""},
      {"application data", mutate(hello, 0, 23), SniStatus::kNotTls, ""},
      {"not ssl3+", mutate(hello, 1, 2), SniStatus::kNotTls, ""},
      {"http", f::text("GET / HTTP/1.1\r\n\r\n"), SniStatus::kNotTls, ""},
      {"empty", Bytes8{}, SniStatus::kNotTls, ""},
      {"extension overruns", mutate(hello, 84, 0xff), SniStatus::kMalformed, ""},
  };
}

class SniTable : public ::testing::TestWithParam<SniCase> {};

TEST_P(SniTable, Extracts) {
  const auto& c = GetParam();
  SCOPED_TRACE(c.what);
  const auto r = tls::clientHelloSni(c.segment);
  EXPECT_EQ(r.status, c.status);
  EXPECT_EQ(std::string(r.name), c.name);
}

INSTANTIATE_TEST_SUITE_P(Hellos, SniTable, ::testing::ValuesIn(sniCases()), VL_CASE_NAMES);

TEST(WireTlsSni, EveryPrefixIsSafe) {
  // Every cut of a valid hello is incomplete (or found once the name is in), never out of bounds.
  const auto hello = f::clientHello("a.example");
  for (std::size_t n = 6; n < hello.size(); ++n) {
    const auto r = tls::clientHelloSni(cut(hello, n));
    EXPECT_TRUE(r.status == SniStatus::kIncomplete || r.status == SniStatus::kFound) << n;
  }
}

struct HostCase {
  std::string what;
  std::string segment;
  bool request;
  std::string method, host;
};

class HostTable : public ::testing::TestWithParam<HostCase> {};

TEST_P(HostTable, Extracts) {
  const auto& c = GetParam();
  SCOPED_TRACE(c.what);
  const auto segment = f::text(c.segment);  // the result views into it
  const auto r = http::parseRequestHead(segment);
  ASSERT_EQ(r.has_value(), c.request);
  if (!r) return;
  EXPECT_EQ(r->method, c.method);
  EXPECT_EQ(r->host, c.host);
}

INSTANTIATE_TEST_SUITE_P(
    Requests, HostTable,
    ::testing::Values(
        HostCase{"get", "GET /x HTTP/1.1\r\nHost: leak.test\r\nAccept: */*\r\n\r\n", true, "GET",
                 "leak.test"},
        HostCase{"case and spaces", "POST / HTTP/1.0\r\nUser-Agent: a\r\nhOsT:\t a.b:8080 \r\n\r\n",
                 true, "POST", "a.b:8080"},
        HostCase{"no host", "HEAD / HTTP/1.0\r\n\r\n", true, "HEAD", ""},
        HostCase{"host line cut", "GET / HTTP/1.1\r\nHost: lea", true, "GET", ""},
        HostCase{"host after blank line", "GET / HTTP/1.1\r\n\r\nHost: x\r\n", true, "GET", ""},
        HostCase{"connect", "CONNECT a.b:443 HTTP/1.1\r\nHost: a.b:443\r\n\r\n", true, "CONNECT",
                 "a.b:443"},
        HostCase{"unknown method", "FETCH / HTTP/1.1\r\nHost: x\r\n\r\n", false, "", ""},
        HostCase{"lowercase method", "get / HTTP/1.1\r\nHost: x\r\n\r\n", false, "", ""},
        HostCase{"http/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", false, "", ""},
        HostCase{"no version", "GET /\r\nHost: x\r\n\r\n", false, "", ""},
        HostCase{"request line cut", "GET /very/long/pa", false, "", ""},
        HostCase{"tls", std::string("\x16\x03\x01\x00\x05", 5), false, "", ""},
        HostCase{"empty", "", false, "", ""}),
    VL_CASE_NAMES);

}  // namespace
}  // namespace vpnleak::wire
