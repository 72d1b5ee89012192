// How the monitor reports: NDJSON objects (one a line, "type" first) and the same events as text
// lines for a terminal. Schema "vpnleak.monitor/1" is named on the "start" line; docs/monitor.md
// lists every key.
#pragma once

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

// The same appended to out, and an address as IpAddress::toString() writes it: the per-leak
// output paths reuse one buffer instead of building strings (and go without gmtime/strftime and
// inet_ntop's sprintf for the common IPv4 case).
void appendIsoTime(std::string& out, Timestamp ts);
void appendPrintable(std::string& out, std::string_view raw);
void appendAddress(std::string& out, const core::IpAddress& a);
// leakText(e) appended to out.
void appendLeakText(std::string& out, const LeakEvent& e);

// The same written at out, which has room for kIsoTimeSize or kAddressMaxSize bytes (the address
// writer may put down scratch bytes beyond its text, within that room); they return the end.
inline constexpr std::size_t kIsoTimeSize = 27;
inline constexpr std::size_t kAddressMaxSize = 48;
char* writeIsoTime(char* out, Timestamp ts);
char* writeAddress(char* out, const core::IpAddress& a);

core::Json startJson(const MonitorOptions& o, const std::vector<SourceInfo>& sources);
core::Json leakJson(const LeakEvent& e);
core::Json windowJson(const LeakWindow& w);
core::Json summaryJson(const Summary& s);

std::string startText(const MonitorOptions& o, const std::vector<SourceInfo>& sources);
std::string leakText(const LeakEvent& e);
std::string windowText(const LeakWindow& w);
std::string summaryText(const Summary& s);

}  // namespace vpnleak::monitor
