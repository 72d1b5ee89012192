#include "lab/webrtc_browser.hpp"

#include <algorithm>
#include <csignal>
#include <filesystem>

#include "core/process.hpp"
#include "lab/context.hpp"
#include "lab/lab.hpp"
#include "lab/leak_server.hpp"

namespace vpnleak::lab {

namespace {

using core::Errc;
using core::Json;
using core::Status;

constexpr std::size_t kMaxCandidates = 64;

// GET /api/v1/tests/{token} from inside the server node: the operator's view, not recorded as
// the client's traffic.
core::Result<Json> fetchTest(const LabPlan& plan, const LabContext& ctx) {
  const auto token = ctx.readLine("webrtc.token");
  if (token.empty()) return core::makeError(Errc::kNotFound, "no WebRTC test token in the lab");
  VL_TRY_ASSIGN(const auto r,
                ctx.run(plan.netns("server"), {"curl", "-sf", "-m", "3",
                                               leakServerUrl(plan) + "/api/v1/tests/" + token}));
  if (!r.ok()) {
    return core::makeError(Errc::kEnvironment, "the leak-test server did not return test " + token);
  }
  return core::parseJson(r.out, "GET /api/v1/tests/" + token);
}

void stopGroup(pid_t pid) {
  if (pid <= 0 || !core::processMatches(pid, "chromium")) return;
  // Chromium's renderer and utility processes share its process group (spawnDaemon made one).
  ::kill(-pid, SIGTERM);
  core::terminate(pid, std::chrono::milliseconds(3000));
  ::kill(-pid, SIGKILL);
}

}  // namespace

std::vector<std::string> chromiumArgv(const std::string& profile_dir, const std::string& url) {
  // The lab's "public" IPv6 addresses are documentation space, which Chromium ranks as private
  // and keeps an http:// page from fetching; on the real internet that fetch goes through.
  const std::string features = std::string("LocalNetworkAccessChecks,") +
                               "BlockInsecurePrivateNetworkRequests," +
                               "PrivateNetworkAccessSendPreflights";
  return {"chromium",
          "--headless=new",
          "--no-sandbox",
          "--disable-gpu",
          "--no-first-run",
          "--disable-background-networking",
          "--user-data-dir=" + profile_dir,
          "--disable-features=" + features,
          url};
}

Status createWebrtcTest(const LabPlan& plan) {
  if (!core::haveExecutable("chromium")) {
    return core::makeError(Errc::kEnvironment,
                           "the webrtc scenario needs 'chromium', which is not in PATH; run "
                           "scripts/deps.sh");
  }
  const LabContext ctx(stateDir(plan.options.prefix));
  VL_TRY_ASSIGN(const auto r,
                ctx.run(plan.netns("client"), {"curl", "-sf", "-m", "5", "-X", "POST",
                                               leakServerUrl(plan) + "/api/v1/tests"}));
  auto doc = core::parseJson(r.out, "POST /api/v1/tests");
  const std::string token = doc && doc->is_object() ? doc->value("token", "") : "";
  if (!r.ok() || token.empty()) {
    return core::makeError(Errc::kEnvironment,
                           "the leak-test server created no test: POST /api/v1/tests failed");
  }
  return ctx.writeFile("webrtc.token", token + "\n");
}

Status startBrowser(const LabPlan& plan) {
  const LabContext ctx(stateDir(plan.options.prefix));
  VL_TRY_ASSIGN(const auto test, fetchTest(plan, ctx));
  VL_TRY(ctx.writeFile("webrtc.posts", std::to_string(webrtcPosts(test)) + "\n"));
  const auto profile = ctx.path("chromium-profile");
  // Chromium keeps its singleton socket in a directory under TMPDIR that it does not remove when
  // it is stopped: this one is in the lab's state directory, which `lab down` removes.
  const auto tmp = ctx.path("chromium-tmp");
  std::error_code ec;
  std::filesystem::remove_all(profile, ec);
  std::filesystem::remove_all(tmp, ec);
  if (!std::filesystem::create_directory(tmp, ec) || ec) {
    return core::makeError(Errc::kEnvironment, "cannot create " + tmp + ": " + ec.message());
  }
  const auto url = leakServerUrl(plan) + "/webrtc?token=" + test.value("token", "");
  VL_TRY_ASSIGN(const pid_t pid, ctx.daemon(plan.netns("client"), "chromium",
                                            chromiumArgv(profile, url), {"TMPDIR=" + tmp}));
  return ctx.writeFile("chromium.pid", std::to_string(pid) + "\n");
}

Status stopBrowser(const LabPlan& plan, std::chrono::milliseconds wait) {
  const LabContext ctx(stateDir(plan.options.prefix));
  const auto before = static_cast<std::size_t>(ctx.readNumber("webrtc.posts"));
  const bool posted = waitUntil(
      [&] {
        auto t = fetchTest(plan, ctx);
        return t && webrtcPosts(*t) > before;
      },
      wait);
  stopGroup(static_cast<pid_t>(ctx.readNumber("chromium.pid")));
  if (posted) return {};
  return core::makeError(Errc::kTimeout, "Chromium in " + plan.netns("client") +
                                             " posted no ICE candidates within " +
                                             std::to_string(wait.count() / 1000) + " s; see " +
                                             ctx.path("chromium.log"));
}

std::size_t webrtcPosts(const Json& test) {
  std::size_t n = 0;
  if (!test.contains("http") || !test["http"].is_array()) return 0;
  for (const auto& h : test["http"]) {
    const auto path = h.is_object() ? h.value("path", "") : "";
    if (path.ends_with("/webrtc")) ++n;
  }
  return n;
}

Json webrtcEvidence(const Json& test, const LabPlan& plan) {
  const std::vector<std::string> real{plan.client_global_v6.toString(),
                                      plan.router_public_v4.toString()};
  Json candidates = Json::array();
  Json revealed = Json::array();
  const Json none = Json::array();
  const Json& list = test.contains("webrtc") && test["webrtc"].is_array() ? test["webrtc"] : none;
  for (const auto& c : list) {
    if (!c.is_object()) continue;
    const auto address = c.value("address", "");
    if (candidates.size() < kMaxCandidates) {
      candidates.push_back({{"type", c.value("type", "")},
                            {"protocol", c.value("protocol", "")},
                            {"address", address},
                            {"port", c.value("port", 0)}});
    }
    const bool is_real = std::find(real.begin(), real.end(), address) != real.end();
    if (is_real && std::find(revealed.begin(), revealed.end(), address) == revealed.end()) {
      revealed.push_back(address);
    }
  }
  return {{"token", test.value("token", "")},
          {"browser_posts", webrtcPosts(test)},
          {"candidates", candidates},
          {"real_addresses", revealed},
          {"leak", !revealed.empty()}};
}

Json collectWebrtcEvidence(const LabPlan& plan) {
  const LabContext ctx(stateDir(plan.options.prefix));
  auto test = fetchTest(plan, ctx);
  if (!test) return {{"error", test.error().message()}};
  return webrtcEvidence(*test, plan);
}

}  // namespace vpnleak::lab
