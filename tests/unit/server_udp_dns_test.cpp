// The UDP DNS loop over loopback: once a client has its answers, /metrics counts every query
// of many batches and its rcode exactly, and every answer (sent through the loop's send-only
// socket) comes from the address asked.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <array>
#include <boost/asio/io_context.hpp>
#include <string>
#include <thread>
#include <vector>

#include "core/unique_fd.hpp"
#include "server/io.hpp"
#include "server/sockets.hpp"
#include "wire/dns.hpp"

namespace vpnleak::server {
namespace {

namespace dns = wire::dns;

std::vector<std::uint8_t> query(std::uint16_t id, const std::string& name) {
  std::vector<std::uint8_t> b(512);
  dns::Builder q(b, dns::Header{id, dns::Header::kRd});
  EXPECT_TRUE(q.addQuestion(name, dns::kTypeA, dns::kClassIn));
  b.resize(q.size());
  return b;
}

TEST(ServerUdpDns, MetricsCountEveryQueryOfEveryBatchExactly) {
  Metrics metrics;
  const DnsResponder responder(
      ZoneConfig{"leak.test", core::IpAddress::parse("192.0.2.10").value(), {}, 1, "n1"}, metrics);
  auto store = makeMemoryStore(Limits{});
  Recorder recorder(*store, metrics, 1000);
  SharedState shared;
  shared.dns = &responder;
  shared.recorder = &recorder;
  shared.metrics = &metrics;
  auto ep = core::Endpoint::parse("127.0.0.1:0").value();
  auto fds = bindListeners(ep, SocketKind::kUdp, 1);
  ASSERT_TRUE(fds.ok()) << fds.error().message();
  auto senders = bindSenders(ep, *fds);
  ASSERT_TRUE(senders.ok()) << senders.error().message();
  boost::asio::io_context ioc;
  startUdpDns(ioc, std::move((*fds)[0]), shared, std::move((*senders)[0]));
  std::thread loop([&ioc] { ioc.run(); });

  const core::UniqueFd client(::socket(AF_INET, SOCK_DGRAM, 0));
  ASSERT_GE(client.get(), 0);
  const timeval timeout{5, 0};
  ::setsockopt(client.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  sockaddr_storage to{};
  const socklen_t to_len = sockaddrFrom(ep, to);
  // 300 queries, 210 in the zone (NOERROR) and 90 outside it (REFUSED), in bursts of 50 whose
  // answers are read before the next burst (so that they fit the client's receive buffer).
  constexpr int kQueries = 300;
  constexpr int kBurst = 50;
  int answers = 0;
  std::array<std::uint8_t, 512> in{};
  for (int i = 0; i < kQueries; ++i) {
    const auto q = query(static_cast<std::uint16_t>(i), i % 10 < 7 ? "a.leak.test" : "example.com");
    ASSERT_EQ(
        ::sendto(client.get(), q.data(), q.size(), 0, reinterpret_cast<sockaddr*>(&to), to_len),
        static_cast<ssize_t>(q.size()));
    if ((i + 1) % kBurst != 0) continue;
    sockaddr_storage from{};
    socklen_t from_len = sizeof from;
    while (answers < i + 1 && ::recvfrom(client.get(), in.data(), in.size(), 0,
                                         reinterpret_cast<sockaddr*>(&from), &from_len) > 0) {
      ++answers;
      EXPECT_EQ(endpointFrom(reinterpret_cast<sockaddr*>(&from)), ep);  // sent by the sender
      from_len = sizeof from;
    }
  }
  EXPECT_EQ(answers, kQueries);
  EXPECT_EQ(metrics.dns_queries[0].load(), static_cast<std::uint64_t>(answers));
  EXPECT_EQ(metrics.dns_queries[1].load(), 0U);
  EXPECT_EQ(metrics.dns_rcodes[0].load(), 210U);
  EXPECT_EQ(metrics.dns_rcodes[5].load(), 90U);
  EXPECT_NE(metrics.render().find("vpnleak_dns_queries_total{transport=\"udp\"} 300\n"),
            std::string::npos);
  ioc.stop();
  loop.join();
}

}  // namespace
}  // namespace vpnleak::server
