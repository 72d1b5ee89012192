#include "monitor/event_line.hpp"

#include <array>

#include "core/json.hpp"
#include "monitor/events.hpp"

namespace vpnleak::monitor {

namespace {

namespace pk = wire::packet;

void appendEscaped(std::string& out, unsigned char c) {
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
    default: {
      static constexpr char kHex[] = "0123456789abcdef";
      const std::array<char, 6> u{'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0x0f]};
      out.append(u.data(), u.size());
    }
  }
}

// JSON string escaping as nlohmann's dump() does it, for text that is valid UTF-8 already (the
// wire-derived strings are printable ASCII by construction). Runs that need no escaping are
// appended whole.
void appendString(std::string& out, std::string_view s) {
  out += '"';
  std::size_t run = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s.data() + run, i - run);
    appendEscaped(out, c);
    run = i + 1;
  }
  out.append(s.data() + run, s.size() - run);
  out += '"';
}

// A name of ours (family, protocol, reason): nothing in it needs escaping.
void appendPlain(std::string& out, std::string_view s) {
  out += '"';
  out += s;
  out += '"';
}

void appendNumber(std::string& out, std::uint64_t v) {
  std::array<char, 20> buf{};
  std::size_t at = buf.size();
  do {
    buf[--at] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  out.append(buf.data() + at, buf.size() - at);
}

void appendQuotedAddress(std::string& out, const core::IpAddress& a) {
  out += '"';
  appendAddress(out, a);
  out += '"';
}

// family, proto, src, dst, sport, dport: the keys every leak has, null where they do not apply.
void appendAddressing(std::string& out, const pk::Packet& p) {
  if (p.is_arp) {
    out += R"(,"family":null,"proto":"arp","src":)";
    appendQuotedAddress(out, p.arp.sender);
    out += R"(,"dst":)";
    appendQuotedAddress(out, p.arp.target);
  } else if (p.is_ip) {
    out += R"(,"family":)";
    appendPlain(out, core::familyName(p.family));
    out += R"(,"proto":)";
    appendPlain(out, pk::protoName(p.proto));
    out += R"(,"src":)";
    appendQuotedAddress(out, p.src);
    out += R"(,"dst":)";
    appendQuotedAddress(out, p.dst);
  } else {
    out += p.ethertype == pk::kEtherTypeIpv6 ? R"(,"family":"ipv6")" : R"(,"family":"ipv4")";
    out += R"(,"proto":null,"src":null,"dst":null)";
  }
  if (p.has_ports) {
    out += R"(,"sport":)";
    appendNumber(out, p.sport);
    out += R"(,"dport":)";
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
  appendIsoTime(out_, e.ts);
  out_ += R"(","iface":)";
  out_ += source_json_;
  appendAddressing(out_, p);
  if (!v.dns_qname.empty()) {
    out_ += R"(,"dns_qname":)";
    appendString(out_, v.dns_qname);
  }
  if (!v.sni.empty()) {
    out_ += R"(,"sni":)";
    scratch_.clear();
    appendPrintable(scratch_, v.sni);
    appendString(out_, scratch_);
  }
  if (!v.http_host.empty()) {
    out_ += R"(,"http_host":)";
    scratch_.clear();
    appendPrintable(scratch_, v.http_host);
    appendString(out_, scratch_);
  }
  out_ += R"(,"reason":)";
  appendPlain(out_, reasonName(v.reason));
  out_ += R"(,"length":)";
  appendNumber(out_, e.frame_length);
  if (p.has_icmp) {
    out_ += R"(,"icmp_type":)";
    appendNumber(out_, p.icmp_type);
    out_ += R"(,"icmp_code":)";
    appendNumber(out_, p.icmp_code);
  }
  if (p.vlan_tags > 0) {
    out_ += R"(,"vlan":)";
    appendNumber(out_, p.vlan);
  }
  if (p.fragment) out_ += R"(,"fragment":true)";
  out_ += '}';
  return out_;
}

const std::string& LeakLineWriter::text(const LeakEvent& e) {
  out_.clear();
  appendLeakText(out_, e);
  return out_;
}

}  // namespace vpnleak::monitor
