#include "guard/ruleset.hpp"

#include <cstdlib>
#include <sstream>

namespace vpnleak::guard {

namespace {

// The transports and ports DNS travels on: plain DNS and DNS over TLS.
constexpr std::string_view kDnsPorts = "{ 53, 853 }";

std::string nftString(std::string_view s) { return "\"" + std::string(s) + "\""; }

template <typename T, typename F>
std::string elements(const std::vector<T>& items, core::Family family, F&& fmt) {
  std::string out;
  for (const auto& item : items) {
    if (item.family() != family) continue;
    out += out.empty() ? "" : ", ";
    out += fmt(item);
  }
  return out;
}

// Endpoints carry the family of their address.
struct EndpointView {
  const GuardEndpoint* e;
  [[nodiscard]] core::Family family() const { return e->address.family(); }
};

class Writer {
 public:
  explicit Writer(const GuardConfig& c) : c_(c) {}

  void line(int indent, std::string_view text) {
    out_ << std::string(static_cast<std::size_t>(indent), '\t') << text << '\n';
  }

  void set(std::string_view name, std::string_view type, bool interval, const std::string& elems) {
    line(1, "set " + std::string(name) + " {");
    line(2, "type " + std::string(type));
    if (interval) line(2, "flags interval");
    if (!elems.empty()) line(2, "elements = { " + elems + " }");
    line(1, "}");
  }

  void sets() {
    std::vector<EndpointView> eps;
    for (const auto& e : c_.endpoints) eps.push_back({&e});
    const auto ep = [](const EndpointView& v) {
      return v.e->address.toString() + " . " + std::string(protoName(v.e->proto)) + " . " +
             std::to_string(v.e->port);
    };
    const auto addr = [](const core::IpAddress& a) { return a.toString(); };
    const auto pre = [](const core::Prefix& p) { return p.toString(); };
    const bool lan6 = c_.ipv6 == Ipv6Mode::kTunnel;
    std::vector<core::Prefix> lan;
    for (const auto& p : c_.lan) {
      if (p.family() == core::Family::kV4 || lan6) lan.push_back(p);
    }
    set("endpoints_v4", "ipv4_addr . inet_proto . inet_service", false,
        elements(eps, core::Family::kV4, ep));
    set("endpoints_v6", "ipv6_addr . inet_proto . inet_service", false,
        elements(eps, core::Family::kV6, ep));
    set("dns_v4", "ipv4_addr", false, elements(c_.dns, core::Family::kV4, addr));
    set("dns_v6", "ipv6_addr", false, elements(c_.dns, core::Family::kV6, addr));
    set("lan_v4", "ipv4_addr", true, elements(lan, core::Family::kV4, pre));
    set("lan_v6", "ipv6_addr", true, elements(lan, core::Family::kV6, pre));
  }

  void counters() {
    for (const auto& r : dropReasons()) {
      line(1, "counter drop_" + std::string(r.name) + " {");
      line(1, "}");
    }
  }

  [[nodiscard]] static std::string drop(std::string_view reason) {
    return "counter name " + nftString("drop_" + std::string(reason)) + " drop";
  }
  [[nodiscard]] std::string tunnelOut() const { return "oifname " + nftString(c_.tunnel); }
  [[nodiscard]] std::string tunnelIn() const { return "iifname " + nftString(c_.tunnel); }
  [[nodiscard]] bool hasTunnel() const { return !c_.lockdown; }
  [[nodiscard]] bool blockV6() const { return c_.lockdown || c_.ipv6 == Ipv6Mode::kBlock; }

  void hook(std::string_view hook, int priority) {
    std::string prio = "filter";
    if (priority != 0) prio += (priority > 0 ? " + " : " - ") + std::to_string(std::abs(priority));
    line(2, "type filter hook " + std::string(hook) + " priority " + prio + "; policy drop;");
  }

  void output(int priority) {
    line(1, "chain output {");
    hook("output", priority);
    line(2, "oifname \"lo\" accept");
    if (hasTunnel()) {
      // The tunnel's own encrypted packets: exact address, transport and port, and the mark the
      // VPN puts on its socket when it sets one, so that no other program can use the hole.
      const std::string mark = c_.fwmark ? " meta mark " + std::to_string(*c_.fwmark) : "";
      line(2, "ip daddr . meta l4proto . th dport @endpoints_v4" + mark + " accept");
      line(2, "ip6 daddr . meta l4proto . th dport @endpoints_v6" + mark + " accept");
    }
    line(2, "udp sport 68 udp dport 67 accept");
    line(2, "ip6 daddr ff02::1:2 udp sport 546 udp dport 547 accept");
    line(2,
         "icmpv6 type { nd-router-solicit, nd-neighbor-solicit, nd-neighbor-advert } "
         "ip6 hoplimit 255 accept");
    if (blockV6()) line(2, "meta nfproto ipv6 " + drop("ipv6"));
    line(2, "meta l4proto { tcp, udp } th dport " + std::string(kDnsPorts) + " jump dns_out");
    if (hasTunnel()) line(2, tunnelOut() + " accept");
    line(2, "ip daddr @lan_v4 accept");
    line(2, "ip6 daddr @lan_v6 accept");
    line(2, drop("out"));
    line(1, "}");
  }

