// Is there a kill switch? Judged from nftables' own JSON: a filter chain on the output hook whose
// policy is drop, for both families, fails closed when the tunnel goes away.
#include <set>

#include "audit/analyze.hpp"

namespace vpnleak::audit {

namespace {

using core::Json;

struct ChainView {
  std::string family;
  std::string table;
  std::string hook;
  std::string policy;
};

std::vector<ChainView> chains(const Json& doc) {
  std::vector<ChainView> out;
  if (!doc.is_object() || !doc.contains("nftables") || !doc["nftables"].is_array()) return out;
  for (const auto& item : doc["nftables"]) {
    if (!item.is_object() || !item.contains("chain")) continue;
    const auto& c = item["chain"];
    if (!c.is_object()) continue;
    out.push_back({c.value("family", ""), c.value("table", ""), c.value("hook", ""),
                   c.value("policy", "accept")});
  }
  return out;
}

// Everything the guard's table says, as text, to look for interface names and addresses in.
std::string tableText(const Json& doc, const std::string& family, const std::string& table) {
  std::string text;
  for (const auto& item : doc["nftables"]) {
    for (const char* kind : {"rule", "set", "map"}) {
      if (!item.is_object() || !item.contains(kind)) continue;
      const auto& r = item[kind];
      if (r.value("family", "") == family && r.value("table", "") == table) text += r.dump();
    }
  }
  return text;
}

}  // namespace

FailClosed failClosed(const Snapshot& s) {
  FailClosed f;
  for (const auto& c : chains(s.nftables)) {
    if (c.hook != "output" || c.policy != "drop") continue;
    f.v4 = f.v4 || c.family == "inet" || c.family == "ip";
    f.v6 = f.v6 || c.family == "inet" || c.family == "ip6";
  }
  return f;
}

std::vector<Finding> judgeFirewall(const Snapshot& s, const TunnelView& t) {
  std::vector<Finding> out;
  const std::string fix =
      "run 'vpnleak guard up --tunnel IFACE --endpoint IP:PORT' to drop "
      "everything that does not use the tunnel";
  if (s.nftables.is_null()) {
    out.push_back({"no-killswitch", Severity::kMedium,
                   "the nftables ruleset could not be read, so no kill switch could be found "
                   "(run the audit as root, with nft installed)",
                   fix, Json::object()});
    return out;
  }
  bool guard = false;
  for (const auto& c : chains(s.nftables)) {
    if (c.table == "vpnleak" && c.family == "inet") guard = true;
  }
  const auto closed = failClosed(s);
  const bool v4_closed = closed.v4;
  const bool v6_closed = closed.v6;
  if (!v4_closed || !v6_closed) {
    const std::string open = !v4_closed && !v6_closed ? "IPv4 and IPv6"
                             : !v4_closed             ? "IPv4"
                                                      : "IPv6";
    out.push_back({"no-killswitch", Severity::kHigh,
                   "nothing blocks " + open +
                       " traffic outside the tunnel: no output chain with policy drop, so when "
                       "the tunnel drops or reconnects, traffic leaves through the LAN",
                   fix, Json{{"ipv4_fail_closed", v4_closed}, {"ipv6_fail_closed", v6_closed}}});
  }
  if (guard) {
    const std::string text = tableText(s.nftables, "inet", "vpnleak");
    std::vector<std::string> missing;
    for (const auto& i : t.interfaces) {
      if (text.find("\"" + i + "\"") == std::string::npos) missing.push_back("interface " + i);
    }
    for (const auto& e : t.endpoints) {
      if (text.find(e.address.address.toString()) == std::string::npos) {
        missing.push_back("endpoint " + e.address.address.toString());
      }
    }
    if (!missing.empty()) {
      std::string list;
      for (const auto& m : missing) list += (list.empty() ? "" : ", ") + m;
      out.push_back({"guard-mismatch", Severity::kHigh,
                     "the guard table inet vpnleak does not match the current tunnel: it does "
                     "not mention " +
                         list +
                         ", so the tunnel's traffic may be dropped or the "
                         "rules are stale",
                     "re-run 'vpnleak guard up' with the current tunnel and endpoint, or keep "
                     "'vpnleak guard watch' running to follow endpoint changes",
                     Json{{"missing", missing}}});
    }
  }
  return out;
}

}  // namespace vpnleak::audit
