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

core::Json startJson(const MonitorOptions& o, const std::vector<SourceInfo>& sources);
core::Json leakJson(const LeakEvent& e);
core::Json windowJson(const LeakWindow& w);
core::Json summaryJson(const Summary& s);

std::string startText(const MonitorOptions& o, const std::vector<SourceInfo>& sources);
std::string leakText(const LeakEvent& e);
std::string windowText(const LeakWindow& w);
std::string summaryText(const Summary& s);

}  // namespace vpnleak::monitor
