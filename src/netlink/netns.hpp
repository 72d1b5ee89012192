// Named network namespaces (/run/netns/NAME, as `ip netns` makes them).
#pragma once

#include <string>

#include "core/result.hpp"
#include "core/unique_fd.hpp"

namespace vpnleak::netlink {

core::Result<core::UniqueFd> openNetns(const std::string& name);

// Moves the calling thread into a namespace and back on destruction. Sockets created meanwhile
// stay in the namespace they were created in, after the thread returns.
class NetnsGuard {
 public:
  static core::Result<NetnsGuard> enter(const std::string& name);
  NetnsGuard(NetnsGuard&&) noexcept = default;
  NetnsGuard& operator=(NetnsGuard&&) = delete;
  NetnsGuard(const NetnsGuard&) = delete;
  NetnsGuard& operator=(const NetnsGuard&) = delete;
  ~NetnsGuard();

 private:
  explicit NetnsGuard(core::UniqueFd original) : original_(std::move(original)) {}
  core::UniqueFd original_;
};

}  // namespace vpnleak::netlink
