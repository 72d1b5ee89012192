// OpenVPN command lines and config files, as `vpnleak audit` reads them from other processes:
// the input is "CMDLINE\x01CONFIG" (without \x01: a fixed command line naming CONFIG). Every
// path the parser asks for gets CONFIG back, so `config` lines that name files again exercise
// the nesting bound.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "audit/openvpn.hpp"

using namespace vpnleak;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  static constexpr std::string_view kDefaultCmdline("openvpn\0--config\0client.conf\0", 29);
  const auto cut = in.find('\x01');
  const std::string_view cmdline =
      cut == std::string_view::npos ? kDefaultCmdline : in.substr(0, cut);
  const std::string config(cut == std::string_view::npos ? in : in.substr(cut + 1));
  std::size_t reads = 0;
  const audit::ConfigReader read = [&](const std::string&) -> std::optional<std::string> {
    ++reads;
    return config;
  };
  (void)audit::parseOpenVpnConfig(config);
  std::vector<std::string> notes;
  for (const auto& r : audit::openVpnRemotes(cmdline, "/etc/openvpn", read, notes)) {
    if (r.proto != "udp" && r.proto != "tcp") std::abort();
  }
  // A config naming itself must not be read without bound.
  if (reads > 64) std::abort();
  (void)audit::openVpnProtoFamily(config);
  return 0;
}
