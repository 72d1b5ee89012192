// Following changes as they happen: rtnetlink notifications for links, addresses, routes and
// rules (IPv4 and IPv6), as typed events.
#pragma once

#include <linux/netlink.h>

#include <chrono>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/json.hpp"
#include "core/result.hpp"
#include "netlink/socket.hpp"
#include "netlink/types.hpp"

namespace vpnleak::netlink {

enum class EventKind {
  kLink,
  kAddress,
  kRoute,
  kRule,
  kOverflow,  // the kernel dropped notifications: state is unknown, take a new snapshot
};

enum class Change {
  kAdded,    // RTM_NEW*: created, or changed (links and routes are re-announced on change)
  kRemoved,  // RTM_DEL*
};
// Beware: the kernel does not announce the IPv4 routes it flushes when their interface goes
// down or away (IPv6 does). A consumer that tracks routes re-reads them on every link event.

struct Event {
  EventKind kind = EventKind::kOverflow;
  Change change = Change::kAdded;
  std::variant<std::monostate, Link, Address, Route, Rule> object;
};

std::string eventKindName(EventKind k);  // "link", "address", "route", "rule", "overflow"
std::string changeName(Change c);        // "added", "removed"

// {"kind":"route","change":"added","route":{...}}; an overflow has no object.
core::Json toJson(const Event& e);

// One notification -> event; nullopt for messages the watcher does not follow (other families,
// other message types). Interface names are left empty.
core::Result<std::optional<Event>> parseEvent(const nlmsghdr& nlh);

// Subscribed, from open() on, in the calling thread's network namespace. Move-only.
class Watcher {
 public:
  // Notifications queued between two read() calls are kept up to this many bytes.
  static constexpr int kReceiveBuffer = 4 * 1024 * 1024;

  // receive_buffer: bytes of notifications the kernel queues before it drops (kOverflow).
  static core::Result<Watcher> open(int receive_buffer = kReceiveBuffer);

  // Readable when events are waiting: for poll/epoll loops.
  [[nodiscard]] int fd() const { return sock_.fd(); }

  // Waits up to timeout for the first event, then returns every event already queued (empty
  // on timeout). Interface names are filled from what the watcher has seen.
  core::Result<std::vector<Event>> read(std::chrono::milliseconds timeout);

 private:
  Watcher(MnlSocket sock, MnlSocket requests, LinkNames names)
      : sock_(std::move(sock)), requests_(std::move(requests)), names_(std::move(names)) {}
  // Names the event's interfaces and keeps the name table current.
  void track(Event& e);
  std::string nameOf(int index);
  void refreshNames();

  MnlSocket sock_;      // notifications only
  MnlSocket requests_;  // name look-ups, in the namespace the watcher was opened in
  LinkNames names_;
};

}  // namespace vpnleak::netlink
