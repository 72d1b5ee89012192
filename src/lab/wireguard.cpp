// WireGuard in the lab: the kernel module where `ip link add type wireguard` works, otherwise
// wireguard-go (userspace, TUN). Client routing is wg-quick's: the tunnel socket carries fwmark
// 51820, unmarked traffic is sent to table 51820 (default dev wg), and the main table is consulted
// first with suppress_prefixlength 0 so that its specific routes still apply.
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>

#include "core/log.hpp"
#include "lab/vpn_driver.hpp"

namespace vpnleak::lab {

namespace {

using core::Errc;
using core::Status;

std::string socketPath(const std::string& iface) { return "/var/run/wireguard/" + iface + ".sock"; }

class WireGuardDriver final : public VpnDriver {
 public:
  explicit WireGuardDriver(WgImpl impl) : impl_(impl) {}

  std::string kind() const override { return "wireguard"; }

  Status up(const LabPlan& plan, const LabContext& ctx) override {
    VL_TRY(makeKeys(ctx));
    const auto& t = plan.tunnel;
    VL_TRY(createIface(plan.netns("vpn"), t.server_iface, ctx));
    VL_TRY(createIface(plan.netns("client"), t.client_iface, ctx));
    VL_TRY(configureServer(plan, ctx));
    VL_TRY(configureClient(plan, ctx));
    return waitForHandshake(plan, ctx);
  }

  Status downClient(const LabPlan& plan, const LabContext& ctx) override {
    return ctx.ip(plan.netns("client"), {"link", "del", plan.tunnel.client_iface});
  }

  void cleanup(const LabPlan& plan) override {
    for (const auto& i : {plan.tunnel.client_iface, plan.tunnel.server_iface}) {
      ::unlink(socketPath(i).c_str());
    }
  }

  core::Json describe() const override {
    return {{"kind", "wireguard"}, {"impl", used_ == WgImpl::kKernel ? "kernel" : "wireguard-go"}};
  }

 private:
  Status makeKeys(const LabContext& ctx) {
    for (const char* who : {"client", "server"}) {
      auto priv = core::run({"wg", "genkey"});
      if (!priv || !priv->ok())
        return core::makeError(Errc::kEnvironment,
                               "'wg genkey' failed: is wireguard-tools installed?");
      auto pub = core::run({"wg", "pubkey"}, core::RunOptions::withInput(priv->out));
      if (!pub || !pub->ok()) return core::makeError(Errc::kEnvironment, "'wg pubkey' failed");
      VL_TRY(ctx.writeFile(std::string(who) + ".key", priv->out));
      (std::string(who) == "client" ? client_pub_ : server_pub_) =
          pub->out.substr(0, pub->out.find('\n'));
    }
    return {};
  }

  Status createIface(const std::string& ns, const std::string& iface, const LabContext& ctx) {
    if (impl_ != WgImpl::kGo && ctx.ip(ns, {"link", "add", iface, "type", "wireguard"})) {
      used_ = WgImpl::kKernel;
      return {};
    }
    if (impl_ == WgImpl::kKernel) {
      return core::makeError(Errc::kEnvironment,
                             "--wg kernel: 'ip link add type wireguard' failed (no wireguard "
                             "module); use --wg go or --wg auto");
    }
    used_ = WgImpl::kGo;
    // -f: stay in the foreground as our child; the fork-loop variant must never be used.
    VL_TRY(ctx.daemon(ns, "wireguard-go-" + iface, {"wireguard-go", "-f", iface}));
    const bool ready = waitUntil(
        [&] {
          struct stat st {};
          return ::stat(socketPath(iface).c_str(), &st) == 0;
        },
        std::chrono::seconds(10));
    if (!ready) {
      return core::makeError(Errc::kEnvironment, "wireguard-go did not create " +
                                                     socketPath(iface) + " within 10 s; see " +
                                                     ctx.path("wireguard-go-" + iface + ".log"));
    }
    return {};
  }

