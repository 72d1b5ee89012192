// A minimal HTTP/1.0 responder for GET /metrics: one thread, one request per connection,
// bounded request size and time. Enough for a Prometheus scraper; nothing else is served.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "core/ip.hpp"
#include "core/result.hpp"
#include "core/unique_fd.hpp"

namespace vpnleak::guard {

class MetricsServer {
 public:
  using Body = std::function<std::string()>;

  // Binds in the calling thread's namespace; port 0 picks one (see port()).
  static core::Result<std::unique_ptr<MetricsServer>> start(const core::Endpoint& addr, Body body);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer(MetricsServer&&) = delete;
  MetricsServer& operator=(MetricsServer&&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  [[nodiscard]] std::uint16_t port() const { return port_; }

 private:
  MetricsServer(core::UniqueFd listen, core::UniqueFd wake, std::uint16_t port, Body body);
  void loop();
  void serve(int fd);

  core::UniqueFd listen_;
  core::UniqueFd wake_;  // eventfd: written by the destructor to end loop()
  std::uint16_t port_;
  Body body_;
  std::thread thread_;
};

}  // namespace vpnleak::guard
