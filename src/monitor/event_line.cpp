#include "monitor/event_line.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>

#include "core/check.hpp"
#include "core/json.hpp"
#include "monitor/events.hpp"

namespace vpnleak::monitor {

namespace {

namespace pk = wire::packet;

// Everything in a line but the source name, the DNS name, the SNI and the Host, generously: the
// keys, a timestamp, two addresses, names of ours and numbers come to about 330 bytes of JSON
// (200 of text), the fixed-size copies' scratch to less than 50 more.
constexpr std::size_t kFixedMax = 512;
constexpr std::size_t kTextFixedMax = 320;
// Source parts up to this long are copied at this fixed size.
constexpr std::size_t kShortSource = 32;

constexpr std::string_view kJsonHead = R"({"type":"leak","ts":")";
constexpr std::string_view kTextHead = "leak   ";
constexpr std::size_t kJsonHeadSize = kJsonHead.size() + kDateTimeSize + 1;
constexpr std::size_t kTextHeadSize = kTextHead.size() + kDateTimeSize + 1;

// The writers below put bytes at out and return the end; the caller has made room.
template <std::size_t N>
char* put(char* out, const char (&literal)[N]) {
  std::memcpy(out, literal, N - 1);
  return out + N - 1;
}

// Ports and lengths have up to five digits: written two at a time, to_chars beyond.
char* putNumber(char* out, std::uint32_t v) {
  if (v < 100) {
    if (v < 10) {
      *out = static_cast<char>('0' + v);
      return out + 1;
    }
    return writeDigitPair(out, v);
  }
  if (v >= 100000) return std::to_chars(out, out + 10, v).ptr;  // 4294967295: ten digits
  if (v >= 10000) {
    *out++ = static_cast<char>('0' + v / 10000);
    v %= 10000;
    out = writeDigitPair(out, v / 100);
  } else if (v >= 1000) {
    out = writeDigitPair(out, v / 100);
  } else {
    *out++ = static_cast<char>('0' + v / 100);
  }
  return writeDigitPair(out, v % 100);
}

// A text of ours at a fixed size: copied whole (N bytes), size of them kept.
template <std::size_t N>
struct Fragment {
  std::array<char, N> text{};
  std::size_t size = 0;

  static Fragment of(std::string_view s) {
    VL_CHECK(s.size() <= N);  // a longer protocol or reason name needs a larger N
    Fragment f;
    std::memcpy(f.text.data(), s.data(), s.size());
    f.size = s.size();
    return f;
  }
  char* put(char* out) const {
    std::memcpy(out, text.data(), N);
    return out + size;
  }
};

}  // namespace

// `udp","src":"` (JSON, after `"proto":"`) and `udp ` (text) for every protocol number, and the
// reason's JSON `,"reason":"dns","length":` and text `  dns`.
struct LineNames {
  std::array<Fragment<16>, 256> proto_json;  // "ip-255" and 10 bytes
  std::array<Fragment<8>, 256> proto_text;
  std::array<Fragment<48>, kReasonCount> reason_json;  // "wireguard-elsewhere" and 22 bytes
  std::array<Fragment<24>, kReasonCount> reason_text;

  static const LineNames& get() {
    static const LineNames kNames = [] {
      LineNames n;
      for (std::size_t i = 0; i < 256; ++i) {
        const std::string proto(pk::protoName(static_cast<std::uint8_t>(i)));
        n.proto_json[i] = Fragment<16>::of(proto + R"(","src":")");
        n.proto_text[i] = Fragment<8>::of(proto + " ");
      }
      for (std::size_t i = 0; i < kReasonCount; ++i) {
        const std::string reason(reasonName(static_cast<Reason>(i)));
        n.reason_json[i] = Fragment<48>::of(R"(,"reason":")" + reason + R"(","length":)");
        n.reason_text[i] = Fragment<24>::of("  " + reason);
      }
      return n;
    }();
    return kNames;
  }
};

