#include "monitor/event_line.hpp"

#include <cstring>

#include "core/json.hpp"
#include "monitor/events.hpp"

namespace vpnleak::monitor {

namespace {

namespace pk = wire::packet;

constexpr char kHex[] = "0123456789abcdef";
// Everything in a line but the source name, the DNS name, the SNI and the Host, generously: the
// keys, a timestamp, two addresses, names of ours and numbers come to about 330 bytes.
constexpr std::size_t kFixedMax = 512;

// The writers below put bytes at out and return the end; the caller has made room.
template <std::size_t N>
char* put(char* out, const char (&literal)[N]) {
  std::memcpy(out, literal, N - 1);
  return out + N - 1;
}

char* put(char* out, std::string_view s) {
  std::memcpy(out, s.data(), s.size());
  return out + s.size();
}

char* putNumber(char* out, std::uint64_t v) {
  std::size_t digits = 1;
  for (std::uint64_t t = v; t >= 10; t /= 10) ++digits;
  char* at = out + digits;
  do {
    *--at = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  return out + digits;
}

// A name of ours (family, protocol, reason): nothing in it needs escaping.
char* putPlain(char* out, std::string_view s) {
  *out++ = '"';
  out = put(out, s);
  *out++ = '"';
  return out;
}

char* putQuotedAddress(char* out, const core::IpAddress& a) {
  *out++ = '"';
  out = writeAddress(out, a);
  *out++ = '"';
  return out;
}

// One character escaped as nlohmann's dump() does it (at most 6 bytes).
char* putEscaped(char* out, unsigned char c) {
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

// A JSON string as nlohmann's dump() writes it, for text that is valid UTF-8 already (the DNS
// name is printable ASCII by construction): at most 6 bytes per byte of s, and 2.
char* putString(char* out, std::string_view s) {
  *out++ = '"';
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c >= 0x20 && c != '"' && c != '\\') {
      *out++ = ch;
    } else {
      out = putEscaped(out, c);
    }
  }
  *out++ = '"';
  return out;
}

// The JSON string of printable(raw) in one pass: printable ASCII but '\' kept ('"' escaped),
// anything else as printable()'s \xHH with its backslash escaped. At most 5 bytes per byte, and 2.
char* putPrintable(char* out, std::string_view raw) {
  *out++ = '"';
  for (const char ch : raw) {
    const auto c = static_cast<unsigned char>(ch);
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      if (c == '"') *out++ = '\\';
      *out++ = ch;
    } else {
      out = put(out, "\\\\x");
      *out++ = kHex[c >> 4];
      *out++ = kHex[c & 0x0f];
    }
  }
  *out++ = '"';
  return out;
}

// family, proto, src, dst, sport, dport: the keys every leak has, null where they do not apply.
char* putAddressing(char* out, const pk::Packet& p) {
  if (p.is_arp) {
    out = put(out, R"(,"family":null,"proto":"arp","src":)");
    out = putQuotedAddress(out, p.arp.sender);
    out = put(out, R"(,"dst":)");
    out = putQuotedAddress(out, p.arp.target);
  } else if (p.is_ip) {
    out =
        put(out, p.family == core::Family::kV4 ? std::string_view(R"(,"family":"ipv4","proto":)")
                                               : std::string_view(R"(,"family":"ipv6","proto":)"));
    out = putPlain(out, pk::protoName(p.proto));
    out = put(out, R"(,"src":)");
    out = putQuotedAddress(out, p.src);
    out = put(out, R"(,"dst":)");
    out = putQuotedAddress(out, p.dst);
  } else {
    out = put(out, p.ethertype == pk::kEtherTypeIpv6 ? std::string_view(R"(,"family":"ipv6")")
                                                     : std::string_view(R"(,"family":"ipv4")"));
    out = put(out, R"(,"proto":null,"src":null,"dst":null)");
  }
  if (!p.has_ports) return put(out, R"(,"sport":null,"dport":null)");
  out = put(out, R"(,"sport":)");
  out = putNumber(out, p.sport);
  out = put(out, R"(,"dport":)");
  return putNumber(out, p.dport);
}

// What the classifier found in the payload, then reason, length and the optional keys.
char* putDetails(char* out, const LeakEvent& e) {
  const auto& p = e.packet;
  const auto& v = e.verdict;
  if (!v.dns_qname.empty()) {
    out = put(out, R"(,"dns_qname":)");
    out = putString(out, v.dns_qname);
  }
  if (!v.sni.empty()) {
    out = put(out, R"(,"sni":)");
    out = putPrintable(out, v.sni);
  }
  if (!v.http_host.empty()) {
    out = put(out, R"(,"http_host":)");
    out = putPrintable(out, v.http_host);
  }
  out = put(out, R"(,"reason":)");
  out = putPlain(out, reasonName(v.reason));
  out = put(out, R"(,"length":)");
  out = putNumber(out, e.frame_length);
  if (p.has_icmp) {
    out = put(out, R"(,"icmp_type":)");
    out = putNumber(out, p.icmp_type);
    out = put(out, R"(,"icmp_code":)");
    out = putNumber(out, p.icmp_code);
  }
  if (p.vlan_tags > 0) {
    out = put(out, R"(,"vlan":)");
    out = putNumber(out, p.vlan);
  }
  if (p.fragment) out = put(out, R"(,"fragment":true)");
  return out;
}

}  // namespace

void LeakLineWriter::setSource(std::string_view source) {
  if (!source_json_.empty() && source == source_) return;
  // Names from the command line may be anything: nlohmann replaces invalid UTF-8 as the JSON
  // path does, once per source.
  source_ = source;
  source_json_ = core::Json(source_).dump(-1, ' ', false, core::Json::error_handler_t::replace);
}

std::size_t LeakLineWriter::maxSize(const LeakEvent& e) {
  setSource(e.source);
  const auto& v = e.verdict;
  return kFixedMax + source_json_.size() + 6 * v.dns_qname.size() +
         5 * (v.sni.size() + v.http_host.size());
}

char* LeakLineWriter::write(char* out, const LeakEvent& e) {
  setSource(e.source);
  out = put(out, R"({"type":"leak","ts":")");
  out = writeIsoTime(out, e.ts);
  out = put(out, R"(","iface":)");
  out = put(out, source_json_);
  out = putAddressing(out, e.packet);
  out = putDetails(out, e);
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

const std::string& LeakLineWriter::text(const LeakEvent& e) {
  out_.clear();
  appendLeakText(out_, e);
  return out_;
}

}  // namespace vpnleak::monitor
