// Output for a file descriptor (the monitor's stdout): one buffer that lines are formatted
// straight into (LeakLineWriter::write), written with write(2) when it is full and on flush().
// No stdio and no string per line in between.
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

namespace vpnleak::monitor {

class FdOutput {
 public:
  explicit FdOutput(int fd, std::size_t capacity = std::size_t{1} << 16);

  // At least n bytes of room at the returned pointer (what is buffered is written out first
  // when fewer are free); commit(end) keeps what was put there, up to end.
  char* room(std::size_t n);
  void commit(const char* end) { used_ = static_cast<std::size_t>(end - buf_.data()); }
  void append(std::string_view s);

  // Writes out what is buffered, however long the descriptor takes (EINTR and EAGAIN included);
  // false, with the bytes dropped, when it fails (a closed pipe, a full disk).
  bool flush();
  [[nodiscard]] std::size_t buffered() const { return used_; }

 private:
  int fd_;
  std::vector<char> buf_;
  std::size_t used_ = 0;
};

}  // namespace vpnleak::monitor
