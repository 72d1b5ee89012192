#include "monitor/events.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <sstream>

namespace vpnleak::monitor {

using core::Json;
namespace pk = wire::packet;

namespace {

double toMs(std::chrono::nanoseconds d) {
  // Microsecond resolution is what a capture timestamp honestly has.
  return std::round(static_cast<double>(d.count()) / 1000.0) / 1000.0;
}

void appendHostPort(std::string& out, const core::IpAddress& a, bool ports, std::uint16_t port) {
  if (!ports) return appendAddress(out, a);
  if (a.isV6()) out += '[';
  appendAddress(out, a);
  out += a.isV6() ? "]:" : ":";
  std::array<char, 5> buf{};
  std::size_t at = buf.size();
  for (unsigned v = port; at == buf.size() || v != 0; v /= 10) {
    buf[--at] = static_cast<char>('0' + v % 10);
  }
  out.append(buf.data() + at, buf.size() - at);
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
  std::string out;
  appendIsoTime(out, ts);
  return out;
}

void appendIsoTime(std::string& out, Timestamp ts) {
  std::array<char, kIsoTimeSize> buf{};
  writeIsoTime(buf.data(), ts);
  out.append(buf.data(), buf.size());
}

char* writeDateTime(char* out, std::chrono::sys_seconds s) {
  // <chrono>'s calendar, exact for every Timestamp (64-bit nanoseconds: years 1677-2262, so the
  // year has four digits).
  const auto day = std::chrono::floor<std::chrono::days>(s);
  const std::chrono::year_month_day ymd{day};
  const std::chrono::hh_mm_ss hms{s - day};
  const auto year = static_cast<std::uint32_t>(static_cast<int>(ymd.year()));
  out = writeDigitPair(out, year / 100);
  out = writeDigitPair(out, year % 100);
  *out++ = '-';
  out = writeDigitPair(out, static_cast<unsigned>(ymd.month()));
  *out++ = '-';
  out = writeDigitPair(out, static_cast<unsigned>(ymd.day()));
  *out++ = 'T';
  out = writeDigitPair(out, static_cast<std::uint32_t>(hms.hours().count()));
  *out++ = ':';
  out = writeDigitPair(out, static_cast<std::uint32_t>(hms.minutes().count()));
  *out++ = ':';
  return writeDigitPair(out, static_cast<std::uint32_t>(hms.seconds().count()));
}

char* writeIsoTime(char* out, Timestamp ts) {
  // Captures put many packets into each second: its text is kept (per thread) and reused.
  struct Second {
    std::chrono::sys_seconds at{std::chrono::seconds::min()};
    std::array<char, kDateTimeSize> text{};
  };
  thread_local Second last;
  const auto us = std::chrono::floor<std::chrono::microseconds>(ts);
  const auto sec = std::chrono::floor<std::chrono::seconds>(us);
  if (sec != last.at) {
    writeDateTime(last.text.data(), sec);
    last.at = sec;
  }
  std::memcpy(out, last.text.data(), last.text.size());
  out[kDateTimeSize] = '.';
  writeMicros(out + kDateTimeSize + 1, static_cast<std::uint32_t>((us - sec).count()));
  out[kIsoTimeSize - 1] = 'Z';
  return out + kIsoTimeSize;
}

std::string printable(std::string_view raw) {
  std::string out;
  appendPrintable(out, raw);
  return out;
}

void appendPrintable(std::string& out, std::string_view raw) {
  const std::size_t at = out.size();
  out.resize(at + 4 * raw.size());
  out.resize(static_cast<std::size_t>(writePrintable(out.data() + at, raw, false) - out.data()));
}

char* writePrintable(char* out, std::string_view raw, bool json) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (const char ch : raw) {
    const auto c = static_cast<unsigned char>(ch);
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      if (json && c == '"') *out++ = '\\';
      *out++ = ch;
    } else {
      *out++ = '\\';
      if (json) *out++ = '\\';
      *out++ = 'x';
      *out++ = kHex[c >> 4];
      *out++ = kHex[c & 0x0f];
    }
  }
  return out;
}

