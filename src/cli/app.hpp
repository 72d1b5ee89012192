// The vpnleak command line: one file per subcommand registers itself on the root app.
#pragma once

#include <functional>
#include <string>

namespace CLI {
class App;
}

namespace vpnleak::cli {

// What a parsed subcommand runs; returns the process exit code (0, 1, 2, 3, 4 per DESIGN.md).
using Action = std::function<int()>;

void addLabCommand(CLI::App& root, Action& action);
void addMonitorCommand(CLI::App& root, Action& action);
void addServerCommand(CLI::App& root, Action& action);
void addAuditCommand(CLI::App& root, Action& action);
void addTestCommand(CLI::App& root, Action& action);
void addGuardCommand(CLI::App& root, Action& action);

// Prints "vpnleak: MESSAGE" on stderr and returns code.
int fail(int code, const std::string& message);

int main(int argc, char** argv);

}  // namespace vpnleak::cli
