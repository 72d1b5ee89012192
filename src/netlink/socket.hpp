// The one door to rtnetlink: a libmnl socket, requests, replies, dumps and multicast groups.
// A socket lives in the network namespace of the thread that opened it, for its whole life.
#pragma once

#include <linux/netlink.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "core/result.hpp"

struct mnl_socket;

namespace vpnleak::netlink {

// Called for every data message of a reply or notification; control messages (ACK, error, done)
// are handled by the socket. An error stops the exchange and is returned to the caller.
using MessageHandler = std::function<core::Status(const nlmsghdr&)>;

// One netlink request message: the nlmsghdr, one family header (ifinfomsg, rtmsg...), attributes.
class Request {
 public:
  static constexpr std::size_t kCapacity = 512;

  Request(std::uint16_t type, std::uint16_t flags);

  // Appends the zeroed family header and returns it for filling. Call once, before attributes.
  template <typename T>
  T& putHeader() {
    return *static_cast<T*>(putExtraHeader(sizeof(T)));
  }
  void putU8(std::uint16_t type, std::uint8_t value);
  void putU32(std::uint16_t type, std::uint32_t value);
  void putBytes(std::uint16_t type, std::span<const std::uint8_t> bytes);

  nlmsghdr& header();
  [[nodiscard]] const nlmsghdr& header() const;

 private:
  void* putExtraHeader(std::size_t size);

  alignas(nlmsghdr) std::array<std::uint8_t, kCapacity> buf_{};
};

// How one buffer of replies ended.
enum class BatchEnd {
  kMore,         // consumed, the reply goes on in the next datagram
  kDone,         // NLMSG_DONE or the ACK: the exchange is complete
  kInterrupted,  // NLM_F_DUMP_INTR: the dumped tables changed during the dump
};

// Runs on_message over one received buffer of replies to request seq from portid (0 for either
// disables that check, as for notifications). Pure: no I/O, so it is unit-tested on built buffers.
core::Result<BatchEnd> processReplies(std::span<const std::uint8_t> buf, std::uint32_t seq,
                                      std::uint32_t portid, const MessageHandler& on_message);

// The outcome carried by an NLMSG_ERROR (an ACK when its error is 0) or NLMSG_DONE message: the
// errno, with the kernel's extended-ack text when it sent one.
core::Status statusFromControl(const nlmsghdr& nlh);

// True when buf holds the final message (done or error/ACK) of the exchange numbered seq.
bool containsEnd(std::span<const std::uint8_t> buf, std::uint32_t seq);

struct SocketOptions {
  std::vector<unsigned> groups;  // RTNLGRP_* multicast groups to join
  bool nonblocking = false;      // receive() then returns an empty span instead of waiting
  int receive_buffer = 0;        // SO_RCVBUF(FORCE) in bytes when > 0, against event bursts
};

// Move-only NETLINK_ROUTE socket.
class MnlSocket {
 public:
  // NLM_F_DUMP_INTR retries before giving up: each one means the tables changed mid-dump.
  static constexpr int kMaxDumpAttempts = 5;

  // Opens and binds a socket in the calling thread's network namespace.
  static core::Result<MnlSocket> open(const SocketOptions& options = {});

  MnlSocket(MnlSocket&&) noexcept = default;
  MnlSocket& operator=(MnlSocket&&) noexcept = default;
  MnlSocket(const MnlSocket&) = delete;
  MnlSocket& operator=(const MnlSocket&) = delete;
  ~MnlSocket() = default;

  [[nodiscard]] int fd() const;
  [[nodiscard]] std::uint32_t portId() const { return port_; }

  // Sends req with NLM_F_ACK and feeds every reply message to on_message until the ACK.
  core::Status request(Request& req, const MessageHandler& on_message);

  // Sends req as a dump (NLM_F_DUMP) and feeds every reply to on_message until NLMSG_DONE. When
  // the kernel flags the dump as interrupted, on_restart discards the partial result and the dump
  // runs again, at most kMaxDumpAttempts times.
  core::Status dump(Request& req, const MessageHandler& on_message,
                    const std::function<void()>& on_restart);

  // One datagram (notifications, for multicast listeners). Empty when the socket is non-blocking
  // and nothing is queued. ENOBUFS means the kernel dropped notifications.
  core::Result<std::span<const std::uint8_t>> receive();

 private:
  struct Closer {
    void operator()(mnl_socket* s) const;
  };

  MnlSocket(mnl_socket* sock, std::uint32_t port, std::uint32_t first_seq);
  core::Status send(Request& req);
  // Receives and processes replies to seq until the exchange ends.
  core::Result<BatchEnd> exchange(std::uint32_t seq, const MessageHandler& on_message);
  // Reads and discards the rest of an abandoned exchange so the next one starts clean.
  core::Status drain(std::uint32_t seq);

  std::unique_ptr<mnl_socket, Closer> sock_;
  std::vector<std::uint8_t> buf_;
  std::uint32_t port_ = 0;
  std::uint32_t seq_ = 0;
};

// A copy of err whose context starts with what (e.g. "route lookup for 1.1.1.1").
core::Error withContext(core::Error err, std::string_view what);

}  // namespace vpnleak::netlink
