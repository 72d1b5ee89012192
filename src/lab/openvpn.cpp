// OpenVPN in the lab: per lab a CA and EC P-256 certificates made with openssl, a tls-crypt key,
// the server in the vpn node and the client in the client node, each a foreground process the lab
// tracks by pid (no --daemon). The client routes as the real one does with the pushed
// redirect-gateway def1: 0.0.0.0/1 and 128.0.0.0/1 through the tun and a host route to the server
// via the LAN gateway; no fwmark, no policy rules.
#include "lab/openvpn.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <thread>

#include "core/log.hpp"
#include "core/process.hpp"
#include "lab/vpn_driver.hpp"

namespace vpnleak::lab {

namespace {

using core::Errc;
using core::Status;

constexpr const char* kClientName = "client";  // the client certificate's common name
constexpr const char* kClientPidFile = "openvpn-client.pid";
constexpr const char* kClientConfig = "client.conf";
constexpr const char* kRemoteConfig = "client-remote.conf";  // restartOpenVpnClient's other remote

std::string netmask(int len) {
  return core::IpAddress::v4(len == 0 ? 0 : 0xffffffffU << (32 - len)).toString();
}

std::string keyFiles(const std::string& dir, const std::string& who) {
  return "ca " + dir + "/ca.crt\ncert " + dir + "/" + who + ".crt\nkey " + dir + "/" + who +
         ".key\ntls-crypt " + dir + "/tc.key\n";
}

// The last lines of a daemon's log, joined for a one-line error.
std::string logTail(const LabContext& ctx, const std::string& name, std::size_t lines = 3) {
  std::ifstream f(ctx.path(name + ".log"));
  std::vector<std::string> all;
  for (std::string line; std::getline(f, line);) {
    if (!line.empty()) all.push_back(line);
  }
  std::string out;
  for (auto i = all.size() > lines ? all.size() - lines : 0; i < all.size(); ++i) {
    out += (out.empty() ? "" : " | ") + all[i];
  }
  return out.empty() ? "(empty log)" : out;
}

// False once the process has exited (reaped here if it is our child).
bool alive(pid_t pid) { return ::waitpid(pid, nullptr, WNOHANG) != pid && ::kill(pid, 0) == 0; }

bool linkExists(const std::string& ns, const std::string& iface) {
  auto r = core::run({"ip", "-n", ns, "link", "show", "dev", iface});
  return r && r->ok();
}

Status openssl(const std::vector<std::string>& args) {
  std::vector<std::string> argv{"openssl"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = core::run(argv);
  if (!r) return r.error();
  if (!r->ok()) {
    return core::makeError(Errc::kEnvironment,
                           "openssl " + args.front() + " failed: " + r->err.substr(0, 200));
  }
  return {};
}

// An EC P-256 certificate valid for two days: signed by the lab's CA, or the CA itself.
Status makeCertificate(const LabContext& ctx, const std::string& who,
                       const std::vector<std::string>& extensions) {
  std::vector<std::string> args{"req", "-x509", "-nodes", "-days", "2", "-subj", "/CN=" + who};
  args.insert(args.end(), {"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"});
  args.insert(args.end(), {"-keyout", ctx.path(who + ".key"), "-out", ctx.path(who + ".crt")});
  if (who != "ca") {
    args.insert(args.end(), {"-CA", ctx.path("ca.crt"), "-CAkey", ctx.path("ca.key")});
  }
  for (const auto& e : extensions) args.insert(args.end(), {"-addext", e});
  return openssl(args);
}

Status makeCredentials(const LabContext& ctx) {
  VL_TRY(makeCertificate(ctx, "ca",
                         {"basicConstraints=critical,CA:TRUE", "keyUsage=critical,keyCertSign"}));
  VL_TRY(makeCertificate(ctx, "server",
                         {"basicConstraints=critical,CA:FALSE",
                          "keyUsage=critical,digitalSignature", "extendedKeyUsage=serverAuth"}));
  VL_TRY(makeCertificate(ctx, kClientName,
                         {"basicConstraints=critical,CA:FALSE",
                          "keyUsage=critical,digitalSignature", "extendedKeyUsage=clientAuth"}));
  return core::runChecked({"openvpn", "--genkey", "tls-crypt", ctx.path("tc.key")});
}

// Kills the process whose pid FILE names (if it still is openvpn) and waits until it is gone.
void killByPidFile(const LabContext& ctx, const std::string& file, int sig) {
  std::ifstream f(ctx.path(file));
  pid_t pid = 0;
  if (!(f >> pid) || pid <= 0 || !core::processMatches(pid, "openvpn")) return;
  ::kill(pid, sig);
  for (int i = 0; i < 200; ++i) {
    if (::waitpid(pid, nullptr, WNOHANG) == pid) return;  // our child (`lab run`), reaped
    if (::kill(pid, 0) != 0) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

core::Result<pid_t> launchClient(const LabPlan& plan, const LabContext& ctx,
                                 const std::string& config) {
  return ctx.daemon(plan.netns("client"), "openvpn-client",
                    {"openvpn", "--config", ctx.path(config)});
}

// True once a ping through the tunnel passes, false after TIMEOUT or as soon as the client has
// exited (polled in short slices, so that a bad config or certificate fails fast).
bool awaitTunnel(const LabPlan& plan, const LabContext& ctx, pid_t pid,
                 std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  bool up = false;
  while (!up && alive(pid) && std::chrono::steady_clock::now() < deadline) {
    up = waitForTunnel(plan, ctx, std::chrono::milliseconds(200));
  }
  return up;
}

class OpenVpnDriver final : public VpnDriver {
 public:
  std::string kind() const override { return "openvpn"; }

  Status up(const LabPlan& plan, const LabContext& ctx) override {
    VL_TRY(makeCredentials(ctx));
    std::error_code ec;
    std::filesystem::create_directories(ctx.path("ccd"), ec);
    VL_TRY(ctx.writeFile("ccd/" + std::string(kClientName), openVpnClientCcd(plan)));
    VL_TRY(ctx.writeFile("server.conf", openVpnServerConfig(plan, ctx.dir())));
    VL_TRY(ctx.writeFile(kClientConfig, openVpnClientConfig(plan, ctx.dir())));
    VL_TRY(startServer(plan, ctx));
    VL_TRY(startOpenVpnClient(plan, ctx, std::chrono::seconds(15)));
    log::info("openvpn tunnel up", {{"client", plan.tunnel.client_iface},
                                    {"endpoint", plan.tunnel.endpoint.toString()}});
    return {};
  }

  // SIGKILL, as a crash: the tun and its routes vanish with the process, while the host route to
  // the server stays (only a clean exit would remove it).
  Status downClient(const LabPlan& plan, const LabContext& ctx) override {
    killByPidFile(ctx, kClientPidFile, SIGKILL);
    const auto ns = plan.netns("client");
    if (!waitUntil([&] { return !linkExists(ns, plan.tunnel.client_iface); },
                   std::chrono::seconds(2))) {
      return core::makeError(Errc::kTimeout, plan.tunnel.client_iface + " is still there in " + ns +
                                                 " after the OpenVPN client was killed");
    }
    return {};
  }

  // Everything lives in the namespaces (tun devices) and the state directory, which `lab down`
  // removes; nothing to do outside them.
  void cleanup(const LabPlan& /*plan*/) override {}

  core::Json describe() const override { return {{"kind", "openvpn"}, {"impl", "openvpn"}}; }

 private:
  static Status startServer(const LabPlan& plan, const LabContext& ctx) {
    const auto ns = plan.netns("vpn");
    VL_TRY_ASSIGN(const pid_t pid, ctx.daemon(ns, "openvpn-server",
                                              {"openvpn", "--config", ctx.path("server.conf")}));
    // Ready once its tun carries the server's address (the VPN's resolver binds to it next).
    const auto addr = plan.tunnel.server_v4.address.toString();
    auto ready = [&] {
      auto r = core::run(
          {"ip", "-n", ns, "-4", "-o", "address", "show", "dev", plan.tunnel.server_iface});
      return r && r->ok() && r->out.find(" " + addr + "/") != std::string::npos;
    };
    waitUntil([&] { return ready() || !alive(pid); }, std::chrono::seconds(10));
    if (!ready()) {
      return core::makeError(Errc::kEnvironment,
                             "the OpenVPN server did not bring up " + plan.tunnel.server_iface +
                                 " within 10 s: " + logTail(ctx, "openvpn-server"));
    }
    return {};
  }
};

}  // namespace

std::string openVpnServerConfig(const LabPlan& plan, const std::string& dir) {
  const auto& t = plan.tunnel;
  std::string c = "# vpnleak lab: OpenVPN server\n";
  c += "dev " + t.server_iface + "\ndev-type tun\ndisable-dco\nproto udp\n";
  c +=
      "local " + t.endpoint.address.toString() + "\nport " + std::to_string(t.endpoint.port) + "\n";
  c += "topology subnet\n";
  // The one client gets its fixed addresses from its ccd file, not from the pools.
  c += "server " + t.server_v4.address.masked(t.server_v4.prefix_len).toString() + " " +
       netmask(t.server_v4.prefix_len) + "\n";
  if (t.server_v6) {
    c += "server-ipv6 " + t.server_v6->address.masked(t.server_v6->prefix_len).toString() + "/" +
         std::to_string(t.server_v6->prefix_len) + "\n";
  }
  c += "client-config-dir " + dir + "/ccd\nccd-exclusive\n";
  c += keyFiles(dir, "server") + "dh none\n";
  c += "keepalive 10 60\ntun-mtu " + std::to_string(t.mtu) + "\n";
  c += std::string("push \"redirect-gateway def1") + (t.server_v6 ? " ipv6" : "") + "\"\n";
  c += "push \"dhcp-option DNS " + plan.vpn_resolver_v4.toString() + "\"\n";
  c += "verb 3\nwritepid " + dir + "/openvpn-server.pid\n";
  return c;
}

std::string openVpnClientConfig(const LabPlan& plan, const std::string& dir,
                                const std::string& remote_host) {
  const auto& t = plan.tunnel;
  std::string c = "# vpnleak lab: OpenVPN client\n";
  c += "client\ndev " + t.client_iface + "\ndev-type tun\ndisable-dco\nproto udp\n";
  c += "remote " + (remote_host.empty() ? t.endpoint.address.toString() : remote_host) + " " +
       std::to_string(t.endpoint.port) + "\n";
  c += "nobind\nremote-cert-tls server\ntun-mtu " + std::to_string(t.mtu) + "\n";
  c += keyFiles(dir, kClientName);
  c += "verb 3\nwritepid " + dir + "/" + kClientPidFile + "\n";
  return c;
}

std::string openVpnClientCcd(const LabPlan& plan) {
  const auto& t = plan.tunnel;
  std::string c = "ifconfig-push " + t.client_v4.address.toString() + " " +
                  netmask(t.client_v4.prefix_len) + "\n";
  if (t.client_v6) {
    c += "ifconfig-ipv6-push " + t.client_v6->cidr() + " " + t.server_v6->address.toString() + "\n";
  }
  return c;
}

std::vector<core::Prefix> openVpnRedirectPrefixes(const LabPlan& plan) {
  std::vector<const char*> texts{"0.0.0.0/1", "128.0.0.0/1"};
  // OpenVPN 2.6's "redirect-gateway ipv6": ::/3, 2000::/3 and fc00::/7 rather than ::/0, so
  // 4000::/2 and the rest of 8000::/1 (link-local, multicast) stay outside.
  if (plan.tunnel.client_v6) {
    texts.insert(texts.end(), {"::/3", "2000::/4", "3000::/4", "fc00::/7"});
  }
  std::vector<core::Prefix> out;
  out.reserve(texts.size());
  for (const char* p : texts) out.push_back(core::Prefix::parse(p).value());
  return out;
}

Status startOpenVpnClient(const LabPlan& plan, const LabContext& ctx,
                          std::chrono::milliseconds timeout) {
  VL_TRY_ASSIGN(const pid_t pid, launchClient(plan, ctx, kClientConfig));
  if (!awaitTunnel(plan, ctx, pid, timeout)) {
    return core::makeError(Errc::kEnvironment,
                           "the OpenVPN tunnel passes no traffic: ping " +
                               plan.tunnel.server_v4.address.toString() + " from " +
                               plan.netns("client") +
                               " failed; client log: " + logTail(ctx, "openvpn-client"));
  }
  return {};
}

core::Result<bool> restartOpenVpnClient(const LabPlan& plan, const LabContext& ctx,
                                        const std::string& remote_host,
                                        std::chrono::milliseconds wait) {
  killByPidFile(ctx, kClientPidFile, SIGTERM);
  std::string config = kClientConfig;
  if (!remote_host.empty()) {
    config = kRemoteConfig;
    VL_TRY(ctx.writeFile(config, openVpnClientConfig(plan, ctx.dir(), remote_host)));
  }
  VL_TRY_ASSIGN(const pid_t pid, launchClient(plan, ctx, config));
  const bool up = awaitTunnel(plan, ctx, pid, wait);
  if (!up && !alive(pid)) {
    return core::makeError(Errc::kEnvironment,
                           "the OpenVPN client with remote " +
                               (remote_host.empty() ? "(configured)" : remote_host) +
                               " exited: " + logTail(ctx, "openvpn-client"));
  }
  log::info(
      "openvpn client restarted",
      {{"remote", remote_host.empty() ? plan.tunnel.endpoint.address.toString() : remote_host},
       {"tunnel_up", up ? "yes" : "no"}});
  return up;
}

Status restoreOpenVpnRoutes(const LabPlan& plan, const LabContext& ctx) {
  const auto& t = plan.tunnel;
  const auto ns = plan.netns("client");
  // As OpenVPN sets them: IPv4 via the server's tunnel address, IPv6 on the device.
  for (const auto& p : openVpnRedirectPrefixes(plan)) {
    std::vector<std::string> args{"route", "replace", p.toString(), "dev", t.client_iface};
    if (p.family() == core::Family::kV4) {
      args.insert(args.end(), {"via", t.server_v4.address.toString()});
    }
    VL_TRY(ctx.ip(ns, args));
  }
  return {};
}

std::unique_ptr<VpnDriver> makeOpenVpnDriver() { return std::make_unique<OpenVpnDriver>(); }

}  // namespace vpnleak::lab
