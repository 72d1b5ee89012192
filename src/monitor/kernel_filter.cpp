#include "monitor/kernel_filter.hpp"

#include <linux/bpf.h>
#include <linux/filter.h>
#include <linux/if_packet.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <optional>
#include <string>
#include <utility>

namespace vpnleak::monitor {

using core::Errc;
using core::makeError;

static_assert(sizeof(EbpfInsn) == sizeof(bpf_insn));

namespace {

// Registers as the kernel's own classic-to-eBPF conversion uses them: A in R0 (where LD_ABS and
// LD_IND put their result), X in R7, the context in R6 (which LD_ABS and LD_IND require); R8 is
// scratch and R9 holds the packet's length. The classic scratch words M[0..15] are on the stack.
constexpr std::uint8_t kA = BPF_REG_0;
constexpr std::uint8_t kCtx = BPF_REG_6;
constexpr std::uint8_t kX = BPF_REG_7;
constexpr std::uint8_t kTmp = BPF_REG_8;
constexpr std::uint8_t kLen = BPF_REG_9;
constexpr std::int16_t kKeyOffset = -72;  // the map key, below M[] at -64..-4
constexpr std::uint32_t kMaxLoadOffset = 0xffff;
constexpr std::size_t kMaxInsns = 32767;  // jump offsets are 16 bits
constexpr std::size_t kValueSize = 16;    // {packets, bytes}

std::int16_t scratch(std::uint32_t k) {
  return static_cast<std::int16_t>(-64 + 4 * static_cast<int>(k));
}

// How many bytes a load of this code reads.
int bytes(std::uint16_t code) {
  return BPF_SIZE(code) == BPF_W ? 4 : BPF_SIZE(code) == BPF_H ? 2 : 1;
}

EbpfInsn insn(int code, std::uint8_t dst, std::uint8_t src, std::int16_t off, std::int32_t imm) {
  return EbpfInsn{static_cast<std::uint8_t>(code), static_cast<std::uint8_t>(dst | (src << 4)), off,
                  imm};
}

class Translator {
 public:
  Translator(std::span<const ClassicInsn> prog, int map_fd, KernelDirection d)
      : prog_(prog), map_fd_(map_fd), dir_(d) {}

  core::Result<std::vector<EbpfInsn>> run() {
    if (prog_.empty()) return unsupported("empty program");
    if (!dir_.outgoing && !dir_.incoming) return unsupported("no direction");
    for (const auto& c : prog_) {
      if (BPF_CLASS(c.code) == BPF_RET && BPF_RVAL(c.code) == BPF_K) {
        accept_k_ = std::max(accept_k_, c.k);
      }
    }
    if (accept_k_ == 0) accept_k_ = ~0U;  // no accepting exit of its own: the whole packet
    prologue();
    for (std::size_t i = 0; i < prog_.size(); ++i) {
      start_.push_back(out_.size());
      if (!classic(i, prog_[i])) {
        return unsupported("classic instruction code " + std::to_string(prog_[i].code));
      }
    }
    epilogues();
    if (out_.size() > kMaxInsns) return unsupported("program too long");
    for (const auto& f : fixups_) {
      const std::size_t to =
          f.target >= 0 ? start_[static_cast<std::size_t>(f.target)] : labels_[slot(f.target)];
      out_[f.at].off =
          static_cast<std::int16_t>(static_cast<long>(to) - static_cast<long>(f.at) - 1);
    }
    return std::move(out_);
  }

 private:
  // Jump targets: a classic instruction (>= 0) or one of the exits.
  enum Label : long { kAccept = -1, kDrop = -2, kCount = -3 };
  static std::size_t slot(long label) { return static_cast<std::size_t>(-label - 1); }
  struct Fixup {
    std::size_t at;
    long target;
  };

  static core::Error unsupported(const std::string& why) {
    return makeError(Errc::kInvalidArgument, "filter not translated to eBPF: " + why);
  }
  void emit(EbpfInsn i) { out_.push_back(i); }
  void jump(int code, std::uint8_t dst, std::uint8_t src, std::int32_t imm, long target) {
    if (target < 0) used_[slot(target)] = true;
    fixups_.push_back(Fixup{out_.size(), target});
    emit(insn(code, dst, src, 0, imm));
  }