namespace {

// Whether any of the 8 bytes in x is below 0x20, '"' or '\' (exact for the word as a whole).
bool needsEscape(std::uint64_t x) {
  constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
  constexpr std::uint64_t kHigh = 0x8080808080808080ULL;
  const auto zero = [](std::uint64_t w) { return (w - kOnes) & ~w & kHigh; };
  return (((x - 0x20 * kOnes) & ~x & kHigh) | zero(x ^ ('"' * kOnes)) | zero(x ^ ('\\' * kOnes))) !=
         0;
}

bool plainJson(std::string_view s) {
  std::size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    std::uint64_t x = 0;
    std::memcpy(&x, s.data() + i, 8);
    if (needsEscape(x)) return false;
  }
  for (; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == '"' || c == '\\') return false;
  }
  return true;
}

// One character escaped as nlohmann's dump() does it (at most 6 bytes).
char* putEscaped(char* out, unsigned char c) {
  static constexpr char kHex[] = "0123456789abcdef";
  switch (c) {
    case '"':
      return put(out, "\\\"");
    case '\\':
      return put(out, "\\\\");
    case '\b':
      return put(out, "\\b");
    case '\f':
      return put(out, "\\f");
    case '\n':
      return put(out, "\\n");
    case '\r':
      return put(out, "\\r");
    case '\t':
      return put(out, "\\t");
    default:
      out = put(out, "\\u00");
      *out++ = kHex[c >> 4];
      *out++ = kHex[c & 0x0f];
      return out;
  }
}

// The contents of a JSON string as nlohmann's dump() writes them, for text that is valid UTF-8
// already (the DNS name is printable ASCII by construction): at most 6 bytes per byte of s.
char* putJsonText(char* out, std::string_view s) {
  if (plainJson(s)) {
    std::memcpy(out, s.data(), s.size());
    return out + s.size();
  }
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c >= 0x20 && c != '"' && c != '\\') {
      *out++ = ch;
    } else {
      out = putEscaped(out, c);
    }
  }
  return out;
}

// A source part: copied at a fixed size when short (the buffer is padded to that size).
char* putPadded(char* out, const std::vector<char>& part, std::size_t size) {
  std::memcpy(out, part.data(), size <= kShortSource ? kShortSource : size);
  return out + size;
}

std::vector<char> padded(std::string_view s) {
  std::vector<char> v(std::max(s.size(), kShortSource));
  std::memcpy(v.data(), s.data(), s.size());
  return v;
}

}  // namespace

LeakLineWriter::LeakLineWriter() : names_(&LineNames::get()) {
  std::array<char, kAddressMaxSize> buf{};
  for (auto& slot : v4_) {
    slot.size =
        static_cast<std::uint32_t>(writeAddress(buf.data(), core::IpAddress{}) - buf.data());
    std::memcpy(slot.text.data(), buf.data(), slot.size);
  }
  const std::array<std::uint8_t, 16> zero{};
  const auto v6 = core::IpAddress::fromBytes(core::Family::kV6, zero);
  for (auto& slot : v6_) {
    slot.size = static_cast<std::size_t>(writeAddress(slot.text.data(), v6) - slot.text.data());
  }
  changeSource("");
  setSecond(0);
}

void LeakLineWriter::changeSource(std::string_view source) {
  // Names from the command line may be anything: nlohmann replaces invalid UTF-8 as the JSON
  // path does, once per source.
  source_ = source;
  const auto json = R"(Z","iface":)" +
                    core::Json(source_).dump(-1, ' ', false, core::Json::error_handler_t::replace);
  json_source_ = padded(json);
  json_source_size_ = json.size();
  const auto text = "Z " + source_ + " ";
  text_source_ = padded(text);
  text_source_size_ = text.size();
}

