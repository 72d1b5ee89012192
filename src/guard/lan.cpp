#include "guard/lan.hpp"

#include <ifaddrs.h>
#include <netinet/in.h>

#include <algorithm>
#include <bit>
#include <memory>

namespace vpnleak::guard {

namespace {

struct IfaddrsFree {
  void operator()(ifaddrs* p) const { ::freeifaddrs(p); }
};
using UniqueIfaddrs = std::unique_ptr<ifaddrs, IfaddrsFree>;

std::optional<core::IpAddress> fromSockaddr(const sockaddr* sa) {
  if (sa == nullptr) return std::nullopt;
  if (sa->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(sa);  // NOLINT: sockaddr API
    const auto* b = reinterpret_cast<const std::uint8_t*>(&in->sin_addr);
    return core::IpAddress::fromBytes(core::Family::kV4, {b, 4});
  }
  if (sa->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);  // NOLINT: sockaddr API
    const auto* b = reinterpret_cast<const std::uint8_t*>(&in6->sin6_addr);
    return core::IpAddress::fromBytes(core::Family::kV6, {b, 16});
  }
  return std::nullopt;
}

int maskLength(const core::IpAddress& mask) {
  int n = 0;
  for (const auto byte : mask.bytes()) n += std::popcount(byte);
  return n;
}

}  // namespace

LanSelection selectLanPrefixes(const std::vector<OnLinkPrefix>& on_link, const std::string& tunnel,
                               const std::string& lan_iface) {
  LanSelection s;
  for (const auto& p : on_link) {
    if (p.iface == "lo" || p.iface == tunnel) continue;
    if (!lan_iface.empty() && p.iface != lan_iface) continue;
    const auto& a = p.prefix.address();
    std::string why;
    if (p.prefix.length() < 8) {
      why = "too wide to be a LAN";
    } else if (!(a.isPrivate() || a.isLinkLocal())) {
      why = "not a private or link-local prefix (LocalNet: a network may claim any prefix)";
    }
    if (why.empty()) {
      s.allowed.push_back(p.prefix);
    } else {
      s.rejected.push_back({p.iface, p.prefix, why});
    }
  }
  std::sort(s.allowed.begin(), s.allowed.end());
  s.allowed.erase(std::unique(s.allowed.begin(), s.allowed.end()), s.allowed.end());
  return s;
}

core::Result<std::vector<OnLinkPrefix>> collectOnLinkPrefixes() {
  ifaddrs* raw = nullptr;
  if (::getifaddrs(&raw) != 0) return core::sysError("getifaddrs");
  const UniqueIfaddrs list(raw);
  std::vector<OnLinkPrefix> out;
  for (const ifaddrs* i = list.get(); i != nullptr; i = i->ifa_next) {
    const auto addr = fromSockaddr(i->ifa_addr);
    const auto mask = fromSockaddr(i->ifa_netmask);
    if (!addr || !mask || i->ifa_name == nullptr) continue;
    auto prefix = core::Prefix::make(addr->masked(maskLength(*mask)), maskLength(*mask));
    if (!prefix) continue;
    out.push_back({i->ifa_name, *prefix});
  }
  return out;
}

core::Json toJson(const LanSelection& s) {
  core::Json rejected = core::Json::array();
  for (const auto& r : s.rejected) {
    rejected.push_back({{"iface", r.iface}, {"prefix", r.prefix}, {"reason", r.reason}});
  }
  return {{"allowed", s.allowed}, {"rejected", rejected}};
}

}  // namespace vpnleak::guard
