// Paced frame generator for bench/monitor_live_bench.sh: puts the monitor benchmarks' traffic
// mix (bench/monitor_mix.hpp: 90% WireGuard to the endpoint, DNS queries with unique names,
// TLS, UDP and IPv6 leaks, ARP) on an interface through an AF_PACKET socket, with sendmmsg(2)
// in batches on an absolute schedule, and stops after --count frames or --seconds, whichever
// comes first. The frames leave like any outgoing traffic (packet taps see them, direction
// "out"); their destination MAC address is nobody's, so the peer drops them at once. Prints one
// JSON line with what it sent. Not part of the product; run it only inside a namespace.
//   monitor_live_sender --iface IF --rate PPS --count N --seconds S
#include <linux/if_packet.h>
#include <net/if.h>
#include <sys/socket.h>
#include <time.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "core/unique_fd.hpp"
#include "monitor_mix.hpp"

namespace {

using namespace vpnleak;  // NOLINT: a benchmark's main
using testing::frames::Bytes8;

constexpr std::size_t kBatch = 64;
constexpr std::uint64_t kMaxRate = 5'000'000;
constexpr std::uint64_t kMaxCount = 100'000'000;
constexpr double kMaxSeconds = 60;

struct Args {
  std::string iface;
  std::uint64_t rate = 100'000, count = 1'000'000;
  double seconds = 5;
};

struct Counts {
  std::uint64_t sent = 0, tunnel = 0, leak = 0, allowed = 0, errors = 0;
};

double since(const timespec& start) {
  timespec now{};
  ::clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<double>(now.tv_sec - start.tv_sec) +
         static_cast<double>(now.tv_nsec - start.tv_nsec) / 1e9;
}

class Sender {
 public:
  Sender(int fd, int ifindex) : fd_(fd) {
    for (std::size_t i = 0; i < bench::kMixCycle; ++i) cycle_.push_back(bench::mixFrame(i));
    to_.sll_family = AF_PACKET;
    to_.sll_ifindex = ifindex;
  }

  // Sends frames [first, first + n), n <= kBatch, in one sendmmsg (more if it sends part).
  void batch(std::uint64_t first, std::size_t n, Counts& c) {
    std::array<mmsghdr, kBatch> msgs{};
    std::array<iovec, kBatch> iov{};
    for (std::size_t k = 0; k < n; ++k) {
      const std::size_t i = first + k;
      const Bytes8* frame = &cycle_[i % bench::kMixCycle];
      if (!bench::mixRepeats(i)) {
        unique_[k] = bench::mixFrame(i);
        frame = &unique_[k];
      }
      iov[k] = iovec{const_cast<std::uint8_t*>(frame->data()), frame->size()};  // NOLINT
      msgs[k].msg_hdr.msg_iov = &iov[k];
      msgs[k].msg_hdr.msg_iovlen = 1;
      msgs[k].msg_hdr.msg_name = &to_;
      msgs[k].msg_hdr.msg_namelen = sizeof to_;
      const auto kind = bench::mixKind(i);
      ++(kind == bench::MixKind::kTunnel ? c.tunnel
         : kind == bench::MixKind::kArp  ? c.allowed
                                         : c.leak);
    }
    mmsghdr* m = msgs.data();
    while (n > 0) {
      const int got = ::sendmmsg(fd_, m, static_cast<unsigned>(n), 0);
      if (got < 0) {
        if (errno == EINTR) continue;
        c.errors += n;  // counted, not retried: the schedule goes on
        return;
      }
      c.sent += static_cast<std::uint64_t>(got);
      m += got;
      n -= static_cast<std::size_t>(got);
    }
  }

 private:
  int fd_;
  std::vector<Bytes8> cycle_;
  std::array<Bytes8, kBatch> unique_;
  sockaddr_ll to_{};
};

std::optional<Args> parseArgs(int argc, char** argv) {
  Args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    const std::string v = argv[i + 1];
    if (k == "--iface") a.iface = v;
    if (k == "--rate") a.rate = std::stoull(v);
    if (k == "--count") a.count = std::stoull(v);
    if (k == "--seconds") a.seconds = std::stod(v);
  }
  const bool bounded = a.rate > 0 && a.rate <= kMaxRate && a.count > 0 && a.count <= kMaxCount &&
                       a.seconds > 0 && a.seconds <= kMaxSeconds;
  if (!bounded || a.iface.empty()) return std::nullopt;
  return a;
}

// Sends on the schedule: batches of up to kBatch frames, the b-th due at start + b * batch /
// rate, until the count is sent or the time is up (a generator that falls behind stops too).
Counts run(const Args& a, Sender& sender) {
  Counts c;
  const std::size_t batch = std::clamp<std::uint64_t>(a.rate / 2000, 1, kBatch);
  const double interval_ns = 1e9 * static_cast<double>(batch) / static_cast<double>(a.rate);
  timespec start{};
  ::clock_gettime(CLOCK_MONOTONIC, &start);
  std::uint64_t next = 0;
  for (std::uint64_t b = 0; next < a.count; ++b) {
    const double due = static_cast<double>(b) * interval_ns;
    if (due >= a.seconds * 1e9 || since(start) >= a.seconds) break;
    const auto total = static_cast<std::int64_t>(due) + start.tv_nsec;
    const timespec t{start.tv_sec + total / 1'000'000'000, total % 1'000'000'000};
    while (::clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, nullptr) == EINTR) {
    }
    const std::size_t n = std::min<std::uint64_t>(batch, a.count - next);
    sender.batch(next, n, c);
    next += n;
  }
  const double secs = since(start);
  std::printf(
      "{\"sent\":%llu,\"tunnel\":%llu,\"leak\":%llu,\"allowed\":%llu,\"errors\":%llu,"
      "\"seconds\":%.3f,\"rate\":%.0f}\n",
      static_cast<unsigned long long>(c.sent), static_cast<unsigned long long>(c.tunnel),
      static_cast<unsigned long long>(c.leak), static_cast<unsigned long long>(c.allowed),
      static_cast<unsigned long long>(c.errors), secs, static_cast<double>(c.sent) / secs);
  return c;
}

}  // namespace

int main(int argc, char** argv) {
  const auto args = parseArgs(argc, argv);
  if (!args) {
    std::fprintf(stderr,
                 "usage: monitor_live_sender --iface IF --rate PPS (<= 5e6) --count N (<= 1e8) "
                 "--seconds S (<= 60)\n");
    return 2;
  }
  const unsigned ifindex = ::if_nametoindex(args->iface.c_str());
  // Protocol 0: the socket sends only and receives nothing.
  const core::UniqueFd fd(::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0));
  if (ifindex == 0 || !fd.valid()) {
    std::fprintf(stderr, "monitor_live_sender: %s: %s\n", args->iface.c_str(),
                 std::strerror(errno));
    return 3;
  }
  Sender sender(fd.get(), static_cast<int>(ifindex));
  const Counts c = run(*args, sender);
  return c.errors == 0 ? 0 : 1;
}
