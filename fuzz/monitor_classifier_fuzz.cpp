// The monitor's hot path on arbitrary input: link/IP/transport decoding, the classifier, the
// payload parsers (DNS name, TLS SNI, HTTP Host, framing checks), the event formatting, and the
// classic-pcap file reader. Input: one byte, then either a frame (the byte's low bits choose the
// link type) or, with its top bit set, a whole pcap file. Besides memory errors (ASan) it checks
// the invariants the rest of the monitor relies on, and aborts when one breaks.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "core/unique_fd.hpp"
#include "monitor/capture.hpp"
#include "monitor/pcap_file.hpp"

#include "monitor/classifier.hpp"
#include "monitor/event_line.hpp"
#include "monitor/events.hpp"
#include "wire/http_host.hpp"
#include "wire/packet.hpp"
#include "wire/tls_sni.hpp"

namespace {

using namespace vpnleak;  // NOLINT: a harness file

monitor::ClassifierConfig fuzzConfig() {
  monitor::ClassifierConfig c;
  for (const char* e : {"203.0.113.2:51820/wireguard", "198.51.100.7:1194/openvpn",
                        "[2001:db8::2]:443/tcp", "192.0.2.1:4500/udp"}) {
    c.endpoints.push_back(monitor::TunnelEndpoint::parse(e).value());
  }
  for (const char* a : {"dhcp", "ndp", "10.0.0.0/8", "fe80::/10"}) {
    c.allow.push_back(monitor::AllowRule::parse(a).value());
  }
  return c;
}

bool within(std::string_view v, wire::Bytes frame) {
  if (v.empty()) return true;
  const auto* p = reinterpret_cast<const std::uint8_t*>(v.data());
  return p >= frame.data() && p + v.size() <= frame.data() + frame.size();
}

bool within(wire::Bytes v, wire::Bytes frame) {
  return v.empty() ||
         (v.data() >= frame.data() && v.data() + v.size() <= frame.data() + frame.size());
}

void check(bool ok) {
  if (!ok) std::abort();
}

void checkFrame(wire::packet::LinkType link, wire::Bytes frame) {
  static const monitor::Classifier classifier(fuzzConfig());

  wire::packet::Packet p;
  wire::packet::decode(link, frame, p);
  check(within(p.payload, frame));
  check(!p.is_ip || p.payload.size() <= p.payload_length);
  check(p.status == wire::packet::Status::kOk || p.status == wire::packet::Status::kNotIp ||
        p.problem != nullptr);
  check(!(p.is_ip && p.is_arp));

  monitor::Classification c;
  classifier.classify(p, c);
  check((c.verdict == monitor::Verdict::kLeak) == (c.reason != monitor::Reason::kNone));
  check(within(c.sni, frame) && within(c.http_host, frame));
  if (c.verdict == monitor::Verdict::kLeak) {
    // Strict UTF-8 dumping throws on anything unescaped from the wire: it must never.
    const monitor::LeakEvent e{monitor::Timestamp{}, "fuzz0", p, c,
                               static_cast<std::uint32_t>(frame.size())};
    std::string json;
    try {
      json = monitor::leakJson(e).dump();
    } catch (...) {
      std::abort();
    }
    // The in-place lines: the same bytes, within the room they asked for (exactly that much
    // here, so that ASan sees a write past it).
    static monitor::LeakLineWriter writer;
    std::vector<char> room(writer.maxSize(e));
    const char* end = writer.write(room.data(), e);
    check(end <= room.data() + room.size());
    check(std::string_view(room.data(), static_cast<std::size_t>(end - room.data())) ==
          json + "\n");
    std::vector<char> text_room(writer.maxTextSize(e));
    end = writer.writeText(text_room.data(), e);
    check(end <= text_room.data() + text_room.size());
    check(std::string_view(text_room.data(), static_cast<std::size_t>(end - text_room.data())) ==
          monitor::leakText(e) + "\n");
  }

  // The payload parsers on the raw bytes too, where they see every possible prefix.
  const auto sni = wire::tls::clientHelloSni(frame);
  check(within(sni.name, frame));
  if (auto h = wire::http::parseRequestHead(frame)) check(within(h->host, frame));
  (void)monitor::dnsQuestionName(frame, (frame.size() & 1) != 0);
  (void)monitor::looksLikeWireGuard(frame, static_cast<std::uint32_t>(frame.size()));
  (void)monitor::looksLikeOpenVpn(frame, static_cast<std::uint32_t>(frame.size()));
}

// The bytes as a file (an anonymous memory file, so no disk), read record by record; every
// frame that comes out is checked like a single one. Errors are fine, crashes are not.
void checkFile(wire::Bytes file) {
  const vpnleak::core::UniqueFd fd(::memfd_create("vlm-fuzz", MFD_CLOEXEC));
  if (!fd.valid()) return;
  if (::write(fd.get(), file.data(), file.size()) != static_cast<ssize_t>(file.size())) return;
  auto reader = monitor::PcapFileReader::open("/proc/self/fd/" + std::to_string(fd.get()));
  if (!reader) return;
  monitor::Frame f;
  for (std::size_t n = 0; n <= file.size(); ++n) {  // each record takes at least 16 bytes
    auto got = reader->next(f);
    if (!got.ok() || *got != monitor::PcapFileReader::Next::kPacket) return;
    check(f.data.size() + 16 <= file.size());  // a record cannot be larger than the file
    checkFrame(reader->link(), f.data);
  }
  std::abort();  // more records than the file could hold
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const wire::Bytes rest(data + 1, size - 1);
  if ((data[0] & 0x80) != 0) {
    checkFile(rest);
  } else {
    checkFrame(static_cast<wire::packet::LinkType>(data[0] % 4), rest);
  }
  return 0;
}
