#include "lab/vpn_driver.hpp"

namespace vpnleak::lab {

std::unique_ptr<VpnDriver> makeVpnDriver(const LabOptions& opts) {
  if (opts.vpn == VpnKind::kOpenVpn) return makeOpenVpnDriver();
  return makeWireGuardDriver(opts.wg);
}

bool waitForTunnel(const LabPlan& plan, const LabContext& ctx, std::chrono::milliseconds limit) {
  const auto ns = plan.netns("client");
  const auto target = plan.tunnel.server_v4.address.toString();
  return waitUntil(
      [&] {
        auto r = ctx.run(ns, {"ping", "-c", "1", "-W", "1", "-n", "-q", target});
        return r && r->ok();
      },
      limit);
}

}  // namespace vpnleak::lab
