// Leak events as NDJSON lines without building a Json object per packet: the same bytes as
// leakJson(e).dump(), several times faster, for captures with many leaks (monitor_events_test
// compares the two byte for byte); and as text lines (leakText) in the same reused buffer.
#pragma once

#include <string>

#include "monitor/monitor.hpp"

namespace vpnleak::monitor {

class LeakLineWriter {
 public:
  // The line for e (without the newline), valid until the next call.
  const std::string& line(const LeakEvent& e);
  // The same for the text output: leakText(e), in the same reused buffer.
  const std::string& text(const LeakEvent& e);

 private:
  std::string out_;
  std::string scratch_;               // printable() of an SNI or Host before JSON escaping
  std::string source_, source_json_;  // the last source name and its JSON string form
};

}  // namespace vpnleak::monitor
