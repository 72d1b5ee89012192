// Leak events as NDJSON lines without building a Json object per packet: the same bytes as
// leakJson(e).dump(), several times faster, for captures with many leaks (monitor_events_test
// compares the two byte for byte); and as text lines (leakText) in a reused buffer. The JSON line
// is written straight into the caller's output buffer (FdOutput), with no string in between.
#pragma once

#include <string>
#include <string_view>

#include "monitor/monitor.hpp"

namespace vpnleak::monitor {

class LeakLineWriter {
 public:
  // The room write(out, e) needs: an upper bound of the line, its newline and scratch bytes.
  std::size_t maxSize(const LeakEvent& e);
  // Writes the line for e and a newline at out, which has maxSize(e) bytes of room; returns the
  // end of what it wrote.
  char* write(char* out, const LeakEvent& e);
  // The line for e (without the newline), valid until the next call.
  const std::string& line(const LeakEvent& e);
  // The same for the text output: leakText(e), in the same reused buffer.
  const std::string& text(const LeakEvent& e);

 private:
  void setSource(std::string_view source);

  std::string out_;
  std::string source_, source_json_;  // the last source name and its JSON string form
};

}  // namespace vpnleak::monitor
