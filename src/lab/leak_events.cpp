#include "lab/leak_events.hpp"

#include <algorithm>
#include <charconv>
#include <ctime>
#include <limits>

#include "core/ip.hpp"
#include "core/json.hpp"

namespace vpnleak::lab {

namespace {

using core::Json;

std::string str(const Json& j, const char* key) {
  const auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::uint64_t count(const Json& j, const char* key) {
  const auto it = j.find(key);
  return it != j.end() && it->is_number_unsigned() ? it->get<std::uint64_t>() : 0;
}

std::optional<std::uint16_t> port(const Json& j, const char* key) {
  const auto it = j.find(key);
  if (it == j.end() || !it->is_number_unsigned() || it->get<std::uint64_t>() > 65535) {
    return std::nullopt;
  }
  return static_cast<std::uint16_t>(it->get<std::uint64_t>());
}

// Digits at text[pos, pos+n) as a number; -1 when they are not all digits.
int digits(std::string_view text, std::size_t pos, std::size_t n) {
  int v = 0;
  if (pos + n > text.size()) return -1;
  const auto r = std::from_chars(text.data() + pos, text.data() + pos + n, v);
  return r.ec == std::errc() && r.ptr == text.data() + pos + n ? v : -1;
}

core::Result<LeakEvent> leakFrom(const Json& j) {
  LeakEvent e;
  e.time = str(j, "ts");
  VL_TRY_ASSIGN(e.ts, parseUtcTime(e.time));
  e.reason = str(j, "reason");
  e.family = str(j, "family");
  e.proto = str(j, "proto");
  e.src = str(j, "src");
  e.dst = str(j, "dst");
  e.sport = port(j, "sport");
  e.dport = port(j, "dport");
  for (const char* key : {"dns_qname", "sni", "http_host"}) {
    if (e.name.empty()) e.name = str(j, key);
  }
  e.cls = classify(e.reason, e.family);
  return e;
}

// "IP:PORT" as core::Endpoint prints it; the bare address when there is no port or the monitor
// wrote something that is not an address.
std::string hostPort(const std::string& addr, const std::optional<std::uint16_t>& p) {
  if (addr.empty()) return "?";
  auto ip = core::IpAddress::parse(addr);
  if (!p || !ip) return addr;
  return core::Endpoint{*ip, *p}.toString();
}

}  // namespace

std::string_view leakClassName(LeakClass c) {
  switch (c) {
    case LeakClass::kDns:
      return "dns";
    case LeakClass::kStun:
      return "stun";
    case LeakClass::kTunnelMisdirected:
      return "tunnel-misdirected";
    case LeakClass::kIpv6:
      return "ipv6";
    case LeakClass::kIpv4:
      return "ipv4";
    case LeakClass::kOther:
      return "other";
  }
  return "other";
}

LeakClass classify(std::string_view reason, std::string_view family) {
  if (reason == "dns") return LeakClass::kDns;
  if (reason == "stun") return LeakClass::kStun;
  if (reason == "wireguard-elsewhere" || reason == "openvpn-elsewhere" ||
      reason == "endpoint-not-tunnel") {
    return LeakClass::kTunnelMisdirected;
  }
  if (reason == "arp" || reason == "mdns" || reason == "llmnr" || reason == "fragment" ||
      reason == "malformed") {
    return LeakClass::kOther;
  }
  if (family == "ipv6") return LeakClass::kIpv6;
  if (family == "ipv4") return LeakClass::kIpv4;
  return LeakClass::kOther;
}

std::string evidenceLine(const LeakEvent& e) {
  std::string s(leakClassName(e.cls));
  s += " " + (e.proto.empty() ? std::string("?") : e.proto) + " " + hostPort(e.src, e.sport) +
       " > " + hostPort(e.dst, e.dport);
  if (!e.name.empty()) s += " " + e.name;
  if (e.reason != leakClassName(e.cls)) s += " [" + e.reason + "]";
  s += " (" + e.time + ")";
  return s;
}

core::Result<double> parseUtcTime(std::string_view t) {
  // YYYY-MM-DDTHH:MM:SS[.frac]Z
  const auto bad = [&t] {
    return core::makeError(core::Errc::kMalformed,
                           "monitor event time '" + std::string(t) + "': expected RFC 3339 UTC");
  };
  if (t.size() < 20 || t[4] != '-' || t[7] != '-' || t[10] != 'T' || t[13] != ':' || t[16] != ':' ||
      t.back() != 'Z') {
    return bad();
  }
  std::tm tm{};
  tm.tm_year = digits(t, 0, 4) - 1900;
  tm.tm_mon = digits(t, 5, 2) - 1;
  tm.tm_mday = digits(t, 8, 2);
  tm.tm_hour = digits(t, 11, 2);
  tm.tm_min = digits(t, 14, 2);
  tm.tm_sec = digits(t, 17, 2);
  if (tm.tm_year < 70 || tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 ||
      tm.tm_hour < 0 || tm.tm_hour > 23 || tm.tm_min < 0 || tm.tm_min > 59 || tm.tm_sec < 0 ||
      tm.tm_sec > 60) {
    return bad();
  }
  double frac = 0;
  const std::size_t rest = 19;
  if (t.size() > rest + 1) {
    if (t[rest] != '.' || t.size() - rest - 2 > 9) return bad();
    const std::size_t n = t.size() - rest - 2;
    const int v = digits(t, rest + 1, n);
    if (v < 0) return bad();
    frac = v;
    for (std::size_t i = 0; i < n; ++i) frac /= 10.0;
  } else if (t.size() != rest + 1) {
    return bad();
  }
  return static_cast<double>(timegm(&tm)) + frac;
}

core::Result<MonitorOutput> parseMonitorOutput(std::string_view text) {
  MonitorOutput out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const auto nl = text.find('\n', pos);
    const auto line =
        text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    if (line.empty()) continue;
    if (line.front() != '{') {
      if (out.error.empty()) out.error = std::string(line);
      continue;
    }
    VL_TRY_ASSIGN(const auto j, core::parseJson(line, "monitor output"));
    const auto type = str(j, "type");
    if (type == "start") {
      out.started = true;
    } else if (type == "leak") {
      VL_TRY_ASSIGN(auto e, leakFrom(j));
      out.leaks.push_back(std::move(e));
    } else if (type == "summary") {
      out.summary =
          MonitorSummary{count(j, "packets"), count(j, "tunnel"),       count(j, "allowed"),
                         count(j, "leaks"),   count(j, "kernel_drops"), count(j, "if_drops")};
    }
  }
  return out;
}

ClassifiedRuns classifyRuns(std::vector<LeakEvent> events, const std::vector<double>& faults,
                            std::optional<LeakClass> only) {
  std::stable_sort(events.begin(), events.end(),
                   [](const LeakEvent& a, const LeakEvent& b) { return a.ts < b.ts; });
  ClassifiedRuns out;
  std::vector<double> times;
  for (auto& e : events) {
    const auto k = static_cast<std::size_t>(e.cls);
    if (faults.empty() || e.ts < faults.front()) {
      ++out.before_first_fault;
    } else if (only && e.cls != *only) {
      ++out.ignored[k];
    } else {
      ++out.by_class[k];
      times.push_back(e.ts);
      out.counted.push_back(std::move(e));
    }
  }
  for (std::size_t i = 0; i < faults.size(); ++i) {
    const double end =
        i + 1 < faults.size() ? faults[i + 1] : std::numeric_limits<double>::infinity();
    out.runs.push_back(measureRun(times, faults[i], end));
  }
  return out;
}

}  // namespace vpnleak::lab
