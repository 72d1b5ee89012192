// JUnit XML, the format CI systems read: one testsuite, one testcase per check.
#pragma once

#include <string>
#include <vector>

namespace vpnleak::report {

struct JunitCase {
  std::string name;
  std::string classname;
  std::string status;  // pass, leak (failure), skip (skipped), error (error)
  std::string message;
  std::string output;  // system-out: the evidence
  double seconds = 0;
};

std::string junitXml(const std::string& suite, const std::vector<JunitCase>& cases);
std::string xmlEscape(std::string_view text);

}  // namespace vpnleak::report
