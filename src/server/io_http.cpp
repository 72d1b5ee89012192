// HTTP/1.1 with Boost.Beast's parser: keep-alive, limits on header and body size, requests per
// connection, idle time and concurrent connections. Every request is answered by Api; a
// request Beast cannot parse gets a JSON 4xx and the connection is closed.
//
// The hot path is /api/v1/ip on keep-alive connections, where the kernel's work (one recv, one
// send) is most of the cost; what is left of ours is kept small: a parser without a fields
// container, responses serialised by hand into a reused buffer and written directly, sockets
// and timers bound to the io_context's executor type instead of a type-erased one.
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <memory>
#include <optional>

#include "server/asio_acceptor.hpp"
#include "server/io.hpp"

namespace vpnleak::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {

using Socket = Acceptor::Socket;
using Timer = asio::basic_waitable_timer<std::chrono::steady_clock,
                                         asio::wait_traits<std::chrono::steady_clock>,
                                         asio::io_context::executor_type>;

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

// What the API reads of a request, in strings that a connection reuses from one request to
// the next.
struct RequestParts {
  std::string method, target, user_agent, body;
  http::verb verb = http::verb::unknown;
  unsigned version = 11;
};

// Beast's request parser without its fields container, which allocates for every header: it
// keeps only what the API reads, so that an ordinary request allocates nothing.
class RequestParser final : public http::basic_parser<true> {
 public:
  RequestParser(RequestParts& parts, const Limits& limits) : parts_(parts) {
    parts_.method.clear();
    parts_.target.clear();
    parts_.user_agent.clear();
    parts_.body.clear();
    header_limit(static_cast<std::uint32_t>(limits.http_header_bytes));
    body_limit(limits.http_body_bytes);
    eager(true);
  }

 private:
  using Error = boost::system::error_code;
  void on_request_impl(http::verb verb, beast::string_view method, beast::string_view target,
                       int version, Error& /*ec*/) override {
    parts_.verb = verb;
    parts_.method.assign(method.data(), method.size());
    parts_.target.assign(target.data(), target.size());
    parts_.version = static_cast<unsigned>(version);
  }
  void on_response_impl(int /*code*/, beast::string_view /*reason*/, int /*version*/,
                        Error& /*ec*/) override {}
  void on_field_impl(http::field name, beast::string_view /*name_string*/, beast::string_view value,
                     Error& /*ec*/) override {
    if (name != http::field::user_agent || user_agent_seen_) return;
    parts_.user_agent.assign(value.data(), value.size());
    user_agent_seen_ = true;
  }
  void on_header_impl(Error& /*ec*/) override {}
  void on_body_init_impl(const boost::optional<std::uint64_t>& length, Error& /*ec*/) override {
    // A length over the body limit was refused before this.
    if (length) parts_.body.reserve(static_cast<std::size_t>(*length));
  }
  std::size_t on_body_impl(beast::string_view body, Error& /*ec*/) override {
    parts_.body.append(body.data(), body.size());
    return body.size();
  }
  void on_chunk_header_impl(std::uint64_t /*size*/, beast::string_view /*extensions*/,
                            Error& /*ec*/) override {}
  std::size_t on_chunk_body_impl(std::uint64_t /*remain*/, beast::string_view body,
                                 Error& /*ec*/) override {
    parts_.body.append(body.data(), body.size());
    return body.size();
  }
  void on_finish_impl(Error& /*ec*/) override {}

  RequestParts& parts_;
  bool user_agent_seen_ = false;
};

HttpResponse answer(const Api& api, const RequestParts& req, const core::Endpoint& peer,
                    std::string_view peer_address) {
  return api.handle(
      HttpRequest{req.method, req.target, req.body, req.user_agent, peer, peer_address});
}

void countStatus(Metrics& m, unsigned status) {
  const unsigned cls = status / 100;
  if (cls >= 1 && cls <= 5) bump(m.http_responses[cls]);
}

// One connection. Requests are parsed straight from the connection's buffer and responses
// are written at once when the socket takes them (it nearly always does), falling back to an
// asynchronous write for the rest.
class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(Socket s, SharedState& shared, const Api& api, const core::Endpoint& peer)
      : sock_(std::move(s)),
        timer_(sock_.get_executor()),
        shared_(shared),
        api_(api),
        peer_(peer),
        peer_address_(peer.address.toString()) {
    bump(shared_.metrics->http_connections_active);
  }
  ~HttpSession() {
    if (!closed_) shared_.metrics->http_connections_active.fetch_sub(1, std::memory_order_relaxed);
  }
  HttpSession(const HttpSession&) = delete;
  HttpSession& operator=(const HttpSession&) = delete;
  HttpSession(HttpSession&&) = delete;
  HttpSession& operator=(HttpSession&&) = delete;

