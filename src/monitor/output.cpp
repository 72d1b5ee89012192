#include "monitor/output.hpp"

#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace vpnleak::monitor {

FdOutput::FdOutput(int fd, std::size_t capacity) : fd_(fd), buf_(capacity) {}

char* FdOutput::room(std::size_t n) {
  if (buf_.size() - used_ < n) {
    flush();
    if (buf_.size() < n) buf_.resize(n);
  }
  return buf_.data() + used_;
}

void FdOutput::append(std::string_view s) {
  char* at = room(s.size());
  std::memcpy(at, s.data(), s.size());
  commit(at + s.size());
}

bool FdOutput::flush() {
  const char* at = buf_.data();
  const char* const end = at + used_;
  used_ = 0;
  if (error_ != 0) return false;
  while (at < end) {
    const ssize_t n = ::write(fd_, at, static_cast<std::size_t>(end - at));
    if (n >= 0) {
      at += n;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      pollfd p{fd_, POLLOUT, 0};  // a non-blocking descriptor inherited from the caller
      ::poll(&p, 1, -1);
    } else if (errno != EINTR) {
      error_ = errno;
      return false;
    }
  }
  return true;
}

}  // namespace vpnleak::monitor
