// How the monitor reports: NDJSON objects (one a line, "type" first) and the same events as text
// lines for a terminal. Schema "vpnleak.monitor/1" is named on the "start" line; docs/monitor.md
// lists every key.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.hpp"
#include "monitor/monitor.hpp"

namespace vpnleak::monitor {

inline constexpr std::string_view kSchema = "vpnleak.monitor/1";

// RFC 3339 UTC with microseconds: "2024-05-01T12:00:00.123456Z".
std::string isoTime(Timestamp ts);
// Bytes from the wire made safe for JSON and terminals: printable ASCII kept, anything else
// (and '\') as \xHH, so that an SNI or Host header can never break the output.
std::string printable(std::string_view raw);

// The same appended to out, and an address as IpAddress::toString() writes it (without
// gmtime/strftime, and inet_ntop's sprintf for the common IPv4 case).
void appendIsoTime(std::string& out, Timestamp ts);
void appendPrintable(std::string& out, std::string_view raw);
void appendAddress(std::string& out, const core::IpAddress& a);

// The same written at out, which has room for kIsoTimeSize or kAddressMaxSize bytes (the address
// writer may put down scratch bytes beyond its text, within that room); they return the end.
inline constexpr std::size_t kIsoTimeSize = 27;
inline constexpr std::size_t kAddressMaxSize = 48;
char* writeIsoTime(char* out, Timestamp ts);
char* writeAddress(char* out, const core::IpAddress& a);
// The parts of an RFC 3339 time: "YYYY-MM-DDTHH:MM:SS" (kDateTimeSize bytes) of a second, and
// the six digits of the microseconds within it (0-999999).
inline constexpr std::size_t kDateTimeSize = 19;
char* writeDateTime(char* out, std::chrono::sys_seconds s);
// Two decimal digits of every number below 100: numbers written two digits at a time take half
// the divisions.
inline constexpr auto kDigitPairs = [] {
  std::array<char, 200> t{};
  for (std::size_t i = 0; i < 100; ++i) {
    t[2 * i] = static_cast<char>('0' + i / 10);
    t[2 * i + 1] = static_cast<char>('0' + i % 10);
  }
  return t;
}();
inline char* writeDigitPair(char* out, std::uint32_t v) {
  std::memcpy(out, &kDigitPairs[2 * v], 2);
  return out + 2;
}
inline char* writeMicros(char* out, std::uint32_t micros) {
  out = writeDigitPair(out, micros / 10000);
  out = writeDigitPair(out, micros / 100 % 100);
  return writeDigitPair(out, micros % 100);
}
// printable(raw) written at out, at most 4 bytes per byte of raw; json: as the contents of a JSON
// string, its '"' and its escapes' '\' escaped too (at most 5 bytes per byte).
char* writePrintable(char* out, std::string_view raw, bool json);

core::Json startJson(const MonitorOptions& o, const std::vector<SourceInfo>& sources);
// leakJson and leakText define a leak's line (JSON, text). The monitor prints them through
// LeakLineWriter (event_line.hpp), which must produce the same bytes: the unit tests and the
// classifier fuzz harness compare the two.
core::Json leakJson(const LeakEvent& e);
core::Json windowJson(const LeakWindow& w);
core::Json summaryJson(const Summary& s);

std::string startText(const MonitorOptions& o, const std::vector<SourceInfo>& sources);
std::string leakText(const LeakEvent& e);
std::string windowText(const LeakWindow& w);
std::string summaryText(const Summary& s);

}  // namespace vpnleak::monitor
