// The defined points of a `lab run` scenario at which the user-facing commands run in the
// client, as a user would run them, and what they said:
//   steady  after the setup and the guard, before the monitor starts (so the test's own probes
//           are never counted as the scenario's leaks): `vpnleak audit --json` and
//           `vpnleak test --server URL --json` against the lab's leak-test server;
//   fault   inside the hold of the first fault: `vpnleak audit --json` again. The audit only
//           reads kernel state and files, so it sends nothing the monitor could count.
#pragma once

#include <string>

#include "core/json.hpp"
#include "lab/plan.hpp"

namespace vpnleak::lab {

// {"exit_code","findings":[{"id","severity"}],"elapsed_ms"}, or {"error","elapsed_ms"} when the
// audit could not run or printed no report.
core::Json auditPoint(const std::string& self, const LabPlan& plan);

// {"exit_code","verdict","checks":[{"id","status"}],"elapsed_ms"}, or {"error","elapsed_ms"}.
core::Json testPoint(const std::string& self, const LabPlan& plan);

// The digests of a "vpnleak.audit/1" and a "vpnleak.test/1" document (pure). Errc::kMalformed
// when the document is not one.
core::Result<core::Json> auditDigest(const core::Json& report);
core::Result<core::Json> testDigest(const core::Json& report);

// "dns-outside-tunnel(high) no-killswitch(high)" and "dns=leak ipv4=pass": one line each.
std::string auditLine(const core::Json& point);
std::string testLine(const core::Json& point);

}  // namespace vpnleak::lab
