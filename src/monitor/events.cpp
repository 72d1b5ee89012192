#include "monitor/events.hpp"

#include <array>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <sstream>

namespace vpnleak::monitor {

using core::Json;
namespace pk = wire::packet;

namespace {

double toMs(std::chrono::nanoseconds d) {
  // Microsecond resolution is what a capture timestamp honestly has.
  return std::round(static_cast<double>(d.count()) / 1000.0) / 1000.0;
}

std::string hostPort(const core::IpAddress& a, bool ports, std::uint16_t port) {
  if (!ports) return a.toString();
  const auto host = a.isV6() ? "[" + a.toString() + "]" : a.toString();
  return host + ":" + std::to_string(port);
}

Json reasonCounts(const std::array<std::uint64_t, kReasonCount>& counts, bool nonzero_only) {
  Json j = Json::object();
  for (std::size_t i = 1; i < kReasonCount; ++i) {
    if (!nonzero_only || counts[i] > 0)
      j[std::string(reasonName(static_cast<Reason>(i)))] = counts[i];
  }
  return j;
}

std::string reasonList(const std::array<std::uint64_t, kReasonCount>& counts) {
  std::string out;
  for (std::size_t i = 1; i < kReasonCount; ++i) {
    if (counts[i] == 0) continue;
    if (!out.empty()) out += " ";
    out += std::string(reasonName(static_cast<Reason>(i))) + "=" + std::to_string(counts[i]);
  }
  return out;
}

Json optionalTime(const std::optional<Timestamp>& t) { return t ? Json(isoTime(*t)) : Json(); }

}  // namespace

std::string isoTime(Timestamp ts) {
  const auto us = std::chrono::floor<std::chrono::microseconds>(ts.time_since_epoch()).count();
  const std::time_t secs = static_cast<std::time_t>(us / 1'000'000 - (us % 1'000'000 < 0 ? 1 : 0));
  const auto frac = static_cast<long>(us - static_cast<std::int64_t>(secs) * 1'000'000);
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  std::array<char, 40> buf{};
  const auto n = std::strftime(buf.data(), buf.size(), "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf.data() + n, buf.size() - n, ".%06ldZ", frac);
  return buf.data();
}

std::string printable(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  for (const char ch : raw) {
    const auto c = static_cast<unsigned char>(ch);
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out += ch;
    } else {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0x0f];
    }
  }
  return out;
}

Json startJson(const MonitorOptions& o, const std::vector<SourceInfo>& sources) {
  Json j = core::jsonDocument(kSchema);
  j["type"] = "start";
  Json src = Json::array();
  for (const auto& s : sources) {
    src.push_back({{"name", s.name}, {"live", s.live}, {"link", pk::linkTypeName(s.link)}});
  }
  j["sources"] = src;
  Json eps = Json::array();
  for (const auto& e : o.classifier.endpoints) eps.push_back(e.toString());
  j["endpoints"] = eps;
  Json allow = Json::array();
  for (const auto& a : o.classifier.allow) allow.push_back(a.toString());
  j["allow"] = allow;
  j["gap_ms"] = o.gap.count();
  if (!o.ifaces.empty()) {
    const auto d = o.live.direction;
    j["direction"] = d == CaptureDirection::kOut  ? "out"
                     : d == CaptureDirection::kIn ? "in"
                                                  : "both";
    j["duration_s"] =
        o.duration.count() > 0 ? Json(static_cast<double>(o.duration.count()) / 1000.0) : Json();
    j["prefilter"] = o.prefilter;
  }
  return j;
}

Json leakJson(const LeakEvent& e) {
  const auto& p = e.packet;
  const auto& v = e.verdict;
  Json j = Json::object();
  j["type"] = "leak";
  j["ts"] = isoTime(e.ts);
  j["iface"] = std::string(e.source);
  if (p.is_arp) {
    j["family"] = nullptr;
    j["proto"] = "arp";
    j["src"] = p.arp.sender.toString();
    j["dst"] = p.arp.target.toString();
  } else if (p.is_ip) {
    j["family"] = core::familyName(p.family);
    j["proto"] = pk::protoName(p.proto);
    j["src"] = p.src.toString();
    j["dst"] = p.dst.toString();
  } else {
    j["family"] = p.ethertype == pk::kEtherTypeIpv6 ? "ipv6" : "ipv4";
    j["proto"] = nullptr;
    j["src"] = nullptr;
    j["dst"] = nullptr;
  }
  j["sport"] = p.has_ports ? Json(p.sport) : Json();
  j["dport"] = p.has_ports ? Json(p.dport) : Json();
  if (!v.dns_qname.empty()) j["dns_qname"] = v.dns_qname;
  if (!v.sni.empty()) j["sni"] = printable(v.sni);
  if (!v.http_host.empty()) j["http_host"] = printable(v.http_host);
  j["reason"] = reasonName(v.reason);
  j["length"] = e.frame_length;
  if (p.has_icmp) {
    j["icmp_type"] = p.icmp_type;
    j["icmp_code"] = p.icmp_code;
  }
  if (p.vlan_tags > 0) j["vlan"] = p.vlan;
  if (p.fragment) j["fragment"] = true;
  return j;
}

