// `vpnleak monitor` on the client's LAN interface for the length of one scenario × guard mode:
// a child process of this binary in the client's namespace, capturing what the client sends,
// with the lab's VPN endpoint as the tunnel and DHCP, NDP, ARP, MLD and IGMP allowed. Its NDJSON
// goes to a log in the lab's state directory; stop() ends it with SIGINT so that it writes its
// summary.
#pragma once

#include <sys/types.h>

#include <string>

#include "core/ip.hpp"
#include "core/result.hpp"
#include "lab/leak_events.hpp"
#include "lab/plan.hpp"

namespace vpnleak::lab {

class LanMonitor {
 public:
  // SELF: the vpnleak binary. NAME: the log's name in the state directory (NAME.log). PCAP:
  // where the monitor also saves the leaked frames (--write); empty: nowhere.
  LanMonitor(std::string self, const LabPlan& plan, std::string name, std::string pcap = {});
  ~LanMonitor();
  LanMonitor(const LanMonitor&) = delete;
  LanMonitor& operator=(const LanMonitor&) = delete;
  LanMonitor(LanMonitor&&) = delete;
  LanMonitor& operator=(LanMonitor&&) = delete;

  // The monitor's argv (without the `ip netns exec` in front).
  [[nodiscard]] std::vector<std::string> argv() const;
  // Returns once the monitor has opened its capture (its "start" line; at most 10 s).
  core::Status start();
  // SIGINT, waits for the summary (at most 5 s), and reads the log. An error when the monitor
  // did not start, failed, or ended without its summary.
  core::Result<MonitorOutput> stop();

 private:
  [[nodiscard]] std::string log() const;
  std::string self_, ns_, iface_, state_dir_, name_, pcap_;
  core::Endpoint endpoint_;
  pid_t pid_ = -1;
};

}  // namespace vpnleak::lab
