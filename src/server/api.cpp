#include "server/api.hpp"

#include <algorithm>
#include <charconv>

#include "server/candidate.hpp"
#include "server/token.hpp"

namespace vpnleak::server {

namespace {

constexpr std::size_t kMaxCandidatesPerPost = 64;
constexpr std::size_t kMaxNamesPerTest = 100;
constexpr std::size_t kMaxStoredText = 512;

HttpResponse jsonResponse(unsigned status, const core::Json& doc) {
  HttpResponse r;
  r.status = status;
  r.body = dumpJson(doc);
  r.body += '\n';
  r.headers = {{"Cache-Control", "no-store"}, {"Access-Control-Allow-Origin", "*"}};
  return r;
}

std::string_view queryParam(std::string_view query, std::string_view key) {
  while (!query.empty()) {
    const auto amp = query.find('&');
    const auto pair = query.substr(0, amp);
    const auto eq = pair.find('=');
    if (pair.substr(0, eq) == key) return eq == std::string_view::npos ? "" : pair.substr(eq + 1);
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return {};
}

std::string lowercase(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

core::Json endpoints(const std::vector<core::Endpoint>& eps) {
  core::Json a = core::Json::array();
  for (const auto& e : eps) a.push_back({{"address", e.address.toString()}, {"port", e.port}});
  return a;
}

HttpResponse methodNotAllowed(std::string_view allowed) {
  auto r = httpError(405, "method not allowed here; use " + std::string(allowed));
  r.headers.emplace_back("Allow", allowed);
  return r;
}

void addUnique(core::Json& arr, const core::Json& v) {
  if (std::find(arr.begin(), arr.end(), v) == arr.end()) arr.push_back(v);
}

// Who asked, from where, and what the browser revealed: the part of a test clients judge.
core::Json summarize(const core::Json& doc) {
  core::Json resolvers = core::Json::array();
  core::Json http = core::Json::array();
  for (const auto& d : doc["dns"]) addUnique(resolvers, d.value("resolver", ""));
  std::vector<core::IpAddress> http_ips;
  for (const auto& h : doc["http"]) {
    addUnique(http, h.value("ip", ""));
    if (auto a = core::IpAddress::parse(h.value("ip", ""))) http_ips.push_back(*a);
  }
  std::vector<Candidate> cands;
  for (const auto& w : doc["webrtc"]) {
    if (auto c = parseCandidate(w.value("candidate", ""))) cands.push_back(std::move(*c));
  }
  core::Json s{{"resolvers", resolvers}, {"http_addresses", http}};
  if (cands.empty()) {
    s["webrtc"] = nullptr;
  } else {
    const auto v = judgeWebrtc(cands, http_ips);
    s["webrtc"] = {{"verdict", v.leak ? "leak" : "pass"},
                   {"public_addresses", v.public_addresses},
                   {"leaked", v.leaked}};
  }
  return s;
}

}  // namespace

HttpResponse httpError(unsigned status, std::string_view message) {
  core::Json doc = core::jsonDocument("vpnleak.error/1");
  doc["status"] = status;
  doc["error"] = message;
  return jsonResponse(status, doc);
}

Api::Api(const ServerConfig& cfg, Store& store, Recorder& recorder, Metrics& metrics,
         bool serve_metrics)
    : cfg_(cfg),
      store_(store),
      recorder_(recorder),
      metrics_(metrics),
      serve_metrics_(serve_metrics) {}

HttpResponse Api::handle(const HttpRequest& req) const {
  const auto qmark = req.target.find('?');
  const std::string_view path = req.target.substr(0, qmark);
  const std::string_view query =
      qmark == std::string_view::npos ? "" : req.target.substr(qmark + 1);
  const bool get = req.method == "GET" || req.method == "HEAD";
  const bool post = req.method == "POST";
  if (req.method == "OPTIONS") {  // CORS preflight for cross-origin POSTs with a JSON body
    HttpResponse r{204,
                   "text/plain",
                   "",
                   {{"Access-Control-Allow-Origin", "*"},
                    {"Access-Control-Allow-Methods", "GET, POST"},
                    {"Access-Control-Allow-Headers", "Content-Type"},
                    {"Access-Control-Max-Age", "86400"}}};
    return r;
  }
  if (path == "/api/v1/ip") return get ? ip(req, query) : methodNotAllowed("GET");
  if (path == "/api/v1/config") return get ? config() : methodNotAllowed("GET");
  if (path == "/api/v1/tests") return post ? createTest(req, query) : methodNotAllowed("POST");
  if (path.starts_with("/api/v1/tests/")) {
    std::string_view rest = path.substr(14);
    const auto slash = rest.find('/');
    const std::string token = lowercase(rest.substr(0, slash));
    if (!isToken(token)) return httpError(404, "no such test: a token is 32 hex digits");
    const std::string_view sub = slash == std::string_view::npos ? "" : rest.substr(slash);
    if (sub.empty()) return get ? getTest(token) : methodNotAllowed("GET");
    if (sub == "/webrtc") return post ? postWebrtc(req, token) : methodNotAllowed("POST");
    return httpError(404, "no such resource");
  }
  if (path == "/webrtc" || path == "/") {
    if (!get) return methodNotAllowed("GET");
    return HttpResponse{200,
                        "text/html; charset=utf-8",
                        std::string(webrtcPage()),
                        {{"Cache-Control", "no-store"}}};
  }
  if (path == "/metrics" && serve_metrics_) return get ? metrics() : methodNotAllowed("GET");
  return httpError(404, "no such resource");
}

HttpResponse Api::ip(const HttpRequest& req, std::string_view query) const {
  // The busiest endpoint, and every value in it is plain ASCII: formatted by hand.
  const std::string token = lowercase(queryParam(query, "token"));
  if (isToken(token)) recordHttp(token, req, "/api/v1/ip");
  HttpResponse r;
  r.body.reserve(96);
  r.body += R"({"schema":"vpnleak.server.ip/1","ip":")";
  if (req.peer_address.empty()) {
    r.body += req.peer.address.toString();
  } else {
    r.body += req.peer_address;
  }
  r.body += R"(","family":")";
  r.body += core::familyName(req.peer.address.family());
  r.body += R"(","port":)";
  r.body += std::to_string(req.peer.port);
  r.body += "}\n";
  r.headers = {{"Cache-Control", "no-store"}, {"Access-Control-Allow-Origin", "*"}};
  return r;
}

HttpResponse Api::config() const {
  core::Json doc = core::jsonDocument("vpnleak.server.config/1");
  doc["version"] = VPNLEAK_VERSION;
  doc["zone"] = cfg_.zone;
  doc["http"] = endpoints(cfg_.http);
  doc["dns"] = endpoints(cfg_.dns);
  doc["stun"] = endpoints(cfg_.stun);
  doc["answer_v4"] = cfg_.answer_v4 ? core::Json(cfg_.answer_v4->toString()) : core::Json(nullptr);
  doc["answer_v6"] = cfg_.answer_v6 ? core::Json(cfg_.answer_v6->toString()) : core::Json(nullptr);
  doc["token_ttl"] = cfg_.token_ttl.count();
  doc["names_per_test"] = cfg_.names_per_test;
  doc["store"] = store_.backend();
  return jsonResponse(200, doc);
}

HttpResponse Api::createTest(const HttpRequest& req, std::string_view query) const {
  std::size_t names = cfg_.names_per_test;
  if (const auto n = queryParam(query, "names"); !n.empty()) {
    const auto [p, ec] = std::from_chars(n.data(), n.data() + n.size(), names);
    if (ec != std::errc() || p != n.data() + n.size() || names < 1 || names > kMaxNamesPerTest) {
      return httpError(400, "names must be a number from 1 to 100");
    }
  }
  auto token = newToken();
  auto labels = randomHex(8 * names);
  if (!token || !labels) return httpError(500, "cannot draw a random token");
  const auto now = nowMs();
  const auto ttl_ms = static_cast<std::int64_t>(cfg_.token_ttl.count()) * 1000;
  if (auto st = store_.create(*token, now, ttl_ms); !st) {
    bump(metrics_.store_errors);
    return httpError(503, "the result store is unavailable; try again later");
  }
  bump(metrics_.tests_created);
  recordHttp(*token, req, "/api/v1/tests");
  core::Json doc = core::jsonDocument("vpnleak.server.new-test/1");
  doc["token"] = *token;
  doc["zone"] = cfg_.zone;
  doc["expires"] = isoTime(now + ttl_ms);
  doc["names"] = core::Json::array();
  for (std::size_t i = 0; i < names; ++i) {
    doc["names"].push_back("n" + std::to_string(i) + "-" + labels->substr(8 * i, 8) + "." + *token +
                           "." + cfg_.zone);
  }
  doc["results"] = "/api/v1/tests/" + *token;
  doc["webrtc"] = "/webrtc?token=" + *token;
  return jsonResponse(201, doc);
}

HttpResponse Api::getTest(const std::string& token) const {
  // Read your writes: what this node has answered (a DNS query, an HTTP request) is in the store
  // before it is read, even with SQLite or Redis behind the recorder's queue. The memory store
  // is written inline and has nothing to wait for.
  recorder_.flush();
  auto rec = store_.get(token, nowMs());
  if (!rec) {
    bump(metrics_.store_errors);
    return httpError(503, "the result store is unavailable; try again later");
  }
  if (!rec->has_value()) return httpError(404, "no such test (unknown or expired token)");
  core::Json doc = testToJson(**rec, cfg_.zone);
  doc["summary"] = summarize(doc);
  return jsonResponse(200, doc);
}

HttpResponse Api::postWebrtc(const HttpRequest& req, const std::string& token) const {
  const auto body = core::Json::parse(req.body, nullptr, false);
  if (!body.is_object() || !body.contains("candidates") || !body["candidates"].is_array()) {
    return httpError(400, "expected a JSON object {\"candidates\": [\"candidate:...\", ...]}");
  }
  if (body["candidates"].size() > kMaxCandidatesPerPost) {
    return httpError(413, "at most 64 candidates per request");
  }
  recorder_.flush();  // the test's HTTP requests through this node are compared below
  auto rec = store_.get(token, nowMs());
  if (!rec) return httpError(503, "the result store is unavailable; try again later");
  if (!rec->has_value()) return httpError(404, "no such test (unknown or expired token)");
  // The addresses this test's HTTP requests came from, this one included.
  std::vector<core::IpAddress> http_ips{req.peer.address};
  for (const auto& [kind, text] : (*rec)->observations) {
    if (kind != Kind::kHttp) continue;
    const auto j = core::Json::parse(text, nullptr, false);
    if (auto a = core::IpAddress::parse(j.is_object() ? j.value("ip", "") : ""))
      http_ips.push_back(*a);
  }
  std::vector<Candidate> cands;
  std::size_t rejected = 0;
  for (const auto& item : body["candidates"]) {
    const auto* line = item.is_string()                                 ? &item
                       : item.is_object() && item.contains("candidate") ? &item["candidate"]
                                                                        : nullptr;
    if (line == nullptr || !line->is_string() || line->get_ref<const std::string&>().empty()) {
      ++rejected;
      continue;
    }
    const auto& text = line->get_ref<const std::string&>();
    auto c = parseCandidate(std::string_view(text).substr(0, kMaxStoredText));
    if (!c) {
      ++rejected;
      continue;
    }
    core::Json j{{"time", isoTime(nowMs())},
                 {"candidate", text.substr(0, kMaxStoredText)},
                 {"type", c->type},
                 {"protocol", c->protocol},
                 {"address", c->address},
                 {"port", c->port},
                 {"related_address", c->related_address},
                 {"mdns", c->mdns()},
                 {"http_ip", req.peer.address.toString()},
                 {"node", cfg_.node}};
    recorder_.record(Observation{token, Kind::kWebrtc, dumpJson(j)});
    cands.push_back(std::move(*c));
  }
  recordHttp(token, req, "/api/v1/tests/{token}/webrtc");
  const auto v = judgeWebrtc(cands, http_ips);
  core::Json doc = core::jsonDocument("vpnleak.server.webrtc/1");
  doc["token"] = token;
  doc["stored"] = cands.size();
  doc["rejected"] = rejected;
  doc["verdict"] = v.leak ? "leak" : "pass";
  doc["http_address"] = req.peer.address.toString();
  doc["public_addresses"] = v.public_addresses;
  doc["leaked"] = v.leaked;
  return jsonResponse(200, doc);
}

HttpResponse Api::metrics() const {
  return HttpResponse{200, "text/plain; version=0.0.4", metrics_.render(store_.size()), {}};
}

void Api::recordHttp(const std::string& token, const HttpRequest& req,
                     std::string_view path) const {
  core::Json j{{"time", isoTime(nowMs())},
               {"ip", req.peer.address.toString()},
               {"family", core::familyName(req.peer.address.family())},
               {"port", req.peer.port},
               {"path", path},
               {"user_agent", req.user_agent.substr(0, 256)},
               {"node", cfg_.node}};
  recorder_.record(Observation{token, Kind::kHttp, dumpJson(j)});
}

}  // namespace vpnleak::server
