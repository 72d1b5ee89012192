// `vpnleak test`: every leak check at once against a vpnleak server, within one deadline.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "core/json.hpp"
#include "core/result.hpp"
#include "probe/judge.hpp"
#include "probe/url.hpp"

namespace vpnleak::probe {

struct TestOptions {
  ServerUrl server;
  std::string tunnel;                        // detected when empty
  std::vector<core::IpAddress> expect_exit;  // discovered through the tunnel when empty
  std::size_t dns_names = 20;
  std::chrono::milliseconds timeout{2000};
  std::vector<std::string> only;  // check ids; all when empty
};

struct TestReport {
  std::string server;
  std::string token;
  Observations observations;
  std::vector<CheckResult> checks;
  std::int64_t duration_ms = 0;

  [[nodiscard]] bool leaked() const;
};

// kEnvironment when the server cannot be reached at all (not even through the tunnel), or no
// tunnel is found and no --expect-exit was given.
core::Result<TestReport> runLeakTest(const TestOptions& opts);

core::Json toJson(const TestReport& r);  // schema vpnleak.test/1

}  // namespace vpnleak::probe