Json windowJson(const LeakWindow& w) {
  return Json{{"type", "window"},
              {"start", isoTime(w.first)},
              {"end", isoTime(w.last)},
              {"duration_ms", toMs(w.duration())},
              {"packets", w.packets},
              {"bytes", w.bytes},
              {"reasons", reasonCounts(w.reasons, true)}};
}

Json summaryJson(const Summary& s) {
  return Json{{"type", "summary"},
              {"packets", s.packets},
              {"tunnel", s.tunnel},
              {"allowed", s.allowed},
              {"leaks", s.leaks},
              {"other", s.other},
              {"malformed", s.malformed},
              {"bytes", s.bytes},
              {"windows", s.windows},
              {"max_window_ms", std::round(s.max_window_ms * 1000.0) / 1000.0},
              {"first_leak", optionalTime(s.first_leak)},
              {"last_leak", optionalTime(s.last_leak)},
              {"kernel_drops", s.kernel_drops},
              {"if_drops", s.if_drops},
              {"prefilter", s.prefilter},
              {"seconds", std::round(s.seconds * 1000.0) / 1000.0},
              {"reasons", reasonCounts(s.reasons, false)}};
}

std::string startText(const MonitorOptions& o, const std::vector<SourceInfo>& sources) {
  std::ostringstream out;
  out << (o.files.empty() ? "monitoring" : "reading");
  for (const auto& s : sources) out << " " << s.name << " (" << pk::linkTypeName(s.link) << ")";
  out << "; tunnel:";
  for (const auto& e : o.classifier.endpoints) out << " " << e.toString();
  out << "; allowed:";
  for (const auto& a : o.classifier.allow) out << " " << a.toString();
  if (o.classifier.allow.empty()) out << " nothing else";
  if (o.files.empty()) out << (o.duration.count() > 0 ? "" : "; Ctrl-C for the summary");
  return out.str();
}

std::string leakText(const LeakEvent& e) {
  const auto& p = e.packet;
  const auto& v = e.verdict;
  std::ostringstream o;
  o << "leak   " << isoTime(e.ts) << " " << e.source << " ";
  if (p.is_arp) {
    o << "arp " << p.arp.sender.toString() << " > " << p.arp.target.toString();
  } else if (p.is_ip) {
    o << core::familyName(p.family) << " " << pk::protoName(p.proto) << " "
      << hostPort(p.src, p.has_ports, p.sport) << " > " << hostPort(p.dst, p.has_ports, p.dport);
  } else {
    o << "undecodable IP frame";
  }
  o << "  " << reasonName(v.reason);
  if (!v.dns_qname.empty()) o << " qname=" << v.dns_qname;
  if (!v.sni.empty()) o << " sni=" << printable(v.sni);
  if (!v.http_host.empty()) o << " host=" << printable(v.http_host);
  return o.str();
}

std::string windowText(const LeakWindow& w) {
  std::ostringstream o;
  o << "window " << isoTime(w.first) << " .. " << isoTime(w.last) << "  " << toMs(w.duration())
    << " ms, " << w.packets << " packets, " << w.bytes << " bytes  " << reasonList(w.reasons);
  return o.str();
}

std::string summaryText(const Summary& s) {
  std::ostringstream o;
  o << "summary: " << s.packets << " packets: " << s.tunnel << " tunnel, " << s.allowed
    << " allowed, " << s.leaks << " leaked, " << s.other << " other (not IP)\n";
  if (s.leaks > 0) {
    o << "  leaks by reason: " << reasonList(s.reasons) << "\n"
      << "  first " << isoTime(*s.first_leak) << ", last " << isoTime(*s.last_leak) << "; "
      << s.windows << " leak window(s), longest " << s.max_window_ms << " ms\n";
  }
  o << "  kernel drops: " << s.kernel_drops << ", interface drops: " << s.if_drops;
  if (s.malformed > 0) o << ", malformed frames: " << s.malformed;
  if (s.prefilter) o << " (tunnel traffic filtered in the kernel: not counted)";
  o << "\n";
  return o.str();
}

}  // namespace vpnleak::monitor
