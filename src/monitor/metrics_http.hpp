// GET /metrics over plain HTTP/1.0 for a Prometheus scraper: one thread, one short request per
// connection, bounded in size and time. Stopping it (the destructor) wakes the thread through a
// pipe instead of waiting out a poll timeout.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "core/ip.hpp"
#include "core/result.hpp"
#include "core/unique_fd.hpp"

namespace vpnleak::monitor {

class MetricsHttp {
 public:
  using Render = std::function<std::string()>;

  // Binds ADDR:PORT (port 0 picks a free one, see port()) in the caller's network namespace.
  static core::Result<std::unique_ptr<MetricsHttp>> start(const core::Endpoint& addr,
                                                          Render render);
  ~MetricsHttp();
  MetricsHttp(const MetricsHttp&) = delete;
  MetricsHttp(MetricsHttp&&) = delete;
  MetricsHttp& operator=(MetricsHttp&&) = delete;
  MetricsHttp& operator=(const MetricsHttp&) = delete;

  [[nodiscard]] std::uint16_t port() const { return port_; }

 private:
  MetricsHttp(core::UniqueFd listener, core::UniqueFd stop_read, core::UniqueFd stop_write,
              std::uint16_t port, Render render);
  void run();
  void answer(int fd) const;

  core::UniqueFd listener_;
  core::UniqueFd stop_read_, stop_write_;
  std::uint16_t port_;
  Render render_;
  std::thread thread_;
};

}  // namespace vpnleak::monitor
