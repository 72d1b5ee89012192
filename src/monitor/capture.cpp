#include "monitor/capture.hpp"

#include <fcntl.h>
#include <net/if.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <span>
#include <vector>

#include "core/log.hpp"
#include "core/unique_fd.hpp"

namespace vpnleak::monitor {

using core::Errc;
using core::makeError;
using wire::packet::Direction;
using wire::packet::LinkType;

namespace {

std::string dltName(int dlt) {
  const char* n = pcap_datalink_val_to_name(dlt);
  return n != nullptr ? n : "DLT " + std::to_string(dlt);
}

core::Error liveError(int rc, pcap_t* p, const std::string& iface) {
  const std::string detail = pcap_geterr(p);
  switch (rc) {
    case PCAP_ERROR_NO_SUCH_DEVICE:
      return makeError(Errc::kNotFound, "no interface '" + iface +
                                            "' in this network namespace (see 'ip link'; run "
                                            "inside the namespace with 'ip netns exec')");
    case PCAP_ERROR_PERM_DENIED:
      return makeError(Errc::kEnvironment,
                       "capturing on '" + iface + "' needs root or CAP_NET_RAW: " + detail);
    case PCAP_ERROR_IFACE_NOT_UP:
      return makeError(Errc::kEnvironment, "interface '" + iface + "' is down");
    default:
      return makeError(Errc::kSystem, "cannot capture on '" + iface + "': " + detail);
  }
}

// Applies the options that must precede pcap_activate(); a failure here is a libpcap bug or an
// absurd value, reported with libpcap's text.
core::Status configure(pcap_t* p, const std::string& iface, const LiveOptions& o) {
  const bool ok = pcap_set_snaplen(p, o.snaplen) == 0 && pcap_set_promisc(p, 0) == 0 &&
                  pcap_set_timeout(p, o.timeout_ms) == 0 &&
                  pcap_set_buffer_size(p, o.buffer_bytes) == 0 &&
                  pcap_set_immediate_mode(p, o.immediate ? 1 : 0) == 0;
  if (!ok) return makeError(Errc::kSystem, "cannot configure capture on '" + iface + "'");
  // Nanoseconds when the kernel offers them (it does for AF_PACKET): leak windows are short.
  if (pcap_set_tstamp_precision(p, PCAP_TSTAMP_PRECISION_NANO) != 0) {
    log::debug("nanosecond timestamps unavailable", {{"iface", iface}});
  }
  return {};
}

// The compiled filter's instructions for the eBPF translation (the same layout, another type).
std::vector<ClassicInsn> classic(const bpf_program& prog) {
  std::vector<ClassicInsn> out;
  for (const auto& i : std::span<const bpf_insn>(prog.bf_insns, prog.bf_len)) {
    out.push_back(ClassicInsn{i.code, i.jt, i.jf, i.k});
  }
  return out;
}

constexpr unsigned kKernelMaxInsns = 4096;  // BPF_MAXINSNS, <linux/filter.h>

// A filter libpcap compiles returns 0 for "reject" and the snapshot length for "accept" from
// every exit, so cutting rejected packets short only needs another constant at the rejecting
// exits. Too long for the kernel (many endpoints), libpcap would run it in user space on every
// packet, for nothing: such a filter cuts nothing, so it is left out (an error).
core::Status cutRejected(bpf_program& prog, std::uint32_t rejected_snaplen) {
  if (prog.bf_len > kKernelMaxInsns) {
    return makeError(Errc::kInternal, "capture filter too long for the kernel");
  }
  for (auto& i : std::span<bpf_insn>(prog.bf_insns, prog.bf_len)) {
    if (i.code == (BPF_RET | BPF_K) && i.k == 0) i.k = rejected_snaplen;
  }
  return {};
}

bool isLoopback(const std::string& iface) {
  ifreq ifr{};
  if (iface.size() >= sizeof(ifr.ifr_name)) return false;
  std::memcpy(ifr.ifr_name, iface.c_str(), iface.size());
  const core::UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  return fd.valid() && ::ioctl(fd.get(), SIOCGIFFLAGS, &ifr) == 0 &&
         (ifr.ifr_flags & IFF_LOOPBACK) != 0;
}

// libpcap hides the outgoing copy of every loopback packet (each is seen again coming in), so
// "out" on loopback means the incoming copies: every packet once.
CaptureDirection effective(CaptureDirection d, bool loopback) {
  return d == CaptureDirection::kOut && loopback ? CaptureDirection::kIn : d;
}

// What libpcap's direction filter keeps, for the kernel filter that counts in its place.
KernelDirection kernelDirection(CaptureDirection d, bool loopback) {
  return KernelDirection{d != CaptureDirection::kIn && !loopback, d != CaptureDirection::kOut};
}

core::Status applyDirection(pcap_t* p, const std::string& iface, CaptureDirection d) {
  const pcap_direction_t dir = d == CaptureDirection::kOut  ? PCAP_D_OUT
                               : d == CaptureDirection::kIn ? PCAP_D_IN
                                                            : PCAP_D_INOUT;
  if (pcap_setdirection(p, dir) != 0) {
    return makeError(Errc::kEnvironment,
                     "cannot filter by direction on '" + iface + "': " + pcap_geterr(p));
  }
  return {};
}

}  // namespace

std::optional<LinkType> linkTypeFromDlt(int dlt) {
  switch (dlt) {
    case DLT_EN10MB:
      return LinkType::kEthernet;
    case DLT_LINUX_SLL:
      return LinkType::kLinuxSll;
    case DLT_LINUX_SLL2:
      return LinkType::kLinuxSll2;
    case DLT_RAW:
    case DLT_IPV4:
    case DLT_IPV6:
      return LinkType::kRawIp;
    default:
      return std::nullopt;
  }
}

void PcapHandle::Closer::operator()(pcap* p) const { pcap_close(p); }

PcapHandle::PcapHandle(pcap* p, std::string name, bool live)
    : p_(p), name_(std::move(name)), live_(live) {}

core::Status PcapHandle::setLinkType() {
  const int dlt = pcap_datalink(p_.get());
  const auto link = linkTypeFromDlt(dlt);
  if (!link) {
    return makeError(Errc::kInvalidArgument,
                     "unsupported link type " + dltName(dlt) + " (" + std::to_string(dlt) +
                         ") in '" + name_ +
                         "': vpnleak reads Ethernet, Linux cooked (SLL, SLL2) and raw IP captures");
  }
  link_ = *link;
  nano_ = pcap_get_tstamp_precision(p_.get()) == PCAP_TSTAMP_PRECISION_NANO;
  return {};
}

// The filter o.filter; what it rejects is counted in the kernel and dropped (count_rejected), or
// cut short (rejected_snaplen), or dropped.
core::Status PcapHandle::applyFilter(const LiveOptions& o, KernelDirection d) {
  pcap_t* p = p_.get();
  bpf_program prog{};
  if (pcap_compile(p, &prog, o.filter.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0) {
    return makeError(Errc::kInternal,
                     "cannot compile capture filter '" + o.filter + "': " + pcap_geterr(p));
  }
  const std::unique_ptr<bpf_program, void (*)(bpf_program*)> freed(&prog, pcap_freecode);
  // Ethernet only: for other link types libpcap rewrites the program's offsets on the way in.
  if (o.count_rejected && link_ == LinkType::kEthernet) {
    auto counter = KernelTunnelCounter::attach(pcap_get_selectable_fd(p), classic(prog), d);
    if (counter) {
      counter_ = std::move(*counter);
      return {};
    }
    // Without CAP_BPF that is expected; a program the kernel refused is a translation bug.
    (counter.error().code == Errc::kInternal ? log::warn : log::debug)(
        "counting tunnel packets in user space",
        {{"iface", name_}, {"reason", counter.error().message()}});
  }
  if (o.rejected_snaplen > 0) VL_TRY(cutRejected(prog, o.rejected_snaplen));
  // A packet too short for the filter's loads would end it and be dropped unseen: let it through.
  std::vector<bpf_insn> guarded;
  for (const auto& c : guardShortPackets(classic(prog), static_cast<std::uint32_t>(o.snaplen))) {
    guarded.push_back(bpf_insn{c.code, c.jt, c.jf, c.k});
  }
  bpf_program installed = prog;
  if (!guarded.empty() && guarded.size() <= kKernelMaxInsns) {
    installed = bpf_program{static_cast<u_int>(guarded.size()), guarded.data()};
  }
  if (pcap_setfilter(p, &installed) != 0) {
    return makeError(Errc::kSystem,
                     "cannot set capture filter on '" + name_ + "': " + pcap_geterr(p));
  }
  return {};
}

core::Result<PcapHandle> PcapHandle::openLive(const std::string& iface, const LiveOptions& o) {
  std::array<char, PCAP_ERRBUF_SIZE> err{};
  pcap_t* raw = pcap_create(iface.c_str(), err.data());
  if (raw == nullptr) {
    return makeError(Errc::kSystem, "cannot capture on '" + iface + "': " + err.data());
  }
  PcapHandle h(raw, iface, true);
  VL_TRY(configure(raw, iface, o));
  const int rc = pcap_activate(raw);
  if (rc < 0) return liveError(rc, raw, iface);
  if (rc > 0) {
    log::warn("capture started with a warning", {{"iface", iface}, {"detail", pcap_geterr(raw)}});
  }
  VL_TRY(h.setLinkType());
  const bool loopback = isLoopback(iface);
  const CaptureDirection dir = effective(o.direction, loopback);
  VL_TRY(applyDirection(raw, iface, dir));
  h.lag_ = std::chrono::milliseconds(o.immediate ? 0 : o.timeout_ms);
  h.direction_ = o.direction == CaptureDirection::kOut  ? Direction::kOut
                 : o.direction == CaptureDirection::kIn ? Direction::kIn
                                                        : Direction::kUnknown;
  if (!o.filter.empty()) {
    auto filtered = h.applyFilter(o, kernelDirection(dir, loopback));
    // A filter that only cuts packets short is an optimisation: without it nothing is missed.
    if (!filtered && o.rejected_snaplen == 0 && !o.count_rejected) return filtered.error();
    if (!filtered) {
      log::debug("capturing whole tunnel packets",
                 {{"iface", iface}, {"reason", filtered.error().message()}});
    }
  }
  if (pcap_setnonblock(raw, 1, err.data()) != 0) {
    return makeError(Errc::kSystem, "cannot make capture on '" + iface +
                                        "' non-blocking: " + std::string(err.data()));
  }
  return h;
}

core::Result<PcapHandle> PcapHandle::openFile(const std::string& path) {
  const bool stdin_ = path == "-";
  struct stat st {};
  if (stdin_ ? ::fstat(STDIN_FILENO, &st) != 0 : ::stat(path.c_str(), &st) != 0) {
    return makeError(Errc::kInvalidArgument,
                     "cannot read --read '" + path + "': " + std::strerror(errno));
  }
  if (S_ISDIR(st.st_mode)) {
    return makeError(Errc::kInvalidArgument, "--read '" + path + "' is a directory, not a capture");
  }
  if (stdin_ && ::isatty(STDIN_FILENO) != 0) {
    return makeError(Errc::kInvalidArgument,
                     "--read '-' is standard input, which is a terminal: pipe a capture into it "
                     "(tcpdump -U -w - | vpnleak monitor --read - ...)");
  }
  if (!stdin_ && S_ISCHR(st.st_mode)) {
    const core::UniqueFd probe(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
    if (probe.valid() && ::isatty(probe.get()) != 0) {
      return makeError(Errc::kInvalidArgument,
                       "--read '" + path + "' is a terminal: expected a capture file, a FIFO or -");
    }
  }
  const bool stream = S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode) || S_ISCHR(st.st_mode);
  // Not a classic pcap (pcapng, other link types, unreadable), or a stream (the fast reader
  // reads whole blocks at offsets): libpcap decides, and its errors are the ones reported.
  if (auto reader = stream || stdin_ ? std::nullopt : PcapFileReader::open(path)) {
    PcapHandle h(nullptr, path, false);
    h.link_ = reader->link();
    h.file_ = std::move(*reader);
    return h;
  }
  std::array<char, PCAP_ERRBUF_SIZE> err{};
  pcap_t* raw =
      pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_NANO, err.data());
  if (raw == nullptr) {
    return makeError(Errc::kInvalidArgument, "'" + path +
                                                 "' is not a readable pcap or pcapng "
                                                 "capture: " +
                                                 std::string(err.data()));
  }
  PcapHandle h(raw, path, false);
  h.stream_ = stream;
  VL_TRY(h.setLinkType());
  return h;
}

namespace {

// One frame from libpcap's header; with nanosecond precision libpcap puts nanoseconds in tv_usec.
Frame toFrame(const pcap_pkthdr& hdr, const u_char* data, bool nano) {
  const auto sub = static_cast<std::int64_t>(hdr.ts.tv_usec) * (nano ? 1 : 1000);
  Frame f;
  f.ts = Timestamp(
      std::chrono::nanoseconds(static_cast<std::int64_t>(hdr.ts.tv_sec) * 1'000'000'000LL + sub));
  f.data = wire::Bytes(data, hdr.caplen);
  f.wire_len = hdr.len;
  return f;
}

}  // namespace

core::Result<PcapHandle::Next> PcapHandle::next(Frame& out) {
  if (file_) {
    VL_TRY_ASSIGN(const auto got, file_->next(out));
    return got == PcapFileReader::Next::kPacket ? Next::kPacket : Next::kEnd;
  }
  pcap_pkthdr* hdr = nullptr;
  const u_char* data = nullptr;
  switch (pcap_next_ex(p_.get(), &hdr, &data)) {
    case 1:
      break;
    case PCAP_ERROR_BREAK:
      return Next::kEnd;  // end of file
    default:
      return makeError(Errc::kInvalidArgument,
                       "corrupt capture '" + name_ + "': " + pcap_geterr(p_.get()));
  }
  out = toFrame(*hdr, data, nano_);
  return Next::kPacket;
}

namespace {

struct DispatchCtx {
  PcapHandle::FrameFn fn;
  void* ctx;
  bool nano;
};

void onFrame(u_char* user, const pcap_pkthdr* hdr, const u_char* data) {
  const auto& d = *reinterpret_cast<const DispatchCtx*>(user);  // NOLINT: libpcap's user pointer
  d.fn(d.ctx, toFrame(*hdr, data, d.nano));
}

}  // namespace

core::Result<int> PcapHandle::dispatch(int max, FrameFn fn, void* ctx) {
  DispatchCtx d{fn, ctx, nano_};
  const int n = pcap_dispatch(p_.get(), max, onFrame, reinterpret_cast<u_char*>(&d));  // NOLINT
  if (n >= 0) return n;
  if (n == PCAP_ERROR_BREAK) return 0;
  return makeError(Errc::kSystem,
                   "capture on '" + name_ + "' failed: " + std::string(pcap_geterr(p_.get())));
}

PcapHandle::Stats PcapHandle::stats() const {
  pcap_stat s{};
  if (!live_ || pcap_stats(p_.get(), &s) != 0) return {};
  return Stats{s.ps_recv, s.ps_drop, s.ps_ifdrop};
}

int PcapHandle::selectableFd() const { return p_ ? pcap_get_selectable_fd(p_.get()) : -1; }

bool PcapHandle::waitReadable(std::chrono::milliseconds timeout) const {
  FILE* f = p_ ? pcap_file(p_.get()) : nullptr;
  if (f == nullptr) return true;
  // What stdio has read ahead is there without a read(2) (glibc's FILE, as gnulib's freadahead).
  if (f->_IO_read_ptr < f->_IO_read_end) return true;
  pollfd p{::fileno(f), POLLIN, 0};
  const int n = ::poll(&p, 1, static_cast<int>(timeout.count()));
  if (n < 0 && errno == EINTR) return false;  // a signal: the caller looks at its stop request
  return n != 0;                              // another error: the read reports it
}

}  // namespace vpnleak::monitor
