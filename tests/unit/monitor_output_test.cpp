// The monitor's output path: FdOutput (lines formatted into its buffer, written with write(2))
// and LeakLineWriter::write, which formats a leak line in place within the room it asked for.
#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <string>
#include <vector>

#include "core/unique_fd.hpp"
#include "monitor/event_line.hpp"
#include "monitor/output.hpp"
#include "monitor_frames.hpp"

namespace vpnleak::monitor {
namespace {

namespace f = testing::frames;
namespace pk = wire::packet;

const Timestamp kTs{std::chrono::nanoseconds(1'714'564'800'123'456'789LL)};

// Everything written to fd so far (a file opened for reading and writing).
std::string contents(int fd) {
  std::string out;
  std::array<char, 4096> buf{};
  for (off_t at = 0;;) {
    const ssize_t n = ::pread(fd, buf.data(), buf.size(), at);
    if (n <= 0) return out;
    out.append(buf.data(), static_cast<std::size_t>(n));
    at += n;
  }
}

TEST(MonitorOutput, BuffersUntilFullOrFlushedAndGrowsForLongLines) {
  const core::UniqueFd fd(::open("/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
  ASSERT_TRUE(fd.valid()) << std::strerror(errno);
  FdOutput out(fd.get(), 16);
  out.append("0123456789");
  EXPECT_EQ(contents(fd.get()), "");  // still buffered
  char* at = out.room(10);            // 6 bytes free: the 10 buffered ones are written first
  EXPECT_EQ(contents(fd.get()), "0123456789");
  std::memcpy(at, "abcdefghij", 10);
  out.commit(at + 7);  // only what is committed counts
  EXPECT_EQ(out.buffered(), 7U);
  const std::string big(100, 'x');  // longer than the buffer: it grows
  out.append(big);
  EXPECT_EQ(contents(fd.get()), "0123456789abcdefg");
  EXPECT_TRUE(out.flush());
  EXPECT_EQ(contents(fd.get()), "0123456789abcdefg" + big);
  EXPECT_EQ(out.buffered(), 0U);
}

TEST(MonitorOutput, FlushReportsAFailedDescriptor) {
  std::array<int, 2> p{};
  ASSERT_EQ(::pipe2(p.data(), O_CLOEXEC), 0);
  ::close(p[0]);
  const core::UniqueFd w(p[1]);
  struct sigaction ignore {
  }, old{};
  ignore.sa_handler = SIG_IGN;
  ::sigaction(SIGPIPE, &ignore, &old);
  FdOutput out(w.get(), 64);
  EXPECT_EQ(out.error(), 0);
  out.append("lost\n");
  EXPECT_FALSE(out.flush());
  EXPECT_EQ(out.buffered(), 0U);  // dropped, not retried forever
  EXPECT_EQ(out.error(), EPIPE);
  // The failure is kept: later lines are dropped without another write (a full buffer too).
  out.append(std::string(100, 'x'));
  EXPECT_EQ(out.buffered(), 100U);
  EXPECT_FALSE(out.flush());
  EXPECT_EQ(out.error(), EPIPE);
  ::sigaction(SIGPIPE, &old, nullptr);
}

// The longest escapes: every SNI or Host byte outside printable ASCII takes 5 bytes in the line
// ("\\xHH"), a quote in the interface name 2. The fields are long enough (2000 bytes, 10,000 in
// the line) that the fixed part's spare room could not hide a per-byte bound that is too small.
// write() stays within maxSize() and equals line() + newline.
TEST(MonitorOutput, LeakLineStaysWithinItsRoom) {
  const Classifier c(ClassifierConfig{});
  f::V6 h;
  h.next = pk::kProtoTcp;
  const std::vector<f::Bytes8> frames{
      f::ether(0x86dd,
               f::ipv6(h, f::tcp(65535, 443, 0x18, f::clientHello(std::string(2000, '\xff'))))),
      f::ether(0x86dd, f::ipv6(h, f::tcp(1, 80, 0x18,
                                         f::text("GET / HTTP/1.1\r\nHost: " +
                                                 std::string(2000, '\x01') + "\r\n\r\n")))),
      f::ether(0x86dd, f::ipv6(h, f::tcp(1, 80, 0x18,
                                         f::text("GET / HTTP/1.1\r\nHost: " +
                                                 std::string(2000, '"') + "\r\n\r\n")))),
      f::ether(0x0800, f::ipv4(f::V4{}, f::udp(1, 53, f::dnsQuery(std::string(60, '"') + ".x")))),
      f::ether(
          0x0800,
          f::ipv4(f::V4{},
                  f::udp(1, 53,
                         f::dnsQuery(std::string(60, '\x01') + "." + std::string(60, '\x01') + "." +
                                     std::string(60, '\x01') + "." + std::string(60, '\x01')))))};
  LeakLineWriter writer;
  for (const auto& frame : frames) {
    const auto p = pk::decode(pk::LinkType::kEthernet, frame);
    const auto v = c.classify(p);
    ASSERT_EQ(v.verdict, Verdict::kLeak);
    ASSERT_TRUE(v.sni.size() == 2000 || v.http_host.size() == 2000 || !v.dns_qname.empty());
    const LeakEvent e{kTs, "we\"ird\"", p, v, 4294967295U};
    const std::size_t room = writer.maxSize(e);
    std::vector<char> buf(room + 16384, '#');  // a bound too small shows, no overflow
    const char* end = writer.write(buf.data(), e);
    ASSERT_LE(static_cast<std::size_t>(end - buf.data()), room);
    EXPECT_EQ(std::string(64, '#'), std::string(buf.data() + room, 64));  // nothing past the room
    const std::string written(static_cast<const char*>(buf.data()), end);
    EXPECT_EQ(written, writer.line(e) + "\n");
  }
}

}  // namespace
}  // namespace vpnleak::monitor
