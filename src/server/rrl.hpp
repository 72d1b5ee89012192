// Response rate limiting for UDP DNS (the reflection defence of BIND/NSD/Knot, simplified):
// a token bucket per client prefix (/24 for IPv4, /56 for IPv6) in a fixed-size table, so
// memory does not grow with the number of sources. Prefixes that hash to the same slot share a
// bucket: a collision can only make limiting stricter, never let a spoofer reset a victim's
// bucket. Over the limit, every `slip`-th response goes out truncated (TC) so that a real
// resolver retries over TCP, which cannot be spoofed; the rest are dropped.
#pragma once

#include <cstdint>
#include <vector>

#include "core/ip.hpp"

namespace vpnleak::server {

class RateLimiter {
 public:
  enum class Verdict { kSend, kSlip, kDrop };

  // rate responses/s per prefix (0 disables), a burst of as many, slip 0 = never.
  RateLimiter(unsigned rate, unsigned slip = 2, std::size_t slots = 16384);

  Verdict check(const core::IpAddress& source, std::int64_t now_ns);
  [[nodiscard]] bool enabled() const { return rate_ != 0; }

 private:
  struct Bucket {
    std::int64_t updated_ns = 0;
    std::int64_t tokens_milli = 0;  // thousandths of a response
    std::uint32_t withheld = 0;
  };

  unsigned rate_;
  unsigned slip_;
  std::vector<Bucket> table_;
};

}  // namespace vpnleak::server
