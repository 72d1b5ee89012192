#include "probe/http_client.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include "core/sockaddr.hpp"

namespace vpnleak::probe {

namespace http = boost::beast::http;

namespace {

constexpr std::size_t kMaxBody = 1 << 20;

core::Status sendAll(int fd, const std::string& data, Deadline d) {
  std::size_t off = 0;
  while (off < data.size()) {
    const auto n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n > 0) {
      off += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno != EAGAIN) return core::sysError("send");
    pollfd p{fd, POLLOUT, 0};
    if (::poll(&p, 1, msLeft(d)) <= 0)
      return core::makeError(core::Errc::kTimeout, "send timed out");
  }
  return {};
}

}  // namespace

core::Result<HttpReply> httpRequest(const ServerUrl& url, const core::Endpoint& server,
                                    std::string_view method, std::string_view path,
                                    const Binding& binding, Deadline deadline,
                                    std::string_view body) {
  auto fd = openSocket(server.address.family(), SOCK_STREAM, binding);
  if (!fd) return fd.error();
  VL_TRY(connectWithin(fd->get(), server, deadline));
  HttpReply reply;
  sockaddr_storage local{};
  socklen_t llen = sizeof(local);
  if (::getsockname(fd->get(), reinterpret_cast<sockaddr*>(&local), &llen) == 0) {
    reply.local = core::fromSockaddr(local);
  }
  std::string req = std::string(method) + " " + url.base_path + std::string(path) +
                    " HTTP/1.1\r\nHost: " + url.hostHeader() +
                    "\r\nUser-Agent: vpnleak/" VPNLEAK_VERSION
                    "\r\nAccept: application/json\r\nConnection: close\r\n";
  if (!body.empty() || method == "POST") {
    req +=
        "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  }
  req += "\r\n";
  req += body;
  VL_TRY(sendAll(fd->get(), req, deadline));

  http::response_parser<http::string_body> parser;
  parser.body_limit(kMaxBody);
  parser.eager(true);
  std::string pending;
  char buf[8192];
  while (!parser.is_done()) {
    if (!waitReadable(fd->get(), deadline)) {
      return core::makeError(core::Errc::kTimeout,
                             "reading the reply from " + server.toString() + " timed out");
    }
    const auto n = ::recv(fd->get(), buf, sizeof(buf), 0);
    if (n < 0 && errno == EAGAIN) continue;
    if (n < 0) return core::sysError("recv from " + server.toString());
    boost::beast::error_code ec;
    if (n == 0) {
      parser.put_eof(ec);
      if (ec)
        return core::makeError(core::Errc::kMalformed,
                               "truncated HTTP reply from " + server.toString());
      break;
    }
    pending.append(buf, static_cast<std::size_t>(n));
    while (!pending.empty() && !parser.is_done()) {
      const auto used = parser.put(boost::asio::buffer(pending), ec);
      if (ec == http::error::need_more) break;
      if (ec) {
        return core::makeError(core::Errc::kMalformed, "malformed HTTP reply from " +
                                                           server.toString() + ": " + ec.message());
      }
      pending.erase(0, used);
    }
  }
  reply.status = static_cast<int>(parser.get().result_int());
  reply.body = std::move(parser.get().body());
  return reply;
}

core::Result<core::Json> httpJson(const ServerUrl& url, const core::Endpoint& server,
                                  std::string_view method, std::string_view path,
                                  const Binding& binding, Deadline deadline) {
  auto r = httpRequest(url, server, method, path, binding, deadline);
  if (!r) return r.error();
  auto j =
      core::parseJson(r->body, "the reply to " + std::string(method) + " " + std::string(path));
  if (r->status < 200 || r->status > 299) {
    const std::string msg = j && j->is_object() ? j->value("error", "") : "";
    return core::makeError(core::Errc::kEnvironment, std::string(method) + " " + std::string(path) +
                                                         " on " + server.toString() + ": HTTP " +
                                                         std::to_string(r->status) +
                                                         (msg.empty() ? "" : " (" + msg + ")"));
  }
  if (!j) return core::makeError(core::Errc::kMalformed, j.error().message());
  return j;
}

}  // namespace vpnleak::probe
