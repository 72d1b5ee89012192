// UDP services (DNS and STUN): each event loop owns one SO_REUSEPORT socket and moves
// datagrams in batches with recvmmsg/sendmmsg, answering from the address each query reached,
// through a send-only socket bound to the same address (sockets.hpp, bindSenders) when it has one.
// A handler sees each batch as begin(), handle() per datagram, end() before the replies go out
// (DNS hands the batch's observations to the recorder there, in one call).
#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <cstring>
#include <memory>
#include <vector>

#include "server/io.hpp"
#include "server/rrl.hpp"
#include "server/sockets.hpp"

namespace vpnleak::server {

namespace asio = boost::asio;

namespace {

constexpr unsigned kBatch = 128;   // vs 32: +2% queries/s (bench/server_dns_ab.sh)
constexpr int kRoundsPerTurn = 2;  // then yield to the loop's other sockets: 256 datagrams
constexpr std::size_t kMaxIn = 4096;
constexpr std::size_t kMaxOut = 1280;
constexpr std::size_t kControl = CMSG_SPACE(sizeof(in6_pktinfo)) + CMSG_SPACE(sizeof(in_pktinfo));

template <typename Handler>
class UdpService : public std::enable_shared_from_this<UdpService<Handler>> {
 public:
  UdpService(asio::io_context& ioc, core::UniqueFd fd, core::UniqueFd send_fd, Handler handler)
      : sock_(ioc),
        fd_(fd.get()),
        send_(std::move(send_fd)),
        send_fd_(send_.valid() ? send_.get() : fd_),
        handler_(std::move(handler)) {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&ss), &len);
    v6_ = ss.ss_family == AF_INET6;
    // Only a wildcard socket receives PKTINFO (sockets.cpp): the others need no control buffer.
    wildcard_ = endpointFrom(reinterpret_cast<const sockaddr*>(&ss)).address.isUnspecified();
    sock_.assign(v6_ ? asio::ip::udp::v6() : asio::ip::udp::v4(), fd.release());
    // What stays the same from batch to batch is set once; receive() and reply() fill in the rest.
    for (unsigned i = 0; i < kBatch; ++i) {
      in_iov_[i] = {in_[i].data(), in_[i].size()};
      auto& h = in_hdr_[i].msg_hdr;
      h.msg_name = &from_[i];
      h.msg_iov = &in_iov_[i];
      h.msg_iovlen = 1;
      h.msg_control = wildcard_ ? ctl_[i].data() : nullptr;
      out_hdr_[i].msg_hdr.msg_iov = &out_iov_[i];
      out_hdr_[i].msg_hdr.msg_iovlen = 1;
    }
  }

  void start() { drain(); }  // datagrams may be queued already

 private:
  void wait() {
    sock_.async_wait(asio::ip::udp::socket::wait_read,
                     [self = this->shared_from_this()](const boost::system::error_code& ec) {
                       if (!ec) self->drain();
                     });
  }

  void drain() {
    for (int round = 0; round < kRoundsPerTurn; ++round) {
      const int n = receive();
      if (n > 0) reply(static_cast<unsigned>(n));
      if (n < static_cast<int>(kBatch)) {  // the queue is empty: wait for the next datagram
        wait();
        return;
      }
    }
    asio::post(sock_.get_executor(), [self = this->shared_from_this()] { self->drain(); });
  }

  int receive() {
    for (auto& m : in_hdr_) {  // the kernel wrote the lengths of the last batch into these
      m.msg_hdr.msg_namelen = sizeof(sockaddr_storage);
      m.msg_hdr.msg_controllen = wildcard_ ? kControl : 0;
    }
    return ::recvmmsg(fd_, in_hdr_.data(), kBatch, MSG_DONTWAIT, nullptr);
  }

  void reply(unsigned n) {
    unsigned m = 0;
    handler_.begin();
    for (unsigned i = 0; i < n; ++i) {
      const auto& h = in_hdr_[i].msg_hdr;
      if ((h.msg_flags & MSG_TRUNC) != 0) continue;  // larger than any query we answer
      const auto peer = endpointFrom(reinterpret_cast<const sockaddr*>(&from_[i]));
      const std::size_t size =
          handler_.handle(wire::Bytes(in_[i].data(), in_hdr_[i].msg_len), peer, out_[m]);
      if (size == 0) continue;
      out_iov_[m] = {out_[m].data(), size};
      auto& o = out_hdr_[m].msg_hdr;
      o.msg_name = &from_[i];
      o.msg_namelen = h.msg_namelen;
      o.msg_controllen = wildcard_ ? replyControl(h, out_ctl_[m]) : 0;
      o.msg_control = o.msg_controllen > 0 ? out_ctl_[m].data() : nullptr;
      ++m;
    }
    handler_.end();
    unsigned sent = 0;
    while (sent < m) {  // a full send buffer drops the rest: UDP answers are best effort
      const int k = ::sendmmsg(send_fd_, out_hdr_.data() + sent, m - sent, MSG_DONTWAIT);
      if (k <= 0) break;
      sent += static_cast<unsigned>(k);
    }
  }

