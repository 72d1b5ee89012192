// Whole small files (state, configs, /proc entries) read in one go.
#pragma once

#include <optional>
#include <string>

namespace vpnleak::core {

// The file's bytes, or nullopt when it cannot be opened.
std::optional<std::string> readFile(const std::string& path);

}  // namespace vpnleak::core
