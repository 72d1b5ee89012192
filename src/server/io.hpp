// The event-loop side of the server: services that attach a bound socket to an Asio
// io_context. Declared without Asio types so that only the io_*.cpp files pay for its headers.
#pragma once

#include <atomic>
#include <cstddef>

#include "core/unique_fd.hpp"
#include "server/api.hpp"
#include "server/config.hpp"
#include "server/dns_responder.hpp"
#include "server/metrics.hpp"
#include "server/recorder.hpp"
#include "server/stun_responder.hpp"

namespace boost::asio {
class io_context;
}

namespace vpnleak::server {

// What the services of every loop share.
struct SharedState {
  const DnsResponder* dns = nullptr;
  const StunResponder* stun = nullptr;
  const Api* api = nullptr;
  const Api* metrics_api = nullptr;  // only /metrics, for the --metrics listener
  Recorder* recorder = nullptr;
  Metrics* metrics = nullptr;
  Limits limits;
  unsigned rrl_rate = 0;
  std::atomic<std::size_t> tcp_dns_connections{0};
};

// Each takes ownership of fd and runs until the io_context stops. UDP: answers leave through
// send_fd when it is valid (bindSenders), else through fd.
void startUdpDns(boost::asio::io_context& ioc, core::UniqueFd fd, SharedState& shared,
                 core::UniqueFd send_fd = {});
void startUdpStun(boost::asio::io_context& ioc, core::UniqueFd fd, SharedState& shared,
                  core::UniqueFd send_fd = {});
void startTcpDns(boost::asio::io_context& ioc, core::UniqueFd fd, SharedState& shared);
void startHttp(boost::asio::io_context& ioc, core::UniqueFd fd, SharedState& shared,
               bool metrics_only);

// Parses one HTTP/1.1 request the way the server does (same limits) and answers it through
// api; returns the status, or 0 when the bytes are not a complete request. For fuzzing.
unsigned parseAndHandleHttp(const std::uint8_t* data, std::size_t size, const Api& api,
                            const Limits& limits);

}  // namespace vpnleak::server
