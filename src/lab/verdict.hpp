// The pure rules of `lab run`: a verdict per scenario × guard mode from the leaked packets, the
// JSON of one such result from its measured runs, and the exit code of the whole document.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/json.hpp"
#include "lab/leak_events.hpp"
#include "lab/measure.hpp"

namespace vpnleak::lab {

// guard on:  0 leaked → "pass", else "fail" (the kill switch let something out).
// guard off: a scenario expected to leak → "leak" (the expected finding) or "not-reproduced";
//            one not expected to leak → "pass" or "leak".
std::string verdictFor(bool guard_on, bool expect_leak, std::uint64_t leaked);

// "fail", "not-reproduced" and "error" make the run fail; "pass" and "leak" do not.
bool verdictFails(const std::string& verdict);

// {"guard","verdict","leaked_packets","runs":[{"run","leaked","first_ms","last_ms"}],
//  "first_ms":{median,p95,max},"window_ms":{median,p95,max}}; windows over the runs that leaked.
core::Json modeResult(bool guard_on, bool expect_leak, const std::vector<RunMeasure>& runs);

// {"dns":N,"stun":N,...}: every class, in kLeakClasses order.
core::Json classCounts(const std::array<std::uint64_t, kLeakClasses.size()>& counts);

// modeResult() over the monitor's classified leaks, plus "leaks_by_class" (whose sum is
// "leaked_packets"), "leaks_before_first_fault", "evidence" (the first `evidence` counted leaks,
// one line each) and, when `only` is set, "counted_class" and "ignored_by_class".
core::Json modeResult(bool guard_on, bool expect_leak, const ClassifiedRuns& c,
                      std::optional<LeakClass> only, std::size_t evidence);

// Records the monitor's summary under "monitor". A monitor that lost packets (kernel or
// interface drops) proves the leaks it saw but not their absence: "pass" and "not-reproduced"
// become "error", saying so.
void applyMonitorSummary(core::Json& result, const MonitorSummary& s);

// {"cases","pass","leak","fail","not_reproduced","error"} over every result of every scenario.
core::Json summarize(const core::Json& scenarios);

// 4 when a result is "error", else 1 when one fails ("fail", "not-reproduced"), else 0.
int exitCodeFor(const core::Json& doc);

}  // namespace vpnleak::lab
