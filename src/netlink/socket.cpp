#include "netlink/socket.hpp"

#include <libmnl/libmnl.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <optional>
#include <string>

#include "core/check.hpp"

namespace vpnleak::netlink {

using core::Errc;

namespace {

// Kernel dump datagrams grow up to 32 KiB when the reader offers that much room.
constexpr std::size_t kReceiveBufferSize = 32768;
// A reply that takes longer than this is lost, not slow: rtnetlink answers from memory.
constexpr int kReplyTimeoutMs = 5000;

struct CallbackState {
  const MessageHandler* on_message = nullptr;
  std::optional<core::Error> error;
};

int onData(const nlmsghdr* nlh, void* data) {
  auto* state = static_cast<CallbackState*>(data);
  auto status = (*state->on_message)(*nlh);
  if (!status) {
    state->error = status.error();
    return MNL_CB_ERROR;
  }
  return MNL_CB_OK;
}

int onControl(const nlmsghdr* nlh, void* data) {
  auto* state = static_cast<CallbackState*>(data);
  auto status = statusFromControl(*nlh);
  if (!status) {
    state->error = status.error();
    return MNL_CB_ERROR;
  }
  return MNL_CB_STOP;
}

int onExtackAttr(const nlattr* attr, void* data) {
  if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG) {
    const auto* text = static_cast<const char*>(mnl_attr_get_payload(attr));
    const std::size_t len = mnl_attr_get_payload_len(attr);
    *static_cast<std::string*>(data) = std::string(text, ::strnlen(text, len));
  }
  return MNL_CB_OK;
}

// The kernel's extended-ack message ("Nexthop has invalid gateway"), empty when absent.
std::string extackMessage(const nlmsghdr& nlh, std::size_t tlv_offset) {
  std::string text;
  if ((nlh.nlmsg_flags & NLM_F_ACK_TLVS) == 0) return text;
  if (NLMSG_HDRLEN + MNL_ALIGN(tlv_offset) >= nlh.nlmsg_len) return text;
  mnl_attr_parse(&nlh, static_cast<unsigned>(tlv_offset), onExtackAttr, &text);
  return text;
}

}  // namespace

Request::Request(std::uint16_t type, std::uint16_t flags) {
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf_.data());
  nlh->nlmsg_type = type;
  nlh->nlmsg_flags = flags;
}

nlmsghdr& Request::header() { return *reinterpret_cast<nlmsghdr*>(buf_.data()); }

const nlmsghdr& Request::header() const { return *reinterpret_cast<const nlmsghdr*>(buf_.data()); }

void* Request::putExtraHeader(std::size_t size) {
  VL_CHECK(header().nlmsg_len + MNL_ALIGN(size) <= kCapacity);
  return mnl_nlmsg_put_extra_header(&header(), size);
}

void Request::putU8(std::uint16_t type, std::uint8_t value) {
  VL_CHECK(mnl_attr_put_u8_check(&header(), kCapacity, type, value));
}

void Request::putU32(std::uint16_t type, std::uint32_t value) {
  VL_CHECK(mnl_attr_put_u32_check(&header(), kCapacity, type, value));
}

void Request::putBytes(std::uint16_t type, std::span<const std::uint8_t> bytes) {
  VL_CHECK(mnl_attr_put_check(&header(), kCapacity, type, bytes.size(), bytes.data()));
}

core::Status statusFromControl(const nlmsghdr& nlh) {
  const std::size_t payload_len = nlh.nlmsg_len > NLMSG_HDRLEN ? nlh.nlmsg_len - NLMSG_HDRLEN : 0;
  const void* payload = mnl_nlmsg_get_payload(&nlh);
  int error = 0;
  std::size_t tlv_offset = 0;
  if (nlh.nlmsg_type == NLMSG_ERROR) {
    if (payload_len < sizeof(nlmsgerr)) {
      return core::makeError(Errc::kMalformed, "truncated netlink error message");
    }
    nlmsgerr err{};
    std::memcpy(&err, payload, sizeof(err));
    error = err.error;
    tlv_offset = sizeof(nlmsgerr);
    // Without NETLINK_CAP_ACK the kernel echoes the request's payload before the TLVs.
    if ((nlh.nlmsg_flags & NLM_F_CAPPED) == 0 && err.msg.nlmsg_len > NLMSG_HDRLEN) {
      tlv_offset += NLMSG_ALIGN(err.msg.nlmsg_len - NLMSG_HDRLEN);
    }
  } else if (nlh.nlmsg_type == NLMSG_DONE) {
    // A dump that failed part-way reports its errno here rather than in an NLMSG_ERROR.
    if (payload_len >= sizeof(int)) std::memcpy(&error, payload, sizeof(int));
    tlv_offset = sizeof(int);
  }
  if (error == 0) return {};
  const std::string text = extackMessage(nlh, tlv_offset);
  return core::Error{Errc::kSystem, error < 0 ? -error : error,
                     text.empty() ? "netlink request failed" : "netlink: " + text};
}

