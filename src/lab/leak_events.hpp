// What `vpnleak monitor --json` reports during a `lab run` scenario, as values: its leak events
// sorted into a few leak classes, its summary, and the per-fault arithmetic over them. Pure.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "lab/measure.hpp"

namespace vpnleak::lab {

// The leak classes of the report. The first that matches an event decides:
//   dns                 a DNS query (port 53) outside the tunnel; the event carries the qname
//   stun                a STUN message: WebRTC gathering addresses outside the tunnel
//   tunnel-misdirected  tunnel framing to an address:port that is no endpoint, or plaintext to
//                       the endpoint (monitor reasons wireguard-elsewhere, openvpn-elsewhere,
//                       endpoint-not-tunnel)
//   ipv6, ipv4          any other IP packet, by family (TLS/HTTP keep their SNI/Host as evidence)
//   other               ARP, mDNS/LLMNR, fragments and unreadable IP headers
enum class LeakClass { kDns, kStun, kTunnelMisdirected, kIpv6, kIpv4, kOther };
inline constexpr std::array<LeakClass, 6> kLeakClasses{
    LeakClass::kDns,  LeakClass::kStun, LeakClass::kTunnelMisdirected,
    LeakClass::kIpv6, LeakClass::kIpv4, LeakClass::kOther};

// "dns", "stun", "tunnel-misdirected", "ipv6", "ipv4", "other".
std::string_view leakClassName(LeakClass c);

// One "leak" line of the monitor's NDJSON.
struct LeakEvent {
  double ts = 0;         // seconds since the epoch (the kernel's capture time)
  std::string time;      // as the monitor wrote it (RFC 3339 UTC)
  std::string reason;    // the monitor's reason: dns, stun, ipv4, ...
  std::string family;    // ipv4, ipv6, or empty (ARP)
  std::string proto;     // udp, tcp, icmp, icmpv6, arp, ip-N; empty when unreadable
  std::string src, dst;  // empty when unreadable
  std::optional<std::uint16_t> sport, dport;
  std::string name;  // dns_qname, sni or http_host when the monitor extracted one
  LeakClass cls = LeakClass::kOther;
};

LeakClass classify(std::string_view reason, std::string_view family);

// "dns udp 192.168.77.2:40000 > 192.168.77.1:53 lab-run.leak.test (2026-...Z)": evidence.
std::string evidenceLine(const LeakEvent& e);

// "2026-11-27T17:35:31.965841Z" → epoch seconds; kMalformed for anything else.
core::Result<double> parseUtcTime(std::string_view text);

struct MonitorSummary {
  std::uint64_t packets = 0, tunnel = 0, allowed = 0, leaks = 0;
  std::uint64_t kernel_drops = 0, if_drops = 0;
};

struct MonitorOutput {
  bool started = false;  // the "start" line: the capture was open
  std::vector<LeakEvent> leaks;
  std::optional<MonitorSummary> summary;  // absent when the monitor did not end cleanly
  std::string error;                      // a line that is not JSON (the monitor's stderr)
};

// Reads the NDJSON (and any stderr lines mixed into the same log). kMalformed when a line that
// looks like JSON cannot be parsed or a leak line lacks its time.
core::Result<MonitorOutput> parseMonitorOutput(std::string_view text);

// The leaks of one scenario × guard mode, cut into runs at the fault times: run i holds the
// events in [faults[i], faults[i+1]) (the last run: to the end); events before the first fault
// are left out, as are events outside `only` when it is set (they are kept in `ignored`).
struct ClassifiedRuns {
  std::vector<RunMeasure> runs;
  std::array<std::uint64_t, kLeakClasses.size()> by_class{};
  std::array<std::uint64_t, kLeakClasses.size()> ignored{};
  std::uint64_t before_first_fault = 0;
  std::vector<LeakEvent> counted;  // in time order
};
ClassifiedRuns classifyRuns(std::vector<LeakEvent> events, const std::vector<double>& faults,
                            std::optional<LeakClass> only);

}  // namespace vpnleak::lab
