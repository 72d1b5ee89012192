#include "audit/snapshot.hpp"

#include <sstream>

namespace vpnleak::audit {

using core::Errc;
using core::Json;

namespace {

template <typename T>
Json orNull(const std::optional<T>& v) {
  return v ? Json(*v) : Json(nullptr);
}

// Reads typed fields out of untrusted JSON; the first failure is kept and names its path.
class Reader {
 public:
  [[nodiscard]] bool failed() const { return error_.has_value(); }
  core::Error error() const { return *error_; }

  void fail(const std::string& path, const std::string& expected) {
    if (!error_) {
      error_ = core::makeError(Errc::kInvalidArgument,
                               "invalid snapshot: " + path + " must be " + expected);
    }
  }
  const Json* field(const Json& obj, const std::string& key, const std::string& path,
                    bool required) {
    if (!obj.is_object()) {
      fail(path, "an object");
      return nullptr;
    }
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) {
      if (required) fail(path + "." + key, "present");
      return nullptr;
    }
    return &*it;
  }
  std::string str(const Json& obj, const std::string& key, const std::string& path,
                  bool required = true, std::string def = {}) {
    const Json* v = field(obj, key, path, required);
    if (v == nullptr) return def;
    if (!v->is_string()) fail(path + "." + key, "a string");
    return v->is_string() ? v->get<std::string>() : def;
  }
  std::uint32_t u32(const Json& obj, const std::string& key, const std::string& path,
                    bool required = true, std::uint32_t def = 0) {
    const Json* v = field(obj, key, path, required);
    if (v == nullptr) return def;
    if (!v->is_number_unsigned() || v->get<std::uint64_t>() > 0xffffffffULL) {
      fail(path + "." + key, "an unsigned 32-bit number");
      return def;
    }
    return v->get<std::uint32_t>();
  }
  int i32(const Json& obj, const std::string& key, const std::string& path, int def) {
    const Json* v = field(obj, key, path, false);
    if (v == nullptr) return def;
    if (!v->is_number_integer() || v->get<std::int64_t>() < -1 || v->get<std::int64_t>() > 128) {
      fail(path + "." + key, "an integer from -1 to 128");
      return def;
    }
    return v->get<int>();
  }
  bool boolean(const Json& obj, const std::string& key, const std::string& path, bool def) {
    const Json* v = field(obj, key, path, false);
    if (v == nullptr) return def;
    if (!v->is_boolean()) fail(path + "." + key, "true or false");
    return v->is_boolean() ? v->get<bool>() : def;
  }
  std::optional<core::IpAddress> ip(const Json& obj, const std::string& key,
                                    const std::string& path, bool required = false) {
    const std::string s = str(obj, key, path, required);
    if (s.empty()) return std::nullopt;
    auto a = core::IpAddress::parse(s);
    if (!a) fail(path + "." + key, "an IP address, not '" + s + "'");
    return a ? std::optional(*a) : std::nullopt;
  }
  std::optional<core::Prefix> prefix(const Json& obj, const std::string& key,
                                     const std::string& path, bool required = false) {
    const std::string s = str(obj, key, path, required);
    if (s.empty()) return std::nullopt;
    auto p = core::Prefix::parse(s, true);
    if (!p) fail(path + "." + key, "a prefix such as 10.0.0.0/8, not '" + s + "'");
    return p ? std::optional(*p) : std::nullopt;
  }
  core::Family family(const Json& obj, const std::string& path) {
    const std::string f = str(obj, "family", path);
    if (f != "ipv4" && f != "ipv6") fail(path + ".family", "\"ipv4\" or \"ipv6\"");
    return f == "ipv6" ? core::Family::kV6 : core::Family::kV4;
  }
  const Json& array(const Json& obj, const std::string& key, const std::string& path) {
    static const Json kEmpty = Json::array();
    const Json* v = field(obj, key, path, false);
    if (v == nullptr) return kEmpty;
    if (!v->is_array()) {
      fail(path + "." + key, "an array");
      return kEmpty;
    }
    return *v;
  }

