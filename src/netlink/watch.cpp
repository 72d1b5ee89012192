#include "netlink/watch.hpp"

#include <linux/rtnetlink.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>

#include "netlink/dump.hpp"
#include "netlink/parse.hpp"

namespace vpnleak::netlink {

namespace {

// Bounds one read() under a storm of notifications; the rest waits for the next call.
constexpr int kMaxDatagramsPerRead = 256;

template <typename T>
core::Result<std::optional<Event>> eventOf(EventKind kind, Change change,
                                           core::Result<std::optional<T>> parsed) {
  if (!parsed) return parsed.error();
  if (!*parsed) return std::optional<Event>();
  return std::optional<Event>(Event{kind, change, std::move(**parsed)});
}

// Bridge ports are announced on the link group too, as AF_BRIDGE copies of their link.
bool isPlainLinkMessage(const nlmsghdr& nlh) {
  if (nlh.nlmsg_len < NLMSG_HDRLEN + sizeof(ifinfomsg)) return true;  // parseLink reports it
  ifinfomsg ifi{};
  std::memcpy(&ifi, NLMSG_DATA(&nlh), sizeof(ifi));
  return ifi.ifi_family == AF_UNSPEC;
}

}  // namespace

std::string eventKindName(EventKind k) {
  switch (k) {
    case EventKind::kLink:
      return "link";
    case EventKind::kAddress:
      return "address";
    case EventKind::kRoute:
      return "route";
    case EventKind::kRule:
      return "rule";
    case EventKind::kOverflow:
      return "overflow";
  }
  return "unknown";
}

std::string changeName(Change c) { return c == Change::kAdded ? "added" : "removed"; }

core::Json toJson(const Event& e) {
  core::Json j{{"kind", eventKindName(e.kind)}};
  if (e.kind == EventKind::kOverflow) return j;
  j["change"] = changeName(e.change);
  std::visit(
      [&](const auto& object) {
        if constexpr (!std::is_same_v<std::decay_t<decltype(object)>, std::monostate>) {
          j[eventKindName(e.kind)] = toJson(object);
        }
      },
      e.object);
  return j;
}

core::Result<std::optional<Event>> parseEvent(const nlmsghdr& nlh) {
  const std::uint16_t type = nlh.nlmsg_type;
  switch (type) {
    case RTM_NEWLINK:
    case RTM_DELLINK: {
      if (!isPlainLinkMessage(nlh)) return std::optional<Event>();
      const Change change = type == RTM_NEWLINK ? Change::kAdded : Change::kRemoved;
      VL_TRY_ASSIGN(auto link, parseLink(nlh));
      return std::optional<Event>(Event{EventKind::kLink, change, std::move(link)});
    }
    case RTM_NEWADDR:
    case RTM_DELADDR:
      return eventOf(EventKind::kAddress, type == RTM_NEWADDR ? Change::kAdded : Change::kRemoved,
                     parseAddress(nlh));
    case RTM_NEWROUTE:
    case RTM_DELROUTE:
      return eventOf(EventKind::kRoute, type == RTM_NEWROUTE ? Change::kAdded : Change::kRemoved,
                     parseRoute(nlh));
    case RTM_NEWRULE:
    case RTM_DELRULE:
      return eventOf(EventKind::kRule, type == RTM_NEWRULE ? Change::kAdded : Change::kRemoved,
                     parseRule(nlh));
    default:
      return std::optional<Event>();
  }
}

core::Result<Watcher> Watcher::open(int receive_buffer) {
  SocketOptions options;
  options.groups = {RTNLGRP_LINK,       RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR,
                    RTNLGRP_IPV4_ROUTE, RTNLGRP_IPV6_ROUTE,  RTNLGRP_IPV4_RULE,
                    RTNLGRP_IPV6_RULE};
  options.nonblocking = true;
  options.receive_buffer = receive_buffer;
  // Subscribe before reading the names, so that no link created in between goes unseen.
  VL_TRY_ASSIGN(auto sock, MnlSocket::open(options));
  // A second socket, for requests: replies must not mix with notifications. Opened now because
  // read() may run on a thread in another namespace.
  VL_TRY_ASSIGN(auto requests, MnlSocket::open());
  VL_TRY_ASSIGN(const auto links, listLinks(requests));
  return Watcher(std::move(sock), std::move(requests), linkNames(links));
}

void Watcher::refreshNames() {
  if (auto links = listLinks(requests_)) names_ = linkNames(*links);
}

std::string Watcher::nameOf(int index) {
  if (index == 0) return {};
  if (auto it = names_.find(index); it != names_.end()) return it->second;
  // Not seen yet (its link event may follow in this same batch): ask.
  auto link = getLink(requests_, index);
  if (!link) return {};
  names_[index] = link->name;
  return link->name;
}

void Watcher::track(Event& e) {
  if (auto* link = std::get_if<Link>(&e.object)) {
    if (e.change == Change::kAdded) {
      names_[link->index] = link->name;
    } else {
      names_.erase(link->index);
    }
  } else if (auto* addr = std::get_if<Address>(&e.object)) {
    auto name = nameOf(addr->ifindex);
    if (!name.empty()) addr->ifname = std::move(name);
  } else if (auto* route = std::get_if<Route>(&e.object)) {
    route->oif_name = nameOf(route->oif);
    for (auto& nh : route->nexthops) nh.oif_name = nameOf(nh.oif);
  }
}

core::Result<std::vector<Event>> Watcher::read(std::chrono::milliseconds timeout) {
  std::vector<Event> events;
  pollfd pfd{fd(), POLLIN, 0};
  const auto wait_ms = std::clamp<std::chrono::milliseconds::rep>(timeout.count(), 0,
                                                                  std::numeric_limits<int>::max());
  const int ready = ::poll(&pfd, 1, static_cast<int>(wait_ms));
  if (ready < 0 && errno != EINTR) return core::sysError("poll netlink watcher");
  if (ready <= 0) return events;
  const MessageHandler on_message = [&](const nlmsghdr& nlh) -> core::Status {
    auto event = parseEvent(nlh);
    if (!event) {
      // A notification we cannot read is a change we missed: the same as a dropped one.
      events.push_back(Event{EventKind::kOverflow, Change::kAdded, std::monostate{}});
    } else if (*event) {
      track(**event);
      events.push_back(std::move(**event));
    }
    return {};
  };
  for (int i = 0; i < kMaxDatagramsPerRead; ++i) {
    auto data = sock_.receive();
    if (!data) {
      if (data.error().sys_errno != ENOBUFS) return data.error();
      events.push_back(Event{EventKind::kOverflow, Change::kAdded, std::monostate{}});
      refreshNames();
      continue;
    }
    if (data->empty()) break;
    VL_TRY(processReplies(*data, 0, 0, on_message));
  }
  return events;
}

}  // namespace vpnleak::netlink