  void dnsOut() {
    line(1, "chain dns_out {");
    if (hasTunnel()) {
      if (c_.dns.empty()) {
        line(2, tunnelOut() + " accept");
      } else {
        line(2, tunnelOut() + " ip daddr @dns_v4 accept");
        line(2, tunnelOut() + " ip6 daddr @dns_v6 accept");
      }
    }
    // Rejected, not dropped: a resolver library fails over at once instead of timing out.
    line(2, "meta l4proto tcp counter name \"drop_dns\" reject with tcp reset");
    line(2, "counter name \"drop_dns\" reject with icmpx type port-unreachable");
    line(1, "}");
  }

  void input(int priority) {
    line(1, "chain input {");
    hook("input", priority);
    line(2, "iifname \"lo\" accept");
    if (hasTunnel()) {
      if (blockV6()) line(2, tunnelIn() + " meta nfproto ipv6 " + drop("ipv6"));
      line(2, tunnelIn() + " accept");
    }
    // Addressed to a local address that belongs to another interface (the tunnel's address
    // arriving from the LAN): an attacker probing or injecting into tunnelled connections.
    line(2, "fib daddr type local fib daddr . iif type != local " + drop("spoofed"));
    if (hasTunnel()) {
      line(2, "ip saddr . meta l4proto . th sport @endpoints_v4 accept");
      line(2, "ip6 saddr . meta l4proto . th sport @endpoints_v6 accept");
    }
    line(2, "udp sport 67 udp dport 68 accept");
    line(2, "ip6 saddr fe80::/10 udp sport 547 udp dport 546 accept");
    line(2,
         "icmpv6 type { nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert } "
         "ip6 hoplimit 255 accept");
    if (blockV6()) line(2, "meta nfproto ipv6 " + drop("ipv6"));
    line(2, "ct state established,related accept");
    line(2, "ip saddr @lan_v4 accept");
    line(2, "ip6 saddr @lan_v6 accept");
    line(2, drop("in"));
    line(1, "}");
  }

  void forward(int priority) {
    line(1, "chain forward {");
    hook("forward", priority);
    if (blockV6()) line(2, "meta nfproto ipv6 " + drop("ipv6"));
    if (hasTunnel()) {
      line(2, tunnelOut() + " accept");
      line(2, tunnelIn() + " ct state established,related accept");
    }
    line(2, drop("fwd"));
    line(1, "}");
  }

  std::string finish() { return out_.str(); }

 private:
  const GuardConfig& c_;
  std::ostringstream out_;
};

}  // namespace

const std::vector<DropReason>& dropReasons() {
  static const std::vector<DropReason> kReasons{
      {"out", "outbound packets outside the tunnel (the kill switch proper)"},
      {"in", "inbound packets that are neither replies nor allowed"},
      {"fwd", "forwarded packets not going into the tunnel"},
      {"dns", "DNS and DoT to resolvers other than the tunnel's (rejected)"},
      {"ipv6", "IPv6 while IPv6 is blocked"},
      {"spoofed", "inbound packets addressed to another interface's address"},
  };
  return kReasons;
}

std::string generateRuleset(const GuardConfig& config, const RulesetOptions& opts) {
  Writer w(config);
  const std::string table = "table inet " + std::string(opts.table);
  w.line(0, "# Generated by vpnleak guard from config " + configDigest(config) +
                "; `vpnleak guard up` replaces it as a whole.");
  if (opts.replace) {
    // Re-declaring an owned table without its flag would be a flag change, which the kernel
    // refuses (EOPNOTSUPP).
    w.line(0, table + (opts.owner ? " { flags owner; }" : " {}"));
    w.line(0, "delete " + table);
  }
  w.line(0, table + " {");
  if (opts.owner) w.line(1, "flags owner");
  w.line(1, "comment \"vpnleak guard " + configDigest(config) + "\"");
  w.counters();
  w.sets();
  w.output(opts.priority);
  w.dnsOut();
  w.input(opts.priority);
  w.forward(opts.priority);
  w.line(0, "}");
  return w.finish();
}

std::string removeCommand(std::string_view table) {
  const std::string t = "table inet " + std::string(table);
  return t + " {}\ndelete " + t + "\n";
}

}  // namespace vpnleak::guard
