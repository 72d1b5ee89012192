// The namespace the netlink integration tests read: a LAN veth pair, a tunnel interface and the
// routes and policy rules of wg-quick, plus extra tables and rules for the corner cases.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "../support/test_support.hpp"
#include "core/json.hpp"

namespace vpnleak::netlink::testnet {

// Runs `ip -n NS ARGS...`; a failure is a test failure naming the command.
inline void ip(const testing::ScopedNetns& ns, std::vector<std::string> args) {
  std::vector<std::string> argv{"ip", "-n", ns.name()};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = testing::sh(argv);
  ASSERT_TRUE(r.ok()) << core::joinArgv(argv) << ": " << r.err;
}

// `ip -n NS -j ARGS...` parsed; null when ip failed (its stderr then goes to err).
inline core::Json ipJson(const testing::ScopedNetns& ns, std::vector<std::string> args,
                         std::string* err = nullptr) {
  std::vector<std::string> argv{"ip", "-n", ns.name(), "-j"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = testing::sh(argv);
  if (err != nullptr) *err = r.err;
  if (!r.ok()) return nullptr;
  auto j = core::parseJson(r.out, core::joinArgv(argv));
  EXPECT_TRUE(j.ok()) << core::joinArgv(argv) << ": " << (j ? "" : j.error().message());
  return j ? *j : core::Json(nullptr);
}

struct Net {
  std::string tunnel_kind;  // what "wg0" is: "dummy" where the kernel has it, else "tun"
};

// The tunnel stands in for WireGuard: a dummy interface, or a persistent tun device (what
// wireguard-go and OpenVPN use) on kernels built without dummy.
inline std::string addTunnel(const testing::ScopedNetns& ns) {
  auto dummy = testing::sh({"ip", "-n", ns.name(), "link", "add", "name", "wg0", "type", "dummy"});
  if (dummy.ok()) return "dummy";
  ip(ns, {"tuntap", "add", "mode", "tun", "name", "wg0"});
  return "tun";
}

// Interface names are given with "name"/"dev": a bare "a" would be read by ip as "address".
inline Net build(const testing::ScopedNetns& ns) {
  Net net;
  ip(ns, {"link", "add", "name", "lan0", "type", "veth", "peer", "name", "lan1"});
  net.tunnel_kind = addTunnel(ns);
  for (const char* dev : {"lan0", "lan1", "wg0"}) {
    // No automatic link-local addresses: the address list is then exactly what we configure.
    ip(ns, {"link", "set", "dev", dev, "addrgenmode", "none"});
    ip(ns, {"link", "set", "dev", dev, "up"});
  }
  ip(ns, {"link", "set", "dev", "wg0", "mtu", "1420"});
  ip(ns, {"addr", "add", "10.0.0.1/24", "dev", "lan0"});
  ip(ns, {"addr", "add", "fd00::1/64", "dev", "lan0", "nodad"});
  ip(ns, {"addr", "add", "192.168.50.1", "peer", "192.168.50.2/32", "dev", "lan1"});
  ip(ns, {"addr", "add", "10.2.0.2/32", "dev", "wg0"});
  ip(ns, {"addr", "add", "fd02::2/128", "dev", "wg0", "nodad"});

  // The physical side: default routes in main.
  ip(ns, {"route", "add", "default", "via", "10.0.0.254", "dev", "lan0", "metric", "100"});
  ip(ns, {"route", "add", "192.168.7.0/24", "via", "10.0.0.253", "dev", "lan0", "proto", "static",
          "metric", "50"});
  ip(ns, {"-6", "route", "add", "default", "via", "fd00::fe", "dev", "lan0"});
  // wg-quick: everything else through the tunnel, from table 51820.
  ip(ns, {"route", "add", "default", "dev", "wg0", "table", "51820"});
  ip(ns, {"-6", "route", "add", "default", "dev", "wg0", "table", "51820"});
  for (const char* fam : {"-4", "-6"}) {
    ip(ns, {fam, "rule", "add", "not", "fwmark", "51820", "table", "51820"});
    ip(ns, {fam, "rule", "add", "table", "main", "suppress_prefixlength", "0"});
  }
  // Other tables: a uid-routed one, reject routes, a table id above 2^31.
  ip(ns, {"route", "add", "default", "via", "10.0.0.200", "dev", "lan0", "table", "200"});
  ip(ns, {"-6", "route", "add", "default", "via", "fd00::200", "dev", "lan0", "table", "200"});
  ip(ns, {"route", "add", "blackhole", "203.0.113.0/24", "table", "100"});
  ip(ns, {"route", "add", "unreachable", "198.51.100.0/24", "table", "100"});
  ip(ns, {"route", "add", "prohibit", "192.0.2.0/24", "table", "100"});
  ip(ns, {"-6", "route", "add", "unreachable", "2001:db8:dead::/48", "table", "100"});
  ip(ns, {"route", "add", "172.16.0.0/12", "dev", "lan0", "table", "3000000000"});
  ip(ns, {"rule", "add", "uidrange", "2000-2999", "table", "200", "priority", "900"});
  ip(ns, {"-6", "rule", "add", "uidrange", "2000-2999", "table", "200", "priority", "900"});
  ip(ns, {"rule", "add", "from", "192.168.0.0/16", "iif", "lan1", "oif", "wg0", "table", "100",
          "priority", "1001"});
  ip(ns, {"rule", "add", "fwmark", "0x10/0xff", "table", "100", "priority", "1003"});
  // After main's catch-all rule: listed, never reached.
  ip(ns, {"rule", "add", "table", "100", "suppress_ifgroup", "5", "priority", "40000"});
  for (const char* dst : {"203.0.113.0/24", "198.51.100.0/24", "192.0.2.0/24"}) {
    ip(ns, {"rule", "add", "to", dst, "table", "100", "priority", "1100"});
  }
  ip(ns, {"-6", "rule", "add", "to", "2001:db8:dead::/48", "table", "100", "priority", "1100"});
  ip(ns, {"rule", "add", "to", "100.64.1.0/24", "prohibit", "priority", "1200"});
  return net;
}

}  // namespace vpnleak::netlink::testnet