  // The source address for a reply on a wildcard socket: the destination of the query.
  std::size_t replyControl(const msghdr& in, std::array<char, kControl>& out) const {
    for (cmsghdr* c = CMSG_FIRSTHDR(&in); c != nullptr;
         c = CMSG_NXTHDR(const_cast<msghdr*>(&in), c)) {  // NOLINT: glibc's macro is not const
      msghdr tmp{};
      tmp.msg_control = out.data();
      tmp.msg_controllen = out.size();
      cmsghdr* o = CMSG_FIRSTHDR(&tmp);
      if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
        in_pktinfo info{};
        std::memcpy(&info, CMSG_DATA(c), sizeof info);
        info.ipi_spec_dst = info.ipi_addr;
        info.ipi_ifindex = 0;
        o->cmsg_level = IPPROTO_IP;
        o->cmsg_type = IP_PKTINFO;
        o->cmsg_len = CMSG_LEN(sizeof info);
        std::memcpy(CMSG_DATA(o), &info, sizeof info);
        return CMSG_SPACE(sizeof info);
      }
      if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
        o->cmsg_level = IPPROTO_IPV6;
        o->cmsg_type = IPV6_PKTINFO;
        o->cmsg_len = CMSG_LEN(sizeof(in6_pktinfo));
        std::memcpy(CMSG_DATA(o), CMSG_DATA(c), sizeof(in6_pktinfo));
        return CMSG_SPACE(sizeof(in6_pktinfo));
      }
    }
    return 0;
  }

  asio::ip::udp::socket sock_;
  int fd_;
  core::UniqueFd send_;  // sends the answers where given (bindSenders)
  int send_fd_;          // send_ or fd_
  bool v6_ = false;
  bool wildcard_ = false;
  Handler handler_;
  std::array<std::array<std::uint8_t, kMaxIn>, kBatch> in_{};
  std::array<std::array<std::uint8_t, kMaxOut>, kBatch> out_{};
  std::array<sockaddr_storage, kBatch> from_{};
  std::array<std::array<char, kControl>, kBatch> ctl_{};
  std::array<std::array<char, kControl>, kBatch> out_ctl_{};
  std::array<iovec, kBatch> in_iov_{}, out_iov_{};
  std::array<mmsghdr, kBatch> in_hdr_{}, out_hdr_{};
};

std::int64_t monotonicNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

class DnsHandler {
 public:
  explicit DnsHandler(SharedState& shared)
      : shared_(shared), limiter_(shared.rrl_rate), pending_(kBatch) {}

  void begin() { now_ms_ = nowMs(); }  // one clock read per batch: they arrived together

  std::size_t handle(wire::Bytes in, const core::Endpoint& peer, wire::MutableBytes out) {
    auto o =
        shared_.dns->respond(in, peer, Transport::kUdp, out, now_ms_, &pending_[used_], &counts_);
    if (o.observed) ++used_;
    if (o.size == 0 || !limiter_.enabled()) return o.size;
    switch (limiter_.check(peer.address, monotonicNs())) {
      case RateLimiter::Verdict::kSend:
        return o.size;
      case RateLimiter::Verdict::kSlip:
        bump(shared_.metrics->dns_rrl_slipped);
        return DnsResponder::truncate(out.first(o.size), o.question_end);
      case RateLimiter::Verdict::kDrop:
        bump(shared_.metrics->dns_rrl_dropped);
        return 0;
    }
    return 0;
  }

  // Before the answers leave: a client that reads its results after an answer finds the query
  // stored (memory) or queued for the store.
  void end() {
    counts_.flush(*shared_.metrics);
    shared_.recorder->recordInPlace(std::span(pending_.data(), used_));
    used_ = 0;
  }

 private:
  SharedState& shared_;
  RateLimiter limiter_;
  std::int64_t now_ms_ = 0;
  // One per datagram of a batch, written over batch after batch: their strings keep their
  // capacity, so recording a query allocates nothing.
  std::vector<Observation> pending_;
  std::size_t used_ = 0;
  DnsCounts counts_;  // this batch's queries and rcodes, flushed by end()
};

class StunHandler {
 public:
  explicit StunHandler(SharedState& shared) : shared_(shared) {}
  void begin() {}
  std::size_t handle(wire::Bytes in, const core::Endpoint& peer, wire::MutableBytes out) const {
    return shared_.stun->respond(in, peer, out);
  }
  void end() {}

 private:
  SharedState& shared_;
};

}  // namespace

void startUdpDns(asio::io_context& ioc, core::UniqueFd fd, SharedState& shared,
                 core::UniqueFd send_fd) {
  std::make_shared<UdpService<DnsHandler>>(ioc, std::move(fd), std::move(send_fd),
                                           DnsHandler(shared))
      ->start();
}

void startUdpStun(asio::io_context& ioc, core::UniqueFd fd, SharedState& shared,
                  core::UniqueFd send_fd) {
  std::make_shared<UdpService<StunHandler>>(ioc, std::move(fd), std::move(send_fd),
                                            StunHandler(shared))
      ->start();
}

}  // namespace vpnleak::server
