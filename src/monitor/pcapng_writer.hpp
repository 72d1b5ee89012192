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
//
// Split into files (`--write-limit`, `--write-files`): a frame that would take the file past the
// limit starts the next one, numbered before the extension (leaks.pcapng, leaks-1.pcapng,
// leaks-2.pcapng, ...), each a whole pcapng file with its own section and interfaces; with a
// count, the oldest of this run's files goes once there are more.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <deque>
#include <string>
#include <utility>
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

  // Before begin(): a new file once one holds limit_bytes (at least one frame each), and of this
  // run's files at most keep (0: all). kInvalidArgument unless the path is a regular file (a
  // FIFO or a device has no size to split at; a symbolic link would leave its target behind when
  // a ring removes it). A later file that turns out to be one of inputs (by inode; "-" is
  // standard input), stdout, stderr or not a regular file is not touched: the run ends instead.
  [[nodiscard]] core::Status splitAt(std::uint64_t limit_bytes, std::uint32_t keep,
                                     const std::vector<std::string>& inputs = {});
  // The checks of splitAt on a path not opened yet (nothing there passes).
  [[nodiscard]] static core::Status checkSplittable(const std::string& path);
  // The name of file n of a split (0: the path itself): "-n" before the extension.
  [[nodiscard]] static std::string numberedName(const std::string& path, std::uint64_t n);
  // NAME may become one of path's split files (numberedName(path, n) for some n >= 1).
  [[nodiscard]] static bool mayBecome(const std::string& path, const std::string& name);

  // libpcap and tcpdump read one link type per file: sources of different link types are
  // refused (kInvalidArgument naming them), before begin().
  [[nodiscard]] core::Status checkSources(const std::vector<SourceInfo>& sources) const;
  // Truncates the file and writes the section header and one interface description per source,
  // in order: interface i is sources[i].
  void begin(const std::vector<SourceInfo>& sources);
  // One frame from source (an index into begin()'s sources).
  void packet(std::uint32_t source, Timestamp ts, wire::Bytes data, std::uint32_t wire_len);
  // Writes out what is buffered; false once a write, a close or opening a split's next file has
  // failed (error() says why; then nothing more is written).
  bool flush() { return error_ == 0 && out_.flush(); }
  // Flushes and closes the file, so that an error only close() reports is seen too.
  void close();
  // The errno of the first failed write, truncation or close; 0 while none failed.
  [[nodiscard]] int error() const { return error_ != 0 ? error_ : out_.error(); }
  // Why, in words (strerror, or why a split's next file was refused).
  [[nodiscard]] std::string errorText() const;
  // The file written now (with splitAt, the latest of the split).
  [[nodiscard]] const std::string& path() const { return path_; }
  // The files this run wrote that are still there, oldest first.
  [[nodiscard]] const std::deque<std::string>& files() const { return files_; }
  // The file is the one fd writes to (e.g. the monitor's stdout), and not a character device
  // such as /dev/null that any number of writers may share.
  [[nodiscard]] bool sharesFileWith(int fd) const;
  // A FIFO: its reader may go away (then writes fail with EPIPE).
  [[nodiscard]] bool isPipe() const { return pipe_; }
  // Before begin(): removes the file if open() created it. Nothing otherwise.
  void abandon();

 private:
  PcapngWriter(core::UniqueFd fd, std::string path, std::uint32_t snaplen, bool created, bool pipe);
  // The section header and one interface description per source.
  void header();
  // Closes the file and opens the split's next one (error() says why when that fails).
  void next();

  core::UniqueFd fd_;
  FdOutput out_;
  std::string base_;  // the path given
  std::string path_;
  std::vector<SourceInfo> sources_;
  std::deque<std::string> files_;
  std::vector<std::pair<dev_t, ino_t>> inputs_;  // never written to (splitAt)
  std::string why_;                              // a split's next file refused
  std::uint64_t limit_ = 0;                      // 0: one file
  std::uint32_t keep_ = 0;
  std::uint64_t number_ = 0;        // of the file written now
  std::uint64_t file_bytes_ = 0;    // in it
  std::uint64_t file_packets_ = 0;  // in it
  std::uint32_t snaplen_ = 0;
  bool created_ = false;
  bool pipe_ = false;
  bool begun_ = false;
  int error_ = 0;
};

}  // namespace vpnleak::monitor
