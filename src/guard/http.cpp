#include "guard/http.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include <array>
#include <chrono>
#include <cstring>

#include "core/sockaddr.hpp"

namespace vpnleak::guard {

namespace {

constexpr std::size_t kMaxRequest = 4096;
constexpr int kRequestTimeoutMs = 1000;

void sendAll(int fd, const std::string& data) {
  std::size_t off = 0;
  while (off < data.size()) {
    const auto n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return;
    off += static_cast<std::size_t>(n);
  }
}

core::Result<core::UniqueFd> bindListener(const core::Endpoint& addr, std::uint16_t& port) {
  sockaddr_storage ss{};
  socklen_t len = core::toSockaddr(addr, ss);
  core::UniqueFd fd(::socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd.valid()) return core::sysError("socket");
  const int one = 1;
  (void)::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0) {  // NOLINT: sockaddr API
    return core::sysError("bind --metrics " + addr.toString());
  }
  if (::listen(fd.get(), 16) != 0) return core::sysError("listen");
  if (::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&ss), &len) != 0) {  // NOLINT
    return core::sysError("getsockname");
  }
  port = core::fromSockaddr(ss).port;
  return fd;
}

}  // namespace

core::Result<std::unique_ptr<MetricsServer>> MetricsServer::start(const core::Endpoint& addr,
                                                                  Body body) {
  std::uint16_t port = 0;
  VL_TRY_ASSIGN(auto listen, bindListener(addr, port));
  core::UniqueFd wake(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!wake.valid()) return core::sysError("eventfd");
  return std::unique_ptr<MetricsServer>(
      new MetricsServer(std::move(listen), std::move(wake), port, std::move(body)));
}

MetricsServer::MetricsServer(core::UniqueFd listen, core::UniqueFd wake, std::uint16_t port,
                             Body body)
    : listen_(std::move(listen)), wake_(std::move(wake)), port_(port), body_(std::move(body)) {
  thread_ = std::thread([this] { loop(); });
}

MetricsServer::~MetricsServer() {
  const std::uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(wake_.get(), &one, sizeof(one));
  if (thread_.joinable()) thread_.join();
}

void MetricsServer::loop() {
  for (;;) {
    std::array<pollfd, 2> fds{pollfd{listen_.get(), POLLIN, 0}, pollfd{wake_.get(), POLLIN, 0}};
    if (::poll(fds.data(), fds.size(), -1) < 0 && errno != EINTR) return;
    if ((fds[1].revents & POLLIN) != 0) return;
    if ((fds[0].revents & POLLIN) == 0) continue;
    core::UniqueFd conn(::accept4(listen_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (conn.valid()) serve(conn.get());
  }
}

void MetricsServer::serve(int fd) {
  std::string req;
  std::array<char, 1024> buf{};
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(kRequestTimeoutMs);
  while (req.find("\r\n\r\n") == std::string::npos && req.size() < kMaxRequest) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd p{fd, POLLIN, 0};
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) return;
    const auto n = ::recv(fd, buf.data(), buf.size(), 0);
    if (n <= 0) return;
    req.append(buf.data(), static_cast<std::size_t>(n));
  }
  const bool metrics = req.rfind("GET /metrics ", 0) == 0 || req.rfind("GET /metrics?", 0) == 0;
  const std::string body = metrics ? body_() : "only GET /metrics is served here\n";
  const std::string status = metrics ? "200 OK" : "404 Not Found";
  sendAll(fd, "HTTP/1.0 " + status +
                  "\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: " +
                  std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body);
}

}  // namespace vpnleak::guard
