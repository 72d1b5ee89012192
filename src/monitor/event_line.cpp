#include "monitor/event_line.hpp"

#include <arpa/inet.h>

#include <array>
#include <charconv>

#include "core/json.hpp"
#include "monitor/events.hpp"

namespace vpnleak::monitor {

namespace {

namespace pk = wire::packet;

// JSON string escaping as nlohmann's dump() does it, for text that is valid UTF-8 already (the
// wire-derived strings are printable ASCII by construction).
void appendString(std::string& out, std::string_view s) {
  out += '"';
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          static constexpr char kHex[] = "0123456789abcdef";
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 0x0f];
        } else {
          out += ch;
        }
    }
  }
  out += '"';
}

void appendNumber(std::string& out, std::uint64_t v) {
  std::array<char, 24> buf{};
  const auto r = std::to_chars(buf.data(), buf.data() + buf.size(), v);
  out.append(buf.data(), r.ptr);
}

void appendAddress(std::string& out, const core::IpAddress& a) {
  std::array<char, INET6_ADDRSTRLEN> buf{};
  ::inet_ntop(a.isV4() ? AF_INET : AF_INET6, a.bytes().data(), buf.data(), buf.size());
  out += '"';
  out += buf.data();
  out += '"';
}

void appendKey(std::string& out, std::string_view key) {
  out += ",\"";
  out += key;
  out += "\":";
}

// family, proto, src, dst, sport, dport: the keys every leak has, null where they do not apply.
void appendAddressing(std::string& out, const pk::Packet& p) {
  if (p.is_arp) {
    out += R"(,"family":null,"proto":"arp","src":)";
    appendAddress(out, p.arp.sender);
    appendKey(out, "dst");
    appendAddress(out, p.arp.target);
  } else if (p.is_ip) {
    appendKey(out, "family");
    appendString(out, core::familyName(p.family));
    appendKey(out, "proto");
    appendString(out, pk::protoName(p.proto));
    appendKey(out, "src");
    appendAddress(out, p.src);
    appendKey(out, "dst");
    appendAddress(out, p.dst);
  } else {
    out += p.ethertype == pk::kEtherTypeIpv6 ? R"(,"family":"ipv6")" : R"(,"family":"ipv4")";
    out += R"(,"proto":null,"src":null,"dst":null)";
  }
  if (p.has_ports) {
    appendKey(out, "sport");
    appendNumber(out, p.sport);
    appendKey(out, "dport");
    appendNumber(out, p.dport);
  } else {
    out += R"(,"sport":null,"dport":null)";
  }
}

}  // namespace

const std::string& LeakLineWriter::line(const LeakEvent& e) {
  const auto& p = e.packet;
  const auto& v = e.verdict;
  if (source_json_.empty() || e.source != source_) {
    // Names from the command line may be anything: nlohmann replaces invalid UTF-8 as the JSON
    // path does, once per source.
    source_ = e.source;
    source_json_ = core::Json(source_).dump(-1, ' ', false, core::Json::error_handler_t::replace);
  }
  out_.clear();
  out_ += R"({"type":"leak","ts":")";
  out_ += isoTime(e.ts);
  out_ += R"(","iface":)";
  out_ += source_json_;
  appendAddressing(out_, p);
  if (!v.dns_qname.empty()) {
    appendKey(out_, "dns_qname");
    appendString(out_, v.dns_qname);
  }
  if (!v.sni.empty()) {
    appendKey(out_, "sni");
    appendString(out_, printable(v.sni));
  }
  if (!v.http_host.empty()) {
    appendKey(out_, "http_host");
    appendString(out_, printable(v.http_host));
  }
  appendKey(out_, "reason");
  appendString(out_, reasonName(v.reason));
  appendKey(out_, "length");
  appendNumber(out_, e.frame_length);
  if (p.has_icmp) {
    appendKey(out_, "icmp_type");
    appendNumber(out_, p.icmp_type);
    appendKey(out_, "icmp_code");
    appendNumber(out_, p.icmp_code);
  }
  if (p.vlan_tags > 0) {
    appendKey(out_, "vlan");
    appendNumber(out_, p.vlan);
  }
  if (p.fragment) out_ += R"(,"fragment":true)";
  out_ += '}';
  return out_;
}

}  // namespace vpnleak::monitor
