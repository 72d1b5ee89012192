// The HTTP API and pages as a function from request to response, free of sockets and of
// Boost.Beast, so that routing, validation and every error path are unit-tested directly.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/ip.hpp"
#include "server/config.hpp"
#include "server/metrics.hpp"
#include "server/recorder.hpp"
#include "server/store.hpp"

namespace vpnleak::server {

struct HttpRequest {
  std::string_view method;  // "GET", "POST", ...
  std::string_view target;  // "/api/v1/ip?token=..."
  std::string_view body;
  std::string_view user_agent;
  core::Endpoint peer;  // IPv4-mapped IPv6 already unmapped
  // peer.address as text when the caller has it already (the HTTP server formats it once per
  // connection); empty: formatted when needed.
  std::string_view peer_address = {};
};

// Content type and headers are always string literals of this file's code (never request
// data, so never a header injection), hence views.
struct HttpResponse {
  unsigned status = 200;
  std::string_view content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string_view, std::string_view>> headers;
};

// A JSON error document {"schema":"vpnleak.error/1","status":N,"error":"..."}.
HttpResponse httpError(unsigned status, std::string_view message);

class Api {
 public:
  // serve_metrics: whether GET /metrics is answered here (false when --metrics has its own
  // listener, so that a public instance does not expose its counters).
  Api(const ServerConfig& cfg, Store& store, Recorder& recorder, Metrics& metrics,
      bool serve_metrics);

  [[nodiscard]] HttpResponse handle(const HttpRequest& req) const;

 private:
  [[nodiscard]] HttpResponse ip(const HttpRequest& req, std::string_view query) const;
  [[nodiscard]] HttpResponse config() const;
  [[nodiscard]] HttpResponse createTest(const HttpRequest& req, std::string_view query) const;
  [[nodiscard]] HttpResponse getTest(const std::string& token) const;
  [[nodiscard]] HttpResponse postWebrtc(const HttpRequest& req, const std::string& token) const;
  [[nodiscard]] HttpResponse metrics() const;
  void recordHttp(const std::string& token, const HttpRequest& req, std::string_view path) const;

  const ServerConfig& cfg_;
  Store& store_;
  Recorder& recorder_;
  Metrics& metrics_;
  bool serve_metrics_;
};

// The browser page (HTML + JS) that gathers ICE candidates and posts them to a test.
std::string_view webrtcPage();

}  // namespace vpnleak::server
