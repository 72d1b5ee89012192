#include "core/file.hpp"

#include <fstream>
#include <sstream>

namespace vpnleak::core {

std::optional<std::string> readFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return std::nullopt;
  std::ostringstream ss;
  ss << f.rdbuf();
  return std::move(ss).str();
}

}  // namespace vpnleak::core
