#include "core/log.hpp"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "core/json.hpp"

namespace vpnleak::log {

namespace {

Format g_format = Format::kText;

std::shared_ptr<spdlog::logger>& logger() {
  static std::shared_ptr<spdlog::logger> l = [] {
    auto lg = spdlog::stderr_logger_st("vpnleak");
    lg->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
    lg->set_level(spdlog::level::info);
    return lg;
  }();
  return l;
}

spdlog::level::level_enum toSpd(Level l) {
  switch (l) {
    case Level::kDebug:
      return spdlog::level::debug;
    case Level::kInfo:
      return spdlog::level::info;
    case Level::kWarn:
      return spdlog::level::warn;
    case Level::kError:
      return spdlog::level::err;
  }
  return spdlog::level::info;
}

}  // namespace

void setup(Format format, Level level) {
  g_format = format;
  logger()->set_level(toSpd(level));
  // The JSON line carries its own timestamp and level.
  logger()->set_pattern(format == Format::kJson ? "%v" : "%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
}

void write(Level level, std::string_view msg, Fields fields) {
  auto& lg = logger();
  if (!lg->should_log(toSpd(level))) return;
  std::string line;
  if (g_format == Format::kJson) {
    core::Json j = core::Json::object();
    j["ts"] =
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    j["level"] = spdlog::level::to_string_view(toSpd(level)).data();
    j["msg"] = msg;
    for (const auto& f : fields) j[f.key] = f.value;
    line = j.dump();
  } else {
    line = msg;
    for (const auto& f : fields) {
      line += ' ';
      line += f.key;
      line += '=';
      const bool needs_quotes = f.quoted && f.value.find_first_of(" \t\"=") != std::string::npos;
      line += needs_quotes ? core::Json(f.value).dump() : f.value;
    }
  }
  lg->log(toSpd(level), "{}", line);
}

}  // namespace vpnleak::log
