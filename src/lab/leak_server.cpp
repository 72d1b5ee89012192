#include "lab/leak_server.hpp"

#include <chrono>
#include <thread>

namespace vpnleak::lab {

std::vector<std::string> leakServerArgv(const LabPlan& plan) {
  std::vector<std::string> argv{plan.options.server_binary,
                                "server",
                                "--zone",
                                plan.options.zone,
                                "--answer-v4",
                                plan.server_v4.toString(),
                                "--answer-v6",
                                plan.server_v6.toString(),
                                "--threads",
                                "1"};
  for (const auto& a : {plan.server_v4, plan.server_v6}) {
    argv.insert(argv.end(), {"--http", core::Endpoint{a, kServerHttpPort}.toString(), "--dns",
                             core::Endpoint{a, 53}.toString(), "--stun",
                             core::Endpoint{a, kServerStunPort}.toString()});
  }
  return argv;
}

std::string leakServerUrl(const LabPlan& plan) { return "http://" + plan.server_v4.toString(); }

core::Status startLeakServer(const LabPlan& plan, const LabContext& ctx) {
  const auto ns = plan.netns("server");
  VL_TRY(ctx.daemon(ns, "vpnleak-server", leakServerArgv(plan)));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    auto r = ctx.run(ns, {"curl", "-sf", "-m", "1", leakServerUrl(plan) + "/api/v1/config"});
    if (r && r->ok()) return {};
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return core::makeError(
      core::Errc::kEnvironment,
      "the lab's vpnleak server did not answer within 10 s; see " + ctx.path("vpnleak-server.log"));
}

}  // namespace vpnleak::lab
