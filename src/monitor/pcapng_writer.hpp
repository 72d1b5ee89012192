// The leaked frames themselves as evidence (`vpnleak monitor --write FILE`): a pcapng file that
// Wireshark, tshark and tcpdump read. One section; one interface description per capture source
// (its name, its link type, nanosecond timestamps); then one enhanced packet block per leaked
// frame, as captured, with its length on the wire. Blocks collect in an FdOutput buffer and are
// written when it fills and on flush().
//
// The file is opened (created if missing) before the capture starts, so that a path that cannot
// be written is bad input reported before anything runs; it is truncated only by begin(), once
// every source is open. A run that fails before that leaves an existing file as it was and
// removes one it created (abandon()). A FIFO works too (e.g. `wireshark -k -i FIFO` reading it),
// once its reader is there.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "core/unique_fd.hpp"
#include "monitor/monitor.hpp"
#include "monitor/output.hpp"

namespace vpnleak::monitor {

class PcapngWriter {
 public:
  // kInvalidArgument naming the path when it cannot be opened for writing (no such directory, no
  // permission), is a directory, a block device or a socket, or is a FIFO nobody reads yet.
  // SNAPLEN: the captures' snapshot length, recorded for every interface.
  static core::Result<PcapngWriter> open(const std::string& path, std::uint32_t snaplen);

  PcapngWriter(PcapngWriter&&) noexcept = default;
  PcapngWriter& operator=(PcapngWriter&&) noexcept = default;
  PcapngWriter(const PcapngWriter&) = delete;
  PcapngWriter& operator=(const PcapngWriter&) = delete;
  ~PcapngWriter() = default;

  // libpcap and tcpdump read one link type per file: sources of different link types are
  // refused (kInvalidArgument naming them), before begin().
  [[nodiscard]] core::Status checkSources(const std::vector<SourceInfo>& sources) const;
  // Truncates the file and writes the section header and one interface description per source,
  // in order: interface i is sources[i].
  void begin(const std::vector<SourceInfo>& sources);
  // One frame from source (an index into begin()'s sources).
  void packet(std::uint32_t source, Timestamp ts, wire::Bytes data, std::uint32_t wire_len);
  // Writes out what is buffered; false once a write has failed (error() says why).
  bool flush() { return out_.flush(); }
  // Flushes and closes the file, so that an error only close() reports is seen too.
  void close();
  // The errno of the first failed write, truncation or close; 0 while none failed.
  [[nodiscard]] int error() const { return error_ != 0 ? error_ : out_.error(); }
  [[nodiscard]] const std::string& path() const { return path_; }
  // The file is the one fd writes to (e.g. the monitor's stdout), and not a character device
  // such as /dev/null that any number of writers may share.
  [[nodiscard]] bool sharesFileWith(int fd) const;
  // A FIFO: its reader may go away (then writes fail with EPIPE).
  [[nodiscard]] bool isPipe() const { return pipe_; }
  // Before begin(): removes the file if open() created it. Nothing otherwise.
  void abandon();

 private:
  PcapngWriter(core::UniqueFd fd, std::string path, std::uint32_t snaplen, bool created, bool pipe);

  core::UniqueFd fd_;
  FdOutput out_;
  std::string path_;
  std::uint32_t snaplen_ = 0;
  bool created_ = false;
  bool pipe_ = false;
  bool begun_ = false;
  int error_ = 0;
};

}  // namespace vpnleak::monitor
