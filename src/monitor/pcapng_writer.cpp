// pcapng as the IETF draft (draft-ietf-opsawg-pcapng) defines it, in this host's byte order
// (the section header's byte-order magic tells readers which).
#include "monitor/pcapng_writer.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "monitor/pcap_file.hpp"

namespace vpnleak::monitor {

namespace {

constexpr std::uint32_t kSectionHeader = 0x0A0D0D0A;
constexpr std::uint32_t kInterfaceDescription = 1;
constexpr std::uint32_t kEnhancedPacket = 6;
constexpr std::uint32_t kByteOrderMagic = 0x1A2B3C4D;
constexpr std::uint16_t kOptEnd = 0;
constexpr std::uint16_t kShbUserAppl = 4;
constexpr std::uint16_t kIfName = 2;
constexpr std::uint16_t kIfTsresol = 9;
constexpr std::uint8_t kNanoseconds = 9;  // if_tsresol: 10^-9 s
constexpr std::string_view kApplication = "vpnleak monitor";
constexpr std::size_t kMaxOptionValue = 0xffff;

constexpr std::uint32_t padded(std::size_t n) {
  return static_cast<std::uint32_t>((n + 3) & ~std::size_t{3});
}

// Option code, length, value and padding to 4 bytes; its size first.
constexpr std::uint32_t optionSize(std::size_t value) { return 4 + padded(value); }

void put32(char*& at, std::uint32_t v) {
  std::memcpy(at, &v, 4);
  at += 4;
}

void put16(char*& at, std::uint16_t v) {
  std::memcpy(at, &v, 2);
  at += 2;
}

void putBytes(char*& at, const void* data, std::size_t n) {
  if (n > 0) std::memcpy(at, data, n);
  at += n;
  const std::size_t pad = padded(n) - n;
  std::memset(at, 0, pad);
  at += pad;
}

// Why a path of this kind cannot be written to; empty for a file, a FIFO or a character device.
std::string refusedKind(mode_t mode) {
  if (S_ISDIR(mode)) return "is a directory, not a file to write";
  if (S_ISBLK(mode) || S_ISSOCK(mode)) {
    return "is a block device or a socket: expected a file, a FIFO or /dev/null";
  }
  return "";
}

// Why open(2) failed on path, when its kind says more than errno does; empty otherwise.
std::string whyNotOpened(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0 && S_ISLNK(st.st_mode) && ::stat(path.c_str(), &st) != 0) {
    return "is a symbolic link to a missing file";
  }
  if (::stat(path.c_str(), &st) != 0) return "";
  if (S_ISFIFO(st.st_mode)) return "is a FIFO that nobody reads yet: start its reader first";
  return refusedKind(st.st_mode);
}

}  // namespace

PcapngWriter::PcapngWriter(core::UniqueFd fd, std::string path, std::uint32_t snaplen, bool created,
                           bool pipe)
    : fd_(std::move(fd)),
      out_(fd_.get()),
      base_(path),
      path_(std::move(path)),
      snaplen_(snaplen),
      created_(created),
      pipe_(pipe) {}

