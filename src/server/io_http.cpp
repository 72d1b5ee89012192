// HTTP/1.1 with Boost.Beast: keep-alive, limits on header and body size, requests per
// connection, idle time and concurrent connections. Every request is answered by Api; a
// request Beast cannot parse gets a JSON 4xx and the connection is closed.
#include <boost/asio/io_context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <optional>

#include "server/asio_acceptor.hpp"
#include "server/io.hpp"
#include "server/sockets.hpp"

namespace vpnleak::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

namespace {

using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

// The status a request that Beast could not read deserves, or 0 to just hang up.
unsigned statusForReadError(const boost::system::error_code& ec) {
  if (ec == http::error::header_limit) return 431;
  if (ec == http::error::body_limit) return 413;
  if (ec == http::error::end_of_stream || ec == http::error::partial_message) return 0;
  if (ec.category() == http::make_error_code(http::error::bad_target).category()) return 400;
  return 0;  // timeouts, resets: nobody to answer
}

Response toBeast(const HttpResponse& r, unsigned version, bool keep_alive, bool head) {
  Response res{static_cast<http::status>(r.status), version};
  res.set(http::field::server, "vpnleak");
  res.set(http::field::content_type, r.content_type);
  for (const auto& [k, v] : r.headers) res.set(k, v);
  res.keep_alive(keep_alive);
  if (head) {
    res.content_length(r.body.size());
  } else {
    res.body() = r.body;
    res.prepare_payload();
  }
  return res;
}

HttpResponse answer(const Api& api, const Request& req, const core::Endpoint& peer) {
  const HttpRequest r{std::string_view(req.method_string().data(), req.method_string().size()),
                      std::string_view(req.target().data(), req.target().size()),
                      req.body(),
                      std::string_view(req[http::field::user_agent].data(),
                                       req[http::field::user_agent].size()),
                      peer};
  return api.handle(r);
}

void countStatus(Metrics& m, unsigned status) {
  const unsigned cls = status / 100;
  if (cls >= 1 && cls <= 5) bump(m.http_responses[cls]);
}

class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(tcp::socket s, SharedState& shared, const Api& api)
      : stream_(std::move(s)), shared_(shared), api_(api) {
    bump(shared_.metrics->http_connections_active);
    boost::system::error_code ec;
    const auto ep = stream_.socket().remote_endpoint(ec);
    if (!ec) peer_ = endpointFrom(ep.data());
  }
  ~HttpSession() { shared_.metrics->http_connections_active.fetch_sub(1, std::memory_order_relaxed); }
  HttpSession(const HttpSession&) = delete;
  HttpSession& operator=(const HttpSession&) = delete;

  void start() { read(); }

 private:
  void read() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(shared_.limits.http_header_bytes));
    parser_->body_limit(shared_.limits.http_body_bytes);
    stream_.expires_after(shared_.limits.idle_timeout);
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
                       self->onRead(ec);
                     });
  }

  void onRead(const boost::system::error_code& ec) {
    if (ec) {
      const unsigned status = statusForReadError(ec);
      if (status == 0) return close();
      const auto msg = status == 431 ? "request header too large"
                       : status == 413 ? "request body too large"
                                       : "malformed HTTP request";
      return send(toBeast(httpError(status, msg), 11, false, false));
    }
    const Request& req = parser_->get();
    const bool keep = req.keep_alive() && ++served_ < shared_.limits.http_requests_per_connection;
    const auto r = answer(api_, req, peer_);
    send(toBeast(r, req.version(), keep, req.method() == http::verb::head));
  }

  void send(Response res) {
    countStatus(*shared_.metrics, res.result_int());
    response_ = std::move(res);
    stream_.expires_after(shared_.limits.idle_timeout);
    http::async_write(stream_, response_,
                      [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
                        if (ec || !self->response_.keep_alive()) return self->close();
                        self->read();
                      });
  }

  void close() {
    boost::system::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.close();
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_{8192};
  std::optional<http::request_parser<http::string_body>> parser_;
  Response response_;
  SharedState& shared_;
  const Api& api_;
  core::Endpoint peer_;
  unsigned served_ = 0;
};

}  // namespace

void startHttp(asio::io_context& ioc, core::UniqueFd fd, SharedState& shared, bool metrics_only) {
  const Api& api = metrics_only ? *shared.metrics_api : *shared.api;
  auto on = [&shared, &api](tcp::socket s) {
    if (shared.metrics->http_connections_active.load() >= shared.limits.max_http_connections) {
      bump(shared.metrics->http_connections_rejected);
      return;
    }
    std::make_shared<HttpSession>(std::move(s), shared, api)->start();
  };
  std::make_shared<Acceptor>(ioc, std::move(fd), std::move(on))->start();
}

unsigned parseAndHandleHttp(const std::uint8_t* data, std::size_t size, const Api& api,
                            const Limits& limits) {
  http::request_parser<http::string_body> parser;
  parser.header_limit(static_cast<std::uint32_t>(limits.http_header_bytes));
  parser.body_limit(limits.http_body_bytes);
  parser.eager(true);
  boost::system::error_code ec;
  parser.put(asio::buffer(data, size), ec);
  if (ec == http::error::need_more) parser.put_eof(ec);
  if (ec) return statusForReadError(ec);
  if (!parser.is_done()) return 0;
  return answer(api, parser.get(), core::Endpoint::parse("192.0.2.1:1").value()).status;
}

}  // namespace vpnleak::server
