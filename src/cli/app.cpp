#include "cli/app.hpp"

#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>
#include <iostream>

#include "core/log.hpp"

namespace vpnleak::cli {

int fail(int code, const std::string& message) {
  std::cerr << "vpnleak: " << message << "\n";
  return code;
}

int main(int argc, char** argv) {
  CLI::App app{"vpnleak: find, measure and prevent VPN leaks", "vpnleak"};
  app.set_version_flag("--version", std::string("vpnleak ") + VPNLEAK_VERSION);
  app.require_subcommand(0, 1);
  std::string log_format = "text";
  std::string log_level = "info";
  app.add_option("--log-format", log_format, "Log format on stderr")
      ->check(CLI::IsMember({"text", "json"}));
  app.add_option("--log-level", log_level, "Least severe level logged")
      ->check(CLI::IsMember({"debug", "info", "warn", "error"}));

  Action action;
  addLabCommand(app, action);
  addMonitorCommand(app, action);
  addServerCommand(app, action);
  addAuditCommand(app, action);
  addTestCommand(app, action);
  addGuardCommand(app, action);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    std::cout << app.help();
    return 0;
  } catch (const CLI::CallForAllHelp&) {
    std::cout << app.help("", CLI::AppFormatMode::All);
    return 0;
  } catch (const CLI::CallForVersion&) {
    std::cout << app.version() << "\n";
    return 0;
  } catch (const CLI::ParseError& e) {
    // One line naming what was wrong; the full usage is one --help away.
    std::string what = e.what();
    if (auto nl = what.find('\n'); nl != std::string::npos) what.resize(nl);
    return fail(2, what + " (see 'vpnleak --help')");
  }

  const auto level = log_level == "debug"   ? log::Level::kDebug
                     : log_level == "warn"  ? log::Level::kWarn
                     : log_level == "error" ? log::Level::kError
                                            : log::Level::kInfo;
  log::setup(log_format == "json" ? log::Format::kJson : log::Format::kText, level);
  if (!action) {
    const auto* sub = app.get_subcommands().empty() ? &app : app.get_subcommands().front();
    const std::string path = sub == &app ? "vpnleak" : "vpnleak " + sub->get_name();
    return fail(2, "a subcommand is required after '" + path + "' (see '" + path + " --help')");
  }
  try {
    return action();
  } catch (const std::exception& e) {
    return fail(4, std::string("internal error: ") + e.what());
  }
}

}  // namespace vpnleak::cli
