// The reviewed configs behind tests/data/guard/*.nft, shared by the golden unit test and the
// `nft --check` integration test.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "guard/config.hpp"
#include "guard/ruleset.hpp"

namespace vpnleak::guard::testing {

struct GoldenCase {
  std::string name;  // tests/data/guard/NAME.nft
  GuardConfig config;
  RulesetOptions options;
};

inline GuardEndpoint ep(const char* text) { return GuardEndpoint::parse(text).value(); }
inline core::IpAddress ip(const char* text) { return core::IpAddress::parse(text).value(); }
inline core::Prefix pre(const char* text) { return core::Prefix::parse(text).value(); }

inline GuardConfig wgBase() {
  GuardConfig c;
  c.tunnel = "wg0";
  c.endpoints = {ep("203.0.113.2:51820")};
  c.dns = {ip("10.64.0.1")};
  c.fwmark = 51820;
  return c;
}

inline std::vector<GoldenCase> goldenCases() {
  std::vector<GoldenCase> cases;
  cases.push_back({"ipv4_basic", wgBase(), {}});

  GuardConfig v6 = wgBase();
  v6.ipv6 = Ipv6Mode::kTunnel;
  v6.endpoints.push_back(ep("[2001:db8::2]:51820/udp"));
  v6.dns.push_back(ip("fd00::53"));
  cases.push_back({"ipv6_tunnel", v6, {}});

  GuardConfig ovpn;
  ovpn.tunnel = "tun0";
  ovpn.endpoints = {ep("203.0.113.9:1194/udp"), ep("198.51.100.8:443/tcp"),
                    ep("198.51.100.7:1194")};
  cases.push_back({"several_endpoints_any_dns", ovpn, {}});

  GuardConfig lan = wgBase();
  lan.ipv6 = Ipv6Mode::kTunnel;
  lan.allow_lan = true;
  lan.lan = {pre("192.168.1.0/24"), pre("10.0.0.0/8"), pre("fe80::/64"), pre("fd12:3456::/64")};
  lan.dns = {ip("10.64.0.1"), ip("10.64.0.2"), ip("fd00::53")};
  cases.push_back({"allow_lan", lan, {}});

  GuardConfig lan4 = lan;
  lan4.ipv6 = Ipv6Mode::kBlock;
  lan4.dns = {ip("10.64.0.1")};
  cases.push_back({"allow_lan_ipv6_blocked", lan4, {}});

  GuardConfig lock;
  lock.lockdown = true;
  cases.push_back({"lockdown", lock, {}});

  RulesetOptions shadow;
  shadow.table = kShadowTable;
  shadow.owner = true;
  shadow.priority = 1;
  cases.push_back({"shadow", wgBase(), shadow});
  for (auto& c : cases) c.config = normalized(c.config);
  return cases;
}

inline std::filesystem::path goldenDir() {
  return std::filesystem::path(__FILE__).parent_path().parent_path() / "data" / "guard";
}

}  // namespace vpnleak::guard::testing