core::Result<BatchEnd> processReplies(std::span<const std::uint8_t> buf, std::uint32_t seq,
                                      std::uint32_t portid, const MessageHandler& on_message) {
  CallbackState state{&on_message, std::nullopt};
  std::array<mnl_cb_t, NLMSG_MIN_TYPE> control{};
  control[NLMSG_ERROR] = onControl;
  control[NLMSG_DONE] = onControl;
  errno = 0;
  const int ret = mnl_cb_run2(buf.data(), buf.size(), seq, portid, onData, &state, control.data(),
                              static_cast<unsigned>(control.size()));
  const int err = errno;
  if (state.error) return *state.error;
  if (ret == MNL_CB_STOP) return BatchEnd::kDone;
  if (ret > MNL_CB_STOP) return BatchEnd::kMore;
  switch (err) {
    case EINTR:  // libmnl's report of NLM_F_DUMP_INTR
      return BatchEnd::kInterrupted;
    case ESRCH:
      return core::makeError(Errc::kMalformed, "netlink reply from an unexpected port");
    case EPROTO:
      return core::makeError(Errc::kMalformed, "netlink reply with an unexpected sequence number");
    default:
      return core::sysError("process netlink reply", err);
  }
}

bool containsEnd(std::span<const std::uint8_t> buf, std::uint32_t seq) {
  const auto* nlh = reinterpret_cast<const nlmsghdr*>(buf.data());
  int len = static_cast<int>(buf.size());
  while (mnl_nlmsg_ok(nlh, len)) {
    if (nlh->nlmsg_seq == seq &&
        (nlh->nlmsg_type == NLMSG_DONE || nlh->nlmsg_type == NLMSG_ERROR)) {
      return true;
    }
    nlh = mnl_nlmsg_next(nlh, &len);
  }
  return false;
}

void MnlSocket::Closer::operator()(mnl_socket* s) const { mnl_socket_close(s); }

MnlSocket::MnlSocket(mnl_socket* sock, std::uint32_t port, std::uint32_t first_seq)
    : sock_(sock), buf_(kReceiveBufferSize), port_(port), seq_(first_seq) {}

core::Result<MnlSocket> MnlSocket::open(const SocketOptions& options) {
  const int type_flags = SOCK_CLOEXEC | (options.nonblocking ? SOCK_NONBLOCK : 0);
  std::unique_ptr<mnl_socket, Closer> sock(mnl_socket_open2(NETLINK_ROUTE, type_flags));
  if (!sock) return core::sysError("open netlink socket");
  const int fd = mnl_socket_get_fd(sock.get());
  int one = 1;
  // Best effort: short ACKs and the kernel's error text; replies are correct without either.
  ::setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
  ::setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
  if (options.receive_buffer > 0) {
    const int size = options.receive_buffer;
    // FORCE lifts the rmem_max cap when we have CAP_NET_ADMIN; the plain option is the fallback.
    if (::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) != 0 &&
        ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size)) != 0) {
      return core::sysError("set netlink receive buffer");
    }
  }
  if (mnl_socket_bind(sock.get(), 0, MNL_SOCKET_AUTOPID) < 0) {
    return core::sysError("bind netlink socket");
  }
  for (unsigned group : options.groups) {
    if (mnl_socket_setsockopt(sock.get(), NETLINK_ADD_MEMBERSHIP, &group, sizeof(group)) < 0) {
      return core::sysError("join netlink group " + std::to_string(group));
    }
  }
  const std::uint32_t port = mnl_socket_get_portid(sock.get());
  const auto seed = static_cast<std::uint32_t>(std::time(nullptr));
  return MnlSocket(sock.release(), port, seed);
}

