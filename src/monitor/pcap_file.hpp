// Classic pcap files (what tcpdump -w writes) read in large blocks: the monitor's throughput
// path offline. libpcap's reader makes two stdio reads per packet and was, alone, slower than
// tcpdump's whole filtering run (bench/monitor_bench.cpp); a memory map was slower still (page
// faults and unmapping on every run). Here a thread reads the next block while the caller parses
// this one — the kernel's copy of the file and the classification overlap — and frames are views
// into the block. pcapng and anything this reader does not recognise go to libpcap instead
// (PcapHandle decides).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "core/result.hpp"
#include "core/unique_fd.hpp"
#include "wire/packet.hpp"

namespace vpnleak::monitor {

struct Frame;
struct ReadBlock;
class BlockReader;

// Link types as stored in capture files (LINKTYPE_*, not libpcap's DLT_* values).
std::optional<wire::packet::LinkType> linkTypeFromFile(std::uint32_t linktype);

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

  enum class Next : std::uint8_t { kPacket, kEnd };
  // The next frame, valid until the next call. Errc::kInvalidArgument for a record cut short or
  // an impossible captured length, worded as libpcap does so that both readers fail alike.
  core::Result<Next> next(Frame& out);

  [[nodiscard]] wire::packet::LinkType link() const { return link_; }

 private:
  PcapFileReader() = default;
  core::Status start();  // the reading thread and buffers, on the first next()
  void finish();         // and gone again at the end
  // Makes n bytes contiguous from begin_; false at the end of the file with fewer left.
  core::Result<bool> ensure(std::size_t n);
  [[nodiscard]] std::uint32_t read32(std::size_t at) const;
  void take(Frame& out, std::uint32_t caplen);  // the record at begin_, known to be whole

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