  void prologue() {
    emit(insn(BPF_ALU64 | BPF_MOV | BPF_X, kCtx, BPF_REG_1, 0, 0));
    emit(insn(BPF_LDX | BPF_MEM | BPF_W, kLen, kCtx, offsetof(__sk_buff, len), 0));
    if (!dir_.outgoing || !dir_.incoming) {
      emit(insn(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_2, kCtx, offsetof(__sk_buff, pkt_type), 0));
      jump(BPF_JMP32 | (dir_.outgoing ? BPF_JNE : BPF_JEQ) | BPF_K, BPF_REG_2, 0, PACKET_OUTGOING,
           kDrop);
    }
    emit(insn(BPF_ALU | BPF_MOV | BPF_K, kA, 0, 0, 0));
    emit(insn(BPF_ALU | BPF_MOV | BPF_K, kX, 0, 0, 0));
  }

  // A load past the packet's end ends a classic filter with 0 (drop); here it lets the packet
  // through: the filter only ever drops what it recognised.
  void boundAbsolute(std::uint32_t k, int size) {
    jump(BPF_JMP | BPF_JLT | BPF_K, kLen, 0, static_cast<std::int32_t>(k) + size, kAccept);
  }
  void boundIndirect(std::uint32_t k, int size) {
    emit(insn(BPF_ALU64 | BPF_MOV | BPF_X, kTmp, kX, 0, 0));
    emit(insn(BPF_ALU64 | BPF_ADD | BPF_K, kTmp, 0, 0, static_cast<std::int32_t>(k) + size));
    jump(BPF_JMP | BPF_JGT | BPF_X, kTmp, kLen, 0, kAccept);
  }
  bool load(const ClassicInsn& c) {
    const bool x = BPF_CLASS(c.code) == BPF_LDX;
    const std::uint8_t dst = x ? kX : kA;
    switch (BPF_MODE(c.code)) {
      case BPF_IMM:
        emit(insn(BPF_ALU | BPF_MOV | BPF_K, dst, 0, 0, static_cast<std::int32_t>(c.k)));
        return true;
      case BPF_MEM:
        if (c.k >= 16) return false;
        emit(insn(BPF_LDX | BPF_MEM | BPF_W, dst, BPF_REG_10, scratch(c.k), 0));
        return true;
      case BPF_LEN:
        emit(insn(BPF_ALU | BPF_MOV | BPF_X, dst, kLen, 0, 0));
        return true;
      case BPF_ABS:
      case BPF_IND:
        if (x || c.k > kMaxLoadOffset) return false;  // ancillary data (SKF_AD_OFF) too
        if (BPF_MODE(c.code) == BPF_ABS) {
          boundAbsolute(c.k, bytes(c.code));
        } else {
          boundIndirect(c.k, bytes(c.code));
        }
        emit(insn(BPF_LD | BPF_MODE(c.code) | BPF_SIZE(c.code), 0,
                  BPF_MODE(c.code) == BPF_IND ? kX : 0, 0, static_cast<std::int32_t>(c.k)));
        return true;
      case BPF_MSH:  // X = 4 * (P[k] & 15), A kept
        if (!x || BPF_SIZE(c.code) != BPF_B || c.k > kMaxLoadOffset) return false;
        boundAbsolute(c.k, 1);
        emit(insn(BPF_ALU64 | BPF_MOV | BPF_X, kTmp, kA, 0, 0));
        emit(insn(BPF_LD | BPF_ABS | BPF_B, 0, 0, 0, static_cast<std::int32_t>(c.k)));
        emit(insn(BPF_ALU | BPF_AND | BPF_K, kA, 0, 0, 0xf));
        emit(insn(BPF_ALU | BPF_LSH | BPF_K, kA, 0, 0, 2));
        emit(insn(BPF_ALU | BPF_MOV | BPF_X, kX, kA, 0, 0));
        emit(insn(BPF_ALU64 | BPF_MOV | BPF_X, kA, kTmp, 0, 0));
        return true;
      default:
        return false;
    }
  }

  bool branch(std::size_t i, const ClassicInsn& c) {
    const long next = static_cast<long>(i) + 1;
    if (BPF_OP(c.code) == BPF_JA) {
      if (c.k >= prog_.size() - static_cast<std::size_t>(next)) return false;
      jump(BPF_JMP | BPF_JA, 0, 0, 0, next + static_cast<long>(c.k));
      return true;
    }
    const int op = BPF_OP(c.code);
    if (op != BPF_JEQ && op != BPF_JGT && op != BPF_JGE && op != BPF_JSET) return false;
    const long t = next + c.jt;
    const long f = next + c.jf;
    const auto size = static_cast<long>(prog_.size());
    if (t >= size || f >= size) return false;
    const bool by_x = BPF_SRC(c.code) == BPF_X;
    const auto imm = static_cast<std::int32_t>(c.k);
    if (t != f) jump(BPF_JMP32 | op | BPF_SRC(c.code), kA, by_x ? kX : 0, by_x ? 0 : imm, t);
    if (f != next || t == f) jump(BPF_JMP | BPF_JA, 0, 0, 0, f);
    return true;
  }

