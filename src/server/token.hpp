// Test tokens: 128 bits from the kernel's CSPRNG, as 32 lowercase hex digits, and where they
// appear in DNS names (<anything>.<token>.<zone>).
#pragma once

#include <string>
#include <string_view>

#include "core/result.hpp"

namespace vpnleak::server {

inline constexpr std::size_t kTokenLength = 32;

// A fresh token from getrandom(2). Fails only when the kernel's entropy source does.
core::Result<std::string> newToken();

// `count` random lowercase hex digits (for per-name labels that defeat resolver caches).
core::Result<std::string> randomHex(std::size_t count);

// True for exactly 32 lowercase hex digits.
bool isToken(std::string_view text);

// The token in a query name under zone: the label just left of the zone, lowercased, when it is
// a token; empty otherwise. "a.b.0123...ef.leak.test" in "leak.test" -> "0123...ef".
std::string tokenFromName(std::string_view qname, std::string_view zone);
// The same into out (reusing its capacity); false, and out unspecified, when there is none.
bool tokenFromNameInto(std::string_view qname, std::string_view zone, std::string& out);

}  // namespace vpnleak::server