core::Result<PcapngWriter> PcapngWriter::open(const std::string& path, std::uint32_t snaplen) {
  const auto bad = [&path](const std::string& why) {
    return core::makeError(core::Errc::kInvalidArgument, "--write '" + path + "' " + why);
  };
  const auto cannot = [&path](int err) {
    return core::makeError(core::Errc::kInvalidArgument,
                           "cannot write --write '" + path + "': " + std::strerror(err));
  };
  // What the path is, is decided from the descriptor opened, never from an earlier stat. Not
  // blocking (a FIFO without a reader fails at once instead of waiting for one), no controlling
  // terminal; not truncated here: a run that fails before begin() leaves a file as it was.
  // O_EXCL says whether this call made the file (a symbolic link is never followed to make one).
  constexpr int kFlags = O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC;
  bool created = true;
  core::UniqueFd fd(::open(path.c_str(), kFlags | O_CREAT | O_EXCL, 0644));
  if (!fd.valid() && errno == EEXIST) {
    created = false;
    fd = core::UniqueFd(::open(path.c_str(), kFlags));
  }
  if (!fd.valid()) {
    const int err = errno;
    const auto why = whyNotOpened(path);
    return why.empty() ? cannot(err) : bad(why);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return cannot(errno);
  if (const auto why = refusedKind(st.st_mode); !why.empty()) return bad(why);
  const int flags = ::fcntl(fd.get(), F_GETFL);
  if (flags < 0 || ::fcntl(fd.get(), F_SETFL, flags & ~O_NONBLOCK) != 0) return cannot(errno);
  return PcapngWriter(std::move(fd), path, snaplen, created, S_ISFIFO(st.st_mode));
}

namespace {

// Why --write-limit cannot split the file at path (kind from lstat, or fstat once opened).
core::Error notSplittable(const std::string& path, mode_t mode) {
  const std::string why =
      S_ISLNK(mode) ? "is a symbolic link: name the file itself (a ring removes its files by name)"
                    : "is not a regular file, and only a file can be split into files";
  return core::makeError(core::Errc::kInvalidArgument,
                         "--write-limit: --write '" + path + "' " + why);
}

}  // namespace

core::Status PcapngWriter::checkSplittable(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return {};  // a new file
  if (!S_ISREG(st.st_mode)) return notSplittable(path, st.st_mode);
  return {};
}

core::Status PcapngWriter::splitAt(std::uint64_t limit_bytes, std::uint32_t keep,
                                   const std::vector<std::string>& inputs) {
  VL_TRY(checkSplittable(base_));
  struct stat st {};
  if (::fstat(fd_.get(), &st) != 0) return core::sysError("fstat --write '" + base_ + "'");
  if (!S_ISREG(st.st_mode)) return notSplittable(base_, st.st_mode);
  limit_ = limit_bytes;
  keep_ = keep;
  for (const auto& in : inputs) {
    struct stat is {};
    if (in == "-" ? ::fstat(STDIN_FILENO, &is) == 0 : ::stat(in.c_str(), &is) == 0) {
      inputs_.emplace_back(is.st_dev, is.st_ino);
    }
  }
  return {};
}

std::string PcapngWriter::errorText() const {
  if (!why_.empty()) return why_;
  return std::strerror(error());
}

std::string PcapngWriter::numberedName(const std::string& path, std::uint64_t n) {
  if (n == 0) return path;
  const std::filesystem::path p(path);
  auto name = p.stem().string() + "-" + std::to_string(n) + p.extension().string();
  return (p.parent_path() / name).string();
}

bool PcapngWriter::mayBecome(const std::string& path, const std::string& name) {
  namespace fs = std::filesystem;
  const fs::path p(path);
  const fs::path c(name);
  std::error_code ec;
  const auto dir = [](const fs::path& x) { return x.has_parent_path() ? x.parent_path() : "."; };
  if (!fs::equivalent(dir(p), dir(c), ec)) return false;
  const auto stem = p.stem().string() + "-";
  const auto ext = p.extension().string();
  const auto file = c.filename().string();
  if (file.size() <= stem.size() + ext.size() || file.rfind(stem, 0) != 0 ||
      file.compare(file.size() - ext.size(), ext.size(), ext) != 0) {
    return false;
  }
  const auto digits = file.substr(stem.size(), file.size() - stem.size() - ext.size());
  return digits.front() != '0' &&
         std::all_of(digits.begin(), digits.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
}

core::Status PcapngWriter::checkSources(const std::vector<SourceInfo>& sources) const {
  for (const auto& s : sources) {
    if (s.link == sources.front().link) continue;
    return core::makeError(
        core::Errc::kInvalidArgument,
        "--write '" + path_ + "': the sources' link types differ ('" + sources.front().name + "' " +
            std::string(wire::packet::linkTypeName(sources.front().link)) + ", '" + s.name + "' " +
            std::string(wire::packet::linkTypeName(s.link)) +
            "), and libpcap and tcpdump read one link type per file: run one monitor per link "
            "type");
  }
  return {};
}

bool PcapngWriter::sharesFileWith(int fd) const {
  struct stat mine {};
  struct stat theirs {};
  if (::fstat(fd_.get(), &mine) != 0 || ::fstat(fd, &theirs) != 0) return false;
  // A character device other than a terminal (/dev/null) takes any number of writers.
  const bool shareable = S_ISCHR(mine.st_mode) && ::isatty(fd_.get()) == 0;
  return mine.st_dev == theirs.st_dev && mine.st_ino == theirs.st_ino && !shareable;
}

void PcapngWriter::begin(const std::vector<SourceInfo>& sources) {
  struct stat st {};
  if (::fstat(fd_.get(), &st) == 0 && S_ISREG(st.st_mode) && ::ftruncate(fd_.get(), 0) != 0) {
    error_ = errno;
  }
  begun_ = true;
  sources_ = sources;
  files_.push_back(path_);
  header();
}

void PcapngWriter::header() {
  // Section header: byte order, version 1.0, section length unknown (-1), the application.
  const std::uint32_t shb = 28 + optionSize(kApplication.size()) + 4;
  char* at = out_.room(shb);
  put32(at, kSectionHeader);
  put32(at, shb);
  put32(at, kByteOrderMagic);
  put16(at, 1);
  put16(at, 0);
  put32(at, 0xffffffff);
  put32(at, 0xffffffff);
  put16(at, kShbUserAppl);
  put16(at, static_cast<std::uint16_t>(kApplication.size()));
  putBytes(at, kApplication.data(), kApplication.size());
  put16(at, kOptEnd);
  put16(at, 0);
  put32(at, shb);
  out_.commit(at);
  file_bytes_ = shb;
  file_packets_ = 0;
  for (const auto& s : sources_) {
    const std::size_t name = std::min(s.name.size(), kMaxOptionValue);
    const std::uint32_t size = 20 + optionSize(name) + optionSize(1) + 4;
    at = out_.room(size);
    put32(at, kInterfaceDescription);
    put32(at, size);
    put16(at, fileLinkType(s.link));
    put16(at, 0);
    put32(at, snaplen_);
    put16(at, kIfName);
    put16(at, static_cast<std::uint16_t>(name));
    putBytes(at, s.name.data(), name);
    put16(at, kIfTsresol);
    put16(at, 1);
    putBytes(at, &kNanoseconds, 1);
    put16(at, kOptEnd);
    put16(at, 0);
    put32(at, size);
    out_.commit(at);
    file_bytes_ += size;
  }
}

void PcapngWriter::next() {
  if (!flush() || error() != 0) return;
  if (::close(fd_.release()) != 0) {
    error_ = errno;
    return;
  }
  path_ = numberedName(base_, ++number_);
  // A regular file of that name from an earlier run is replaced. Anything else is left as it
  // is and ends the run: a symbolic link (not followed), a FIFO (not waited for: O_NONBLOCK), a
  // device, the monitor's own stdout or stderr, an input (the same inode, under any name).
  fd_ = core::UniqueFd(::open(
      path_.c_str(), O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY, 0644));
  const auto refuse = [this](const std::string& why) {
    error_ = EEXIST;
    why_ = why;
  };
  const auto kind = [](mode_t mode) -> std::string {
    if (S_ISDIR(mode)) return "a directory";
    if (S_ISFIFO(mode)) return "a FIFO";
    if (S_ISLNK(mode)) return "a symbolic link";
    if (S_ISSOCK(mode)) return "a socket";
    return "a device";
  };
  struct stat st {};
  if (!fd_.valid()) {
    error_ = errno;
    if (::lstat(path_.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
      refuse("there is " + kind(st.st_mode) + " of that name");
    }
    return;
  }
  if (::fstat(fd_.get(), &st) != 0) {
    error_ = errno;
    return;
  }
  if (!S_ISREG(st.st_mode)) return refuse("there is " + kind(st.st_mode) + " of that name");
  if (sharesFileWith(STDOUT_FILENO) || sharesFileWith(STDERR_FILENO)) {
    return refuse("it is the monitor's stdout or stderr");
  }
  for (const auto& [dev, ino] : inputs_) {
    if (st.st_dev == dev && st.st_ino == ino) return refuse("it is a file the monitor reads");
  }
  if (::ftruncate(fd_.get(), 0) != 0) {
    error_ = errno;
    return;
  }
  out_.retarget(fd_.get());
  files_.push_back(path_);
  if (keep_ != 0 && files_.size() > keep_) {
    ::unlink(files_.front().c_str());
    files_.pop_front();
  }
  header();
}

void PcapngWriter::packet(std::uint32_t source, Timestamp ts, wire::Bytes data,
                          std::uint32_t wire_len) {
  if (error_ != 0) return;  // the run ends at the next flush(), exit 3 naming the file
  const auto captured = static_cast<std::uint32_t>(data.size());
  const std::uint32_t size = 32 + padded(captured);
  if (limit_ != 0 && file_packets_ > 0 && file_bytes_ + size > limit_) {
    next();
    if (error_ != 0) return;
  }
  file_bytes_ += size;
  ++file_packets_;
  char* at = out_.room(size);
  put32(at, kEnhancedPacket);
  put32(at, size);
  put32(at, source);
  const auto ns = static_cast<std::uint64_t>(ts.time_since_epoch().count());
  put32(at, static_cast<std::uint32_t>(ns >> 32));
  put32(at, static_cast<std::uint32_t>(ns));
  put32(at, captured);
  // A file may claim a wire length below what it captured; readers expect at least that much.
  put32(at, std::max(wire_len, captured));
  putBytes(at, data.data(), captured);
  put32(at, size);
  out_.commit(at);
}

void PcapngWriter::close() {
  if (!fd_.valid()) return;
  flush();
  if (::close(fd_.release()) != 0 && error() == 0) error_ = errno;
}

void PcapngWriter::abandon() {
  if (created_ && !begun_) ::unlink(path_.c_str());
  created_ = false;
}

}  // namespace vpnleak::monitor
