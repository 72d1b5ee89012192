// The pure parts of the socket (reply processing, kernel errors, interrupted dumps), of the
// route lookup (request building, reply parsing) and of the watcher (notification parsing).
#include <gtest/gtest.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "netlink/parse.hpp"
#include "netlink/route_lookup.hpp"
#include "netlink/socket.hpp"
#include "netlink/watch.hpp"
#include "netlink_test_messages.hpp"

namespace vpnleak::netlink {
namespace {

using core::Errc;
using core::IpAddress;
using testmsg::Msg;

constexpr std::uint32_t kSeq = 77;
constexpr std::uint32_t kPort = 4242;

IpAddress ip(const std::string& s) { return IpAddress::parse(s).value(); }

// A dumped link message, numbered like a reply to kSeq.
void fillLink(Msg& m, int index, const char* name) {
  m.nlh().nlmsg_seq = kSeq;
  m.nlh().nlmsg_pid = kPort;
  m.header<ifinfomsg>().ifi_index = index;
  m.str(IFLA_IFNAME, name);
}

void fillDone(Msg& m, int error = 0) {
  m.nlh().nlmsg_seq = kSeq;
  m.nlh().nlmsg_pid = kPort;
  m.header<int>() = error;
}

void fillError(Msg& m, int error, const char* extack = nullptr) {
  m.nlh().nlmsg_seq = kSeq;
  m.nlh().nlmsg_flags = NLM_F_CAPPED;
  auto& err = m.header<nlmsgerr>();
  err.error = error;
  err.msg.nlmsg_len = NLMSG_HDRLEN + sizeof(rtmsg);  // capped: the payload is not echoed
  if (extack != nullptr) {
    m.nlh().nlmsg_flags |= NLM_F_ACK_TLVS;
    m.str(NLMSGERR_ATTR_MSG, extack);
  }
}

struct Collected {
  std::vector<std::string> names;
  MessageHandler handler() {
    return [this](const nlmsghdr& nlh) -> core::Status {
      auto link = parseLink(nlh);
      if (!link) return link.error();
      names.push_back(link->name);
      return {};
    };
  }
};

TEST(NetlinkReplies, DumpEndsAtDone) {
  Msg a(RTM_NEWLINK, NLM_F_MULTI), b(RTM_NEWLINK, NLM_F_MULTI), done(NLMSG_DONE, NLM_F_MULTI);
  fillLink(a, 1, "lo");
  fillLink(b, 2, "lan0");
  fillDone(done);
  Collected got;
  auto first = processReplies(testmsg::datagram({&a, &b}), kSeq, kPort, got.handler());
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(*first, BatchEnd::kMore);
  auto last = processReplies(testmsg::datagram({&done}), kSeq, kPort, got.handler());
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(*last, BatchEnd::kDone);
  EXPECT_EQ(got.names, (std::vector<std::string>{"lo", "lan0"}));
}

TEST(NetlinkReplies, InterruptedDumpIsReported) {
  Msg a(RTM_NEWLINK, NLM_F_MULTI), b(RTM_NEWLINK, NLM_F_MULTI | NLM_F_DUMP_INTR);
  fillLink(a, 1, "lo");
  fillLink(b, 2, "lan0");
  Collected got;
  auto r = processReplies(testmsg::datagram({&a, &b}), kSeq, kPort, got.handler());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, BatchEnd::kInterrupted);
}

TEST(NetlinkReplies, KernelErrorsCarryErrnoAndText) {
  struct Case {
    int error;
    const char* extack;
    int want_errno;
    std::string want_text;
  };
  const std::vector<Case> cases = {
      {-ENETUNREACH, nullptr, ENETUNREACH, "netlink request failed"},
      {-EINVAL, "Nexthop has invalid gateway", EINVAL, "netlink: Nexthop has invalid gateway"},
      {-EEXIST, nullptr, EEXIST, "netlink request failed"},
  };
  for (const auto& c : cases) {
    Msg err(NLMSG_ERROR);
    fillError(err, c.error, c.extack);
    Collected got;
    auto r = processReplies(testmsg::datagram({&err}), kSeq, kPort, got.handler());
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, Errc::kSystem);
    EXPECT_EQ(r.error().sys_errno, c.want_errno);
    EXPECT_EQ(r.error().context, c.want_text);
  }
}

TEST(NetlinkReplies, AckAndUncappedErrorWithEchoedRequest) {
  Msg ack(NLMSG_ERROR);
  fillError(ack, 0);
  Collected got;
  auto r = processReplies(testmsg::datagram({&ack}), kSeq, kPort, got.handler());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, BatchEnd::kDone);

  // Without NETLINK_CAP_ACK the request comes back before the TLVs.
  Msg full(NLMSG_ERROR, NLM_F_ACK_TLVS);
  auto& e = full.header<nlmsgerr>();
  e.error = -EPERM;
  e.msg.nlmsg_len = NLMSG_HDRLEN + sizeof(rtmsg);
  full.header<rtmsg>();  // the echoed request payload
  full.str(NLMSGERR_ATTR_MSG, "denied");
  auto s = statusFromControl(full.nlh());
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().sys_errno, EPERM);
  EXPECT_EQ(s.error().context, "netlink: denied");
}