void LeakLineWriter::setSecond(std::int64_t ns) {
  const auto sec =
      std::chrono::floor<std::chrono::seconds>(Timestamp(std::chrono::nanoseconds(ns)));
  const auto s = sec.time_since_epoch().count();
  // Modulo 2^64 (near the earliest Timestamp the product leaves int64): micros() subtracts
  // modulo 2^64 too, which gives the exact offset into the second.
  second_ns_ = static_cast<std::int64_t>(static_cast<std::uint64_t>(s) * 1'000'000'000ULL);
  std::memcpy(json_head_.data(), kJsonHead.data(), kJsonHead.size());
  writeDateTime(json_head_.data() + kJsonHead.size(), sec);
  json_head_[kJsonHeadSize - 1] = '.';
  std::memcpy(text_head_.data(), kTextHead.data(), kTextHead.size());
  writeDateTime(text_head_.data() + kTextHead.size(), sec);
  text_head_[kTextHeadSize - 1] = '.';
}

char* LeakLineWriter::putAddress(char* out, const core::IpAddress& a) {
  const std::uint8_t* b = a.bytes().data();
  if (a.isV4()) {
    std::uint32_t key = 0;
    std::memcpy(&key, b, 4);
    auto& slot = v4_[(key * 0x9e3779b1U) >> 26];
    if (slot.key != key) {
      std::array<char, kAddressMaxSize> buf{};
      slot.size = static_cast<std::uint32_t>(writeAddress(buf.data(), a) - buf.data());
      std::memcpy(slot.text.data(), buf.data(), slot.text.size());
      slot.key = key;
    }
    std::memcpy(out, slot.text.data(), slot.text.size());
    return out + slot.size;
  }
  std::array<std::uint64_t, 2> key{};
  std::memcpy(key.data(), b, 16);
  auto& slot = v6_[((key[0] ^ key[1]) * 0x9e3779b97f4a7c15ULL) >> 60];
  if (slot.key != key) {
    slot.size = static_cast<std::size_t>(writeAddress(slot.text.data(), a) - slot.text.data());
    slot.key = key;
  }
  std::memcpy(out, slot.text.data(), slot.text.size());
  return out + slot.size;
}

template <std::size_t N>
char* LeakLineWriter::putStart(char* out, const std::array<char, N>& head, std::size_t head_size,
                               const std::vector<char>& source, std::size_t source_size,
                               Timestamp ts) {
  const std::uint32_t us = micros(ts.time_since_epoch().count());  // first: it may renew head
  std::memcpy(out, head.data(), N);
  out = writeMicros(out + head_size, us);
  return putPadded(out, source, source_size);
}

char* LeakLineWriter::putQuotedAddress(char* out, const core::IpAddress& a) {
  *out++ = '"';
  out = putAddress(out, a);
  *out++ = '"';
  return out;
}

std::size_t LeakLineWriter::maxSize(const LeakEvent& e) {
  setSource(e.source);
  const auto& v = e.verdict;
  return kFixedMax + json_source_size_ + 6 * v.dns_qname.size() +
         5 * (v.sni.size() + v.http_host.size());
}

char* LeakLineWriter::write(char* out, const LeakEvent& e) {
  setSource(e.source);
  const auto& p = e.packet;
  const auto& v = e.verdict;
  const auto& n = *names_;
  out = putStart(out, json_head_, kJsonHeadSize, json_source_, json_source_size_, e.ts);
  // family, proto, src, dst, sport, dport: the keys every leak has, null where they do not apply.
  if (p.is_ip) {
    out = put(out, p.family == core::Family::kV4 ? R"(,"family":"ipv4","proto":")"
                                                 : R"(,"family":"ipv6","proto":")");
    out = n.proto_json[p.proto].put(out);
    out = putAddress(out, p.src);
    out = put(out, R"(","dst":")");
    out = putAddress(out, p.dst);
    *out++ = '"';
  } else if (p.is_arp) {
    out = put(out, R"(,"family":null,"proto":"arp","src":)");
    out = putQuotedAddress(out, p.arp.sender);
    out = put(out, R"(,"dst":)");
    out = putQuotedAddress(out, p.arp.target);
  } else {
    out =
        put(out, p.ethertype == pk::kEtherTypeIpv6 ? R"(,"family":"ipv6")" : R"(,"family":"ipv4")");
    out = put(out, R"(,"proto":null,"src":null,"dst":null)");
  }
  if (p.has_ports) {
    out = putNumber(put(out, R"(,"sport":)"), p.sport);
    out = putNumber(put(out, R"(,"dport":)"), p.dport);
  } else {
    out = put(out, R"(,"sport":null,"dport":null)");
  }
  // What the classifier found in the payload, then reason, length and the optional keys.
  if (!v.dns_qname.empty()) {
    out = putJsonText(put(out, R"(,"dns_qname":")"), v.dns_qname);
    *out++ = '"';
  }
  if (!v.sni.empty()) {
    out = writePrintable(put(out, R"(,"sni":")"), v.sni, true);
    *out++ = '"';
  }
  if (!v.http_host.empty()) {
    out = writePrintable(put(out, R"(,"http_host":")"), v.http_host, true);
    *out++ = '"';
  }
  out = n.reason_json[static_cast<std::size_t>(v.reason)].put(out);
  out = putNumber(out, e.frame_length);
  if (p.has_icmp) {
    out = putNumber(put(out, R"(,"icmp_type":)"), p.icmp_type);
    out = putNumber(put(out, R"(,"icmp_code":)"), p.icmp_code);
  }
  if (p.vlan_tags > 0) out = putNumber(put(out, R"(,"vlan":)"), p.vlan);
  if (p.fragment) out = put(out, R"(,"fragment":true)");
  *out++ = '}';
  *out++ = '\n';
  return out;
}

const std::string& LeakLineWriter::line(const LeakEvent& e) {
  out_.resize(maxSize(e));
  char* end = write(out_.data(), e);
  out_.resize(static_cast<std::size_t>(end - out_.data()) - 1);  // without the newline
  return out_;
}

char* LeakLineWriter::putHostPort(char* out, const core::IpAddress& a, bool ports,
                                  std::uint16_t port) {
  if (!ports) return putAddress(out, a);
  if (a.isV6()) {
    *out++ = '[';
    out = put(putAddress(out, a), "]:");
  } else {
    out = putAddress(out, a);
    *out++ = ':';
  }
  return putNumber(out, port);
}

std::size_t LeakLineWriter::maxTextSize(const LeakEvent& e) {
  setSource(e.source);
  const auto& v = e.verdict;
  return kTextFixedMax + text_source_size_ + v.dns_qname.size() +
         4 * (v.sni.size() + v.http_host.size());
}

char* LeakLineWriter::writeText(char* out, const LeakEvent& e) {
  setSource(e.source);
  const auto& p = e.packet;
  const auto& v = e.verdict;
  const auto& n = *names_;
  out = putStart(out, text_head_, kTextHeadSize, text_source_, text_source_size_, e.ts);
  if (p.is_arp) {
    out = putAddress(put(out, "arp "), p.arp.sender);
    out = putAddress(put(out, " > "), p.arp.target);
  } else if (p.is_ip) {
    out = put(out, p.family == core::Family::kV4 ? "ipv4 " : "ipv6 ");
    out = n.proto_text[p.proto].put(out);
    out = putHostPort(out, p.src, p.has_ports, p.sport);
    out = putHostPort(put(out, " > "), p.dst, p.has_ports, p.dport);
  } else {
    out = put(out, "undecodable IP frame");
  }
  out = n.reason_text[static_cast<std::size_t>(v.reason)].put(out);
  if (!v.dns_qname.empty()) {
    out = put(out, " qname=");
    std::memcpy(out, v.dns_qname.data(), v.dns_qname.size());
    out += v.dns_qname.size();
  }
  if (!v.sni.empty()) out = writePrintable(put(out, " sni="), v.sni, false);
  if (!v.http_host.empty()) out = writePrintable(put(out, " host="), v.http_host, false);
  *out++ = '\n';
  return out;
}

}  // namespace vpnleak::monitor
