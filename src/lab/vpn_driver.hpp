// A VPN as the lab sees it: something that builds a tunnel between the client and vpn nodes
// and configures the client's routing the way the real client software does.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "core/json.hpp"
#include "core/result.hpp"
#include "lab/context.hpp"
#include "lab/plan.hpp"

namespace vpnleak::lab {

class VpnDriver {
 public:
  VpnDriver() = default;
  VpnDriver(const VpnDriver&) = delete;
  VpnDriver& operator=(const VpnDriver&) = delete;
  VpnDriver(VpnDriver&&) = delete;
  VpnDriver& operator=(VpnDriver&&) = delete;
  virtual ~VpnDriver() = default;
  [[nodiscard]] virtual std::string kind() const = 0;
  // Server side first, then the client with its routes and policy rules; returns once the tunnel
  // passes traffic.
  virtual core::Status up(const LabPlan& plan, const LabContext& ctx) = 0;
  // Removes the client's tunnel (the classic "tunnel dropped" fault); routes go with it.
  virtual core::Status downClient(const LabPlan& plan, const LabContext& ctx) = 0;
  // Removes files and sockets the driver keeps outside the namespaces; idempotent.
  virtual void cleanup(const LabPlan& plan) = 0;
  [[nodiscard]] virtual core::Json describe() const = 0;
};

std::unique_ptr<VpnDriver> makeWireGuardDriver(WgImpl impl);
std::unique_ptr<VpnDriver> makeOpenVpnDriver();
// The driver for plan.options.vpn (and --wg).
std::unique_ptr<VpnDriver> makeVpnDriver(const LabOptions& opts);

// True once a ping from the client to the server's tunnel address passes, false after limit.
bool waitForTunnel(const LabPlan& plan, const LabContext& ctx, std::chrono::milliseconds limit);

}  // namespace vpnleak::lab
