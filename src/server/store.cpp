#include "server/store.hpp"

#include <charconv>
#include <chrono>
#include <ctime>
#include <mutex>
#include <set>

namespace vpnleak::server {

namespace {

struct RedisSpec {
  std::string host;
  std::uint16_t port = 6379;
};

core::Result<RedisSpec> parseRedis(std::string_view spec) {
  auto bad = [&] {
    return core::makeError(core::Errc::kInvalidArgument,
                           "--store '" + std::string(spec) +
                               "': expected redis://HOST:PORT (IPv6 as redis://[ADDR]:PORT)");
  };
  std::string_view rest = spec.substr(8);  // after "redis://"
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  RedisSpec r;
  std::string_view port;
  if (!rest.empty() && rest.front() == '[') {
    const auto close = rest.find(']');
    if (close == std::string_view::npos) return bad();
    r.host = std::string(rest.substr(1, close - 1));
    rest = rest.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') return bad();
    if (!rest.empty()) port = rest.substr(1);
  } else {
    const auto colon = rest.find(':');
    r.host = std::string(rest.substr(0, colon));
    if (colon != std::string_view::npos) port = rest.substr(colon + 1);
  }
  if (r.host.empty() || r.host.find_first_of("/@ ") != std::string::npos) return bad();
  if (!port.empty()) {
    unsigned v = 0;
    const auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), v);
    if (ec != std::errc() || p != port.data() + port.size() || v == 0 || v > 65535) return bad();
    r.port = static_cast<std::uint16_t>(v);
  }
  return r;
}

}  // namespace

std::string_view kindName(Kind k) {
  switch (k) {
    case Kind::kDns:
      return "dns";
    case Kind::kHttp:
      return "http";
    case Kind::kWebrtc:
      return "webrtc";
  }
  return "unknown";
}

core::Status checkStoreSpec(std::string_view spec) {
  if (spec == "memory") return {};
  if (spec.starts_with("sqlite:")) {
    if (spec.size() == 7) {
      return core::makeError(core::Errc::kInvalidArgument,
                             "--store 'sqlite:': missing the file path (sqlite:PATH)");
    }
    return {};
  }
  if (spec.starts_with("redis://"))
    return parseRedis(spec).ok() ? core::Status{} : parseRedis(spec).error();
  return core::makeError(
      core::Errc::kInvalidArgument,
      "--store '" + std::string(spec) + "': expected memory, sqlite:PATH or redis://HOST:PORT");
}

core::Result<std::unique_ptr<Store>> openStore(std::string_view spec, const Limits& limits) {
  VL_TRY(checkStoreSpec(spec));
  if (spec == "memory") return makeMemoryStore(limits);
  if (spec.starts_with("sqlite:")) return openSqliteStore(std::string(spec.substr(7)), limits);
  VL_TRY_ASSIGN(RedisSpec r, parseRedis(spec));
  return openRedisStore(r.host, r.port, limits);
}

std::string dumpJson(const core::Json& j) {
  return j.dump(-1, ' ', false, core::Json::error_handler_t::replace);
}

namespace {

core::Json dnsQueryJson(const DnsQuery& q) {
  core::Json j{{"time", isoTime(q.time_ms)},
               {"resolver", q.resolver.address.toString()},
               {"family", core::familyName(q.resolver.address.family())},
               {"port", q.resolver.port},
               {"qname", q.qname},
               {"qtype", wire::dns::typeName(q.qtype)},
               {"transport", q.transport == Transport::kUdp ? "udp" : "tcp"},
               {"edns", q.edns},
               {"ecs", nullptr},
               {"node", q.node}};
  if (q.ecs) j["ecs"] = q.ecs->toString();
  return j;
}

}  // namespace

std::string dnsQueryText(const DnsQuery& q) { return dumpJson(dnsQueryJson(q)); }

std::string observationText(const Observation& o) { return o.dns ? dnsQueryText(*o.dns) : o.json; }

std::string_view internName(std::string_view text) {
  static std::mutex mu;
  static std::set<std::string, std::less<>> names;  // nodes are stable: views stay valid
  const std::lock_guard lock(mu);
  auto it = names.find(text);
  if (it == names.end()) it = names.emplace(text).first;
  return *it;
}

core::Json testToJson(const TestRecord& rec, std::string_view zone) {
  core::Json doc = core::jsonDocument("vpnleak.server.test/1");
  doc["token"] = rec.token;
  doc["zone"] = zone;
  doc["created"] = isoTime(rec.created_ms);
  doc["expires"] = isoTime(rec.expires_ms);
  doc["dns"] = core::Json::array();
  doc["http"] = core::Json::array();
  doc["webrtc"] = core::Json::array();
  for (const auto& [kind, text] : rec.observations) {
    auto parsed = core::Json::parse(text, nullptr, false);
    if (parsed.is_discarded()) continue;  // a foreign writer's garbage must not break the read
    doc[std::string(kindName(kind))].push_back(std::move(parsed));
  }
  return doc;
}

std::int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string isoTime(std::int64_t ms) {
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  char buf[40];
  const auto n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  std::snprintf(out, sizeof out, "%.*s.%03dZ", static_cast<int>(n), buf,
                static_cast<int>(ms % 1000));
  return out;
}

}  // namespace vpnleak::server
