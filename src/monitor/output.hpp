// Output for a file descriptor (the monitor's stdout): one buffer that lines are formatted
// straight into (LeakLineWriter::write), written with write(2) when it is full and on flush().
// No stdio and no string per line in between. A failed write (a closed pipe with SIGPIPE ignored,
// a full disk) is kept: from then on nothing more is written and error() says why, so that the
// caller can stop instead of losing lines silently.
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
  // false, with the bytes dropped, when this or an earlier write failed.
  bool flush();
  [[nodiscard]] std::size_t buffered() const { return used_; }
  // From now on writes go to fd (flush() first: what is buffered would go there too).
  void retarget(int fd) { fd_ = fd; }
  // The errno of the first failed write, 0 while none has failed.
  [[nodiscard]] int error() const { return error_; }

 private:
  int fd_;
  std::vector<char> buf_;
  std::size_t used_ = 0;
  int error_ = 0;
};

}  // namespace vpnleak::monitor
