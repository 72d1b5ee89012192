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

#include "core/file.hpp"
#include "monitor/capture.hpp"
#include "monitor/pcapng_writer.hpp"
#include "monitor_frames.hpp"
#include "pcapng_blocks.hpp"
#include "test_support.hpp"

namespace vpnleak::monitor {
namespace {

namespace f = testing::frames;
namespace fs = std::filesystem;
namespace pk = wire::packet;
using testing::pcapngBlocks;
using testing::pcapngU32;
using testing::TempFile;

const Timestamp kTs{std::chrono::nanoseconds(1'714'564'800'123'456'789LL)};

std::string readAll(const std::string& path) { return core::readFile(path).value_or(""); }

f::Bytes8 dnsFrame(const std::string& name) {
  f::V4 v4;
  v4.dst = "192.168.77.1";
  return f::ether(0x0800, f::ipv4(v4, f::udp(40000, 53, f::dnsQuery(name))));
}

wire::Bytes view(const f::Bytes8& b) { return {b.data(), b.size()}; }

TEST(MonitorPcapng, BlocksAreWellFormedAndLibpcapReadsTheFramesBack) {
  const TempFile file("vlt-pcapng");
  auto w = PcapngWriter::open(file.path, 262144);
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

  const auto parsed = pcapngBlocks(readAll(file.path));
  ASSERT_TRUE(parsed) << "block lengths do not add up";
  const auto& all = *parsed;
  ASSERT_EQ(all.size(), 1U + 2U + sent.size());
  EXPECT_EQ(all[0].type, 0x0A0D0D0AU);
  EXPECT_EQ(pcapngU32(all[0].body, 0), 0x1A2B3C4DU);  // byte-order magic
  EXPECT_NE(all[0].body.find("vpnleak monitor"), std::string::npos);
  EXPECT_EQ(all[1].type, 1U);
  EXPECT_EQ(testing::pcapngInterfaceName(all[1]), "lan0");
  EXPECT_EQ(testing::pcapngInterfaceName(all[2]), "wlan-with-a-longer-name");
  EXPECT_EQ(pcapngU32(all[1].body, 4), 262144U);  // the snapshot length given to open()
  for (std::size_t i = 0; i < sent.size(); ++i) {
    EXPECT_EQ(all[3 + i].type, 6U);
    EXPECT_EQ(pcapngU32(all[3 + i].body, 0), sent[i].first) << "interface of packet " << i;
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

TEST(MonitorPcapng, NamesOfEveryPaddingAndFramesFromEmptyToLargerThanTheBuffer) {
  const TempFile file("vlt-pcapng-sizes");
  auto w = PcapngWriter::open(file.path, 131072);
  ASSERT_TRUE(w) << w.error().message();
  // Names of 4, 5, 6 and 7 bytes: option padding of 0, 3, 2 and 1 bytes.
  const std::vector<std::string> names{"eth0", "wlan0", "enp0s3", "wwp0s20"};
  std::vector<SourceInfo> sources;
  for (const auto& n : names) sources.push_back(SourceInfo{n, true, pk::LinkType::kEthernet});
  w->begin(sources);
  // Empty, one byte, and more than the 64 KiB output buffer holds.
  std::vector<std::string> frames{"", "x", std::string(70000, 'z')};
  for (std::uint32_t i = 0; i < frames.size(); ++i) {
    const auto* b = reinterpret_cast<const std::uint8_t*>(frames[i].data());
    w->packet(i, kTs, wire::Bytes(b, frames[i].size()), static_cast<std::uint32_t>(i + 1));
  }
  ASSERT_TRUE(w->flush());
  const auto all = pcapngBlocks(readAll(file.path));
  ASSERT_TRUE(all) << "block lengths do not add up";
  ASSERT_EQ(all->size(), 1 + names.size() + frames.size());
  for (std::size_t i = 0; i < names.size(); ++i) {
    EXPECT_EQ(testing::pcapngInterfaceName((*all)[1 + i]), names[i]);
    EXPECT_EQ(pcapngU32((*all)[1 + i].body, 4), 131072U);  // the snapshot length given
  }
  for (std::size_t i = 0; i < frames.size(); ++i) {
    const auto& epb = (*all)[1 + names.size() + i];
    EXPECT_EQ(testing::pcapngFrame(epb), frames[i]) << i;
    // A wire length below the captured one is raised to it: readers reject the contradiction.
    EXPECT_EQ(pcapngU32(epb.body, 16), std::max<std::size_t>(frames[i].size(), i + 1)) << i;
  }
}

TEST(MonitorPcapng, RefusesSourcesOfDifferentLinkTypes) {
  const TempFile file("vlt-pcapng-mixed");
  auto w = PcapngWriter::open(file.path, 262144);
  ASSERT_TRUE(w);
  EXPECT_TRUE(w->checkSources({SourceInfo{"a", true, pk::LinkType::kEthernet},
                               SourceInfo{"b", true, pk::LinkType::kEthernet}}));
  const auto st = w->checkSources({SourceInfo{"eth0", true, pk::LinkType::kEthernet},
                                   SourceInfo{"wg0", true, pk::LinkType::kRawIp}});
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, core::Errc::kInvalidArgument);
  EXPECT_NE(st.error().message().find("'eth0' ethernet, 'wg0' raw-ip"), std::string::npos)
      << st.error().message();
  w->abandon();
  EXPECT_FALSE(fs::exists(file.path));
}

TEST(MonitorPcapng, KeepsTheLinkTypeOfTheSource) {
  EXPECT_EQ(fileLinkType(pk::LinkType::kEthernet), 1);
  EXPECT_EQ(fileLinkType(pk::LinkType::kLinuxSll), 113);
  EXPECT_EQ(fileLinkType(pk::LinkType::kLinuxSll2), 276);
  EXPECT_EQ(fileLinkType(pk::LinkType::kRawIp), 101);
  const TempFile file("vlt-pcapng-raw");
  auto w = PcapngWriter::open(file.path, 262144);
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
    auto w = PcapngWriter::open(existing.path, 262144);
    ASSERT_TRUE(w);
    w->abandon();
  }
  EXPECT_EQ(readAll(existing.path), "evidence from before\n");
  // begin() truncates it: nothing of the old content is left after the new blocks.
  {
    auto w = PcapngWriter::open(existing.path, 262144);
    ASSERT_TRUE(w);
    w->begin({SourceInfo{"lan0", true, pk::LinkType::kEthernet}});
    ASSERT_TRUE(w->flush());
  }
  const auto now = readAll(existing.path);
  EXPECT_EQ(now.find("evidence"), std::string::npos);
  const auto now_blocks = pcapngBlocks(now);
  ASSERT_TRUE(now_blocks);
  EXPECT_EQ(now_blocks->size(), 2U);
  // A file open() created goes again when abandoned before begin().
  const TempFile created("vlt-pcapng-new");
  {
    auto w = PcapngWriter::open(created.path, 262144);
    ASSERT_TRUE(w);
    EXPECT_TRUE(fs::exists(created.path));
    w->abandon();
  }
  EXPECT_FALSE(fs::exists(created.path));
}

TEST(MonitorPcapng, PathsThatCannotBeWrittenAreBadInput) {
  auto dir = PcapngWriter::open("/tmp", 262144);
  ASSERT_FALSE(dir);
  EXPECT_EQ(dir.error().code, core::Errc::kInvalidArgument);
  EXPECT_EQ(dir.error().message(), "--write '/tmp' is a directory, not a file to write");
  const std::string missing = "/tmp/vlt-no-such-dir-" + testing::randomHex(8) + "/x.pcapng";
  auto none = PcapngWriter::open(missing, 262144);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, core::Errc::kInvalidArgument);
  EXPECT_EQ(none.error().message(),
            "cannot write --write '" + missing + "': No such file or directory");
}

}  // namespace
}  // namespace vpnleak::monitor
