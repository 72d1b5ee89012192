#include "report/junit.hpp"

#include <cstdio>

namespace vpnleak::report {

std::string xmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        // XML 1.0 allows no control characters but tab, newline, carriage return.
        if (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n' && c != '\r') {
          out += '?';
        } else {
          out += c;
        }
    }
  }
  return out;
}

std::string junitXml(const std::string& suite, const std::vector<JunitCase>& cases) {
  std::size_t failures = 0;
  std::size_t errors = 0;
  std::size_t skipped = 0;
  double total = 0;
  for (const auto& c : cases) {
    failures += c.status == "leak" ? 1 : 0;
    errors += c.status == "error" ? 1 : 0;
    skipped += c.status == "skip" ? 1 : 0;
    total += c.seconds;
  }
  char time[32];
  std::snprintf(time, sizeof time, "%.3f", total);
  std::string x = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  x += "<testsuites>\n  <testsuite name=\"" + xmlEscape(suite) + "\" tests=\"" +
       std::to_string(cases.size()) + "\" failures=\"" + std::to_string(failures) + "\" errors=\"" +
       std::to_string(errors) + "\" skipped=\"" + std::to_string(skipped) + "\" time=\"" + time +
       "\">\n";
  for (const auto& c : cases) {
    std::snprintf(time, sizeof time, "%.3f", c.seconds);
    x += "    <testcase name=\"" + xmlEscape(c.name) + "\" classname=\"" + xmlEscape(c.classname) +
         "\" time=\"" + time + "\">\n";
    const std::string msg = xmlEscape(c.message);
    if (c.status == "leak") x += "      <failure type=\"leak\" message=\"" + msg + "\"/>\n";
    if (c.status == "error") x += "      <error type=\"error\" message=\"" + msg + "\"/>\n";
    if (c.status == "skip") x += "      <skipped message=\"" + msg + "\"/>\n";
    if (!c.output.empty()) x += "      <system-out>" + xmlEscape(c.output) + "</system-out>\n";
    x += "    </testcase>\n";
  }
  x += "  </testsuite>\n</testsuites>\n";
  return x;
}

}  // namespace vpnleak::report
