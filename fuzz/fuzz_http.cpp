// HTTP: Beast's request parser with the server's limits, then the API routing and handlers
// (JSON bodies, candidate lines, tokens) over an in-memory store.
#include <cstdint>
#include <cstdlib>

#include "server/api.hpp"
#include "server/io.hpp"

using namespace vpnleak;

namespace {

struct World {
  server::ServerConfig cfg;
  server::Metrics metrics;
  std::unique_ptr<server::Store> store = server::makeMemoryStore(server::Limits{});
  server::Recorder recorder{*store, metrics, 1024};
  std::unique_ptr<server::Api> api;
  World() {
    cfg.zone = "leak.test";
    cfg.node = "fuzz";
    // One test whose token the corpus can use: 000...001.
    (void)store->create("00000000000000000000000000000001", server::nowMs(), 3600000);
    api = std::make_unique<server::Api>(cfg, *store, recorder, metrics, true);
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static World w;
  const unsigned status = server::parseAndHandleHttp(data, size, *w.api, w.cfg.limits);
  if (status != 0 && (status < 100 || status > 599)) std::abort();
  return 0;
}
