// `vpnleak server`: binds every listener, drops privileges, runs one event loop per thread
// until SIGINT/SIGTERM.
#pragma once

#include "core/result.hpp"
#include "server/config.hpp"

namespace vpnleak::server {

// Runs until a termination signal; errors are start-up failures (bind, store, user).
core::Status run(ServerConfig cfg);

}  // namespace vpnleak::server
