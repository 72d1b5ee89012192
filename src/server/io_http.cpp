// HTTP/1.1 with Boost.Beast: keep-alive, limits on header and body size, requests per
// connection, idle time and concurrent connections. Every request is answered by Api; a
// request Beast cannot parse gets a JSON 4xx and the connection is closed.
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
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

// The status a request that Beast could not read deserves, or 0 to just hang up.
unsigned statusForReadError(const boost::system::error_code& ec) {
  if (ec == http::error::header_limit) return 431;
  if (ec == http::error::body_limit) return 413;
  if (ec == http::error::end_of_stream || ec == http::error::partial_message) return 0;
  if (ec.category() == http::make_error_code(http::error::bad_target).category()) return 400;
  return 0;  // timeouts, resets: nobody to answer
}

// The response bytes, written by hand: Beast's fields container and serializer allocate per
// header, which is most of the cost of a tiny response like /api/v1/ip.
void serialize(const HttpResponse& r, unsigned version, bool keep_alive, bool head,
               std::string& out) {
  const auto reason = http::obsolete_reason(static_cast<http::status>(r.status));
  out.clear();  // keeps its capacity from the connection's previous response
  out += version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
  out += std::to_string(r.status);
  out += ' ';
  out.append(reason.data(), reason.size());
  out += "\r\nServer: vpnleak\r\nContent-Type: ";
  out += r.content_type;
  for (const auto& [k, v] : r.headers) {
    out += "\r\n";
    out += k;
    out += ": ";
    out += v;
  }
  out += "\r\nContent-Length: ";
  out += std::to_string(r.body.size());
  out += keep_alive ? (version == 10 ? "\r\nConnection: keep-alive" : "") : "\r\nConnection: close";
  out += "\r\n\r\n";
  if (!head) out += r.body;
}

HttpResponse answer(const Api& api, const Request& req, const core::Endpoint& peer) {
  const HttpRequest r{
      std::string_view(req.method_string().data(), req.method_string().size()),
      std::string_view(req.target().data(), req.target().size()), req.body(),
      std::string_view(req[http::field::user_agent].data(), req[http::field::user_agent].size()),
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
      : sock_(std::move(s)), timer_(sock_.get_executor()), shared_(shared), api_(api) {
    bump(shared_.metrics->http_connections_active);
    boost::system::error_code ec;
    const auto ep = sock_.remote_endpoint(ec);
    if (!ec) peer_ = endpointFrom(ep.data());
  }
  ~HttpSession() {
    shared_.metrics->http_connections_active.fetch_sub(1, std::memory_order_relaxed);
  }
  HttpSession(const HttpSession&) = delete;
  HttpSession& operator=(const HttpSession&) = delete;

  void start() {
    deadline_ = std::chrono::steady_clock::now() + shared_.limits.idle_timeout;
    watch();
    read();
  }

 private:
  // One timer per connection that re-arms itself only when the deadline moved, instead of a
  // timer operation per read and write: a request (and its response) must complete within the
  // idle timeout of when its read began, which also cuts off clients that trickle bytes.
  void watch() {
    timer_.expires_at(deadline_);
    timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (ec || self->closed_) return;
      if (std::chrono::steady_clock::now() >= self->deadline_) return self->close();
      self->watch();
    });
  }

  void read() {
    deadline_ = std::chrono::steady_clock::now() + shared_.limits.idle_timeout;
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(shared_.limits.http_header_bytes));
    parser_->body_limit(shared_.limits.http_body_bytes);
    http::async_read(sock_, buffer_, *parser_,
                     [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
                       self->onRead(ec);
                     });
  }

  void onRead(const boost::system::error_code& ec) {
    if (ec) {
      const unsigned status = statusForReadError(ec);
      if (status == 0) return close();
      const auto msg = status == 431   ? "request header too large"
                       : status == 413 ? "request body too large"
                                       : "malformed HTTP request";
      return send(httpError(status, msg), 11, false, false);
    }
    const Request& req = parser_->get();
    const bool keep = req.keep_alive() && ++served_ < shared_.limits.http_requests_per_connection;
    send(answer(api_, req, peer_), req.version(), keep, req.method() == http::verb::head);
  }

  void send(const HttpResponse& r, unsigned version, bool keep, bool head) {
    countStatus(*shared_.metrics, r.status);
    serialize(r, version, keep, head, out_);
    keep_ = keep;
    asio::async_write(
        sock_, asio::buffer(out_),
        [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
          if (ec || !self->keep_) return self->close();
          self->read();
        });
  }

  void close() {
    if (closed_) return;
    closed_ = true;
    boost::system::error_code ignored;
    sock_.shutdown(tcp::socket::shutdown_send, ignored);
    sock_.close(ignored);
    timer_.cancel();
  }

  tcp::socket sock_;
  asio::steady_timer timer_;
  std::chrono::steady_clock::time_point deadline_;
  bool closed_ = false;
  beast::flat_buffer buffer_;  // bounded by the parser's header and body limits
  std::optional<http::request_parser<http::string_body>> parser_;
  std::string out_;
  bool keep_ = false;
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
