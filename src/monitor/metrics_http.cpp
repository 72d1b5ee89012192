#include "monitor/metrics_http.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstring>

#include "core/sockaddr.hpp"

namespace vpnleak::monitor {

namespace {

constexpr std::size_t kRequestLimit = 4096;
constexpr auto kRequestTime = std::chrono::milliseconds(1000);

core::Result<core::UniqueFd> listenOn(const core::Endpoint& ep, std::uint16_t& bound_port) {
  sockaddr_storage ss{};
  socklen_t len = core::toSockaddr(ep, ss);
  core::UniqueFd fd(::socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return core::sysError("cannot open the --metrics socket");
  const int on = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
  auto* sa = reinterpret_cast<sockaddr*>(&ss);
  if (::bind(fd.get(), sa, len) != 0) {
    return core::sysError("cannot listen on --metrics " + ep.toString());
  }
  len = sizeof ss;
  if (::listen(fd.get(), 8) != 0 || ::getsockname(fd.get(), sa, &len) != 0) {
    return core::sysError("cannot listen on --metrics " + ep.toString());
  }
  bound_port = core::fromSockaddr(ss).port;
  return fd;
}

void writeAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const auto n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

}  // namespace

core::Result<std::unique_ptr<MetricsHttp>> MetricsHttp::start(const core::Endpoint& addr,
                                                              Render render) {
  std::uint16_t port = 0;
  VL_TRY_ASSIGN(auto listener, listenOn(addr, port));
  std::array<int, 2> fds{};
  if (::pipe2(fds.data(), O_CLOEXEC) != 0) return core::sysError("pipe");
  return std::unique_ptr<MetricsHttp>(new MetricsHttp(std::move(listener), core::UniqueFd(fds[0]),
                                                      core::UniqueFd(fds[1]), port,
                                                      std::move(render)));
}

MetricsHttp::MetricsHttp(core::UniqueFd listener, core::UniqueFd stop_read,
                         core::UniqueFd stop_write, std::uint16_t port, Render render)
    : listener_(std::move(listener)),
      stop_read_(std::move(stop_read)),
      stop_write_(std::move(stop_write)),
      port_(port),
      render_(std::move(render)),
      thread_([this] { run(); }) {}

MetricsHttp::~MetricsHttp() {
  stop_write_.reset();  // the reader sees end-of-file: the thread's signal to return
  if (thread_.joinable()) thread_.join();
}

void MetricsHttp::run() {
  for (;;) {
    std::array<pollfd, 2> p{pollfd{stop_read_.get(), POLLIN, 0},
                            pollfd{listener_.get(), POLLIN, 0}};
    if (::poll(p.data(), p.size(), -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (p[0].revents != 0) return;
    if ((p[1].revents & POLLIN) == 0) continue;
    core::UniqueFd conn(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (conn.valid()) answer(conn.get());
  }
}

void MetricsHttp::answer(int fd) const {
  std::string request;
  const auto deadline = std::chrono::steady_clock::now() + kRequestTime;
  while (request.find("\r\n\r\n") == std::string::npos && request.size() < kRequestLimit) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd p{fd, POLLIN, 0};
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) return;
    std::array<char, 1024> buf{};
    const auto n = ::recv(fd, buf.data(), buf.size(), 0);
    if (n <= 0) return;
    request.append(buf.data(), static_cast<std::size_t>(n));
  }
  const auto path_end = request.find_first_of(" ?", 4);
  const bool ok = request.rfind("GET ", 0) == 0 && request.substr(4, path_end - 4) == "/metrics";
  const std::string body = ok ? render_() : "not found: only GET /metrics is served\n";
  const std::string head = std::string("HTTP/1.0 ") + (ok ? "200 OK" : "404 Not Found") +
                           "\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8"
                           "\r\nContent-Length: " +
                           std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n";
  writeAll(fd, head);
  writeAll(fd, body);
}

}  // namespace vpnleak::monitor
