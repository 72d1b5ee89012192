// `vpnleak lab`: bring the lab up, tear it down, describe it.
#pragma once

#include <string>

#include "core/json.hpp"
#include "core/result.hpp"
#include "lab/plan.hpp"

namespace vpnleak::lab {

// /run/vpnleak/lab/PREFIX: configs, keys, logs, pids and state.json of one lab.
std::string stateDir(const std::string& prefix);

// Builds the whole lab; on any failure removes what it built. Errc::kExists when a lab with this
// prefix (state or any namespace) is already there.
core::Status up(const LabOptions& opts);

// Removes every namespace, process, socket and file of the lab with this prefix. Idempotent;
// works on a half-built lab and after `up` was killed.
core::Status down(const std::string& prefix);

// True when any trace of the lab is present (state directory or one of its namespaces).
bool present(const std::string& prefix);

// The plan of a running lab, from its state.json. Errc::kNotFound when it is not up.
core::Result<LabPlan> load(const std::string& prefix);

// Document "vpnleak.lab/1": the plan plus live state (namespaces, processes, handshake).
core::Json status(const std::string& prefix);

// Fault injection, the tunnel drops: WireGuard's client interface is deleted, the OpenVPN client
// is killed (SIGKILL, as a crash: its tun and routes go, the host route to the server stays).
core::Status dropTunnel(const std::string& prefix);

}  // namespace vpnleak::lab
