#include "guard/config.hpp"

#include <algorithm>

namespace vpnleak::guard {

using core::Errc;
using core::IpAddress;

namespace {

core::Error invalid(const std::string& text) {
  return core::makeError(Errc::kInvalidArgument, text);
}

template <typename T>
void sortUnique(std::vector<T>& v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
}

core::Status validateEndpoint(const GuardEndpoint& e) {
  const auto& a = e.address;
  if (a.isUnspecified() || a.isMulticast() || a.isLoopback() || e.port == 0) {
    return invalid("invalid --endpoint '" + e.toString() +
                   "': expected the VPN server's unicast address and a port 1-65535");
  }
  return {};
}

core::Status validateDns(const GuardConfig& c) {
  for (const auto& d : c.dns) {
    if (d.isUnspecified() || d.isMulticast() || d.isLoopback()) {
      return invalid("invalid --dns '" + d.toString() +
                     "': expected the unicast address of a resolver reached through the tunnel");
    }
    if (d.isV6() && c.ipv6 == Ipv6Mode::kBlock) {
      return invalid("conflicting flags: --dns " + d.toString() +
                     " is IPv6 but --ipv6 block drops all IPv6; use --ipv6 tunnel or an IPv4 "
                     "resolver");
    }
  }
  return {};
}

core::Status validateLockdown(const GuardConfig& c) {
  if (!c.tunnel.empty() || !c.endpoints.empty() || !c.dns.empty() || c.allow_lan ||
      c.ipv6 == Ipv6Mode::kTunnel || c.fwmark) {
    return invalid(
        "conflicting flags: --lockdown blocks everything but loopback, DHCP and NDP; it takes "
        "none of --tunnel, --endpoint, --dns, --allow-lan, --ipv6 tunnel, --fwmark");
  }
  return {};
}

}  // namespace

std::string_view protoName(Proto p) { return p == Proto::kUdp ? "udp" : "tcp"; }
std::string_view ipv6ModeName(Ipv6Mode m) { return m == Ipv6Mode::kBlock ? "block" : "tunnel"; }

core::Result<GuardEndpoint> GuardEndpoint::parse(std::string_view text) {
  const auto bad = [&] {
    return invalid("invalid --endpoint '" + std::string(text) +
                   "': expected IP:PORT[/udp|/tcp] with a literal address, e.g. "
                   "203.0.113.2:51820/udp or [2001:db8::1]:1194/tcp");
  };
  GuardEndpoint e;
  std::string_view addr = text;
  if (const auto slash = text.rfind('/'); slash != std::string_view::npos) {
    const auto proto = text.substr(slash + 1);
    if (proto == "udp") {
      e.proto = Proto::kUdp;
    } else if (proto == "tcp") {
      e.proto = Proto::kTcp;
    } else {
      return bad();
    }
    addr = text.substr(0, slash);
  }
  auto ep = core::Endpoint::parse(addr);
  if (!ep) return bad();
  e.address = ep->address;
  e.port = ep->port;
  if (!validateEndpoint(e)) {
    return invalid("invalid --endpoint '" + std::string(text) +
                   "': expected the VPN server's unicast address and a port 1-65535");
  }
  return e;
}

std::string GuardEndpoint::toString() const {
  return core::Endpoint{address, port}.toString() + "/" + std::string(protoName(proto));
}

bool validInterfaceName(std::string_view name) {
  // The kernel's dev_valid_name(), minus what nft's quoted strings cannot carry.
  if (name.empty() || name.size() > 15 || name == "." || name == "..") return false;
  return std::none_of(name.begin(), name.end(), [](char ch) {
    const auto u = static_cast<unsigned char>(ch);
    return u <= 0x20 || u >= 0x7f || ch == '/' || ch == ':' || ch == '"' || ch == '\\';
  });
}

core::Status validate(const GuardConfig& c) {
  if (c.lockdown) return validateLockdown(c);
  if (c.tunnel.empty()) {
    return invalid(
        "missing --tunnel: name the VPN's interface (e.g. wg0, tun0), or use --lockdown");
  }
  if (!validInterfaceName(c.tunnel) || c.tunnel == "lo") {
    return invalid("invalid --tunnel '" + c.tunnel +
                   "': expected an interface name of 1-15 characters without spaces, '/', ':' or "
                   "quotes, other than lo");
  }
  if (c.endpoints.empty()) {
    return invalid("missing --endpoint: give the VPN server as IP:PORT[/udp|/tcp] (repeatable)");
  }
  for (const auto& e : c.endpoints) VL_TRY(validateEndpoint(e));
  VL_TRY(validateDns(c));
  if (!c.lan_iface.empty()) {
    if (!c.allow_lan) {
      return invalid("conflicting flags: --lan-iface " + c.lan_iface + " needs --allow-lan");
    }
    if (!validInterfaceName(c.lan_iface) || c.lan_iface == c.tunnel || c.lan_iface == "lo") {
      return invalid("invalid --lan-iface '" + c.lan_iface +
                     "': expected the physical interface's name, not the tunnel or lo");
    }
  }
  if (!c.allow_lan && !c.lan.empty()) {
    return invalid("conflicting flags: LAN prefixes given without --allow-lan");
  }
  for (const auto& p : c.lan) {
    if (!(p.address().isPrivate() || p.address().isLinkLocal()) || p.length() < 8) {
      return invalid("refusing LAN prefix '" + p.toString() +
                     "': only private (RFC 1918, ULA) or link-local prefixes can be allowed");
    }
  }
  if (c.fwmark && *c.fwmark == 0) {
    return invalid("invalid --fwmark '0': expected the tunnel socket's non-zero mark, e.g. 51820");
  }
  return {};
}

GuardConfig normalized(GuardConfig c) {
  sortUnique(c.endpoints);
  sortUnique(c.dns);
  sortUnique(c.lan);
  return c;
}

core::Json toJson(const GuardConfig& c) {
  core::Json j = core::Json::object();
  j["lockdown"] = c.lockdown;
  j["tunnel"] = c.tunnel;
  j["tunnel_may_be_absent"] = c.tunnel_may_be_absent;
  core::Json eps = core::Json::array();
  for (const auto& e : c.endpoints) eps.push_back(e.toString());
  j["endpoints"] = eps;
  j["dns"] = c.dns;
  j["allow_lan"] = c.allow_lan;
  j["lan_iface"] = c.lan_iface;
  j["lan"] = c.lan;
  j["ipv6"] = ipv6ModeName(c.ipv6);
  j["fwmark"] = c.fwmark ? core::Json(*c.fwmark) : core::Json(nullptr);
  return j;
}

core::Result<GuardConfig> configFromJson(const core::Json& j) {
  const auto malformed = [] {
    return core::makeError(Errc::kMalformed, "guard config: malformed");
  };
  if (!j.is_object()) return malformed();
  GuardConfig c;
  try {
    c.lockdown = j.value("lockdown", false);
    c.tunnel = j.value("tunnel", "");
    c.tunnel_may_be_absent = j.value("tunnel_may_be_absent", false);
    for (const auto& e : j.value("endpoints", core::Json::array())) {
      VL_TRY_ASSIGN(auto ep, GuardEndpoint::parse(e.get<std::string>()));
      c.endpoints.push_back(ep);
    }
    for (const auto& d : j.value("dns", core::Json::array())) {
      VL_TRY_ASSIGN(auto a, IpAddress::parse(d.get<std::string>()));
      c.dns.push_back(a);
    }
    c.allow_lan = j.value("allow_lan", false);
    c.lan_iface = j.value("lan_iface", "");
    for (const auto& p : j.value("lan", core::Json::array())) {
      VL_TRY_ASSIGN(auto pre, core::Prefix::parse(p.get<std::string>()));
      c.lan.push_back(pre);
    }
    c.ipv6 = j.value("ipv6", "block") == "tunnel" ? Ipv6Mode::kTunnel : Ipv6Mode::kBlock;
    if (j.contains("fwmark") && j["fwmark"].is_number_unsigned()) {
      c.fwmark = j["fwmark"].get<std::uint32_t>();
    }
  } catch (const core::Json::exception&) {
    return malformed();
  }
  return c;
}

std::string configDigest(const GuardConfig& c) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (const char ch : toJson(c).dump()) {
    h ^= static_cast<unsigned char>(ch);
    h *= 0x100000001b3ULL;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i, h >>= 4) out[static_cast<std::size_t>(i)] = kHex[h & 0xfU];
  return out;
}

}  // namespace vpnleak::guard