  Status configureServer(const LabPlan& plan, const LabContext& ctx) {
    const auto& t = plan.tunnel;
    const auto ns = plan.netns("vpn");
    std::string allowed = t.client_v4.address.toString() + "/32";
    if (t.client_v6) allowed += "," + t.client_v6->address.toString() + "/128";
    VL_TRY(ctx.exec(
        ns, {"wg", "set", t.server_iface, "private-key", ctx.path("server.key"), "listen-port",
             std::to_string(t.endpoint.port), "peer", client_pub_, "allowed-ips", allowed}));
    VL_TRY(ctx.ip(ns, {"address", "add", t.server_v4.cidr(), "dev", t.server_iface}));
    if (t.server_v6) {
      VL_TRY(ctx.ip(ns, {"address", "add", t.server_v6->cidr(), "dev", t.server_iface, "nodad"}));
    }
    return ctx.ip(ns, {"link", "set", t.server_iface, "mtu", std::to_string(t.mtu), "up"});
  }

  Status configureClient(const LabPlan& plan, const LabContext& ctx) {
    const auto& t = plan.tunnel;
    const auto ns = plan.netns("client");
    const std::string mark = std::to_string(t.fwmark.value());
    const std::string table = std::to_string(t.table.value());
    std::string allowed = "0.0.0.0/0";
    if (t.client_v6) allowed += ",::/0";
    VL_TRY(ctx.exec(ns, {"wg", "set", t.client_iface, "private-key", ctx.path("client.key"),
                         "fwmark", mark, "peer", server_pub_, "endpoint", t.endpoint.toString(),
                         "allowed-ips", allowed, "persistent-keepalive", "25"}));
    VL_TRY(ctx.ip(ns, {"address", "add", t.client_v4.cidr(), "dev", t.client_iface}));
    if (t.client_v6) {
      VL_TRY(ctx.ip(ns, {"address", "add", t.client_v6->cidr(), "dev", t.client_iface, "nodad"}));
    }
    VL_TRY(ctx.ip(ns, {"link", "set", t.client_iface, "mtu", std::to_string(t.mtu), "up"}));
    std::vector<const char*> families{"-4"};
    if (t.client_v6) families.push_back("-6");
    for (const char* fam : families) {
      VL_TRY(ctx.ip(ns, {fam, "route", "add", "default", "dev", t.client_iface, "table", table}));
      VL_TRY(ctx.ip(ns, {fam, "rule", "add", "not", "fwmark", mark, "table", table}));
      VL_TRY(ctx.ip(ns, {fam, "rule", "add", "table", "main", "suppress_prefixlength", "0"}));
    }
    // wg-quick sets this so that replies to marked packets pass reverse-path filtering.
    return ctx.exec(ns, {"sysctl", "-qw", "net.ipv4.conf.all.src_valid_mark=1"});
  }

  Status waitForHandshake(const LabPlan& plan, const LabContext& ctx) {
    const auto ns = plan.netns("client");
    const auto target = plan.tunnel.server_v4.address.toString();
    if (!waitForTunnel(plan, ctx, std::chrono::seconds(15))) {
      return core::makeError(Errc::kEnvironment, "the WireGuard tunnel passes no traffic: ping " +
                                                     target + " from " + ns + " failed for 15 s");
    }
    log::info("wireguard tunnel up",
              {{"impl", used_ == WgImpl::kKernel ? "kernel" : "wireguard-go"},
               {"client", plan.tunnel.client_iface},
               {"endpoint", plan.tunnel.endpoint.toString()}});
    return {};
  }

  WgImpl impl_;
  WgImpl used_ = WgImpl::kGo;
  std::string client_pub_;
  std::string server_pub_;
};

}  // namespace

std::unique_ptr<VpnDriver> makeWireGuardDriver(WgImpl impl) {
  return std::make_unique<WireGuardDriver>(impl);
}

}  // namespace vpnleak::lab
