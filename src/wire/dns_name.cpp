// DNS names: reading (with compression), encoding, comparison.
#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>

#include "wire/dns.hpp"

namespace vpnleak::wire::dns {

using core::Result;
using core::Status;

namespace {

core::Error malformed(std::string what, std::size_t at) {
  return core::makeError(core::Errc::kMalformed,
                         "dns: " + what + " at offset " + std::to_string(at));
}

// Bytes that stand for themselves in presentation form: printable, not '.' or '\\'.
constexpr auto kPlain = [] {
  std::array<bool, 256> t{};
  for (int c = 0x21; c <= 0x7e; ++c) t[static_cast<std::size_t>(c)] = c != '.' && c != '\\';
  return t;
}();

// A label in presentation form at out (room for 4 characters an octet); returns the end.
char* escapeLabel(Bytes label, char* out) {
  for (const std::uint8_t c : label) {
    if (kPlain[c]) {
      *out++ = static_cast<char>(c);
      continue;
    }
    *out++ = '\\';
    if (c == '.' || c == '\\') {
      *out++ = static_cast<char>(c);
    } else {
      *out++ = static_cast<char>('0' + c / 100);
      *out++ = static_cast<char>('0' + (c / 10) % 10);
      *out++ = static_cast<char>('0' + c % 10);
    }
  }
  return out;
}

constexpr std::size_t kNameReserve = 64;
// The longest presentation form: at most 254 octets of labels and lengths, each octet \DDD.
constexpr std::size_t kMaxNameText = 4 * kMaxNameWire;

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

}  // namespace

Result<NameRead> readName(Bytes packet, std::size_t offset) {
  NameRead r;
  VL_TRY_ASSIGN(r.next, readNameInto(packet, offset, r.name));
  return r;
}

Result<std::size_t> readNameInto(Bytes packet, std::size_t offset, std::string& name) {
  name.clear();
  // The text is gathered here and copied into name once (a name is read for every DNS packet
  // the server answers and the monitor reports), not appended label by label.
  std::array<char, kMaxNameText> text;  // NOLINT(cppcoreguidelines-pro-type-member-init)
  char* end = text.data();
  std::size_t next = 0;
  std::size_t pos = offset;
  std::size_t lowest = offset;  // pointers must go strictly below this: guarantees termination
  std::size_t wire_len = 1;     // the root label
  bool jumped = false;
  while (true) {
    if (pos >= packet.size()) return malformed("name runs past the end", pos);
    const std::uint8_t len = packet[pos];
    if ((len & 0xc0) == 0xc0) {
      if (pos + 1 >= packet.size()) return malformed("truncated compression pointer", pos);
      const std::size_t target = static_cast<std::size_t>(((len & 0x3f) << 8) | packet[pos + 1]);
      if (target >= lowest) return malformed("forward or looping compression pointer", pos);
      if (!jumped) next = pos + 2;
      jumped = true;
      lowest = target;
      pos = target;
      continue;
    }
    if ((len & 0xc0) != 0) return malformed("unsupported label type", pos);
    if (len == 0) {
      const auto size = static_cast<std::size_t>(end - text.data());
      // One allocation for a usual name (a test token's is ~45 characters), then reused.
      if (size > name.capacity()) name.reserve(std::max(size, kNameReserve));
      name.assign(text.data(), size);
      if (!jumped) next = pos + 1;
      return next;
    }
    if (pos + 1 + len > packet.size()) return malformed("label runs past the end", pos);
    wire_len += 1U + len;
    if (wire_len > kMaxNameWire) return malformed("name longer than 255 octets", offset);
    if (end != text.data()) *end++ = '.';
    end = escapeLabel(packet.subspan(pos + 1, len), end);
    pos += 1U + len;
  }
}

namespace {

// A final '.' that ends the name (the root), not an escaped one (`a\.` is the label "a."):
// an even number of backslashes stands before it.
bool endsWithRootDot(std::string_view name) {
  if (name.empty() || name.back() != '.') return false;
  std::size_t slashes = 0;
  for (std::size_t i = name.size() - 1; i > 0 && name[i - 1] == '\\'; --i) ++slashes;
  return slashes % 2 == 0;
}

// Presentation form into out (at most kMaxNameWire octets, root label included): the wire
// length, or 0 with why set. One pass, no allocation: labels are written in place and each
// length octet is patched when its label ends.
std::size_t encodeWire(std::string_view name, std::uint8_t* out, const char*& why) {
  if (endsWithRootDot(name)) name.remove_suffix(1);
  if (name.empty()) {
    out[0] = 0;
    return 1;
  }
  const auto fail = [&](const char* reason) {
    why = reason;
    return std::size_t{0};
  };
  std::size_t label_at = 0;  // the current label's length octet
  std::size_t n = 1;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    if (c == '.') {
      if (n - label_at - 1 == 0) return fail("empty label");
      out[label_at] = static_cast<std::uint8_t>(n - label_at - 1);
      label_at = n++;
      continue;
    }
    std::uint8_t byte = static_cast<std::uint8_t>(c);
    if (c == '\\') {
      if (i + 1 >= name.size()) return fail("dangling escape");
      const auto d = [&](std::size_t k) {
        return k < name.size() && std::isdigit(static_cast<unsigned char>(name[k])) != 0;
      };
      if (d(i + 1) && d(i + 2) && d(i + 3)) {
        const int v = (name[i + 1] - '0') * 100 + (name[i + 2] - '0') * 10 + (name[i + 3] - '0');
        if (v > 255) return fail("escape above \\255");
        byte = static_cast<std::uint8_t>(v);
        i += 3;
      } else {
        byte = static_cast<std::uint8_t>(name[++i]);
      }
    }
    if (n - label_at > kMaxLabel) return fail("label longer than 63 octets");
    if (n + 2 > kMaxNameWire) return fail("longer than 255 octets");  // this octet and the root
    out[n++] = byte;
  }
  if (n - label_at - 1 == 0) return fail("empty label");
  out[label_at] = static_cast<std::uint8_t>(n - label_at - 1);
  out[n++] = 0;
  return n;
}

}  // namespace

std::size_t encodeNameInto(std::string_view name, std::span<std::uint8_t, kMaxNameWire> out) {
  const char* why = nullptr;
  return encodeWire(name, out.data(), why);
}

Result<std::vector<std::uint8_t>> encodeName(std::string_view name) {
  std::array<std::uint8_t, kMaxNameWire> wire;  // NOLINT: encodeWire writes what is read
  const char* why = nullptr;
  const std::size_t len = encodeWire(name, wire.data(), why);
  if (len == 0) {
    return core::makeError(core::Errc::kInvalidArgument,
                           "invalid DNS name '" + std::string(name) + "': " + why);
  }
  return std::vector<std::uint8_t>(wire.begin(), wire.begin() + static_cast<std::ptrdiff_t>(len));
}

bool nameEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  if (a == b) return true;  // the usual case, one memcmp
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

bool nameInZone(std::string_view name, std::string_view zone) {
  if (zone.empty()) return true;
  if (name.size() < zone.size()) return false;
  if (!nameEquals(name.substr(name.size() - zone.size()), zone)) return false;
  if (name.size() == zone.size()) return true;
  // The character before the zone must be a label separator, and not an escaped dot ("a\.zone").
  const std::size_t dot = name.size() - zone.size() - 1;
  if (name[dot] != '.') return false;
  std::size_t backslashes = 0;
  for (std::size_t i = dot; i > 0 && name[i - 1] == '\\'; --i) ++backslashes;
  return backslashes % 2 == 0;
}

}  // namespace vpnleak::wire::dns
