// Tunnel packets counted in the kernel. The capture's classic BPF filter (prefilterExpression,
// compiled by libpcap) is translated to an eBPF socket filter whose rejecting exits add the
// packet to a counter (packets, bytes on the wire) and drop it: the tunnel's traffic is counted
// without being copied into the ring or read by the monitor. The same program applies the
// capture's direction (as libpcap does in user space), so only what the capture would have seen
// is counted, and lets every packet the classic filter would read past the end of through (a
// classic filter drops it). Needs CAP_BPF (or CAP_SYS_ADMIN) and Linux 5.5 (memory-mapped array
// maps, read without a system call); without them capture.cpp cuts tunnel packets short instead.
// No <pcap.h> and no <linux/bpf.h> here: both define a struct bpf_insn.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/result.hpp"
#include "core/unique_fd.hpp"

namespace vpnleak::monitor {

// One classic BPF instruction (the layout of struct sock_filter and libpcap's struct bpf_insn).
struct ClassicInsn {
  std::uint16_t code;
  std::uint8_t jt;
  std::uint8_t jf;
  std::uint32_t k;
};

// Which packets the capture keeps, by the kernel's packet type (libpcap's direction filter).
struct KernelDirection {
  bool outgoing = true;
  bool incoming = true;
};

// One eBPF instruction (the layout of struct bpf_insn in <linux/bpf.h>).
struct EbpfInsn {
  std::uint8_t code;
  std::uint8_t regs;  // dst_reg in the low nibble, src_reg in the high one
  std::int16_t off;
  std::int32_t imm;
};

// The eBPF program for classic program prog counting into map map_fd (an array of one
// {packets, bytes} pair). Errc::kInvalidArgument for an instruction it does not translate
// (ancillary loads, division by X, "ret A"): the caller keeps the classic filter.
core::Result<std::vector<EbpfInsn>> translateFilter(std::span<const ClassicInsn> prog, int map_fd,
                                                    KernelDirection d);

// The classic program prog behind a length check: a packet shorter than the farthest byte prog
// may load is accepted whole, with snapshot length accept, where prog would have ended on a load
// past its end, which drops the packet unseen. X is followed through the program (an IP header
// length from "ldxb 4*([k]&15)" is at most 60). Empty when the bound is unknown: ancillary
// loads, or an indirect load with X from A, memory or the length.
std::vector<ClassicInsn> guardShortPackets(std::span<const ClassicInsn> prog, std::uint32_t accept);

// Loads a program from translateFilter as a socket filter: kInternal with the end of the
// verifier's log when the verifier refuses it (a translation bug, or an instruction too new for
// this kernel), kEnvironment when bpf(2) is not allowed (no CAP_BPF) or missing.
core::Result<core::UniqueFd> loadFilter(const std::vector<EbpfInsn>& prog);

class KernelTunnelCounter {
 public:
  // Loads the translated program and attaches it to packet socket sock (replacing any filter).
  // kEnvironment when the kernel does not allow it (no CAP_BPF, too old), kInternal when the
  // verifier refuses the program, kInvalidArgument as above.
  static core::Result<KernelTunnelCounter> attach(int sock, std::span<const ClassicInsn> prog,
                                                  KernelDirection d);

  KernelTunnelCounter(KernelTunnelCounter&& other) noexcept;
  KernelTunnelCounter& operator=(KernelTunnelCounter&& other) noexcept;
  KernelTunnelCounter(const KernelTunnelCounter&) = delete;
  KernelTunnelCounter& operator=(const KernelTunnelCounter&) = delete;
  ~KernelTunnelCounter();

  struct Counts {
    std::uint64_t packets = 0;
    std::uint64_t bytes = 0;
  };
  // Totals since attach: two loads from the map's memory, cheap enough for every batch.
  [[nodiscard]] Counts read() const;

  // Creates the counter map alone (for tests that run the program with BPF_PROG_TEST_RUN).
  static core::Result<KernelTunnelCounter> createMap();
  [[nodiscard]] int mapFd() const { return map_.get(); }

 private:
  KernelTunnelCounter(core::UniqueFd map, void* mem) : map_(std::move(map)), mem_(mem) {}

  core::UniqueFd map_;
  void* mem_ = nullptr;  // the map's value, mapped read-only
};

}  // namespace vpnleak::monitor
