// UDP send-only sockets (bindSenders): they share the receivers' address and port, the kernel
// never hands them a datagram, one source stays on one receiver, and answers leave from the
// address and port the query was sent to.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <array>
#include <boost/asio/io_context.hpp>
#include <map>
#include <set>
#include <thread>
#include <vector>

#include "core/unique_fd.hpp"
#include "server/io.hpp"
#include "server/metrics.hpp"
#include "server/sockets.hpp"
#include "server/stun_responder.hpp"

namespace vpnleak::server {
namespace {

core::Endpoint localOf(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  EXPECT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len), 0);
  return endpointFrom(reinterpret_cast<const sockaddr*>(&ss));
}

// Every datagram waiting on fd, as the local port of the client that sent it.
std::vector<std::uint16_t> drain(int fd) {
  std::vector<std::uint16_t> from;
  std::array<std::uint8_t, 64> buf{};
  for (;;) {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    const ssize_t n = ::recvfrom(fd, buf.data(), buf.size(), MSG_DONTWAIT,
                                 reinterpret_cast<sockaddr*>(&ss), &len);
    if (n < 0) return from;
    from.push_back(endpointFrom(reinterpret_cast<const sockaddr*>(&ss)).port);
  }
}

void steersEveryDatagramToAReceiver(const std::string& address, unsigned count) {
  SCOPED_TRACE(address + " x" + std::to_string(count));
  auto ep = core::Endpoint::parse(address).value();
  auto receivers = bindListeners(ep, SocketKind::kUdp, count);
  ASSERT_TRUE(receivers.ok()) << receivers.error().message();
  auto senders = bindSenders(ep, *receivers);
  ASSERT_TRUE(senders.ok()) << senders.error().message();
  ASSERT_EQ(senders->size(), count);
  for (const auto& s : *senders) EXPECT_EQ(localOf(s.get()).toString(), ep.toString());

  // 40 clients (40 source ports) x 5 datagrams.
  constexpr int kClients = 40;
  constexpr int kEach = 5;
  sockaddr_storage to{};
  const socklen_t to_len = sockaddrFrom(ep, to);
  std::vector<core::UniqueFd> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back(::socket(to.ss_family, SOCK_DGRAM, 0));
    for (int i = 0; i < kEach; ++i) {
      ASSERT_EQ(::sendto(clients.back().get(), "q", 1, 0, reinterpret_cast<sockaddr*>(&to), to_len),
                1);
    }
  }
  std::map<std::uint16_t, std::set<std::size_t>> receivers_of;  // client port -> receivers
  std::size_t received = 0;
  for (int tries = 0; tries < 100 && received < kClients * kEach; ++tries) {
    for (std::size_t r = 0; r < count; ++r) {
      pollfd p{(*receivers)[r].get(), POLLIN, 0};
      ::poll(&p, 1, 10);
      for (const auto port : drain((*receivers)[r].get())) {
        receivers_of[port].insert(r);
        ++received;
      }
    }
  }
  EXPECT_EQ(received, static_cast<std::size_t>(kClients * kEach));
  for (const auto& s : *senders) EXPECT_TRUE(drain(s.get()).empty()) << "a sender received";
  std::set<std::size_t> used;
  for (const auto& [port, rs] : receivers_of) {
    EXPECT_EQ(rs.size(), 1U) << "client port " << port << " reached several receivers";
    used.insert(rs.begin(), rs.end());
  }
  if (count > 1) {
    EXPECT_GE(used.size(), 2U) << "40 sources all on one receiver";
  }
}

TEST(ServerSockets, SendersNeverReceiveAndOneSourceStaysOnOneReceiver) {
  steersEveryDatagramToAReceiver("127.0.0.1:0", 1);
  steersEveryDatagramToAReceiver("127.0.0.1:0", 3);
  steersEveryDatagramToAReceiver("0.0.0.0:0", 2);
  steersEveryDatagramToAReceiver("[::1]:0", 1);
  steersEveryDatagramToAReceiver("[::1]:0", 3);
}

// A STUN binding answered through the sender: it comes from the address and port asked.
TEST(ServerSockets, AnswersThroughTheSenderComeFromTheQueriedAddressAndPort) {
  for (const std::string address : {"127.0.0.1:0", "[::1]:0", "0.0.0.0:0"}) {
    SCOPED_TRACE(address);
    auto ep = core::Endpoint::parse(address).value();
    auto receivers = bindListeners(ep, SocketKind::kUdp, 1);
    ASSERT_TRUE(receivers.ok()) << receivers.error().message();
    auto senders = bindSenders(ep, *receivers);
    ASSERT_TRUE(senders.ok()) << senders.error().message();
    Metrics metrics;
    const StunResponder stun(metrics);
    SharedState shared;
    shared.stun = &stun;
    shared.metrics = &metrics;
    boost::asio::io_context ioc;
    startUdpStun(ioc, std::move((*receivers)[0]), shared, std::move((*senders)[0]));
    std::thread loop([&ioc] { ioc.run(); });

    auto target = ep;
    if (target.address.isUnspecified())
      target.address = core::IpAddress::parse("127.0.0.1").value();
    sockaddr_storage to{};
    const socklen_t to_len = sockaddrFrom(target, to);
    const core::UniqueFd client(::socket(to.ss_family, SOCK_DGRAM, 0));
    const timeval timeout{5, 0};
    ::setsockopt(client.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    // Binding request: type 1, length 0, the magic cookie, a transaction id.
    const std::array<std::uint8_t, 20> request{0, 1, 0, 0, 0x21, 0x12, 0xa4, 0x42, 1,  2,
                                               3, 4, 5, 6, 7,    8,    9,    10,   11, 12};
    ASSERT_EQ(::sendto(client.get(), request.data(), request.size(), 0,
                       reinterpret_cast<sockaddr*>(&to), to_len),
              20);
    std::array<std::uint8_t, 256> answer{};
    sockaddr_storage from{};
    socklen_t from_len = sizeof from;
    const ssize_t n = ::recvfrom(client.get(), answer.data(), answer.size(), 0,
                                 reinterpret_cast<sockaddr*>(&from), &from_len);
    ASSERT_GT(n, 20) << "no answer";
    EXPECT_EQ(answer[0], 0x01);  // binding success response
    EXPECT_EQ(answer[1], 0x01);
    EXPECT_EQ(endpointFrom(reinterpret_cast<const sockaddr*>(&from)).toString(), target.toString());
    ioc.stop();
    loop.join();
  }
}

}  // namespace
}  // namespace vpnleak::server
