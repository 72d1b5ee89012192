// Verdicts of `vpnleak test` from what the probes observed. Pure: observations in, one result
// per check out, each with evidence and a one-line explanation of cause and fix.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/ip.hpp"
#include "core/json.hpp"
#include "probe/udp_probes.hpp"

namespace vpnleak::probe {

inline const std::vector<std::string>& checkIds() {
  static const std::vector<std::string> kIds{"ipv4", "ipv6", "dns", "webrtc", "killswitch"};
  return kIds;
}

struct FamilyProbe {
  bool attempted = false;  // false when the server has no address of this family
  std::optional<core::Endpoint> server;
  std::optional<core::IpAddress> seen;  // what the server reported as our address
  std::string error;                    // why nothing was seen
};

struct DnsSeen {
  core::IpAddress resolver;
  std::string qname;
  std::string qtype;
  std::string transport;
};

struct StunSeen {
  std::string iface;
  core::IpAddress local;
  core::Endpoint server;
  std::optional<core::Endpoint> mapped;
  std::string error;
};

struct BoundHttp {
  core::Family family = core::Family::kV4;
  std::optional<core::IpAddress> seen;
  std::string error;
};

struct Observations {
  std::string tunnel;  // interface name, "" when none was found
  std::optional<core::IpAddress> exit_v4, exit_v6;
  bool exits_pinned = false;
  FamilyProbe v4, v6;
  std::size_t names_sent = 0;
  std::size_t names_resolved = 0;
  std::vector<DnsSeen> dns;
  bool stun_available = false;
  std::vector<StunSeen> stun;
  std::string physical;  // the interface outside the tunnel, "" when unknown
  std::vector<BoundHttp> bound_http;
  std::vector<TtlAnswer> ttl_answers;
  std::vector<std::string> ttl_send_errors;
};

struct CheckResult {
  std::string id;
  std::string status;  // pass, leak, skip, error
  std::string explanation;
  core::Json evidence = core::Json::object();
};

CheckResult judgeFamily(const Observations& o, core::Family f);
CheckResult judgeDns(const Observations& o);
CheckResult judgeWebrtc(const Observations& o);
CheckResult judgeKillswitch(const Observations& o);

// The selected checks, in the order of checkIds().
std::vector<CheckResult> judgeAll(const Observations& o, const std::vector<std::string>& only);

}  // namespace vpnleak::probe
