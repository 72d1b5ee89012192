// Private to the io_*.cpp files: accepting connections on a pre-bound listening socket.
#pragma once

#include <sys/socket.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <memory>

#include "core/unique_fd.hpp"
#include "server/sockets.hpp"

namespace vpnleak::server {

class Acceptor : public std::enable_shared_from_this<Acceptor> {
 public:
  // Bound to the io_context's own executor type: no type-erased executor per operation.
  using Socket = boost::asio::basic_stream_socket<boost::asio::ip::tcp,
                                                  boost::asio::io_context::executor_type>;
  // The new connection and its peer (IPv4-mapped IPv6 unmapped).
  using OnConnection = std::function<void(Socket, const core::Endpoint&)>;

  Acceptor(boost::asio::io_context& ioc, core::UniqueFd fd, OnConnection on)
      : ioc_(ioc), acceptor_(ioc), backoff_(ioc), on_(std::move(on)) {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&ss), &len);
    acceptor_.assign(
        ss.ss_family == AF_INET6 ? boost::asio::ip::tcp::v6() : boost::asio::ip::tcp::v4(),
        fd.release());
  }

  void start() { accept(); }

 private:
  void accept() {
    acceptor_.async_accept(
        ioc_, peer_, [self = shared_from_this()](const boost::system::error_code& ec, Socket s) {
          if (ec == boost::asio::error::operation_aborted) return;
          if (ec) {
            // Out of descriptors or memory: pause instead of spinning on the same error.
            self->backoff_.expires_after(std::chrono::milliseconds(100));
            self->backoff_.async_wait([self](const boost::system::error_code& e) {
              if (!e) self->accept();
            });
            return;
          }
          self->on_(std::move(s), endpointFrom(self->peer_.data()));
          self->accept();
        });
  }

  boost::asio::io_context& ioc_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer backoff_;
  boost::asio::ip::tcp::endpoint peer_;  // filled by each accept
  OnConnection on_;
};

}  // namespace vpnleak::server