TEST(NetlinkReplies, DoneWithErrorFailsTheDump) {
  Msg done(NLMSG_DONE, NLM_F_MULTI);
  fillDone(done, -EMSGSIZE);
  Collected got;
  auto r = processReplies(testmsg::datagram({&done}), kSeq, kPort, got.handler());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().sys_errno, EMSGSIZE);
}

TEST(NetlinkReplies, WrongSequenceOrPortAndHandlerErrors) {
  Msg a(RTM_NEWLINK, NLM_F_MULTI);
  fillLink(a, 1, "lo");
  Collected got;
  auto bad_seq = processReplies(testmsg::datagram({&a}), kSeq + 1, kPort, got.handler());
  ASSERT_FALSE(bad_seq.ok());
  EXPECT_EQ(bad_seq.error().code, Errc::kMalformed);
  auto bad_port = processReplies(testmsg::datagram({&a}), kSeq, kPort + 1, got.handler());
  ASSERT_FALSE(bad_port.ok());
  // Notifications: 0 switches both checks off.
  EXPECT_TRUE(processReplies(testmsg::datagram({&a}), 0, 0, got.handler()).ok());

  Msg nameless(RTM_NEWLINK, NLM_F_MULTI);
  nameless.nlh().nlmsg_seq = kSeq;
  nameless.header<ifinfomsg>().ifi_index = 3;
  auto handler_err = processReplies(testmsg::datagram({&nameless}), kSeq, kPort, got.handler());
  ASSERT_FALSE(handler_err.ok());
  EXPECT_EQ(handler_err.error().code, Errc::kMalformed);
}

TEST(NetlinkReplies, ContainsEnd) {
  Msg a(RTM_NEWLINK, NLM_F_MULTI), done(NLMSG_DONE, NLM_F_MULTI), ack(NLMSG_ERROR);
  fillLink(a, 1, "lo");
  fillDone(done);
  fillError(ack, 0);
  EXPECT_FALSE(containsEnd(testmsg::datagram({&a}), kSeq));
  EXPECT_TRUE(containsEnd(testmsg::datagram({&a, &done}), kSeq));
  EXPECT_FALSE(containsEnd(testmsg::datagram({&a, &done}), kSeq + 1));
  EXPECT_TRUE(containsEnd(testmsg::datagram({&ack}), kSeq));
  EXPECT_FALSE(containsEnd({}, kSeq));
}

// ---- route lookup ----

std::optional<std::vector<std::uint8_t>> attrBytes(const nlmsghdr& nlh, std::uint16_t type) {
  std::optional<std::vector<std::uint8_t>> found;
  const auto* attr = static_cast<const nlattr*>(mnl_nlmsg_get_payload_offset(&nlh, sizeof(rtmsg)));
  int left = static_cast<int>(nlh.nlmsg_len - NLMSG_HDRLEN - NLMSG_ALIGN(sizeof(rtmsg)));
  while (mnl_attr_ok(attr, left)) {
    if (mnl_attr_get_type(attr) == type) {
      const auto* p = static_cast<const std::uint8_t*>(mnl_attr_get_payload(attr));
      found = std::vector<std::uint8_t>(p, p + mnl_attr_get_payload_len(attr));
    }
    left -= static_cast<int>(MNL_ALIGN(attr->nla_len));
    attr = mnl_attr_next(attr);
  }
  return found;
}

TEST(NetlinkRouteQuery, BuildsWhatIpRouteGetSends) {
  RouteQuery q;
  q.dst = ip("2001:db8::1");
  q.src = ip("fd00::1");
  q.mark = 51820;
  q.uid = 1000;
  q.oif = 4;
  auto req = buildRouteQuery(q);
  ASSERT_TRUE(req.ok());
  const nlmsghdr& nlh = req->header();
  EXPECT_EQ(nlh.nlmsg_type, RTM_GETROUTE);
  const auto* rtm = static_cast<const rtmsg*>(mnl_nlmsg_get_payload(&nlh));
  EXPECT_EQ(rtm->rtm_family, AF_INET6);
  EXPECT_EQ(rtm->rtm_dst_len, 128);
  EXPECT_EQ(rtm->rtm_src_len, 128);
  EXPECT_NE(rtm->rtm_flags & RTM_F_LOOKUP_TABLE, 0U);
  const IpAddress dst_addr = ip("2001:db8::1");
  const auto dst = dst_addr.bytes();
  EXPECT_EQ(attrBytes(nlh, RTA_DST), std::vector<std::uint8_t>(dst.begin(), dst.end()));
  const std::uint32_t mark = 51820;
  const auto* mp = reinterpret_cast<const std::uint8_t*>(&mark);
  EXPECT_EQ(attrBytes(nlh, RTA_MARK), std::vector<std::uint8_t>(mp, mp + 4));
  EXPECT_TRUE(attrBytes(nlh, RTA_UID));
  EXPECT_TRUE(attrBytes(nlh, RTA_OIF));

  RouteQuery bare;
  bare.dst = ip("1.1.1.1");
  auto minimal = buildRouteQuery(bare);
  ASSERT_TRUE(minimal.ok());
  EXPECT_FALSE(attrBytes(minimal->header(), RTA_SRC));
  EXPECT_FALSE(attrBytes(minimal->header(), RTA_MARK));
  EXPECT_FALSE(attrBytes(minimal->header(), RTA_UID));

  RouteQuery mixed;
  mixed.dst = ip("1.1.1.1");
  mixed.src = ip("fd00::1");
  auto bad = buildRouteQuery(mixed);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, Errc::kInvalidArgument);
}

