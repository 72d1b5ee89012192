// What was applied, remembered per network namespace so that `guard status` and `guard down` in
// another process know the intended config, the expected listing and the running watcher.
// /run is shared by all namespaces (`ip netns exec` does not remount it), so the file is named
// after the namespace's inode: /run/vpnleak/guard/net-INODE.json.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include "core/result.hpp"
#include "core/unique_fd.hpp"
#include "guard/config.hpp"

namespace vpnleak::guard {

struct GuardState {
  GuardConfig config;
  std::string listing;    // `list table inet vpnleak` (stateless) right after applying
  double applied_at = 0;  // Unix time, seconds
  pid_t watch_pid = 0;    // the `guard watch` holding this namespace, or 0
};

// The state file of the calling thread's network namespace.
std::string statePath();

core::Status writeState(const GuardState& s);
// kNotFound when nothing was applied here (or the file was removed by `guard down`).
core::Result<GuardState> readState();
void removeState();

// Serialises reading the recorded intent and applying rules across processes (`guard up`, the
// watcher's restores, adoptions and endpoint updates): an exclusive flock on the state directory,
// held until destruction. Without it a watcher finishing a restore could record its old config
// over the intent a `guard up` had just recorded, and then undo that `guard up`.
class StateLock {
 public:
  static core::Result<StateLock> acquire();

 private:
  explicit StateLock(core::UniqueFd fd) : fd_(std::move(fd)) {}
  core::UniqueFd fd_;
};

}  // namespace vpnleak::guard
