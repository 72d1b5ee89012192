// Where tests and their observations live: one interface, three backends.
//   memory           bounded, TTL eviction, lost on restart (default)
//   sqlite:PATH      one file, survives restarts
//   redis://H:P      shared by several server nodes
// Observations of tokens that were never created (or have expired) are dropped: random names
// under the zone cannot fill the store, and a token shows only what its creator caused.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/ip.hpp"
#include "core/json.hpp"
#include "core/result.hpp"
#include "server/config.hpp"
#include "wire/dns.hpp"

namespace vpnleak::server {

enum class Kind : std::uint8_t { kDns, kHttp, kWebrtc };
std::string_view kindName(Kind k);  // "dns", "http", "webrtc"

enum class Transport : std::uint8_t { kUdp, kTcp };

// One DNS query as the responder saw it, in plain values: the hot path builds no JSON, and the
// memory store keeps it like this until the API reads it.
struct DnsQuery {
  std::int64_t time_ms = 0;
  core::Endpoint resolver;
  std::string qname;  // as asked: case and escapes preserved
  std::uint16_t qtype = 0;
  Transport transport = Transport::kUdp;
  bool edns = false;
  std::optional<wire::dns::ClientSubnet> ecs;
  std::string_view node;  // from internName: lives as long as the process
};

struct Observation {
  std::string token;
  Kind kind = Kind::kDns;
  std::string json;  // one serialised JSON object; kept as text because most are never read
  std::optional<DnsQuery> dns{};  // instead of json for the DNS responder's own observations
};

// Untrusted text (headers, posted strings) may be invalid UTF-8: replaced, never thrown.
std::string dumpJson(const core::Json& j);

// The JSON object of a DNS query (time, resolver, family, port, qname, qtype, transport, edns,
// ecs, node) as text, and of any observation: its json, or its DNS query rendered.
std::string observationText(const Observation& o);
std::string dnsQueryText(const DnsQuery& q);

// A copy of text that is never freed, the same view for equal texts (node names: a few per
// process, referenced by every observation).
std::string_view internName(std::string_view text);

struct TestRecord {
  std::string token;
  std::int64_t created_ms = 0;
  std::int64_t expires_ms = 0;
  std::vector<std::pair<Kind, std::string>> observations;  // in arrival order
};

class Store {
 public:
  virtual ~Store() = default;
  Store() = default;
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;
  Store(Store&&) = delete;
  Store& operator=(Store&&) = delete;

  [[nodiscard]] virtual std::string_view backend() const = 0;
  // True when append does no I/O and takes microseconds, so that an event loop may call it
  // itself instead of handing observations to the recorder thread.
  [[nodiscard]] virtual bool appendsInline() const { return false; }
  virtual core::Status create(const std::string& token, std::int64_t now_ms,
                              std::int64_t ttl_ms) = 0;
  // Appends what belongs to live tokens, and may move what it keeps out of batch; returns how
  // many were stored.
  virtual core::Result<std::size_t> append(std::span<Observation> batch, std::int64_t now_ms) = 0;
  // nullopt when the token is unknown or expired.
  virtual core::Result<std::optional<TestRecord>> get(const std::string& token,
                                                      std::int64_t now_ms) = 0;
  // Drops expired tests (backends with native expiry do nothing).
  virtual void expire(std::int64_t /*now_ms*/) {}
  // Number of live tests, when cheap to know (for metrics); -1 otherwise.
  virtual std::int64_t size() { return -1; }
};

// "memory", "sqlite:PATH" or "redis://HOST:PORT"; kInvalidArgument for another shape,
// kEnvironment when the backend cannot be opened or reached.
core::Result<std::unique_ptr<Store>> openStore(std::string_view spec, const Limits& limits);
core::Status checkStoreSpec(std::string_view spec);

std::unique_ptr<Store> makeMemoryStore(const Limits& limits);
core::Result<std::unique_ptr<Store>> openSqliteStore(const std::string& path, const Limits& limits);
core::Result<std::unique_ptr<Store>> openRedisStore(const std::string& host, std::uint16_t port,
                                                    const Limits& limits);

// The JSON document of a test: schema vpnleak.server.test/1 with dns, http and webrtc arrays.
core::Json testToJson(const TestRecord& rec, std::string_view zone);

// Milliseconds since the Unix epoch, and as RFC 3339 UTC text ("2025-01-02T03:04:05.678Z").
std::int64_t nowMs();
std::string isoTime(std::int64_t ms);

}  // namespace vpnleak::server
