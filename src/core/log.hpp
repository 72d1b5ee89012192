// Structured logging: constant messages, variable parts as key/value fields.
//   log::info("guard applied", {{"table", "inet vpnleak"}, {"rules", n}});
// Text format: "msg key=value ..."; JSON format: one object a line on stderr.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace vpnleak::log {

enum class Format { kText, kJson };
enum class Level { kDebug, kInfo, kWarn, kError };

struct Field {
  Field(std::string_view k, std::string_view v) : key(k), value(v) {}
  Field(std::string_view k, const char* v) : key(k), value(v) {}
  Field(std::string_view k, std::string v) : key(k), value(std::move(v)) {}
  template <typename N>
  requires std::is_arithmetic_v<N> Field(std::string_view k, N v)
      : key(k), value(std::to_string(v)), quoted(false) {}
  std::string key;
  std::string value;
  bool quoted = true;
};

using Fields = std::initializer_list<Field>;

void setup(Format format, Level level);
void write(Level level, std::string_view msg, Fields fields);

inline void debug(std::string_view msg, Fields f = {}) { write(Level::kDebug, msg, f); }
inline void info(std::string_view msg, Fields f = {}) { write(Level::kInfo, msg, f); }
inline void warn(std::string_view msg, Fields f = {}) { write(Level::kWarn, msg, f); }
inline void error(std::string_view msg, Fields f = {}) { write(Level::kError, msg, f); }

}  // namespace vpnleak::log
