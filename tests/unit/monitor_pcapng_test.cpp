// PcapngWriter (vpnleak monitor --write): the blocks are well formed, libpcap reads the frames
// back with their nanosecond timestamps, lengths and link type, and a file is touched only once
// the capture has begun.
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "monitor/capture.hpp"
#include "monitor/pcapng_writer.hpp"
#include "monitor_frames.hpp"
#include "test_support.hpp"

namespace vpnleak::monitor {
namespace {

namespace f = testing::frames;
namespace fs = std::filesystem;
namespace pk = wire::packet;
using testing::TempFile;

const Timestamp kTs{std::chrono::nanoseconds(1'714'564'800'123'456'789LL)};

std::string readAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::uint32_t u32(const std::string& s, std::size_t at) {
  std::uint32_t v = 0;
  std::memcpy(&v, s.data() + at, 4);
  return v;
}

struct Block {
  std::uint32_t type;
  std::string body;  // between the leading and the trailing length
};

// Every block of the file, checked for matching lengths that are multiples of 4.
std::vector<Block> blocks(const std::string& file) {
  std::vector<Block> out;
  for (std::size_t at = 0; at < file.size();) {
    EXPECT_LE(at + 12, file.size());
    if (at + 12 > file.size()) break;
    const std::uint32_t len = u32(file, at + 4);
    EXPECT_EQ(len % 4, 0U) << "block at " << at;
    EXPECT_GE(len, 12U);
    EXPECT_LE(at + len, file.size());
    if (len < 12 || at + len > file.size()) break;
    EXPECT_EQ(u32(file, at + len - 4), len) << "block at " << at;
    out.push_back({u32(file, at), file.substr(at + 8, len - 12)});
    at += len;
  }
  return out;
}

f::Bytes8 dnsFrame(const std::string& name) {
  f::V4 v4;
  v4.dst = "192.168.77.1";
  return f::ether(0x0800, f::ipv4(v4, f::udp(40000, 53, f::dnsQuery(name))));
}

wire::Bytes view(const f::Bytes8& b) { return {b.data(), b.size()}; }

TEST(MonitorPcapng, BlocksAreWellFormedAndLibpcapReadsTheFramesBack) {
  const TempFile file("vlt-pcapng");
  auto w = PcapngWriter::open(file.path);
  ASSERT_TRUE(w) << w.error().message();
  w->begin({SourceInfo{"lan0", true, pk::LinkType::kEthernet},
            SourceInfo{"wlan-with-a-longer-name", true, pk::LinkType::kEthernet}});
  const auto a = dnsFrame("a.leak.test");
  const auto b = dnsFrame("bb.leak.test");  // another length: other padding
  const std::vector<std::pair<std::uint32_t, f::Bytes8>> sent{{0, a}, {1, b}, {0, b}};
  for (std::size_t i = 0; i < sent.size(); ++i) {
    const auto& [source, frame] = sent[i];
    // The wire length of the third exceeds what was captured (a snapshot length cut it).
    const auto wire_len = static_cast<std::uint32_t>(frame.size() + (i == 2 ? 100 : 0));
    w->packet(source, kTs + std::chrono::nanoseconds(i), view(frame), wire_len);
  }
  ASSERT_TRUE(w->flush());
  EXPECT_EQ(w->error(), 0);

  const auto bytes = readAll(file.path);
  const auto all = blocks(bytes);
  ASSERT_EQ(all.size(), 1U + 2U + sent.size());
  EXPECT_EQ(all[0].type, 0x0A0D0D0AU);
  EXPECT_EQ(u32(all[0].body, 0), 0x1A2B3C4DU);  // byte-order magic
  EXPECT_NE(all[0].body.find("vpnleak monitor"), std::string::npos);
  EXPECT_EQ(all[1].type, 1U);
  EXPECT_NE(all[1].body.find("lan0"), std::string::npos);
  EXPECT_NE(all[2].body.find("wlan-with-a-longer-name"), std::string::npos);
  for (std::size_t i = 0; i < sent.size(); ++i) {
    EXPECT_EQ(all[3 + i].type, 6U);
    EXPECT_EQ(u32(all[3 + i].body, 0), sent[i].first) << "interface of packet " << i;
  }

  auto h = PcapHandle::openFile(file.path);
  ASSERT_TRUE(h) << h.error().message();
  EXPECT_EQ(h->link(), pk::LinkType::kEthernet);
  Frame got;
  for (std::size_t i = 0; i < sent.size(); ++i) {
    auto next = h->next(got);
    ASSERT_TRUE(next) << next.error().message();
    ASSERT_EQ(*next, PcapHandle::Next::kPacket) << i;
    EXPECT_EQ(got.ts, kTs + std::chrono::nanoseconds(i)) << i;
    const auto& frame = sent[i].second;
    EXPECT_EQ(got.wire_len, frame.size() + (i == 2 ? 100 : 0)) << i;
    ASSERT_EQ(got.data.size(), frame.size()) << i;
    EXPECT_EQ(std::memcmp(got.data.data(), frame.data(), frame.size()), 0) << i;
  }
  auto end = h->next(got);
  ASSERT_TRUE(end);
  EXPECT_EQ(*end, PcapHandle::Next::kEnd);
}

TEST(MonitorPcapng, KeepsTheLinkTypeOfTheSource) {
  EXPECT_EQ(fileLinkType(pk::LinkType::kEthernet), 1);
  EXPECT_EQ(fileLinkType(pk::LinkType::kLinuxSll), 113);
  EXPECT_EQ(fileLinkType(pk::LinkType::kLinuxSll2), 276);
  EXPECT_EQ(fileLinkType(pk::LinkType::kRawIp), 101);
  const TempFile file("vlt-pcapng-raw");
  auto w = PcapngWriter::open(file.path);
  ASSERT_TRUE(w);
  w->begin({SourceInfo{"tun0", true, pk::LinkType::kRawIp}});
  f::V4 v4;
  const auto ip = f::ipv4(v4, f::udp(1, 2, f::Bytes8(5, 7)));
  w->packet(0, kTs, view(ip), static_cast<std::uint32_t>(ip.size()));
  ASSERT_TRUE(w->flush());
  auto h = PcapHandle::openFile(file.path);
  ASSERT_TRUE(h) << h.error().message();
  EXPECT_EQ(h->link(), pk::LinkType::kRawIp);
  Frame got;
  auto next = h->next(got);
  ASSERT_TRUE(next);
  EXPECT_EQ(*next, PcapHandle::Next::kPacket);
  EXPECT_EQ(got.data.size(), ip.size());
}

TEST(MonitorPcapng, TouchesAFileOnlyOnceBegun) {
  // An existing file keeps its content until begin(), and abandon() leaves it.
  const TempFile existing("vlt-pcapng-keep");
  std::ofstream(existing.path) << "evidence from before\n";
  {
    auto w = PcapngWriter::open(existing.path);
    ASSERT_TRUE(w);
    w->abandon();
  }
  EXPECT_EQ(readAll(existing.path), "evidence from before\n");
  // begin() truncates it: nothing of the old content is left after the new blocks.
  {
    auto w = PcapngWriter::open(existing.path);
    ASSERT_TRUE(w);
    w->begin({SourceInfo{"lan0", true, pk::LinkType::kEthernet}});
    ASSERT_TRUE(w->flush());
  }
  const auto now = readAll(existing.path);
  EXPECT_EQ(now.find("evidence"), std::string::npos);
  EXPECT_EQ(blocks(now).size(), 2U);
  // A file open() created goes again when abandoned before begin().
  const TempFile created("vlt-pcapng-new");
  {
    auto w = PcapngWriter::open(created.path);
    ASSERT_TRUE(w);
    EXPECT_TRUE(fs::exists(created.path));
    w->abandon();
  }
  EXPECT_FALSE(fs::exists(created.path));
}

TEST(MonitorPcapng, PathsThatCannotBeWrittenAreBadInput) {
  auto dir = PcapngWriter::open("/tmp");
  ASSERT_FALSE(dir);
  EXPECT_EQ(dir.error().code, core::Errc::kInvalidArgument);
  EXPECT_EQ(dir.error().message(), "--write '/tmp' is a directory, not a file to write");
  const std::string missing = "/tmp/vlt-no-such-dir-" + testing::randomHex(8) + "/x.pcapng";
  auto none = PcapngWriter::open(missing);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, core::Errc::kInvalidArgument);
  EXPECT_EQ(none.error().message(),
            "cannot write --write '" + missing + "': No such file or directory");
}

}  // namespace
}  // namespace vpnleak::monitor
