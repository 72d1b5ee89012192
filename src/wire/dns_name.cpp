// DNS names: reading (with compression), encoding, comparison.
#include <cctype>

#include "wire/dns.hpp"

namespace vpnleak::wire::dns {

using core::Result;
using core::Status;

namespace {

core::Error malformed(std::string what, std::size_t at) {
  return core::makeError(core::Errc::kMalformed,
                         "dns: " + what + " at offset " + std::to_string(at));
}

// Printable bytes are appended in runs (a name is read for every DNS packet the monitor reports).
void appendEscaped(std::string& out, Bytes label) {
  std::size_t run = 0;
  for (std::size_t i = 0; i < label.size(); ++i) {
    const std::uint8_t c = label[i];
    if (c >= 0x21 && c <= 0x7e && c != '.' && c != '\\') continue;
    out.append(reinterpret_cast<const char*>(label.data()) + run, i - run);
    run = i + 1;
    out += '\\';
    if (c == '.' || c == '\\') {
      out += static_cast<char>(c);
    } else {
      out += static_cast<char>('0' + c / 100);
      out += static_cast<char>('0' + (c / 10) % 10);
      out += static_cast<char>('0' + c % 10);
    }
  }
  out.append(reinterpret_cast<const char*>(label.data()) + run, label.size() - run);
}

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

}  // namespace

Result<NameRead> readName(Bytes packet, std::size_t offset) {
  NameRead r;
  VL_TRY_ASSIGN(r.next, readNameInto(packet, offset, r.name));
  return r;
}

Result<std::size_t> readNameInto(Bytes packet, std::size_t offset, std::string& name) {
  name.clear();
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
      if (!jumped) next = pos + 1;
      return next;
    }
    if (pos + 1 + len > packet.size()) return malformed("label runs past the end", pos);
    wire_len += 1U + len;
    if (wire_len > kMaxNameWire) return malformed("name longer than 255 octets", offset);
    if (!name.empty()) name += '.';
    appendEscaped(name, packet.subspan(pos + 1, len));
    pos += 1U + len;
  }
}

Result<std::vector<std::uint8_t>> encodeName(std::string_view name) {
  auto bad = [&](const std::string& why) {
    return core::makeError(core::Errc::kInvalidArgument,
                           "invalid DNS name '" + std::string(name) + "': " + why);
  };
  std::vector<std::uint8_t> wire;
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  std::size_t label_at = 0;
  wire.push_back(0);
  for (std::size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    std::uint8_t byte = 0;
    if (c == '.') {
      const std::size_t len = wire.size() - label_at - 1;
      if (len == 0) return bad("empty label");
      wire[label_at] = static_cast<std::uint8_t>(len);
      label_at = wire.size();
      wire.push_back(0);
      continue;
    }
    if (c == '\\') {
      if (i + 1 >= name.size()) return bad("dangling escape");
      const auto d = [&](std::size_t k) {
        return k < name.size() && std::isdigit(static_cast<unsigned char>(name[k])) != 0;
      };
      if (d(i + 1) && d(i + 2) && d(i + 3)) {
        const int v = (name[i + 1] - '0') * 100 + (name[i + 2] - '0') * 10 + (name[i + 3] - '0');
        if (v > 255) return bad("escape above \\255");
        byte = static_cast<std::uint8_t>(v);
        i += 3;
      } else {
        byte = static_cast<std::uint8_t>(name[++i]);
      }
    } else {
      byte = static_cast<std::uint8_t>(c);
    }
    wire.push_back(byte);
    if (wire.size() - label_at - 1 > kMaxLabel) return bad("label longer than 63 octets");
  }
  const std::size_t last = wire.size() - label_at - 1;
  if (last == 0 && !name.empty()) return bad("empty label");
  if (name.empty()) return std::vector<std::uint8_t>{0};
  wire[label_at] = static_cast<std::uint8_t>(last);
  wire.push_back(0);
  if (wire.size() > kMaxNameWire) return bad("longer than 255 octets");
  return wire;
}

bool nameEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
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
