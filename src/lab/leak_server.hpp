// The leak-test server (`vpnleak server`) in the lab's server node: HTTP, DNS (the zone the
// lab's resolvers send to it) and STUN on the node's IPv4 and IPv6 addresses.
#pragma once

#include <string>
#include <vector>

#include "core/result.hpp"
#include "lab/context.hpp"
#include "lab/plan.hpp"

namespace vpnleak::lab {

constexpr std::uint16_t kServerHttpPort = 80;
constexpr std::uint16_t kServerStunPort = 3478;

// The server's command line for this plan.
std::vector<std::string> leakServerArgv(const LabPlan& plan);

// "http://192.0.2.10"
std::string leakServerUrl(const LabPlan& plan);

// Starts the server as a lab daemon and waits until its HTTP API answers.
core::Status startLeakServer(const LabPlan& plan, const LabContext& ctx);

}  // namespace vpnleak::lab