namespace {

// The decimal text of every octet, made once at compile time.
struct Octet {
  std::array<char, 4> text{};
  std::uint8_t size = 0;
};
constexpr std::array<Octet, 256> kOctets = [] {
  std::array<Octet, 256> t{};
  for (std::size_t v = 0; v < t.size(); ++v) {
    auto& o = t[v];
    if (v >= 100) o.text[o.size++] = static_cast<char>('0' + v / 100);
    if (v >= 10) o.text[o.size++] = static_cast<char>('0' + v / 10 % 10);
    o.text[o.size++] = static_cast<char>('0' + v % 10);
  }
  return t;
}();

char* writeV4(char* out, const std::uint8_t* b) {
  for (std::size_t i = 0; i < 4; ++i) {
    const auto& o = kOctets[b[i]];
    std::memcpy(out, o.text.data(), o.text.size());  // 4 bytes at once, o.size of them kept
    out += o.size;
    *out++ = '.';
  }
  return out - 1;
}

// RFC 5952 text exactly as glibc's inet_ntop writes it: the longest run of two or more zero
// groups (the first of equal runs) as "::", and ::a.b.c.d / ::ffff:a.b.c.d for addresses with
// an IPv4 address embedded that way.
char* writeV6(char* out, const std::uint8_t* b) {
  std::array<unsigned, 8> w{};
  for (std::size_t i = 0; i < 8; ++i) w[i] = (static_cast<unsigned>(b[2 * i]) << 8) | b[2 * i + 1];
  std::size_t best = 8, best_len = 0;
  for (std::size_t i = 0; i < 8;) {
    std::size_t j = i;
    while (j < 8 && w[j] == 0) ++j;
    if (j - i > best_len) {
      best = i;
      best_len = j - i;
    }
    i = j == i ? i + 1 : j;
  }
  if (best_len < 2) best = 8;
  static constexpr char kHex[] = "0123456789abcdef";
  for (std::size_t i = 0; i < 8; ++i) {
    if (best < 8 && i >= best && i < best + best_len) {
      if (i == best) *out++ = ':';
      continue;
    }
    if (i != 0) *out++ = ':';
    if (i == 6 && best == 0 && (best_len == 6 || (best_len == 5 && w[5] == 0xffff))) {
      return writeV4(out, b + 12);
    }
    bool digits = false;
    for (int shift = 12; shift >= 0; shift -= 4) {
      const unsigned d = (w[i] >> shift) & 0xf;
      if (d == 0 && !digits && shift > 0) continue;
      digits = true;
      *out++ = kHex[d];
    }
  }
  if (best < 8 && best + best_len == 8) *out++ = ':';
  return out;
}

}  // namespace

char* writeAddress(char* out, const core::IpAddress& a) {
  return a.isV4() ? writeV4(out, a.bytes().data()) : writeV6(out, a.bytes().data());
}

void appendAddress(std::string& out, const core::IpAddress& a) {
  std::array<char, kAddressMaxSize> buf{};
  out.append(buf.data(), static_cast<std::size_t>(writeAddress(buf.data(), a) - buf.data()));
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
  Json j{{"type", "summary"},
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
  if (!s.written.empty()) {
    j["written"] =
        Json{{"files", s.written.size()}, {"first", s.written.front()}, {"last", s.written.back()}};
  }
  return j;
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
  std::string out;
  const auto& p = e.packet;
  const auto& v = e.verdict;
  out += "leak   ";
  appendIsoTime(out, e.ts);
  out += ' ';
  out += e.source;
  out += ' ';
  if (p.is_arp) {
    out += "arp ";
    appendAddress(out, p.arp.sender);
    out += " > ";
    appendAddress(out, p.arp.target);
  } else if (p.is_ip) {
    out += core::familyName(p.family);
    out += ' ';
    out += pk::protoName(p.proto);
    out += ' ';
    appendHostPort(out, p.src, p.has_ports, p.sport);
    out += " > ";
    appendHostPort(out, p.dst, p.has_ports, p.dport);
  } else {
    out += "undecodable IP frame";
  }
  out += "  ";
  out += reasonName(v.reason);
  if (!v.dns_qname.empty()) {
    out += " qname=";
    out += v.dns_qname;
  }
  if (!v.sni.empty()) {
    out += " sni=";
    appendPrintable(out, v.sni);
  }
  if (!v.http_host.empty()) {
    out += " host=";
    appendPrintable(out, v.http_host);
  }
  return out;
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
  if (s.written.size() == 1) o << "  leaked frames saved in " << s.written.front() << "\n";
  if (s.written.size() > 1) {
    o << "  leaked frames saved in " << s.written.size() << " files, " << s.written.front()
      << " .. " << s.written.back() << "\n";
  }
  return o.str();
}

}  // namespace vpnleak::monitor
