// `lab status`: the plan of a running lab, checked against what is really there.
#include <sys/stat.h>

#include <chrono>
#include <fstream>
#include <sstream>

#include "core/file.hpp"
#include "core/process.hpp"
#include "lab/context.hpp"
#include "lab/lab.hpp"

namespace vpnleak::lab {

namespace {

core::Json readState(const std::string& prefix) {
  auto j =
      core::parseJson(core::readFile(stateDir(prefix) + "/state.json").value_or(""), "state.json");
  return j ? *j : core::Json::object();
}

core::Json processes(const std::string& prefix) {
  core::Json list = core::Json::array();
  std::ifstream pids(stateDir(prefix) + "/pids");
  pid_t pid = 0;
  std::string exe;
  std::string name;
  while (pids >> pid >> exe >> name) {
    list.push_back({{"name", name}, {"pid", pid}, {"alive", core::processMatches(pid, exe)}});
  }
  return list;
}

// Seconds since the client's last WireGuard handshake, or null when there was none.
core::Json lastHandshake(const LabPlan& plan) {
  auto r = core::run(
      inNetns(plan.netns("client"), {"wg", "show", plan.tunnel.client_iface, "latest-handshakes"}));
  if (!r || !r->ok()) return nullptr;
  std::istringstream in(r->out);
  std::string key;
  long long ts = 0;
  if (!(in >> key >> ts) || ts == 0) return nullptr;
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  return now - ts;
}

}  // namespace

core::Json status(const std::string& prefix) {
  auto doc = core::jsonDocument("vpnleak.lab/1");
  auto plan = load(prefix);
  if (!plan) {
    doc["prefix"] = prefix;
    doc["up"] = false;
    doc["leftovers"] = present(prefix);
    return doc;
  }
  doc["up"] = true;
  const auto described = planToJson(*plan);
  for (const auto& [k, v] : described.items()) doc[k] = v;
  const auto state = readState(prefix);
  if (state.contains("vpn")) {
    for (const auto& [k, v] : state["vpn"].items()) doc["tunnel"][k] = v;
  }
  for (auto& n : doc["nodes"]) {
    struct stat st {};
    n["present"] = ::stat(("/run/netns/" + n["netns"].get<std::string>()).c_str(), &st) == 0;
  }
  doc["tunnel"]["last_handshake_s"] = lastHandshake(*plan);
  doc["processes"] = processes(prefix);
  doc["state_dir"] = stateDir(prefix);
  return doc;
}

}  // namespace vpnleak::lab