  void start() {
    boost::system::error_code ec;
    sock_.non_blocking(true, ec);  // for the direct writes
    if (ec) return close();
    sock_.set_option(asio::ip::tcp::no_delay(true), ec);  // a response is one write
    nextRequest();
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

  void nextRequest() {
    deadline_ = std::chrono::steady_clock::now() + shared_.limits.idle_timeout;
    parser_.emplace(req_, shared_.limits);
  }

  // The parser's header and body limits bound what accumulates in buffer_.
  void read() {
    sock_.async_read_some(
        buffer_.prepare(kReadSize),
        [self = shared_from_this()](const boost::system::error_code& ec, std::size_t n) {
          if (ec) return self->close();  // EOF (mid-request or not), reset: nobody to answer
          self->buffer_.commit(n);
          self->answerBuffered();
        });
  }

  // Answers every complete request in the buffer (pipelined ones too), then reads for more.
  void answerBuffered() {
    while (!closed_) {
      boost::system::error_code ec;
      buffer_.consume(parser_->put(buffer_.data(), ec));
      if (ec == http::error::need_more || (!ec && !parser_->is_done())) return read();
      if (ec) {
        const unsigned status = statusForReadError(ec);
        if (status == 0) return close();
        const auto* msg = status == 431   ? "request header too large"
                          : status == 413 ? "request body too large"
                                          : "malformed HTTP request";
        send(httpError(status, msg), 11, false, false);
        return;
      }
      const bool keep =
          parser_->keep_alive() && ++served_ < shared_.limits.http_requests_per_connection;
      if (!send(answer(api_, req_, peer_, peer_address_), req_.version, keep,
                req_.verb == http::verb::head)) {
        return;  // closed, or the rest of the response is being written
      }
    }
  }

  // True when the response went out whole and the connection goes on.
  bool send(const HttpResponse& r, unsigned version, bool keep, bool head) {
    countStatus(*shared_.metrics, r.status);
    serialize(r, version, keep, head, out_);
    boost::system::error_code ec;
    const std::size_t n = sock_.write_some(asio::buffer(out_), ec);
    if (ec && ec != asio::error::would_block && ec != asio::error::try_again) {
      close();
      return false;
    }
    if (n == out_.size()) return responded(keep);
    asio::async_write(
        sock_, asio::buffer(out_) + n,
        [self = shared_from_this(), keep](const boost::system::error_code& e, std::size_t) {
          if (e) return self->close();
          if (self->responded(keep)) self->answerBuffered();
        });
    return false;
  }

  // After a response went out: false when the connection ends here.
  bool responded(bool keep) {
    if (!keep) {
      close();
      return false;
    }
    nextRequest();
    return true;
  }

  void close() {
    if (closed_) return;
    closed_ = true;
    // Counted as open until here, not until the last reference goes (a pending timer wait).
    shared_.metrics->http_connections_active.fetch_sub(1, std::memory_order_relaxed);
    boost::system::error_code ignored;
    sock_.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
    sock_.close(ignored);
    timer_.cancel();
  }

  static constexpr std::size_t kReadSize = 8192;

  Socket sock_;
  Timer timer_;
  SharedState& shared_;
  const Api& api_;
  core::Endpoint peer_;
  std::string peer_address_;  // formatted once: /api/v1/ip answers with it every time
  std::chrono::steady_clock::time_point deadline_;
  bool closed_ = false;
  beast::flat_buffer buffer_;
  RequestParts req_;
  std::optional<RequestParser> parser_;  // a fresh one per request, writing into req_
  std::string out_;
  unsigned served_ = 0;
};

}  // namespace

void startHttp(asio::io_context& ioc, core::UniqueFd fd, SharedState& shared, bool metrics_only) {
  const Api& api = metrics_only ? *shared.metrics_api : *shared.api;
  auto on = [&shared, &api](Socket s, const core::Endpoint& peer) {
    if (shared.metrics->http_connections_active.load() >= shared.limits.max_http_connections) {
      bump(shared.metrics->http_connections_rejected);
      return;  // the socket closes as it goes out of scope
    }
    std::make_shared<HttpSession>(std::move(s), shared, api, peer)->start();
  };
  std::make_shared<Acceptor>(ioc, std::move(fd), std::move(on))->start();
}

unsigned parseAndHandleHttp(const std::uint8_t* data, std::size_t size, const Api& api,
                            const Limits& limits) {
  RequestParts req;
  RequestParser parser(req, limits);
  boost::system::error_code ec;
  parser.put(asio::buffer(data, size), ec);
  // Beast requires some input before put_eof (an assertion in debug builds); like the server,
  // which closes a connection that ends before its first byte, nothing to answer then.
  if (ec == http::error::need_more && !parser.got_some()) return 0;
  if (ec == http::error::need_more) parser.put_eof(ec);
  if (ec) return statusForReadError(ec);
  if (!parser.is_done()) return 0;
  return answer(api, req, core::Endpoint::parse("192.0.2.1:1").value(), {}).status;
}

}  // namespace vpnleak::server
