#include "monitor/pcap_file.hpp"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "core/check.hpp"
#include "core/unique_fd.hpp"
#include "monitor/capture.hpp"

namespace vpnleak::monitor {

namespace {

constexpr std::size_t kFileHeader = 24;
constexpr std::size_t kRecordHeader = PcapFileReader::kRecordHeader;
constexpr std::uint32_t kMagicMicro = 0xa1b2c3d4;
constexpr std::uint32_t kMagicNano = 0xa1b23c4d;
constexpr std::uint32_t kMaxCaptured = PcapFileReader::kMaxCaptured;
// Room in front of each block for the unread tail of the previous one: a record never spans
// two blocks for the parser.
constexpr std::size_t kHead = kMaxCaptured + kRecordHeader;
// A few hundred typical packets per read(2), small enough to stay in L2 cache while parsed.
constexpr std::size_t kBlock = 1 << 18;
constexpr std::size_t kBlocks = 4;

std::uint32_t swap32(std::uint32_t v) { return __builtin_bswap32(v); }

std::uint32_t loadLe32(const std::uint8_t* p) {
  return static_cast<std::uint32_t>(p[0]) | (static_cast<std::uint32_t>(p[1]) << 8) |
         (static_cast<std::uint32_t>(p[2]) << 16) | (static_cast<std::uint32_t>(p[3]) << 24);
}

core::Error truncated(const std::string& name, const char* what, std::size_t wanted,
                      std::size_t got) {
  return core::makeError(core::Errc::kInvalidArgument,
                         "corrupt capture '" + name + "': truncated dump file; tried to read " +
                             std::to_string(wanted) + " " + what + " bytes, only got " +
                             std::to_string(got));
}

}  // namespace

struct ReadBlock {
  std::vector<std::uint8_t> storage = std::vector<std::uint8_t>(kHead + kBlock);
  std::size_t size = 0;  // bytes read, at storage[kHead]
  int error = 0;         // errno of a failed read; size 0 and no error is the end of the file
};

// Reads a file block by block. Threaded, it reads ahead on its own thread: filled blocks go to
// the consumer in file order, consumed ones come back to be filled again (bounded: kBlocks
// buffers). Otherwise next() reads the block itself.
class BlockReader {
 public:
  using Block = ReadBlock;

  BlockReader(core::UniqueFd fd, bool threaded) : fd_(std::move(fd)) {
    for (auto& b : blocks_) free_.push_back(&b);
    if (threaded) thread_ = std::thread([this] { run(); });
  }
  ~BlockReader() {
    if (!thread_.joinable()) return;
    {
      const std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  BlockReader(const BlockReader&) = delete;
  BlockReader& operator=(const BlockReader&) = delete;

  // The next block in file order (waits for the reading thread, or reads it).
  Block* next() {
    if (!thread_.joinable()) {
      Block* b = free_.front();
      free_.pop_front();
      fill(*b);
      return b;
    }
    std::unique_lock lock(mu_);
    cv_.wait(lock, [this] { return !full_.empty(); });
    Block* b = full_.front();
    full_.pop_front();
    return b;
  }
  // A consumed block, to be filled again.
  void release(Block* b) {
    if (!thread_.joinable()) {
      free_.push_back(b);
      return;
    }
    {
      const std::lock_guard lock(mu_);
      free_.push_back(b);
    }
    cv_.notify_all();
  }

 private:
  // Returns true at the end of the file or on an error: the consumer stops at this block.
  bool fill(Block& b) {
    ssize_t got = -1;
    do {
      got = ::read(fd_.get(), b.storage.data() + kHead, kBlock);
    } while (got < 0 && errno == EINTR);
    b.error = got < 0 ? errno : 0;
    b.size = got < 0 ? 0 : static_cast<std::size_t>(got);
    return got <= 0;
  }

  void run() {
    for (bool last = false; !last;) {
      Block* b = nullptr;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [this] { return stop_ || !free_.empty(); });
        if (stop_) return;
        b = free_.front();
        free_.pop_front();
      }
      last = fill(*b);
      {
        const std::lock_guard lock(mu_);
        full_.push_back(b);
      }
      cv_.notify_all();
    }
  }

  core::UniqueFd fd_;
  std::array<Block, kBlocks> blocks_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Block*> free_, full_;
  bool stop_ = false;
  std::thread thread_;  // last: starts after everything it uses exists
};

namespace {

// Reading ahead pays only when the reading thread can run beside the caller.
bool mayUseTwoCpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) != 0) return true;
  return CPU_COUNT(&set) > 1;
}

}  // namespace

