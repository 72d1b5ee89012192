// Turning what the kernel and the system's files say into a Snapshot. Pure: text and values in.
#include <net/if_arp.h>

#include <sstream>

#include "audit/snapshot.hpp"

namespace vpnleak::audit {

namespace {

std::string ruleAction(netlink::RuleAction a) {
  switch (a) {
    case netlink::RuleAction::kToTable:
      return "table";
    case netlink::RuleAction::kGoto:
      return "goto";
    case netlink::RuleAction::kNop:
      return "nop";
    case netlink::RuleAction::kBlackhole:
      return "blackhole";
    case netlink::RuleAction::kUnreachable:
      return "unreachable";
    case netlink::RuleAction::kProhibit:
      return "prohibit";
    case netlink::RuleAction::kUnspec:
      break;
  }
  return "table";
}

std::vector<std::string> lines(std::string_view text) {
  std::vector<std::string> out;
  std::istringstream in{std::string(text)};
  std::string line;
  while (std::getline(in, line)) out.push_back(line);
  return out;
}

}  // namespace

Snapshot fromNetlink(const netlink::Snapshot& ns) {
  Snapshot s;
  for (const auto& l : ns.links) {
    Interface i;
    i.name = l.name;
    i.kind = l.kind;
    i.up = l.up;
    i.loopback = l.type == ARPHRD_LOOPBACK;
    for (const auto& a : ns.addresses) {
      if (a.ifindex == l.index) i.addresses.push_back(a.address);
    }
    s.interfaces.push_back(std::move(i));
  }
  for (const auto& r : ns.routes) {
    RouteEntry e;
    e.family = r.family;
    e.table = r.table;
    e.type = netlink::routeTypeName(r.type);
    e.dst = r.dst;
    e.gateway = r.gateway;
    e.dev = r.oif_name;
    if (e.dev.empty() && !r.nexthops.empty()) {
      // Multipath: the first hop stands for the route; every hop leaves the same way in practice.
      e.dev = r.nexthops.front().oif_name;
      e.gateway = r.nexthops.front().gateway;
    }
    e.metric = r.priority;
    e.protocol = netlink::routeProtocolName(r.protocol);
    e.scope = netlink::scopeName(r.scope);
    s.routes.push_back(std::move(e));
  }
  for (const auto& r : ns.rules) {
    RuleEntry e;
    e.family = r.family;
    e.priority = r.priority;
    e.action = ruleAction(r.action);
    e.table = r.table;
    e.fwmark = r.fwmark;
    e.fwmask = r.fwmark ? r.fwmask : 0xffffffffU;
    e.invert = r.invert;
    e.suppress_prefixlength = r.suppress_prefixlen;
    e.iif = r.iifname;
    e.oif = r.oifname;
    e.from = r.src;
    e.to = r.dst;
    if (r.uid_range) e.uidrange = {r.uid_range->start, r.uid_range->end};
    s.rules.push_back(std::move(e));
  }
  return s;
}

std::vector<core::IpAddress> parseResolvConf(std::string_view text) {
  std::vector<core::IpAddress> out;
  for (const auto& line : lines(text)) {
    std::istringstream in(line);
    std::string key;
    std::string value;
    if (!(in >> key >> value) || key != "nameserver") continue;
    // A scoped IPv6 resolver ("fe80::1%eth0") is still a resolver: keep the address.
    auto a = core::IpAddress::parse(value.substr(0, value.find('%')));
    if (a) out.push_back(*a);
  }
  return out;
}

std::vector<WireGuardIface> parseWgDump(std::string_view text) {
  std::vector<WireGuardIface> out;
  for (const auto& line : lines(text)) {
    std::vector<std::string> f;
    std::istringstream in(line);
    std::string field;
    while (std::getline(in, field, '\t')) f.push_back(field);
    if (f.size() == 5) {  // interface: name, private key, public key, listen port, fwmark
      WireGuardIface w;
      w.name = f[0];
      if (f[4] != "off") {
        try {
          w.fwmark = static_cast<std::uint32_t>(std::stoul(f[4], nullptr, 0));
        } catch (const std::exception&) {
        }
      }
      out.push_back(std::move(w));
    } else if (f.size() == 9 && !out.empty() && out.back().name == f[0]) {
      // peer: iface, public key, psk, endpoint, allowed ips, handshake, rx, tx, keepalive
      WireGuardPeer p;
      p.iface = f[0];
      if (f[3] != "(none)") {
        auto e = core::Endpoint::parse(f[3]);
        if (e) p.endpoint = *e;
      }
      std::istringstream allowed(f[4]);
      std::string pfx;
      while (std::getline(allowed, pfx, ',')) {
        auto pr = core::Prefix::parse(pfx, true);
        if (pr) p.allowed_ips.push_back(*pr);
      }
      out.back().peers.push_back(std::move(p));
    }
  }
  return out;
}

std::map<std::string, std::vector<core::IpAddress>> parseResolvectlDns(std::string_view text) {
  // "Global: 1.1.1.1" / "Link 2 (eth0): 192.168.1.1 fe80::1%2"
  std::map<std::string, std::vector<core::IpAddress>> out;
  for (const auto& line : lines(text)) {
    const auto colon = line.find("):");
    const auto open = line.find('(');
    std::string link;
    std::string rest;
    if (line.rfind("Link ", 0) == 0 && open != std::string::npos && colon != std::string::npos) {
      link = line.substr(open + 1, colon - open - 1);
      rest = line.substr(colon + 2);
    } else if (line.rfind("Global:", 0) == 0) {
      link = "global";
      rest = line.substr(7);
    } else {
      continue;
    }
    auto& list = out[link];
    std::istringstream in(rest);
    std::string word;
    while (in >> word) {
      auto a = core::IpAddress::parse(word.substr(0, word.find_first_of("%#")));
      if (a) list.push_back(*a);
    }
  }
  return out;
}

}  // namespace vpnleak::audit
