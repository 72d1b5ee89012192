// libpcap behind one move-only handle: live capture on an interface (memory-mapped TPACKET_V3
// ring, optional kernel BPF filter, direction filter) or offline from pcap/pcapng files. The
// only file that includes <pcap.h>. Classic pcap files are read by PcapFileReader instead, which
// is faster than libpcap's reader; the handle hides which reader it uses.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "core/result.hpp"
#include "monitor/kernel_filter.hpp"
#include "monitor/pcap_file.hpp"
#include "monitor/window.hpp"
#include "wire/packet.hpp"

struct pcap;  // pcap_t

namespace vpnleak::monitor {

enum class CaptureDirection : std::uint8_t { kOut, kIn, kBoth };

struct LiveOptions {
  int snaplen = 262144;
  int buffer_bytes = 32 << 20;  // the kernel ring
  // Wake up per packet. libpcap then uses TPACKET_V2; the default TPACKET_V3 ring hands over
  // whole blocks, each at the latest timeout_ms after its first packet. Every hand-over wakes the
  // capture: 50 ms cost a 2-vCPU VM 1.6 ms of CPU per second under light traffic (cold caches
  // at each of 20 wake-ups), 250 ms a quarter of that (bench/RESULTS.md); tcpdump uses 1000 ms.
  bool immediate = false;
  int timeout_ms = 250;
  CaptureDirection direction = CaptureDirection::kOut;
  std::string filter;  // BPF expression run in the kernel; empty for none
  // When nonzero, packets the filter rejects are not dropped but cut to this many bytes: the
  // kernel copies less of them into the ring, and they are still counted.
  std::uint32_t rejected_snaplen = 0;
  // Count the packets the filter rejects in the kernel and drop them there (kernel_filter.hpp;
  // PcapHandle::rejectedInKernel), on Ethernet interfaces where the kernel allows it; else
  // rejected_snaplen applies.
  bool count_rejected = false;
};

std::optional<wire::packet::LinkType> linkTypeFromDlt(int dlt);

class PcapHandle {
 public:
  // Errc::kNotFound for a missing interface, kEnvironment without CAP_NET_RAW, kSystem else.
  static core::Result<PcapHandle> openLive(const std::string& iface, const LiveOptions& opts);
  // Errc::kInvalidArgument for a missing, unreadable or corrupt file or an unsupported link type.
  // "-" is standard input (not a terminal), e.g. `ssh host tcpdump -U -w - | vpnleak monitor
  // --read -`; it and a FIFO are streams (stream()).
  static core::Result<PcapHandle> openFile(const std::string& path);

  PcapHandle(PcapHandle&&) noexcept = default;
  PcapHandle& operator=(PcapHandle&&) noexcept = default;
  PcapHandle(const PcapHandle&) = delete;
  PcapHandle& operator=(const PcapHandle&) = delete;
  ~PcapHandle() = default;

  enum class Next : std::uint8_t { kPacket, kEnd };
  // Files: the next frame (its data valid until the next call), or kEnd at the end. A read error
  // (a corrupt or truncated file) is Errc::kInvalidArgument. Live captures use dispatch().
  core::Result<Next> next(Frame& out);

  // Live: hands the pending frames, at most max, to fn(ctx, frame) (the frame valid during the
  // call) in one pass over the ring; returns how many, 0 when nothing is pending. A capture
  // failing is Errc::kSystem.
  using FrameFn = void (*)(void* ctx, const Frame& f);
  core::Result<int> dispatch(int max, FrameFn fn, void* ctx);

  struct Stats {
    std::uint64_t received = 0;
    std::uint64_t dropped = 0;     // by the kernel: the ring was full
    std::uint64_t if_dropped = 0;  // by the interface or driver
  };
  // Live captures only; files report zeros.
  [[nodiscard]] Stats stats() const;
  // With LiveOptions::count_rejected, the packets the filter rejected and the kernel counted and
  // dropped, totals since the start; zeros when counting in the kernel was not possible.
  [[nodiscard]] KernelTunnelCounter::Counts rejectedInKernel() const {
    return counter_ ? counter_->read() : KernelTunnelCounter::Counts{};
  }

  // The fast reader behind a classic pcap file, else null: the offline loop calls it directly,
  // saving a call and a Result per packet.
  [[nodiscard]] PcapFileReader* fileReader() { return file_ ? &*file_ : nullptr; }

  [[nodiscard]] int selectableFd() const;
  [[nodiscard]] wire::packet::LinkType link() const { return link_; }
  [[nodiscard]] const std::string& name() const { return name_; }
  [[nodiscard]] bool live() const { return live_; }
  // A capture read from a pipe or FIFO as it is written: what it holds is reported as it comes.
  [[nodiscard]] bool stream() const { return stream_; }
  // Streams: waits up to timeout until reading the next frame would not block (data, or the
  // writer gone); false when it still would. Bytes already buffered by libpcap count.
  [[nodiscard]] bool waitReadable(std::chrono::milliseconds timeout) const;
  // What the capture's direction filter guarantees about every packet it returns.
  [[nodiscard]] wire::packet::Direction direction() const { return direction_; }
  // How late a packet may be handed over after its timestamp (the block timeout; 0 for files
  // and immediate mode): a packet not seen yet may be up to this old.
  [[nodiscard]] std::chrono::milliseconds deliveryLag() const { return lag_; }

 private:
  struct Closer {
    void operator()(pcap* p) const;
  };
  PcapHandle(pcap* p, std::string name, bool live);
  core::Status setLinkType();
  core::Status applyFilter(const LiveOptions& o, KernelDirection d);

  std::unique_ptr<pcap, Closer> p_;  // null when file_ reads the file
  std::optional<PcapFileReader> file_;
  std::optional<KernelTunnelCounter> counter_;
  std::string name_;
  bool live_ = false;
  bool stream_ = false;
  bool nano_ = false;
  wire::packet::LinkType link_ = wire::packet::LinkType::kEthernet;
  wire::packet::Direction direction_ = wire::packet::Direction::kUnknown;
  std::chrono::milliseconds lag_{0};
};

}  // namespace vpnleak::monitor
