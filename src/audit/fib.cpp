#include "audit/fib.hpp"

#include <algorithm>

namespace vpnleak::audit {

namespace {

constexpr std::uint32_t kLocal = 255;
constexpr std::uint32_t kMain = 254;
constexpr std::uint32_t kDefault = 253;

std::vector<RuleEntry> rulesFor(const Snapshot& s, core::Family f) {
  std::vector<RuleEntry> out;
  for (const auto& r : s.rules) {
    if (r.family == f) out.push_back(r);
  }
  if (out.empty()) {
    for (auto [prio, table] : {std::pair{0U, kLocal}, {32766U, kMain}, {32767U, kDefault}}) {
      RuleEntry r;
      r.family = f;
      r.priority = prio;
      r.table = table;
      out.push_back(r);
    }
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const RuleEntry& a, const RuleEntry& b) { return a.priority < b.priority; });
  return out;
}

bool ruleMatches(const RuleEntry& r, const Packet& p) {
  bool m = true;
  if (r.fwmark) m = m && ((p.mark & r.fwmask) == *r.fwmark);
  if (r.to) m = m && r.to->contains(p.dst);
  if (r.from) m = m && p.src && r.from->contains(*p.src);
  // Locally generated packets enter the rules with iif "lo".
  if (!r.iif.empty()) m = m && r.iif == "lo";
  if (!r.oif.empty()) m = m && r.oif == p.oif;
  if (r.uidrange) m = m && p.uid >= r.uidrange->first && p.uid <= r.uidrange->second;
  return r.invert ? !m : m;
}

// Longest prefix, then lowest metric; a socket bound to an interface only sees its routes.
const RouteEntry* bestRoute(const Snapshot& s, std::uint32_t table, const Packet& p) {
  const RouteEntry* best = nullptr;
  for (const auto& r : s.routes) {
    if (r.table != table || r.family != p.dst.family() || !r.dst.contains(p.dst)) continue;
    if (r.type == "broadcast" || r.type == "multicast" || r.type == "anycast") continue;
    if (!p.oif.empty() && r.type == "unicast" && r.dev != p.oif) continue;
    if (const auto* dev = s.interface(r.dev); dev != nullptr && !dev->up) continue;
    if (best == nullptr || r.dst.length() > best->dst.length() ||
        (r.dst.length() == best->dst.length() && r.metric < best->metric)) {
      best = &r;
    }
  }
  return best;
}

Decision terminal(Decision::Kind k, const RuleEntry& rule, const RouteEntry* route = nullptr) {
  Decision d;
  d.kind = k;
  d.route = route;
  d.table = rule.table;
  d.rule_priority = rule.priority;
  return d;
}

}  // namespace

std::string tableLabel(std::uint32_t table) {
  switch (table) {
    case kLocal:
      return "local";
    case kMain:
      return "main";
    case kDefault:
      return "default";
    default:
      return std::to_string(table);
  }
}

std::string Decision::describe() const {
  switch (kind) {
    case Kind::kBlackhole:
      return "blackhole (rule " + std::to_string(rule_priority) + ")";
    case Kind::kUnreachable:
      return "unreachable (rule " + std::to_string(rule_priority) + ")";
    case Kind::kProhibit:
      return "prohibit (rule " + std::to_string(rule_priority) + ")";
    case Kind::kNoRoute:
      return "no route";
    case Kind::kRoute:
      break;
  }
  std::string s = route->dst.toString();
  if (route->gateway) s += " via " + route->gateway->toString();
  if (!route->dev.empty()) s += " dev " + route->dev;
  return s + " (table " + tableLabel(table) + ")";
}

Decision decide(const Snapshot& s, const Packet& p) {
  const auto rules = rulesFor(s, p.dst.family());
  for (std::size_t i = 0; i < rules.size(); ++i) {
    const auto& rule = rules[i];
    if (!ruleMatches(rule, p)) continue;
    if (rule.action == "nop") continue;
    if (rule.action == "blackhole") return terminal(Decision::Kind::kBlackhole, rule);
    if (rule.action == "unreachable") return terminal(Decision::Kind::kUnreachable, rule);
    if (rule.action == "prohibit") return terminal(Decision::Kind::kProhibit, rule);
    if (rule.action == "goto") continue;  // rare; treated as falling through
    const RouteEntry* r = bestRoute(s, rule.table, p);
    if (r == nullptr || r->type == "throw") continue;
    if (rule.suppress_prefixlength >= 0 && r->dst.length() <= rule.suppress_prefixlength) continue;
    if (r->type == "blackhole") return terminal(Decision::Kind::kBlackhole, rule, r);
    if (r->type == "unreachable") return terminal(Decision::Kind::kUnreachable, rule, r);
    if (r->type == "prohibit") return terminal(Decision::Kind::kProhibit, rule, r);
    return terminal(Decision::Kind::kRoute, rule, r);
  }
  return Decision{};
}

}  // namespace vpnleak::audit
