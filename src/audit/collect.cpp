#include "audit/collect.hpp"

#include <netdb.h>
#include <sys/stat.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <memory>

#include "audit/openvpn.hpp"
#include "core/file.hpp"
#include "core/process.hpp"
#include "core/sockaddr.hpp"
#include "netlink/dump.hpp"

namespace vpnleak::audit {

namespace {

void readResolvers(const CollectOptions& opts, Snapshot& s) {
  const auto text = core::readFile(opts.resolv_conf);
  if (!text) {
    s.notes.emplace_back("cannot read " + opts.resolv_conf + ": resolvers not judged");
    return;
  }
  s.resolvers = parseResolvConf(*text);
  struct stat st {};
  if (::stat("/run/systemd/resolve/io.systemd.Resolve", &st) == 0 &&
      core::haveExecutable("resolvectl")) {
    auto r =
        core::run({"resolvectl", "dns"}, core::RunOptions::withTimeout(std::chrono::seconds(5)));
    if (r && r->ok()) s.link_dns = parseResolvectlDns(r->out);
  }
}

void readFirewall(Snapshot& s) {
  if (!core::haveExecutable("nft")) {
    s.notes.emplace_back("nft is not installed: the kill switch is not judged");
    return;
  }
  auto r = core::run({"nft", "-j", "list", "ruleset"},
                     core::RunOptions::withTimeout(std::chrono::seconds(10)));
  if (!r || !r->ok()) {
    s.notes.emplace_back(
        "'nft -j list ruleset' failed (root needed?): the kill switch is not judged");
    return;
  }
  auto j = core::parseJson(r->out, "nft -j list ruleset");
  if (j) s.nftables = *j;
}

void readWireGuard(Snapshot& s) {
  if (!core::haveExecutable("wg")) return;
  auto r = core::run({"wg", "show", "all", "dump"},
                     core::RunOptions::withTimeout(std::chrono::seconds(5)));
  if (r && r->ok()) {
    s.wireguard = parseWgDump(r->out);
  } else {
    s.notes.emplace_back("'wg show all dump' failed: WireGuard endpoints unknown");
  }
}

// A process's network namespace: the device and inode of /proc/PID/ns/net.
std::optional<std::pair<dev_t, ino_t>> netnsOf(const std::string& proc) {
  struct stat st {};
  if (::stat((proc + "/ns/net").c_str(), &st) != 0) return std::nullopt;
  return std::pair{st.st_dev, st.st_ino};
}

struct AddrinfoFree {
  void operator()(addrinfo* a) const { ::freeaddrinfo(a); }
};

// An address as is; a name through the system's resolver (getaddrinfo), now.
core::Result<std::vector<core::IpAddress>> addressesOf(const OpenVpnRemote& r) {
  if (auto a = core::IpAddress::parse(r.host)) return std::vector{*a};
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = r.proto == "tcp" ? SOCK_STREAM : SOCK_DGRAM;
  addrinfo* res = nullptr;
  const int rc = ::getaddrinfo(r.host.c_str(), nullptr, &hints, &res);
  const std::unique_ptr<addrinfo, AddrinfoFree> owned(res);
  if (rc != 0) return core::makeError(core::Errc::kNotFound, ::gai_strerror(rc));
  std::vector<core::IpAddress> out;
  for (const addrinfo* a = res; a != nullptr; a = a->ai_next) {
    if (a->ai_family != AF_INET && a->ai_family != AF_INET6) continue;
    sockaddr_storage ss{};
    std::memcpy(&ss, a->ai_addr, std::min<std::size_t>(a->ai_addrlen, sizeof ss));
    const auto ip = core::fromSockaddr(ss).address;
    if (std::find(out.begin(), out.end(), ip) == out.end()) out.push_back(ip);
  }
  return out;
}

void addOpenVpnEndpoints(std::uint32_t pid, const std::vector<OpenVpnRemote>& remotes,
                         Snapshot& s) {
  for (const auto& r : remotes) {
    VpnEndpoint e{"openvpn", r.host, std::nullopt, r.proto, pid};
    auto addrs = addressesOf(r);
    if (!addrs || addrs->empty()) {
      s.notes.push_back("the openvpn remote " + r.host + " does not resolve now (" +
                        (addrs ? std::string("no address") : addrs.error().message()) +
                        "): its route is not recognised as the VPN endpoint's");
      s.endpoints.push_back(std::move(e));
      continue;
    }
    for (const auto& a : *addrs) {
      e.endpoint = core::Endpoint{a, r.port};
      s.endpoints.push_back(e);
    }
  }
}

// Running openvpn processes in this network namespace (/proc shows every namespace's) and the
// remotes their command lines and config files name. Files are read through /proc/PID/root, so
// as the process sees them.
void readOpenVpn(Snapshot& s) {
  const auto self = netnsOf("/proc/self");
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const auto name = entry.path().filename().string();
    std::uint32_t pid = 0;
    const auto [end, perr] = std::from_chars(name.data(), name.data() + name.size(), pid);
    if (name.empty() || perr != std::errc{} || end != name.data() + name.size()) continue;
    const auto proc = entry.path().string();
    const auto comm = core::readFile(proc + "/comm");
    if (!comm || comm->substr(0, comm->find('\n')) != "openvpn") continue;
    if (!self || netnsOf(proc) != self) continue;
    const auto cmdline = core::readFile(proc + "/cmdline");
    if (!cmdline) continue;
    std::error_code cwd_ec;
    const auto cwd = std::filesystem::read_symlink(proc + "/cwd", cwd_ec).string();
    const ConfigReader read = [&](const std::string& path) -> std::optional<std::string> {
      if (path.empty() || path.front() != '/') return std::nullopt;
      std::string full = proc;
      full += "/root";
      full += path;
      return core::readFile(full);
    };
    const auto remotes = openVpnRemotes(*cmdline, cwd, read, s.notes);
    addOpenVpnEndpoints(pid, remotes, s);
  }
}

}  // namespace

core::Result<Snapshot> collect(const CollectOptions& opts) {
  auto ns = netlink::takeSnapshot();
  if (!ns) return ns.error();
  Snapshot s = fromNetlink(*ns);
  readResolvers(opts, s);
  readFirewall(s);
  readWireGuard(s);
  readOpenVpn(s);
  return s;
}

}  // namespace vpnleak::audit
