// A closed-loop STUN load generator for bench/server_bench.sh: keeps `window` binding requests
// in flight from one UDP socket, counts valid success responses for `seconds`, prints
// "responses/s". Built by the script with g++ against src/wire; not part of the product.
//   server_stun_load HOST PORT SECONDS [WINDOW]
#include <arpa/inet.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "wire/stun.hpp"

using namespace vpnleak;

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: %s HOST PORT SECONDS [WINDOW]\n", argv[0]);
    return 2;
  }
  const auto ep = core::Endpoint::parse(std::string(argv[1]) + ":" + argv[2]);
  if (!ep || !ep->address.isV4()) {
    std::fprintf(stderr, "need an IPv4 address and port\n");
    return 2;
  }
  const int seconds = std::atoi(argv[3]);
  const unsigned window = argc > 4 ? static_cast<unsigned>(std::atoi(argv[4])) : 64;
  const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(ep->port);
  std::copy(ep->address.bytes().begin(), ep->address.bytes().end(),
            reinterpret_cast<std::uint8_t*>(&to.sin_addr));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) return 3;
  std::uint64_t seq = 0;
  auto sendOne = [&] {
    wire::stun::TransactionId id{};
    for (int i = 0; i < 8; ++i)
      id[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(seq >> (8 * i));
    ++seq;
    std::array<std::uint8_t, 64> req{};
    const auto n = wire::stun::buildBindingRequest(req, id, true);
    ::send(fd, req.data(), *n, MSG_DONTWAIT);
  };
  for (unsigned i = 0; i < window; ++i) sendOne();
  std::uint64_t ok = 0;
  const auto start = std::chrono::steady_clock::now();
  const auto end = start + std::chrono::seconds(seconds);
  std::array<std::uint8_t, 1500> buf{};
  while (std::chrono::steady_clock::now() < end) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 50) != 1) {  // lost datagrams: refill the window
      for (unsigned i = 0; i < window; ++i) sendOne();
      continue;
    }
    while (true) {
      const auto n = ::recv(fd, buf.data(), buf.size(), MSG_DONTWAIT);
      if (n <= 0) break;
      auto m = wire::stun::parse(wire::Bytes(buf.data(), static_cast<std::size_t>(n)));
      if (m && m->cls == wire::stun::Class::kSuccess) ++ok;
      sendOne();
    }
  }
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%.0f\n", static_cast<double>(ok) / secs);
  ::close(fd);
  return 0;
}
