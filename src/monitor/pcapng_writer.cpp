// pcapng as the IETF draft (draft-ietf-opsawg-pcapng) defines it, in this host's byte order
// (the section header's byte-order magic tells readers which).
#include "monitor/pcapng_writer.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

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
constexpr std::uint32_t kSnaplen = 262144;
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

}  // namespace

std::uint16_t fileLinkType(wire::packet::LinkType link) {
  switch (link) {
    case wire::packet::LinkType::kEthernet:
      return 1;  // LINKTYPE_ETHERNET
    case wire::packet::LinkType::kLinuxSll:
      return 113;  // LINKTYPE_LINUX_SLL
    case wire::packet::LinkType::kLinuxSll2:
      return 276;  // LINKTYPE_LINUX_SLL2
    case wire::packet::LinkType::kRawIp:
      return 101;  // LINKTYPE_RAW
  }
  return 1;
}

PcapngWriter::PcapngWriter(core::UniqueFd fd, std::string path, bool created)
    : fd_(std::move(fd)), out_(fd_.get()), path_(std::move(path)), created_(created) {}

core::Result<PcapngWriter> PcapngWriter::open(const std::string& path) {
  struct stat st {};
  const bool existed = ::stat(path.c_str(), &st) == 0;
  if (existed && S_ISDIR(st.st_mode)) {
    return core::makeError(core::Errc::kInvalidArgument,
                           "--write '" + path + "' is a directory, not a file to write");
  }
  // Not truncated here: a run that fails before begin() leaves an existing file as it was.
  core::UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
  if (!fd.valid()) {
    return core::makeError(core::Errc::kInvalidArgument,
                           "cannot write --write '" + path + "': " + std::strerror(errno));
  }
  return PcapngWriter(std::move(fd), path, !existed);
}

void PcapngWriter::begin(const std::vector<SourceInfo>& sources) {
  struct stat st {};
  if (::fstat(fd_.get(), &st) == 0 && S_ISREG(st.st_mode) && ::ftruncate(fd_.get(), 0) != 0) {
    error_ = errno;
  }
  begun_ = true;
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
  for (const auto& s : sources) {
    const std::size_t name = std::min(s.name.size(), kMaxOptionValue);
    const std::uint32_t size = 20 + optionSize(name) + optionSize(1) + 4;
    at = out_.room(size);
    put32(at, kInterfaceDescription);
    put32(at, size);
    put16(at, fileLinkType(s.link));
    put16(at, 0);
    put32(at, kSnaplen);
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
  }
}

void PcapngWriter::packet(std::uint32_t source, Timestamp ts, wire::Bytes data,
                          std::uint32_t wire_len) {
  const auto captured = static_cast<std::uint32_t>(data.size());
  const std::uint32_t size = 32 + padded(captured);
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

void PcapngWriter::abandon() {
  if (created_ && !begun_) ::unlink(path_.c_str());
  created_ = false;
}

}  // namespace vpnleak::monitor
