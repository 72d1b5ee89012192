// The authoritative DNS logic, free of I/O: one query datagram or TCP message in, one response
// out, plus the observation to record when the name carries a test token.
//   apex SOA/NS; A/AAAA from the configured answers for every name in the zone; TXT = the
//   asking resolver's address (and its EDNS client subnet); REFUSED outside the zone; never
//   recursive (RA is never set); EDNS(0) echoed with client subnet scope 0; BADVERS for EDNS
//   versions other than 0; TC over UDP when the answer does not fit.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/ip.hpp"
#include "server/metrics.hpp"
#include "server/store.hpp"
#include "wire/bytes.hpp"
#include "wire/dns.hpp"

namespace vpnleak::server {

struct ZoneConfig {
  std::string zone;  // lowercase, no trailing dot
  std::optional<core::IpAddress> answer_v4;
  std::optional<core::IpAddress> answer_v6;
  std::uint32_t serial = 1;
  std::string node;  // recorded with each observation
};

struct DnsOutcome {
  std::size_t size = 0;          // bytes of response in out; 0 = send nothing
  std::size_t question_end = 0;  // where a truncated copy of the response may end
  std::optional<Observation> observation;
  bool observed = false;  // respond with record_into: the observation was written there
};

class DnsResponder {
 public:
  DnsResponder(ZoneConfig cfg, Metrics& metrics);

  // With record_into, the observation (if any) overwrites *record_into, reusing the capacity
  // of its strings, and outcome.observed says so; without, it is outcome.observation. With
  // counts, the query and its rcode are counted there (the caller flushes them into the
  // metrics); without, in the metrics at once.
  DnsOutcome respond(wire::Bytes query, const core::Endpoint& client, Transport transport,
                     wire::MutableBytes out, std::int64_t now_ms,
                     Observation* record_into = nullptr, DnsCounts* counts = nullptr) const;

  // Cuts a response down to header and question with TC set (rate-limit "slip"); returns the
  // new size.
  static std::size_t truncate(wire::MutableBytes response, std::size_t question_end);

  [[nodiscard]] const ZoneConfig& config() const { return cfg_; }

 private:
  // Adds the answer (and glue) for a name in the zone; false when it does not fit.
  bool answer(wire::dns::Builder& b, const std::string& name, std::uint16_t qtype,
              const core::Endpoint& client,
              const std::optional<wire::dns::ClientSubnet>& ecs) const;
  [[nodiscard]] wire::dns::Soa soa() const;
  std::size_t refuseMalformed(const wire::dns::Header& header, const wire::dns::Message* msg,
                              Transport transport, wire::MutableBytes out, DnsCounts* counts) const;
  // Writes the observation of q into o when its name carries a token; false otherwise.
  bool observe(const wire::dns::Question& q, const core::Endpoint& client, Transport transport,
               const std::optional<wire::dns::Edns>& edns, std::int64_t now_ms,
               Observation& o) const;

  ZoneConfig cfg_;
  std::string ns_name_;
  std::string hostmaster_;
  std::string_view node_;  // interned: observations refer to it
  Metrics& metrics_;
};

}  // namespace vpnleak::server