std::optional<wire::packet::LinkType> linkTypeFromFile(std::uint32_t linktype) {
  using wire::packet::LinkType;
  switch (linktype & 0xffff) {  // the upper bits may carry FCS information
    case 1:
      return LinkType::kEthernet;
    case 113:
      return LinkType::kLinuxSll;
    case 276:
      return LinkType::kLinuxSll2;
    case 101:
    case 228:
    case 229:
      return LinkType::kRawIp;
    default:
      return std::nullopt;
  }
}

std::uint16_t fileLinkType(wire::packet::LinkType link) {
  using wire::packet::LinkType;
  switch (link) {
    case LinkType::kEthernet:
      return 1;
    case LinkType::kLinuxSll:
      return 113;
    case LinkType::kLinuxSll2:
      return 276;
    case LinkType::kRawIp:
      return 101;
  }
  VL_CHECK(false && "fileLinkType: a link type without its LINKTYPE");  // -Wswitch names it
  return 0;
}

PcapFileReader::PcapFileReader(PcapFileReader&&) noexcept = default;
PcapFileReader& PcapFileReader::operator=(PcapFileReader&&) noexcept = default;
PcapFileReader::~PcapFileReader() = default;

std::optional<PcapFileReader> PcapFileReader::open(const std::string& path) {
  PcapFileReader r;
  r.fd_.reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!r.fd_.valid()) return std::nullopt;
  std::array<std::uint8_t, kFileHeader> h{};
  if (::pread(r.fd_.get(), h.data(), h.size(), 0) != static_cast<ssize_t>(h.size())) {
    return std::nullopt;
  }
  const std::uint32_t magic = loadLe32(h.data());
  r.swapped_ = magic == swap32(kMagicMicro) || magic == swap32(kMagicNano);
  const std::uint32_t native = r.swapped_ ? swap32(magic) : magic;
  if (native != kMagicMicro && native != kMagicNano) return std::nullopt;
  r.nano_ = native == kMagicNano;
  const std::uint32_t linktype = loadLe32(h.data() + 20);
  const auto link = linkTypeFromFile(r.swapped_ ? swap32(linktype) : linktype);
  if (!link) return std::nullopt;
  r.link_ = *link;
  r.name_ = path;
  return r;
}

core::Status PcapFileReader::start() {
  // Buffers and the reading thread exist only while a file is being read: many files can be
  // open (checked before the first event) without holding memory and a thread each.
  (void)::posix_fadvise(fd_.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
  blocks_ = std::make_unique<BlockReader>(std::move(fd_), mayUseTwoCpus());
  VL_TRY_ASSIGN(const bool have, ensure(kFileHeader));
  if (!have) return truncated(name_, "file header", kFileHeader, end_ - begin_);
  begin_ += kFileHeader;
  return {};
}

void PcapFileReader::finish() {
  blocks_.reset();
  block_ = nullptr;
  data_ = nullptr;
  begin_ = end_ = 0;
  done_ = true;
}

core::Result<bool> PcapFileReader::ensure(std::size_t n) {
  while (end_ - begin_ < n) {
    if (eof_) return false;
    // The unread tail (shorter than n <= kHead) moves in front of the next block's data; only
    // then may the old block be refilled.
    ReadBlock* b = blocks_->next();
    const std::size_t tail = end_ - begin_;
    if (tail > 0) std::memcpy(b->storage.data() + kHead - tail, data_ + begin_, tail);
    if (block_ != nullptr) blocks_->release(block_);
    block_ = b;
    data_ = b->storage.data();
    begin_ = kHead - tail;
    end_ = kHead + b->size;
    if (b->error != 0) {
      return core::makeError(core::Errc::kInvalidArgument,
                             "cannot read capture '" + name_ + "': " + std::strerror(b->error));
    }
    eof_ = b->size == 0;
  }
  return true;
}

core::Result<PcapFileReader::Next> PcapFileReader::nextAcrossBlocks(Frame& out) {
  if (done_) return Next::kEnd;
  if (!blocks_) VL_TRY(start());
  VL_TRY_ASSIGN(const bool header, ensure(kRecordHeader));
  if (!header) {
    if (end_ != begin_) return truncated(name_, "header", kRecordHeader, end_ - begin_);
    finish();
    return Next::kEnd;
  }
  const std::uint32_t caplen = read32(8);
  if (caplen > kMaxCaptured) {
    return core::makeError(core::Errc::kInvalidArgument,
                           "corrupt capture '" + name_ + "': invalid packet capture length " +
                               std::to_string(caplen) + ", bigger than maximum of " +
                               std::to_string(kMaxCaptured));
  }
  VL_TRY_ASSIGN(const bool body, ensure(kRecordHeader + caplen));
  if (!body) return truncated(name_, "captured", caplen, end_ - begin_ - kRecordHeader);
  take(out, caplen);
  return Next::kPacket;
}

}  // namespace vpnleak::monitor
