// WebRTC in a real browser: headless Chromium in the client namespace opens the leak-test
// server's /webrtc page, which gathers ICE candidates through the server's STUN (from every
// interface the browser sees) and posts them to a test token. The server's record of that token
// is the scenario's evidence: a candidate carrying the client's real address is the leak.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "core/json.hpp"
#include "core/result.hpp"
#include "lab/plan.hpp"

namespace vpnleak::lab {

// Setup: creates a test on the leak-test server from the client (as the page itself would) and
// keeps its token in the state directory.
core::Status createWebrtcTest(const LabPlan& plan);

// Fault: starts Chromium (a lab daemon) on the page for that token, with a fresh profile in the
// state directory.
core::Status startBrowser(const LabPlan& plan);

// Restore: waits until the page has posted its candidates for this run (at most `wait`), then
// stops Chromium by its pid (with its process group). kTimeout when nothing was posted.
core::Status stopBrowser(const LabPlan& plan,
                         std::chrono::milliseconds wait = std::chrono::seconds(30));

// The browser's command line. Pure.
std::vector<std::string> chromiumArgv(const std::string& profile_dir, const std::string& url);

// How many times the page posted candidates to the test (its HTTP requests to .../webrtc). Pure.
std::size_t webrtcPosts(const core::Json& test);

// From a GET /api/v1/tests/{token} document: {"token", "browser_posts", "candidates" [{"type",
// "protocol", "address", "port"}], "real_addresses" (candidate addresses that are the client's
// real IPv4 or IPv6), "leak"}. Pure.
core::Json webrtcEvidence(const core::Json& test, const LabPlan& plan);

// Fetches the test from the server node and returns webrtcEvidence(); {"error": ...} when it
// cannot.
core::Json collectWebrtcEvidence(const LabPlan& plan);

}  // namespace vpnleak::lab
