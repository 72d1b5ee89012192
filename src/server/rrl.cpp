#include "server/rrl.hpp"

#include <algorithm>
#include <bit>

namespace vpnleak::server {

namespace {

std::uint64_t prefixHash(const core::IpAddress& a) {
  // FNV-1a over the family and the network part of the address.
  const auto masked = a.masked(a.isV4() ? 24 : 56);
  std::uint64_t h = 1469598103934665603ULL ^ static_cast<std::uint64_t>(a.family());
  for (const std::uint8_t b : masked.bytes()) h = (h ^ b) * 1099511628211ULL;
  return h;
}

}  // namespace

RateLimiter::RateLimiter(unsigned rate, unsigned slip, std::size_t slots)
    : rate_(rate),
      slip_(slip),
      table_(rate == 0 ? 0 : std::bit_ceil(std::max<std::size_t>(slots, 1))) {}

RateLimiter::Verdict RateLimiter::check(const core::IpAddress& source, std::int64_t now_ns) {
  if (rate_ == 0) return Verdict::kSend;
  auto& b = table_[prefixHash(source) & (table_.size() - 1)];
  const std::int64_t cap = static_cast<std::int64_t>(rate_) * 1000;
  if (b.updated_ns == 0) {
    b.tokens_milli = cap;
    b.updated_ns = now_ns;
  } else {
    // rate/s is rate/1000 thousandths per microsecond. The clock only advances when whole
    // thousandths were added, so frequent calls do not round the refill away.
    const std::int64_t elapsed_us = std::max<std::int64_t>(0, (now_ns - b.updated_ns) / 1000);
    const std::int64_t added = elapsed_us * static_cast<std::int64_t>(rate_) / 1000;
    if (added > 0) {
      b.tokens_milli = std::min(cap, b.tokens_milli + added);
      b.updated_ns = now_ns;
    }
  }
  if (b.tokens_milli >= 1000) {
    b.tokens_milli -= 1000;
    return Verdict::kSend;
  }
  ++b.withheld;
  if (slip_ != 0 && b.withheld % slip_ == 0) return Verdict::kSlip;
  return Verdict::kDrop;
}

}  // namespace vpnleak::server
