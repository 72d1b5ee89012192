// Classic pcap files (what tcpdump -w writes) read in large blocks: the monitor's throughput
// path offline. libpcap's reader makes two stdio reads per packet and was, alone, slower than
// tcpdump's whole filtering run (bench/monitor_bench.cpp); a memory map was slower still (page
// faults, TLB misses on 4 KiB pages and unmapping on every run). Blocks are read with read(2),
// on a thread of their own when the process may run on more than one CPU (the kernel's copy of
// the file then overlaps the classification), else inline, where a second thread would only add
// context switches. Frames are views into the block. pcapng and anything this reader does not
// recognise go to libpcap instead (PcapHandle decides).
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>

#include "core/result.hpp"
#include "core/unique_fd.hpp"
#include "monitor/window.hpp"
#include "wire/packet.hpp"

namespace vpnleak::monitor {

// One captured frame as a reader hands it over (both readers: this one and libpcap's).
struct Frame {
  Timestamp ts{};
  wire::Bytes data;            // as captured (at most the snapshot length)
  std::uint32_t wire_len = 0;  // as it was on the wire
};

struct ReadBlock;
class BlockReader;

// Link types as stored in capture files (LINKTYPE_*, not libpcap's DLT_* values).
std::optional<wire::packet::LinkType> linkTypeFromFile(std::uint32_t linktype);
// The other way (LINKTYPE_RAW for raw IP): what a capture file written by the monitor stores.
std::uint16_t fileLinkType(wire::packet::LinkType link);

class PcapFileReader {
 public:
  // nullopt when the file is not a classic pcap this reader handles (pcapng, an unknown link
  // type, a short header) or cannot be opened: the caller then asks libpcap, which reports any
  // error in its own words.
  static std::optional<PcapFileReader> open(const std::string& path);

  PcapFileReader(PcapFileReader&&) noexcept;
  PcapFileReader& operator=(PcapFileReader&&) noexcept;
  PcapFileReader(const PcapFileReader&) = delete;
  PcapFileReader& operator=(const PcapFileReader&) = delete;
  ~PcapFileReader();

  static constexpr std::size_t kRecordHeader = 16;
  // libpcap's limit for the link types read here: a larger captured length is corruption.
  static constexpr std::uint32_t kMaxCaptured = 262144;

  enum class Next : std::uint8_t { kPacket, kEnd };
  // The next frame, valid until the next call. Errc::kInvalidArgument for a record cut short or
  // an impossible captured length, worded as libpcap does so that both readers fail alike.
  // Inline: nearly every record lies whole in the current block, and this is the per-packet path.
  core::Result<Next> next(Frame& out) {
    if (end_ - begin_ >= kRecordHeader) {
      const std::uint32_t caplen = read32(8);
      if (caplen <= kMaxCaptured && end_ - begin_ - kRecordHeader >= caplen) {
        take(out, caplen);
        return Next::kPacket;
      }
    }
    return nextAcrossBlocks(out);
  }

  [[nodiscard]] wire::packet::LinkType link() const { return link_; }

 private:
  PcapFileReader() = default;
  core::Status start();  // the buffers (and reading thread), on the first next()
  void finish();         // and gone again at the end
  // next() when the record at begin_ is not whole in the block (or nothing was read yet).
  core::Result<Next> nextAcrossBlocks(Frame& out);
  // Makes n bytes contiguous from begin_; false at the end of the file with fewer left.
  core::Result<bool> ensure(std::size_t n);
  [[nodiscard]] std::uint32_t read32(std::size_t at) const {
    std::uint32_t v = 0;
    std::memcpy(&v, data_ + begin_ + at, sizeof v);
    if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap32(v);
    return swapped_ ? __builtin_bswap32(v) : v;
  }
  // The record at begin_, known to be whole.
  void take(Frame& out, std::uint32_t caplen) {
    const auto ns = static_cast<std::int64_t>(read32(0)) * 1'000'000'000LL +
                    static_cast<std::int64_t>(read32(4)) * (nano_ ? 1 : 1000);
    out.ts = Timestamp(std::chrono::nanoseconds(ns));
    out.data = wire::Bytes(data_ + begin_ + kRecordHeader, caplen);
    out.wire_len = read32(12);
    begin_ += kRecordHeader + caplen;
  }

  core::UniqueFd fd_;                    // until start() hands it to the reading thread
  std::unique_ptr<BlockReader> blocks_;  // owns the reading thread; stable address
  std::string name_;
  ReadBlock* block_ = nullptr;    // the block being parsed
  std::uint8_t* data_ = nullptr;  // its storage
  std::size_t begin_ = 0, end_ = 0;
  bool eof_ = false;   // the reading thread has delivered the last block
  bool done_ = false;  // every record was returned
  bool swapped_ = false;
  bool nano_ = false;
  wire::packet::LinkType link_ = wire::packet::LinkType::kEthernet;
};

}  // namespace vpnleak::monitor
