// PcapngWriter (vpnleak monitor --write): the blocks are well formed, libpcap reads the frames
// back with their nanosecond timestamps, lengths and link type, and a file is touched only once
// the capture has begun.
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
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

TEST(MonitorPcapng, SplitNamesAreNumberedBeforeTheExtension) {
  EXPECT_EQ(PcapngWriter::numberedName("leaks.pcapng", 0), "leaks.pcapng");
  EXPECT_EQ(PcapngWriter::numberedName("leaks.pcapng", 3), "leaks-3.pcapng");
  EXPECT_EQ(PcapngWriter::numberedName("/var/tmp/a.b.pcap", 12), "/var/tmp/a.b-12.pcap");
  EXPECT_EQ(PcapngWriter::numberedName("dir/leaks", 1), "dir/leaks-1");
  EXPECT_EQ(PcapngWriter::numberedName(".hidden", 2), ".hidden-2");
  EXPECT_TRUE(PcapngWriter::mayBecome("leaks.pcapng", "leaks-1.pcapng"));
  EXPECT_TRUE(PcapngWriter::mayBecome("/tmp/leaks.pcapng", "/tmp/../tmp/leaks-250.pcapng"));
  EXPECT_TRUE(PcapngWriter::mayBecome("/tmp/leaks", "/tmp/leaks-7"));
  for (const char* other :
       {"leaks.pcapng", "leaks-0.pcapng", "leaks-.pcapng", "leaks-1x.pcapng", "leaks-1.pcap",
        "other-1.pcapng", "/etc/leaks-1.pcapng", "leaks-01.pcapng"}) {
    EXPECT_FALSE(PcapngWriter::mayBecome("/tmp/leaks.pcapng", other)) << other;
  }
}

// Each file of a split is a whole pcapng file (section, interfaces, frames) of at most the limit
// unless one frame alone is larger; the frames follow each other across the files; with a count
// only the newest files stay.
TEST(MonitorPcapng, SplitsAtTheLimitAndKeepsTheNewestFiles) {
  const testing::TempDir tmp("vlt-split");
  const fs::path dir = tmp.path();
  const auto base = (dir / "leaks.pcapng").string();
  // Left from an earlier run: replaced when its number comes, never followed as a link.
  std::ofstream(dir / "leaks-1.pcapng") << "an earlier run";
  const auto frame = dnsFrame("split.leak.test");  // 32 + padded size per block
  const std::uint64_t block = 32 + ((frame.size() + 3) & ~std::size_t{3});
  // A file holds exactly eight frames: its header and eight blocks make the limit (not more).
  std::uint64_t header = 0;
  {
    const TempFile empty("vlt-pcapng-header");
    auto w = PcapngWriter::open(empty.path, 262144);
    ASSERT_TRUE(w);
    w->begin({SourceInfo{"lan0", true, pk::LinkType::kEthernet}});
    w->close();
    header = readAll(empty.path).size();
  }
  const std::uint64_t per_file = 8;
  const std::uint64_t limit = header + per_file * block;
  const int frames = 50;
  std::vector<std::string> kept;
  {
    auto w = PcapngWriter::open(base, 262144);
    ASSERT_TRUE(w);
    ASSERT_TRUE(w->splitAt(limit, 4));
    w->begin({SourceInfo{"lan0", true, pk::LinkType::kEthernet}});
    for (int i = 0; i < frames; ++i) {
      w->packet(0, kTs + std::chrono::nanoseconds(i), view(frame),
                static_cast<std::uint32_t>(frame.size()));
    }
    w->close();
    EXPECT_EQ(w->error(), 0);
    kept.assign(w->files().begin(), w->files().end());
  }
  // Only this run's newest four are there (the earlier run's file among those replaced).
  ASSERT_EQ(kept.size(), 4U);
  std::vector<std::string> left;
  for (const auto& e : fs::directory_iterator(dir)) left.push_back(e.path().string());
  std::sort(left.begin(), left.end());
  std::vector<std::string> want = kept;
  std::sort(want.begin(), want.end());
  EXPECT_EQ(left, want);
  // Each: section header, one interface, then as many frames as fit in the limit.
  const std::uint64_t files_made = (frames + per_file - 1) / per_file;  // 0 .. files_made - 1
  ASSERT_GE(files_made, 5U);
  for (std::size_t k = 0; k < kept.size(); ++k) {
    const auto number = files_made - kept.size() + k;
    EXPECT_EQ(kept[k], PcapngWriter::numberedName(base, number));
    const auto bytes = readAll(kept[k]);
    const auto blocks = pcapngBlocks(bytes);
    ASSERT_TRUE(blocks) << kept[k];
    ASSERT_GE(blocks->size(), 3U) << kept[k];
    EXPECT_LE(bytes.size(), limit) << kept[k];
    EXPECT_EQ((*blocks)[0].type, 0x0A0D0D0AU) << kept[k];
    EXPECT_EQ((*blocks)[1].type, 1U) << kept[k];
    const auto in_file = number + 1 < files_made ? per_file : frames - number * per_file;
    EXPECT_EQ(blocks->size() - 2, in_file) << kept[k];
    // The frames in order: the first one's timestamp is its index among all frames.
    const auto& epb = (*blocks)[2].body;
    const std::uint64_t ts = (std::uint64_t{pcapngU32(epb, 4)} << 32) | pcapngU32(epb, 8);
    EXPECT_EQ(ts - static_cast<std::uint64_t>(kTs.time_since_epoch().count()), number * per_file)
        << kept[k];
  }
}

TEST(MonitorPcapng, OnlyAFileIsSplit) {
  auto w = PcapngWriter::open("/dev/null", 262144);
  ASSERT_TRUE(w);
  const auto st = w->splitAt(1000, 0);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, core::Errc::kInvalidArgument);
  EXPECT_EQ(st.error().message(),
            "--write-limit: --write '/dev/null' is not a regular file, and only a file can be "
            "split into files");
}

}  // namespace
}  // namespace vpnleak::monitor