 private:
  std::optional<core::Error> error_;
};

Json toJson(const RouteEntry& r) {
  return {{"family", core::familyName(r.family)},
          {"table", r.table},
          {"type", r.type},
          {"dst", r.dst},
          {"gateway", orNull(r.gateway)},
          {"dev", r.dev},
          {"metric", r.metric},
          {"protocol", r.protocol},
          {"scope", r.scope}};
}

Json toJson(const RuleEntry& r) {
  Json uid = nullptr;
  if (r.uidrange) uid = Json::array({r.uidrange->first, r.uidrange->second});
  return {{"family", core::familyName(r.family)},
          {"priority", r.priority},
          {"action", r.action},
          {"table", r.table},
          {"fwmark", orNull(r.fwmark)},
          {"fwmask", r.fwmask},
          {"invert", r.invert},
          {"suppress_prefixlength", r.suppress_prefixlength},
          {"iif", r.iif},
          {"oif", r.oif},
          {"from", orNull(r.from)},
          {"to", orNull(r.to)},
          {"uidrange", uid}};
}

Interface readInterface(Reader& rd, const Json& j, const std::string& path) {
  Interface i;
  i.name = rd.str(j, "name", path);
  i.kind = rd.str(j, "kind", path, false);
  i.up = rd.boolean(j, "up", path, false);
  i.loopback = rd.boolean(j, "loopback", path, false);
  const auto& addrs = rd.array(j, "addresses", path);
  for (std::size_t k = 0; k < addrs.size(); ++k) {
    const std::string ap = path + ".addresses[" + std::to_string(k) + "]";
    const std::string text = addrs[k].is_string() ? addrs[k].get<std::string>() : "";
    const auto slash = text.find('/');
    auto a = core::IpAddress::parse(text.substr(0, slash));
    auto p = core::Prefix::parse(text, true);
    if (!a || !p || slash == std::string::npos) {
      rd.fail(ap, "ADDRESS/LENGTH such as 192.168.1.2/24");
      continue;
    }
    i.addresses.push_back(netlink::Cidr{*a, p->length()});
  }
  return i;
}

RouteEntry readRoute(Reader& rd, const Json& j, const std::string& path) {
  RouteEntry r;
  r.family = rd.family(j, path);
  r.table = rd.u32(j, "table", path, false, 254);
  r.type = rd.str(j, "type", path, false, "unicast");
  if (auto d = rd.prefix(j, "dst", path, true)) r.dst = *d;
  r.gateway = rd.ip(j, "gateway", path);
  r.dev = rd.str(j, "dev", path, false);
  r.metric = rd.u32(j, "metric", path, false, 0);
  r.protocol = rd.str(j, "protocol", path, false, "boot");
  r.scope = rd.str(j, "scope", path, false, "global");
  if (!rd.failed() && r.dst.family() != r.family) rd.fail(path + ".dst", "of the route's family");
  return r;
}

RuleEntry readRule(Reader& rd, const Json& j, const std::string& path) {
  RuleEntry r;
  r.family = rd.family(j, path);
  r.priority = rd.u32(j, "priority", path);
  r.action = rd.str(j, "action", path, false, "table");
  r.table = rd.u32(j, "table", path, false, 0);
  if (j.is_object() && j.contains("fwmark") && !j["fwmark"].is_null()) {
    r.fwmark = rd.u32(j, "fwmark", path);
  }
  r.fwmask = rd.u32(j, "fwmask", path, false, 0xffffffffU);
  r.invert = rd.boolean(j, "invert", path, false);
  r.suppress_prefixlength = rd.i32(j, "suppress_prefixlength", path, -1);
  r.iif = rd.str(j, "iif", path, false);
  r.oif = rd.str(j, "oif", path, false);
  r.from = rd.prefix(j, "from", path);
  r.to = rd.prefix(j, "to", path);
  const Json* uid = rd.field(j, "uidrange", path, false);
  if (uid != nullptr) {
    if (!uid->is_array() || uid->size() != 2 || !(*uid)[0].is_number_unsigned() ||
        !(*uid)[1].is_number_unsigned()) {
      rd.fail(path + ".uidrange", "[start, end]");
    } else {
      r.uidrange = {(*uid)[0].get<std::uint32_t>(), (*uid)[1].get<std::uint32_t>()};
    }
  }
  static const std::vector<std::string> kActions{"table",     "goto",        "nop",
                                                 "blackhole", "unreachable", "prohibit"};
  if (std::find(kActions.begin(), kActions.end(), r.action) == kActions.end()) {
    rd.fail(path + ".action", "one of table, goto, nop, blackhole, unreachable, prohibit");
  }
  return r;
}

std::vector<core::IpAddress> readAddressList(Reader& rd, const Json& arr, const std::string& path) {
  std::vector<core::IpAddress> out;
  for (std::size_t k = 0; k < arr.size(); ++k) {
    auto a = arr[k].is_string()
                 ? core::IpAddress::parse(arr[k].get<std::string>())
                 : core::Result<core::IpAddress>(core::makeError(Errc::kInvalidArgument, ""));
    if (!a) {
      rd.fail(path + "[" + std::to_string(k) + "]", "an IP address string");
      continue;
    }
    out.push_back(*a);
  }
  return out;
}

WireGuardIface readWireGuard(Reader& rd, const Json& j, const std::string& path) {
  WireGuardIface w;
  w.name = rd.str(j, "name", path);
  if (j.is_object() && j.contains("fwmark") && !j["fwmark"].is_null()) {
    w.fwmark = rd.u32(j, "fwmark", path);
  }
  const auto& peers = rd.array(j, "peers", path);
  for (std::size_t k = 0; k < peers.size(); ++k) {
    const std::string pp = path + ".peers[" + std::to_string(k) + "]";
    WireGuardPeer p;
    p.iface = w.name;
    const std::string ep = rd.str(peers[k], "endpoint", pp, false);
    if (!ep.empty()) {
      auto e = core::Endpoint::parse(ep);
      if (!e) rd.fail(pp + ".endpoint", "IP:PORT, not '" + ep + "'");
      if (e) p.endpoint = *e;
    }
    for (const auto& a : rd.array(peers[k], "allowed_ips", pp)) {
      auto pr = a.is_string()
                    ? core::Prefix::parse(a.get<std::string>(), true)
                    : core::Result<core::Prefix>(core::makeError(Errc::kInvalidArgument, ""));
      if (!pr) {
        rd.fail(pp + ".allowed_ips", "a list of prefixes");
        continue;
      }
      p.allowed_ips.push_back(*pr);
    }
    w.peers.push_back(std::move(p));
  }
  return w;
}

VpnEndpoint readEndpoint(Reader& rd, const Json& j, const std::string& path) {
  VpnEndpoint e;
  e.source = rd.str(j, "source", path);
  e.host = rd.str(j, "host", path, false);
  const std::string ep = rd.str(j, "endpoint", path, false);
  if (!ep.empty()) {
    auto parsed = core::Endpoint::parse(ep);
    if (!parsed) rd.fail(path + ".endpoint", "IP:PORT, not '" + ep + "'");
    if (parsed) e.endpoint = *parsed;
  }
  e.proto = rd.str(j, "proto", path, false, "udp");
  if (e.proto != "udp" && e.proto != "tcp") rd.fail(path + ".proto", "\"udp\" or \"tcp\"");
  if (j.is_object() && j.contains("pid") && !j["pid"].is_null()) e.pid = rd.u32(j, "pid", path);
  return e;
}

}  // namespace