int MnlSocket::fd() const { return mnl_socket_get_fd(sock_.get()); }

core::Status MnlSocket::send(Request& req) {
  nlmsghdr& nlh = req.header();
  if (++seq_ == 0) ++seq_;  // 0 would switch off libmnl's sequence check
  nlh.nlmsg_seq = seq_;
  if (mnl_socket_sendto(sock_.get(), &nlh, nlh.nlmsg_len) < 0) {
    return core::sysError("send netlink request");
  }
  return {};
}

core::Result<std::span<const std::uint8_t>> MnlSocket::receive() {
  for (;;) {
    const ssize_t n = mnl_socket_recvfrom(sock_.get(), buf_.data(), buf_.size());
    if (n >= 0) return std::span<const std::uint8_t>(buf_.data(), static_cast<std::size_t>(n));
    if (errno == EINTR) continue;  // a signal, not NLM_F_DUMP_INTR
    if (errno == EAGAIN || errno == EWOULDBLOCK) return std::span<const std::uint8_t>();
    if (errno == ENOSPC) {
      return core::makeError(Errc::kMalformed, "netlink datagram larger than the receive buffer");
    }
    return core::sysError("receive from netlink socket");
  }
}

namespace {

core::Status waitReadable(int fd) {
  pollfd pfd{fd, POLLIN, 0};
  for (;;) {
    const int n = ::poll(&pfd, 1, kReplyTimeoutMs);
    if (n > 0) return {};
    if (n == 0) return core::makeError(Errc::kTimeout, "no netlink reply within 5 s");
    if (errno != EINTR) return core::sysError("poll netlink socket");
  }
}

}  // namespace

core::Result<BatchEnd> MnlSocket::exchange(std::uint32_t seq, const MessageHandler& on_message) {
  for (;;) {
    VL_TRY(waitReadable(fd()));
    VL_TRY_ASSIGN(const auto data, receive());
    if (data.empty()) continue;  // woken for nothing on a non-blocking socket
    auto end = processReplies(data, seq, port_, on_message);
    if (!end || *end == BatchEnd::kInterrupted) {
      // The kernel keeps sending the rest of this exchange: read it now, or the next request
      // on this socket would meet it and fail the sequence check.
      if (!containsEnd(data, seq)) (void)drain(seq);
      return end;
    }
    if (*end == BatchEnd::kDone) return end;
  }
}

core::Status MnlSocket::drain(std::uint32_t seq) {
  for (;;) {
    VL_TRY(waitReadable(fd()));
    VL_TRY_ASSIGN(const auto data, receive());
    if (containsEnd(data, seq)) return {};
  }
}

core::Status MnlSocket::request(Request& req, const MessageHandler& on_message) {
  req.header().nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
  VL_TRY(send(req));
  VL_TRY_ASSIGN(const BatchEnd end, exchange(seq_, on_message));
  if (end != BatchEnd::kDone) {
    return core::makeError(Errc::kMalformed, "netlink reply flagged as an interrupted dump");
  }
  return {};
}

core::Status MnlSocket::dump(Request& req, const MessageHandler& on_message,
                             const std::function<void()>& on_restart) {
  req.header().nlmsg_flags |= NLM_F_REQUEST | NLM_F_DUMP;
  for (int attempt = 1; attempt <= kMaxDumpAttempts; ++attempt) {
    if (attempt > 1) on_restart();
    VL_TRY(send(req));
    VL_TRY_ASSIGN(const BatchEnd end, exchange(seq_, on_message));
    if (end == BatchEnd::kDone) return {};
  }
  return core::Error{Errc::kSystem, EINTR,
                     "netlink dump interrupted " + std::to_string(kMaxDumpAttempts) +
                         " times in a row (the tables keep changing); retry later"};
}

core::Error withContext(core::Error err, std::string_view what) {
  err.context = std::string(what) + ": " + err.context;
  return err;
}

}  // namespace vpnleak::netlink