TEST(NetlinkRouteQuery, ParsesTheDecision) {
  Msg m(RTM_NEWROUTE);
  auto& rtm = m.header<rtmsg>();
  rtm.rtm_family = AF_INET;
  rtm.rtm_dst_len = 32;
  rtm.rtm_table = RT_TABLE_COMPAT;
  rtm.rtm_type = RTN_UNICAST;
  rtm.rtm_flags = RTM_F_CLONED | RTM_F_LOOKUP_TABLE;
  m.u32(RTA_TABLE, 51820).addr(RTA_DST, "1.1.1.1").u32(RTA_OIF, 5);
  m.addr(RTA_PREFSRC, "10.2.0.2").u32(RTA_UID, 1000).u32(RTA_MARK, 7);
  auto d = parseRouteDecision(m.nlh());
  ASSERT_TRUE(d.ok()) << d.error().message();
  EXPECT_EQ(d->table, 51820U);
  EXPECT_EQ(d->dst, ip("1.1.1.1"));
  EXPECT_EQ(d->oif, 5);
  EXPECT_EQ(d->prefsrc, ip("10.2.0.2"));
  EXPECT_EQ(d->uid, 1000U);
  EXPECT_EQ(d->mark, 7U);
  EXPECT_FALSE(d->gateway);
  EXPECT_EQ(d->type, RouteType::kUnicast);
  const auto j = toJson(*d);
  EXPECT_EQ(j["table"], 51820);
  EXPECT_EQ(j["dst"], "1.1.1.1");
  EXPECT_EQ(j["gateway"], nullptr);
}

TEST(NetlinkRouteQuery, NoRouteErrors) {
  EXPECT_TRUE(isNoRouteError(core::sysError("x", ENETUNREACH)));
  EXPECT_TRUE(isNoRouteError(core::sysError("x", EACCES)));
  EXPECT_FALSE(isNoRouteError(core::sysError("x", ENOMEM)));
  EXPECT_FALSE(isNoRouteError(core::makeError(Errc::kMalformed, "x")));
}

// ---- watch ----

TEST(NetlinkEvents, KindsAndChanges) {
  Msg add(RTM_NEWADDR);
  auto& ifa = add.header<ifaddrmsg>();
  ifa.ifa_family = AF_INET6;
  ifa.ifa_prefixlen = 64;
  ifa.ifa_index = 3;
  add.addr(IFA_ADDRESS, "fd00::9");
  auto e = parseEvent(add.nlh());
  ASSERT_TRUE(e.ok());
  ASSERT_TRUE(e->has_value());
  EXPECT_EQ((*e)->kind, EventKind::kAddress);
  EXPECT_EQ((*e)->change, Change::kAdded);
  EXPECT_EQ(std::get<Address>((*e)->object).address.toString(), "fd00::9/64");
  const auto j = toJson(**e);
  EXPECT_EQ(j["kind"], "address");
  EXPECT_EQ(j["change"], "added");
  EXPECT_EQ(j["address"]["address"], "fd00::9");

  Msg del(RTM_DELROUTE);
  del.header<rtmsg>().rtm_family = AF_INET;
  auto r = parseEvent(del.nlh());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)->kind, EventKind::kRoute);
  EXPECT_EQ((*r)->change, Change::kRemoved);

  Msg bridge_port(RTM_NEWLINK);
  bridge_port.header<ifinfomsg>().ifi_family = AF_BRIDGE;
  bridge_port.str(IFLA_IFNAME, "lan0");
  auto b = parseEvent(bridge_port.nlh());
  ASSERT_TRUE(b.ok());
  EXPECT_FALSE(b->has_value());

  Msg neigh(RTM_NEWNEIGH);
  auto n = parseEvent(neigh.nlh());
  ASSERT_TRUE(n.ok());
  EXPECT_FALSE(n->has_value());

  Event overflow;
  EXPECT_EQ(toJson(overflow), (core::Json{{"kind", "overflow"}}));
  EXPECT_EQ(eventKindName(EventKind::kRule), "rule");
  EXPECT_EQ(changeName(Change::kRemoved), "removed");
}

}  // namespace
}  // namespace vpnleak::netlink
