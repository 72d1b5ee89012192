// parseAndHandleHttp: the server's request parsing and limits on raw bytes (what fuzz/fuzz_http.cpp
// drives). Each row is bytes in, status out; 0 means "no complete request, nothing to answer".
#include <gtest/gtest.h>

#include <string>

#include "server/api.hpp"
#include "server/io.hpp"

namespace vpnleak::server {
namespace {

struct Case {
  const char* what;
  std::string request;
  unsigned status;
};

TEST(ServerHttpParse, StatusForRawRequests) {
  ServerConfig cfg;
  cfg.zone = "leak.test";
  cfg.node = "t";
  Metrics metrics;
  const auto store = makeMemoryStore(Limits{});
  Recorder recorder(*store, metrics, 16);
  const Api api(cfg, *store, recorder, metrics, true);
  const std::string big_header = "GET / HTTP/1.1\r\nX: " + std::string(9000, 'a') + "\r\n\r\n";
  const Case cases[] = {
      // fuzz/corpus/http/crash-empty-input: Beast asserted in put_eof before any byte.
      {"empty input", "", 0},
      {"a start line cut short", "GE", 0},
      {"headers cut short", "GET /api/v1/config HTTP/1.1\r\nHost: x\r\n", 0},
      {"complete request", "GET /api/v1/config HTTP/1.1\r\nHost: x\r\n\r\n", 200},
      {"unknown path", "GET /nope HTTP/1.1\r\n\r\n", 404},
      {"wrong method", "PUT /api/v1/ip HTTP/1.1\r\nContent-Length: 0\r\n\r\n", 405},
      {"malformed method", "G\x01T / HTTP/1.1\r\n\r\n", 400},
      {"header over the limit", big_header, 431},
      {"body over the limit", "POST /api/v1/tests HTTP/1.1\r\nContent-Length: 70000\r\n\r\n", 413},
  };
  for (const auto& c : cases) {
    const auto* bytes = reinterpret_cast<const std::uint8_t*>(c.request.data());
    EXPECT_EQ(parseAndHandleHttp(bytes, c.request.size(), api, cfg.limits), c.status) << c.what;
  }
}

}  // namespace
}  // namespace vpnleak::server
