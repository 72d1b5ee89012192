// Which servers a running OpenVPN client talks to, from its command line (/proc/PID/cmdline) and
// the config files that names. Pure: the files are read through the caller's reader, so tables
// of command lines and file texts test it; bad input gives fewer remotes, never a crash.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vpnleak::audit {

struct OpenVpnRemote {
  std::string host;  // as configured: an address or a name
  std::uint16_t port = 1194;
  std::string proto = "udp";  // "udp" or "tcp"
  friend bool operator==(const OpenVpnRemote&, const OpenVpnRemote&) = default;
};

// The text of the config file at PATH (absolute, or relative to the process's directory),
// nullopt when it cannot be read.
using ConfigReader = std::function<std::optional<std::string>(const std::string& path)>;

// The remotes of an openvpn process, in OpenVPN's order: `--remote HOST [PORT [PROTO]]` on the
// command line, `remote` lines in the files of `--config FILE` (or of a lone FILE argument, and of
// `config` lines in them), read through READ with relative paths joined to `--cd DIR` or CWD.
// What a remote leaves out comes from the last `port`/`rport`/`proto` anywhere, as OpenVPN fills
// it in after reading every option; then 1194 and udp. A file that cannot be read, a bad port or
// protocol is a line in NOTES.
std::vector<OpenVpnRemote> openVpnRemotes(std::string_view cmdline, const std::string& cwd,
                                          const ConfigReader& read,
                                          std::vector<std::string>& notes);

// A config file's options, each as its words: quotes and backslash escapes as OpenVPN reads them,
// `#`/`;` comments dropped, a leading "--" removed, inline files (<ca>...</ca>) skipped, the
// options of <connection> blocks kept.
std::vector<std::vector<std::string>> parseOpenVpnConfig(std::string_view text);

// "udp" or "tcp" for OpenVPN's protocol names (udp4, tcp6-client, ...); nullopt for others.
std::optional<std::string> openVpnProtoFamily(std::string_view proto);

}  // namespace vpnleak::audit
