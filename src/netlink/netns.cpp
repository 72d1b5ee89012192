#include "netlink/netns.hpp"

#include <fcntl.h>
#include <sched.h>

#include "core/check.hpp"

namespace vpnleak::netlink {

using core::Errc;

core::Result<core::UniqueFd> openNetns(const std::string& name) {
  if (name.empty() || name.find('/') != std::string::npos) {
    return core::makeError(Errc::kInvalidArgument, "invalid namespace name '" + name + "'");
  }
  const std::string path = "/run/netns/" + name;
  core::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    if (errno == ENOENT) {
      return core::makeError(Errc::kNotFound, "network namespace '" + name + "' does not exist");
    }
    return core::sysError("open " + path);
  }
  return fd;
}

core::Result<NetnsGuard> NetnsGuard::enter(const std::string& name) {
  core::UniqueFd original(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
  if (!original.valid()) return core::sysError("open /proc/thread-self/ns/net");
  auto target = openNetns(name);
  if (!target) return target.error();
  if (::setns(target->get(), CLONE_NEWNET) != 0) return core::sysError("setns " + name);
  return NetnsGuard(std::move(original));
}

NetnsGuard::~NetnsGuard() {
  // Failing to return would leave this thread in the wrong namespace: a bug, not an error.
  if (original_.valid()) VL_CHECK(::setns(original_.get(), CLONE_NEWNET) == 0);
}

}  // namespace vpnleak::netlink
