// DNS over TCP (RFC 7766): two-octet length framing, several queries per connection answered
// in order, an idle timeout, and a cap on concurrent connections.
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <vector>

#include "server/asio_acceptor.hpp"
#include "server/io.hpp"
#include "server/sockets.hpp"

namespace vpnleak::server {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

class DnsTcpSession : public std::enable_shared_from_this<DnsTcpSession> {
 public:
  DnsTcpSession(tcp::socket s, SharedState& shared, const core::Endpoint& peer)
      : sock_(std::move(s)), timer_(sock_.get_executor()), shared_(shared), peer_(peer) {
    ++shared_.tcp_dns_connections;
  }
  ~DnsTcpSession() { --shared_.tcp_dns_connections; }
  DnsTcpSession(const DnsTcpSession&) = delete;
  DnsTcpSession& operator=(const DnsTcpSession&) = delete;
  DnsTcpSession(DnsTcpSession&&) = delete;
  DnsTcpSession& operator=(DnsTcpSession&&) = delete;

  void start() { readLength(); }

 private:
  void arm() {
    timer_.expires_after(shared_.limits.idle_timeout);
    timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (!ec) self->close();
    });
  }

  void close() {
    boost::system::error_code ignored;
    sock_.close(ignored);
    timer_.cancel();
  }

  void readLength() {
    arm();
    asio::async_read(sock_, asio::buffer(len_),
                     [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
                       if (ec) return self->close();
                       const std::size_t n = wire::load16(self->len_.data());
                       if (n < 12) return self->close();  // not even a header: hang up
                       self->query_.resize(n);
                       self->readQuery();
                     });
  }

  void readQuery() {
    asio::async_read(sock_, asio::buffer(query_),
                     [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
                       if (ec) return self->close();
                       self->answer();
                     });
  }

  void answer() {
    response_.resize(2 + 65535);
    auto o = shared_.dns->respond(query_, peer_, Transport::kTcp,
                                  wire::MutableBytes(response_.data() + 2, 65535), nowMs());
    if (o.observation) shared_.recorder->record(std::move(*o.observation));
    if (o.size == 0) return close();  // a message we must not answer ends the connection
    response_[0] = static_cast<std::uint8_t>(o.size >> 8);
    response_[1] = static_cast<std::uint8_t>(o.size);
    asio::async_write(
        sock_, asio::buffer(response_.data(), o.size + 2),
        [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
          if (ec) return self->close();
          self->readLength();
        });
  }

  tcp::socket sock_;
  asio::steady_timer timer_;
  SharedState& shared_;
  core::Endpoint peer_;
  std::array<std::uint8_t, 2> len_{};
  std::vector<std::uint8_t> query_;
  std::vector<std::uint8_t> response_;
};

}  // namespace

void startTcpDns(asio::io_context& ioc, core::UniqueFd fd, SharedState& shared) {
  auto on = [&shared](Acceptor::Socket s, const core::Endpoint& peer) {
    if (shared.tcp_dns_connections.load() >= shared.limits.max_tcp_dns_connections) {
      bump(shared.metrics->dns_tcp_connections_rejected);
      return;  // the socket closes as it goes out of scope
    }
    std::make_shared<DnsTcpSession>(std::move(s), shared, peer)->start();
  };
  std::make_shared<Acceptor>(ioc, std::move(fd), std::move(on))->start();
}

}  // namespace vpnleak::server