const Interface* Snapshot::interface(const std::string& name) const {
  for (const auto& i : interfaces) {
    if (i.name == name) return &i;
  }
  return nullptr;
}

Json toJson(const Snapshot& s) {
  auto doc = core::jsonDocument(kSnapshotSchema);
  Json ifaces = Json::array();
  for (const auto& i : s.interfaces) {
    Json addrs = Json::array();
    for (const auto& a : i.addresses) addrs.push_back(a.toString());
    ifaces.push_back({{"name", i.name},
                      {"kind", i.kind},
                      {"up", i.up},
                      {"loopback", i.loopback},
                      {"addresses", addrs}});
  }
  doc["interfaces"] = ifaces;
  doc["routes"] = Json::array();
  for (const auto& r : s.routes) doc["routes"].push_back(toJson(r));
  doc["rules"] = Json::array();
  for (const auto& r : s.rules) doc["rules"].push_back(toJson(r));
  doc["resolvers"] = Json::array();
  for (const auto& r : s.resolvers) doc["resolvers"].push_back(r.toString());
  doc["link_dns"] = Json::object();
  for (const auto& [link, servers] : s.link_dns) {
    doc["link_dns"][link] = Json::array();
    for (const auto& a : servers) doc["link_dns"][link].push_back(a.toString());
  }
  doc["wireguard"] = Json::array();
  for (const auto& w : s.wireguard) {
    Json peers = Json::array();
    for (const auto& p : w.peers) {
      Json allowed = Json::array();
      for (const auto& a : p.allowed_ips) allowed.push_back(a.toString());
      peers.push_back({{"endpoint", p.endpoint ? Json(p.endpoint->toString()) : Json(nullptr)},
                       {"allowed_ips", allowed}});
    }
    doc["wireguard"].push_back({{"name", w.name}, {"fwmark", orNull(w.fwmark)}, {"peers", peers}});
  }
  doc["endpoints"] = Json::array();
  for (const auto& e : s.endpoints) {
    doc["endpoints"].push_back(
        {{"source", e.source},
         {"host", e.host},
         {"endpoint", e.endpoint ? Json(e.endpoint->toString()) : Json(nullptr)},
         {"proto", e.proto},
         {"pid", orNull(e.pid)}});
  }
  doc["nftables"] = s.nftables;
  doc["notes"] = s.notes;
  return doc;
}

