// The monitor's fuzz harness (fuzz/monitor_classifier_fuzz.cpp) run without libFuzzer: every
// crafted frame as a seed, then a fixed number of deterministic mutations of them (bit flips,
// cuts, insertions, length-field rewrites). Bounded, so it runs with every unit test build,
// including the ASan+UBSan preset; the harness aborts on a broken invariant.
#include <gtest/gtest.h>

#include <random>

#include "../../fuzz/monitor_classifier_fuzz.cpp"  // NOLINT: the harness itself, not a copy
#include "monitor_frames.hpp"

namespace vpnleak::monitor {
namespace {

namespace f = testing::frames;
using f::Bytes8;

std::vector<Bytes8> seeds() {
  f::V4 v4;
  f::V6 v6;
  f::V4 t4 = v4;
  t4.proto = 6;
  f::V6 t6 = v6;
  t6.next = 6;
  f::V4 wg = v4;
  wg.dst = "203.0.113.2";
  f::V6 frag = v6;
  frag.next = 0;
  frag.extensions = f::cat(f::ext8(44), f::fragmentHeader(17, 0, true));
  const std::vector<Bytes8> ip{
      f::ipv4(v4, f::udp(40000, 53, f::dnsQuery("a.leak.test"))),
      f::ipv6(v6, f::udp(40000, 53, f::dnsQuery("b.leak.test"))),
      f::ipv4(t4, f::tcp(40001, 443, 0x18, f::clientHello("c.leak.test"))),
      f::ipv6(t6, f::tcp(40001, 80, 0x18, f::text("GET / HTTP/1.1\r\nHost: d\r\n\r\n"))),
      f::ipv4(t4, f::tcp(40001, 53, 0x18, f::dnsOverTcp(f::dnsQuery("e.leak.test")))),
      f::ipv4(wg, f::udp(40000, 51820, f::wireguard(1, 148))),
      f::ipv4(v4, f::udp(40000, 3478, f::stunBindingRequest())),
      f::ipv6(frag, f::udp(1, 2, Bytes8(16, 1))),
  };
  std::vector<Bytes8> out;
  for (const auto& p : ip) {
    const std::uint16_t type = (p[0] >> 4) == 6 ? 0x86dd : 0x0800;
    out.push_back(f::cat(Bytes8{0}, f::ether(type, p, {3})));
    out.push_back(f::cat(Bytes8{1}, f::sll(4, type, p)));
    out.push_back(f::cat(Bytes8{2}, f::sll2(0, type, p)));
    out.push_back(f::cat(Bytes8{3}, p));
  }
  out.push_back(f::cat(Bytes8{0}, f::ether(0x0806, f::arp(1, "192.168.1.2", "192.168.1.1"))));
  return out;
}

void run(const Bytes8& input) { LLVMFuzzerTestOneInput(input.data(), input.size()); }

// A whole pcap file of the seed frames, in the harness's file mode.
Bytes8 fileSeed(std::uint32_t linktype, std::uint8_t link_byte) {
  Bytes8 file = f::pcapHeader(linktype);
  std::uint32_t t = 0;
  for (const auto& s : seeds()) {
    if (s[0] != link_byte) continue;
    const auto rec = f::pcapRecord(1, t++, Bytes8(s.begin() + 1, s.end()));
    file.insert(file.end(), rec.begin(), rec.end());
  }
  return f::cat(Bytes8{0x80}, file);
}

TEST(MonitorFuzzReplay, SeedsAndEveryPrefix) {
  for (const auto& s : seeds()) {
    for (std::size_t n = 0; n <= s.size(); ++n)
      run(Bytes8(s.begin(), s.begin() + static_cast<long>(n)));
  }
}

TEST(MonitorFuzzReplay, DeterministicMutations) {
  const auto base = seeds();
  std::mt19937 rng(20240501);  // fixed: a failure reproduces
  std::size_t runs = 0;
  for (int i = 0; i < 200000; ++i) {
    Bytes8 b = base[rng() % base.size()];
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits && b.size() > 1; ++e) {
      const std::size_t at = 1 + rng() % (b.size() - 1);
      switch (rng() % 4) {
        case 0:
          b[at] ^= static_cast<std::uint8_t>(1U << (rng() % 8));
          break;
        case 1:
          b[at] = static_cast<std::uint8_t>(rng());
          break;  // e.g. a length or type byte
        case 2:
          b.resize(at);
          break;
        default:
          b.insert(b.begin() + static_cast<long>(at), static_cast<std::uint8_t>(rng()));
      }
    }
    run(b);
    ++runs;
  }
  EXPECT_EQ(runs, 200000U);
}

TEST(MonitorFuzzReplay, PcapFilesCutAndMutated) {
  const std::vector<Bytes8> files{fileSeed(1, 0), fileSeed(113, 1), fileSeed(276, 2),
                                  fileSeed(101, 3)};
  for (const auto& file : files) {
    for (std::size_t n = 0; n <= file.size(); n += 7) {
      run(Bytes8(file.begin(), file.begin() + static_cast<long>(n)));
    }
  }
  std::mt19937 rng(7);
  for (int i = 0; i < 3000; ++i) {
    Bytes8 b = files[rng() % files.size()];
    for (int e = 0; e < 3; ++e) {
      // Header fields (magic, link type, lengths) matter most: aim at the first 64 bytes often.
      const std::size_t at = 1 + rng() % (rng() % 2 == 0 ? 64 : b.size() - 1);
      b[at] = static_cast<std::uint8_t>(rng());
    }
    run(b);
  }
}

}  // namespace
}  // namespace vpnleak::monitor