  bool classic(std::size_t i, const ClassicInsn& c) {
    switch (BPF_CLASS(c.code)) {
      case BPF_LD:
      case BPF_LDX:
        return load(c);
      case BPF_ST:
      case BPF_STX:
        if (c.k >= 16) return false;
        emit(insn(BPF_STX | BPF_MEM | BPF_W, BPF_REG_10, BPF_CLASS(c.code) == BPF_ST ? kA : kX,
                  scratch(c.k), 0));
        return true;
      case BPF_ALU: {
        const int op = BPF_OP(c.code);
        const bool by_x = BPF_SRC(c.code) == BPF_X;
        if (by_x && (op == BPF_DIV || op == BPF_MOD)) return false;  // classic: X = 0 drops
        emit(insn(BPF_ALU | op | BPF_SRC(c.code), kA, by_x ? kX : 0, 0,
                  op == BPF_NEG ? 0 : static_cast<std::int32_t>(c.k)));
        return true;
      }
      case BPF_JMP:
        return branch(i, c);
      case BPF_RET:
        if (BPF_RVAL(c.code) != BPF_K) return false;
        if (c.k == 0) {
          jump(BPF_JMP | BPF_JA, 0, 0, 0, kCount);
        } else {
          emit(insn(BPF_ALU | BPF_MOV | BPF_K, kA, 0, 0, static_cast<std::int32_t>(c.k)));
          emit(insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
        }
        return true;
      case BPF_MISC:
        emit(BPF_MISCOP(c.code) == BPF_TAX ? insn(BPF_ALU | BPF_MOV | BPF_X, kX, kA, 0, 0)
                                           : insn(BPF_ALU | BPF_MOV | BPF_X, kA, kX, 0, 0));
        return true;
      default:
        return false;
    }
  }

  // The exits the program jumps to, each only when used (the verifier refuses dead code).
  void epilogues() {
    if (used_[slot(kAccept)]) {
      labels_[slot(kAccept)] = out_.size();
      emit(insn(BPF_ALU | BPF_MOV | BPF_K, kA, 0, 0, static_cast<std::int32_t>(accept_k_)));
      emit(insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
    }
    if (used_[slot(kCount)]) {  // counter[0].packets += 1, .bytes += len; then drop
      labels_[slot(kCount)] = out_.size();
      emit(insn(BPF_ST | BPF_MEM | BPF_W, BPF_REG_10, 0, kKeyOffset, 0));
      emit(insn(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_2, BPF_REG_10, 0, 0));
      emit(insn(BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_2, 0, 0, kKeyOffset));
      emit(insn(BPF_LD | BPF_DW | BPF_IMM, BPF_REG_1, BPF_PSEUDO_MAP_FD, 0, map_fd_));
      emit(insn(0, 0, 0, 0, 0));
      emit(insn(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_map_lookup_elem));
      emit(insn(BPF_JMP | BPF_JEQ | BPF_K, kA, 0, 3, 0));
      emit(insn(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_1, 0, 0, 1));
      emit(insn(BPF_STX | BPF_DW | BPF_ATOMIC, kA, BPF_REG_1, 0, BPF_ADD));
      emit(insn(BPF_STX | BPF_DW | BPF_ATOMIC, kA, kLen, 8, BPF_ADD));
    }
    if (used_[slot(kCount)] || used_[slot(kDrop)]) {
      labels_[slot(kDrop)] = out_.size();
      emit(insn(BPF_ALU | BPF_MOV | BPF_K, kA, 0, 0, 0));
      emit(insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
    }
  }

  std::span<const ClassicInsn> prog_;
  int map_fd_;
  KernelDirection dir_;
  std::uint32_t accept_k_ = 0;
  std::vector<EbpfInsn> out_;
  std::vector<std::size_t> start_;
  std::vector<Fixup> fixups_;
  std::array<std::size_t, 3> labels_{};
  std::array<bool, 3> used_{};
};

long bpfCall(int cmd, bpf_attr& attr) { return ::syscall(__NR_bpf, cmd, &attr, sizeof attr); }

template <typename T>
std::uint64_t address(T* p) {
  return reinterpret_cast<std::uintptr_t>(p);  // NOLINT: the bpf(2) ABI
}

core::Error bpfError(const std::string& what, int err) {
  return makeError(err == EPERM || err == EACCES || err == EINVAL || err == ENOSYS
                       ? Errc::kEnvironment
                       : Errc::kSystem,
                   what + ": " + std::strerror(err));
}

}  // namespace

core::Result<core::UniqueFd> loadFilter(const std::vector<EbpfInsn>& prog) {
  static const char kLicense[] = "GPL";  // no GPL-only helper is called: it matters for none
  std::string log(16384, '\0');
  bpf_attr attr{};
  attr.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
  attr.insns = address(prog.data());
  attr.insn_cnt = static_cast<std::uint32_t>(prog.size());
  attr.license = address(kLicense);
  attr.log_buf = address(log.data());
  attr.log_size = static_cast<std::uint32_t>(log.size());
  attr.log_level = 1;
  core::UniqueFd fd(static_cast<int>(bpfCall(BPF_PROG_LOAD, attr)));
  if (!fd.valid()) {
    const int err = errno;
    log.resize(std::strlen(log.c_str()));
    const auto tail = log.size() > 300 ? log.substr(log.size() - 300) : log;
    if (err == EACCES || err == EINVAL) {  // the verifier refused what the translation made
      return makeError(Errc::kInternal, "the kernel refused the translated eBPF capture filter (" +
                                            tail + "): " + std::strerror(err));
    }
    return bpfError("loading the eBPF capture filter", err);
  }
  return fd;
}

namespace {

// What X holds at an instruction of a classic program, for guardShortPackets.
struct XState {
  enum class Kind { kConst, kHeader, kAny } kind = Kind::kConst;
  std::uint32_t header_k = 0;  // kHeader: X = 4 * (P[header_k] & 15)
  std::uint64_t max = 0;       // an upper bound of X
};

XState merge(const XState& a, const XState& b) {
  XState out{XState::Kind::kAny, 0, std::max(a.max, b.max)};
  if (a.kind == b.kind && a.kind == XState::Kind::kConst) out.kind = XState::Kind::kConst;
  if (a.kind == b.kind && a.kind == XState::Kind::kHeader && a.header_k == b.header_k) {
    out.kind = XState::Kind::kHeader;
    out.header_k = a.header_k;
  }
  return out;
}

}  // namespace

std::vector<ClassicInsn> guardShortPackets(std::span<const ClassicInsn> prog,
                                           std::uint32_t accept) {
  constexpr std::uint64_t kUnbounded = ~std::uint64_t{0};
  constexpr std::uint64_t kMaxHeader = 60;  // 4 * (P[k] & 15)
  // X at each instruction (jumps only go forward: one pass in order); the farthest byte a load
  // reads, plus one, from the start (abs_end) and after one IP header length X (ind_end).
  std::vector<std::optional<XState>> at(prog.size());
  if (!prog.empty()) at[0] = XState{};
  std::uint64_t abs_end = 0;
  std::uint64_t ind_end = 0;
  std::optional<std::uint32_t> header_k;
  for (std::size_t i = 0; i < prog.size(); ++i) {
    if (!at[i]) continue;  // unreachable
    const auto& c = prog[i];
    const int cls = BPF_CLASS(c.code);
    const int mode = BPF_MODE(c.code);
    XState x = *at[i];
    if (cls == BPF_LD && (mode == BPF_ABS || mode == BPF_IND)) {
      if (c.k > kMaxLoadOffset || (mode == BPF_IND && x.max == kUnbounded)) return {};
      const std::uint64_t last = c.k + static_cast<std::uint64_t>(bytes(c.code));
      if (mode == BPF_IND && x.kind == XState::Kind::kHeader &&
          header_k.value_or(x.header_k) == x.header_k) {
        header_k = x.header_k;
        ind_end = std::max(ind_end, last);
      } else {
        abs_end = std::max(abs_end, last + (mode == BPF_IND ? x.max : 0));
      }
    } else if (cls == BPF_LDX && mode == BPF_MSH) {
      if (c.k > kMaxLoadOffset) return {};
      abs_end = std::max<std::uint64_t>(abs_end, c.k + 1);
      x = XState{XState::Kind::kHeader, c.k, kMaxHeader};
    } else if (cls == BPF_LDX) {
      x = mode == BPF_IMM ? XState{XState::Kind::kConst, 0, c.k}
                          : XState{XState::Kind::kAny, 0, kUnbounded};  // memory, length
    } else if (cls == BPF_MISC && BPF_MISCOP(c.code) == BPF_TAX) {
      x = XState{XState::Kind::kAny, 0, kUnbounded};
    }
    const auto reach = [&](std::size_t to) {
      if (to < prog.size()) at[to] = at[to] ? merge(*at[to], x) : x;
    };
    if (cls == BPF_RET) continue;
    if (cls != BPF_JMP) {
      reach(i + 1);
    } else if (BPF_OP(c.code) == BPF_JA) {
      reach(i + 1 + c.k);
    } else {
      reach(i + 1 + c.jt);
      reach(i + 1 + c.jf);
    }
  }
  if ((abs_end == 0 && ind_end == 0) || abs_end > kMaxLoadOffset) return {};
  const auto ret = ClassicInsn{BPF_RET | BPF_K, 0, 0, accept};  // the whole packet, to classify
  std::vector<ClassicInsn> out{
      {BPF_LD | BPF_W | BPF_LEN, 0, 0, 0},  // A = the packet's length
      {BPF_JMP | BPF_JGE | BPF_K, 1, 0, static_cast<std::uint32_t>(abs_end)},
      ret};
  if (header_k) {  // and len >= X + ind_end, with X as the program computes it
    const std::vector<ClassicInsn> relative{
        {BPF_LDX | BPF_B | BPF_MSH, 0, 0, *header_k},
        {BPF_JMP | BPF_JGE | BPF_X, 1, 0, 0},
        ret,
        {BPF_ALU | BPF_SUB | BPF_X, 0, 0, 0},
        {BPF_JMP | BPF_JGE | BPF_K, 1, 0, static_cast<std::uint32_t>(ind_end)},
        ret,
        {BPF_LDX | BPF_IMM, 0, 0, 0}};  // X = 0, as the program starts
    out.insert(out.end(), relative.begin(), relative.end());
  }
  out.push_back({BPF_LD | BPF_IMM, 0, 0, 0});  // A = 0, as the program starts
  out.insert(out.end(), prog.begin(), prog.end());
  return out;
}

core::Result<std::vector<EbpfInsn>> translateFilter(std::span<const ClassicInsn> prog, int map_fd,
                                                    KernelDirection d) {
  return Translator(prog, map_fd, d).run();
}

core::Result<KernelTunnelCounter> KernelTunnelCounter::createMap() {
  bpf_attr attr{};
  attr.map_type = BPF_MAP_TYPE_ARRAY;
  attr.key_size = sizeof(std::uint32_t);
  attr.value_size = kValueSize;
  attr.max_entries = 1;
  attr.map_flags = BPF_F_MMAPABLE;
  core::UniqueFd map(static_cast<int>(bpfCall(BPF_MAP_CREATE, attr)));
  if (!map.valid()) return bpfError("creating the tunnel counter map", errno);
  void* mem = ::mmap(nullptr, static_cast<std::size_t>(::sysconf(_SC_PAGESIZE)), PROT_READ,
                     MAP_SHARED, map.get(), 0);
  if (mem == MAP_FAILED) return bpfError("mapping the tunnel counter map", errno);
  return KernelTunnelCounter(std::move(map), mem);
}

core::Result<KernelTunnelCounter> KernelTunnelCounter::attach(int sock,
                                                              std::span<const ClassicInsn> prog,
                                                              KernelDirection d) {
  VL_TRY_ASSIGN(auto counter, createMap());
  VL_TRY_ASSIGN(const auto ebpf, translateFilter(prog, counter.mapFd(), d));
  VL_TRY_ASSIGN(const auto fd, loadFilter(ebpf));
  const int prog_fd = fd.get();
  if (::setsockopt(sock, SOL_SOCKET, SO_ATTACH_BPF, &prog_fd, sizeof prog_fd) != 0) {
    return bpfError("attaching the eBPF capture filter", errno);
  }
  return counter;  // the socket keeps the program, the program the map
}

KernelTunnelCounter::KernelTunnelCounter(KernelTunnelCounter&& other) noexcept
    : map_(std::move(other.map_)), mem_(std::exchange(other.mem_, nullptr)) {}

KernelTunnelCounter& KernelTunnelCounter::operator=(KernelTunnelCounter&& other) noexcept {
  if (this != &other) {
    if (mem_ != nullptr) ::munmap(mem_, static_cast<std::size_t>(::sysconf(_SC_PAGESIZE)));
    map_ = std::move(other.map_);
    mem_ = std::exchange(other.mem_, nullptr);
  }
  return *this;
}

KernelTunnelCounter::~KernelTunnelCounter() {
  if (mem_ != nullptr) ::munmap(mem_, static_cast<std::size_t>(::sysconf(_SC_PAGESIZE)));
}

KernelTunnelCounter::Counts KernelTunnelCounter::read() const {
  if (mem_ == nullptr) return {};
  auto* v = static_cast<std::uint64_t*>(mem_);
  return Counts{__atomic_load_n(&v[0], __ATOMIC_RELAXED), __atomic_load_n(&v[1], __ATOMIC_RELAXED)};
}

}  // namespace vpnleak::monitor