core::Result<Snapshot> snapshotFromJson(const Json& j) {
  Reader rd;
  if (!j.is_object() || j.value("schema", "") != kSnapshotSchema) {
    return core::makeError(
        Errc::kInvalidArgument,
        std::string("invalid snapshot: expected \"schema\": \"") + kSnapshotSchema + "\"");
  }
  Snapshot s;
  const auto& ifaces = rd.array(j, "interfaces", "$");
  for (std::size_t k = 0; k < ifaces.size(); ++k) {
    s.interfaces.push_back(readInterface(rd, ifaces[k], "$.interfaces[" + std::to_string(k) + "]"));
  }
  const auto& routes = rd.array(j, "routes", "$");
  for (std::size_t k = 0; k < routes.size(); ++k) {
    s.routes.push_back(readRoute(rd, routes[k], "$.routes[" + std::to_string(k) + "]"));
  }
  const auto& rules = rd.array(j, "rules", "$");
  for (std::size_t k = 0; k < rules.size(); ++k) {
    s.rules.push_back(readRule(rd, rules[k], "$.rules[" + std::to_string(k) + "]"));
  }
  s.resolvers = readAddressList(rd, rd.array(j, "resolvers", "$"), "$.resolvers");
  if (j.contains("link_dns") && j["link_dns"].is_object()) {
    for (const auto& [link, servers] : j["link_dns"].items()) {
      if (!servers.is_array()) {
        rd.fail("$.link_dns." + link, "an array");
        continue;
      }
      s.link_dns[link] = readAddressList(rd, servers, "$.link_dns." + link);
    }
  }
  const auto& wg = rd.array(j, "wireguard", "$");
  for (std::size_t k = 0; k < wg.size(); ++k) {
    s.wireguard.push_back(readWireGuard(rd, wg[k], "$.wireguard[" + std::to_string(k) + "]"));
  }
  const auto& eps = rd.array(j, "endpoints", "$");
  for (std::size_t k = 0; k < eps.size(); ++k) {
    s.endpoints.push_back(readEndpoint(rd, eps[k], "$.endpoints[" + std::to_string(k) + "]"));
  }
  s.nftables = j.value("nftables", Json(nullptr));
  for (const auto& n : rd.array(j, "notes", "$")) {
    if (n.is_string()) s.notes.push_back(n.get<std::string>());
  }
  if (rd.failed()) return rd.error();
  return s;
}

}  // namespace vpnleak::audit
