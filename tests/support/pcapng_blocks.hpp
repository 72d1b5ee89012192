// The blocks of a pcapng file as `vpnleak monitor --write` writes them (host byte order), for
// tests that look inside: which interface each packet was recorded on, how many packets there are.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "core/file.hpp"

namespace vpnleak::testing {

struct PcapngBlock {
  std::uint32_t type = 0;
  std::string body;  // between the leading and the trailing length
};

inline std::uint32_t pcapngU32(const std::string& s, std::size_t at) {
  std::uint32_t v = 0;
  std::memcpy(&v, s.data() + at, 4);
  return v;
}

// Every block in order; nullopt unless each block's leading and trailing lengths agree, are
// multiples of 4 and fit the file.
inline std::optional<std::vector<PcapngBlock>> pcapngBlocks(const std::string& file) {
  std::vector<PcapngBlock> out;
  for (std::size_t at = 0; at < file.size();) {
    if (at + 12 > file.size()) return std::nullopt;
    const std::uint32_t len = pcapngU32(file, at + 4);
    if (len % 4 != 0 || len < 12 || at + len > file.size()) return std::nullopt;
    if (pcapngU32(file, at + len - 4) != len) return std::nullopt;
    out.push_back({pcapngU32(file, at), file.substr(at + 8, len - 12)});
    at += len;
  }
  return out;
}

inline std::optional<std::vector<PcapngBlock>> readPcapngBlocks(const std::string& path) {
  return pcapngBlocks(core::readFile(path).value_or(""));
}

// An interface description's name (its if_name option), "" without one.
inline std::string pcapngInterfaceName(const PcapngBlock& idb) {
  for (std::size_t at = 8; at + 4 <= idb.body.size();) {
    std::uint16_t code = 0;
    std::uint16_t len = 0;
    std::memcpy(&code, idb.body.data() + at, 2);
    std::memcpy(&len, idb.body.data() + at + 2, 2);
    if (code == 0 || at + 4 + len > idb.body.size()) break;
    if (code == 2) return idb.body.substr(at + 4, len);
    at += 4 + ((len + 3u) & ~3u);
  }
  return "";
}

// An enhanced packet block's frame, as captured.
inline std::string pcapngFrame(const PcapngBlock& epb) {
  return epb.body.substr(20, pcapngU32(epb.body, 12));
}

}  // namespace vpnleak::testing
