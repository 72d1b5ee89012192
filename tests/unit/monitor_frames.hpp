// Crafted frames for the monitor's and the packet parser's tests (and the benchmark's synthetic
// capture): each builder returns the bytes of one layer wrapped around the next.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "core/ip.hpp"
#include "wire/dns.hpp"

namespace vpnleak::testing::frames {

using Bytes8 = std::vector<std::uint8_t>;

inline void put16(Bytes8& b, std::uint32_t v) {
  b.push_back(static_cast<std::uint8_t>(v >> 8));
  b.push_back(static_cast<std::uint8_t>(v));
}
inline void put32(Bytes8& b, std::uint32_t v) {
  put16(b, v >> 16);
  put16(b, v & 0xffff);
}
inline Bytes8 cat(Bytes8 a, const Bytes8& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}
inline core::IpAddress ip(const std::string& text) { return core::IpAddress::parse(text).value(); }
inline void putIp(Bytes8& b, const std::string& text) {
  const auto a = ip(text);
  b.insert(b.end(), a.bytes().begin(), a.bytes().end());
}

inline Bytes8 udp(std::uint16_t sport, std::uint16_t dport, const Bytes8& payload) {
  Bytes8 b;
  put16(b, sport);
  put16(b, dport);
  put16(b, static_cast<std::uint32_t>(8 + payload.size()));
  put16(b, 0);
  return cat(b, payload);
}

inline Bytes8 tcp(std::uint16_t sport, std::uint16_t dport, std::uint8_t flags,
                  const Bytes8& payload, std::size_t option_words = 0) {
  Bytes8 b;
  put16(b, sport);
  put16(b, dport);
  put32(b, 1000);  // seq
  put32(b, 0);     // ack
  b.push_back(static_cast<std::uint8_t>((5 + option_words) << 4));
  b.push_back(flags);
  put16(b, 65535);
  put32(b, 0);                                                          // checksum, urgent
  for (std::size_t i = 0; i < option_words; ++i) put32(b, 0x01010101);  // NOPs
  return cat(b, payload);
}

inline Bytes8 icmp(std::uint8_t type, std::uint8_t code, const Bytes8& body = Bytes8(8, 0xab)) {
  Bytes8 b{type, code, 0, 0, 0, 1, 0, 1};
  return cat(b, body);
}

struct V4 {
  std::string src = "192.168.77.2";
  std::string dst = "192.0.2.10";
  std::uint8_t proto = 17;
  std::uint8_t ttl = 64;
  std::size_t option_words = 0;
  std::uint16_t frag = 0;  // flags and offset field as on the wire (0x2000 = MF)
};

inline Bytes8 ipv4(const V4& h, const Bytes8& l4) {
  Bytes8 b;
  const std::size_t hl = 20 + 4 * h.option_words;
  b.push_back(static_cast<std::uint8_t>(0x40 | (hl / 4)));
  b.push_back(0);
  put16(b, static_cast<std::uint32_t>(hl + l4.size()));
  put16(b, 0x1234);
  put16(b, h.frag);
  b.push_back(h.ttl);
  b.push_back(h.proto);
  put16(b, 0);
  putIp(b, h.src);
  putIp(b, h.dst);
  for (std::size_t i = 0; i < h.option_words; ++i) put32(b, 0x01010101);
  return cat(b, l4);
}

struct V6 {
  std::string src = "2001:db8:77::2";
  std::string dst = "2001:db8:192::10";
  std::uint8_t next = 17;
  std::uint8_t hop_limit = 64;
  Bytes8 extensions;  // already chained: the caller sets next to the first extension's type
};

inline Bytes8 ipv6(const V6& h, const Bytes8& l4) {
  Bytes8 b{0x60, 0, 0, 0};
  put16(b, static_cast<std::uint32_t>(h.extensions.size() + l4.size()));
  b.push_back(h.next);
  b.push_back(h.hop_limit);
  putIp(b, h.src);
  putIp(b, h.dst);
  return cat(cat(b, h.extensions), l4);
}

// An 8-octet extension header (hop-by-hop, destination options, routing) of padding.
inline Bytes8 ext8(std::uint8_t next) { return Bytes8{next, 0, 1, 4, 0, 0, 0, 0}; }
inline Bytes8 fragmentHeader(std::uint8_t next, std::uint16_t offset_units, bool more) {
  Bytes8 b{next, 0};
  put16(b, static_cast<std::uint32_t>((offset_units << 3) | (more ? 1 : 0)));
  put32(b, 0xcafe);
  return b;
}

inline Bytes8 ether(std::uint16_t type, const Bytes8& payload,
                    const std::vector<std::uint16_t>& vlans = {}) {
  Bytes8 b{0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2};
  for (auto id : vlans) {
    put16(b, 0x8100);
    put16(b, id);
  }
  put16(b, type);
  return cat(b, payload);
}

inline Bytes8 sll(std::uint16_t pkttype, std::uint16_t type, const Bytes8& payload) {
  Bytes8 b;
  put16(b, pkttype);
  put16(b, 1);  // ARPHRD_ETHER
  put16(b, 6);
  for (int i = 0; i < 8; ++i) b.push_back(static_cast<std::uint8_t>(i < 6 ? 0x10 + i : 0));
  put16(b, type);
  return cat(b, payload);
}

inline Bytes8 sll2(std::uint8_t pkttype, std::uint16_t type, const Bytes8& payload) {
  Bytes8 b;
  put16(b, type);
  put16(b, 0);
  put32(b, 2);  // ifindex
  put16(b, 1);  // ARPHRD_ETHER
  b.push_back(pkttype);
  b.push_back(6);
  for (int i = 0; i < 8; ++i) b.push_back(static_cast<std::uint8_t>(i < 6 ? 0x10 + i : 0));
  return cat(b, payload);
}

inline Bytes8 arp(std::uint16_t op, const std::string& sender, const std::string& target) {
  Bytes8 b;
  put16(b, 1);
  put16(b, 0x0800);
  b.push_back(6);
  b.push_back(4);
  put16(b, op);
  for (int i = 0; i < 6; ++i) b.push_back(0x02);
  putIp(b, sender);
  for (int i = 0; i < 6; ++i) b.push_back(0);
  putIp(b, target);
  return b;
}

// WireGuard messages of the right shape (contents are random-looking filler).
inline Bytes8 wireguard(std::uint8_t type, std::size_t size) {
  Bytes8 b(size, 0x5a);
  b[0] = type;
  b[1] = b[2] = b[3] = 0;
  return b;
}

inline Bytes8 dnsQuery(const std::string& name, std::uint16_t qtype = wire::dns::kTypeA) {
  Bytes8 b;
  put16(b, 0xbeef);
  put16(b, 0x0100);
  put16(b, 1);
  put16(b, 0);
  put32(b, 0);
  const auto n = wire::dns::encodeName(name).value();
  b.insert(b.end(), n.begin(), n.end());
  put16(b, qtype);
  put16(b, 1);
  return b;
}

inline Bytes8 dnsOverTcp(const Bytes8& msg) {
  Bytes8 b;
  put16(b, static_cast<std::uint32_t>(msg.size()));
  return cat(b, msg);
}

// A TLS 1.3-style ClientHello; extensions before server_name make it realistic to walk.
inline Bytes8 clientHello(const std::string& sni, bool with_sni = true) {
  Bytes8 ext;
  put16(ext, 0x000a);  // supported_groups
  put16(ext, 4);
  put16(ext, 2);
  put16(ext, 0x001d);
  if (with_sni) {
    put16(ext, 0);
    put16(ext, static_cast<std::uint32_t>(sni.size() + 5));
    put16(ext, static_cast<std::uint32_t>(sni.size() + 3));
    ext.push_back(0);
    put16(ext, static_cast<std::uint32_t>(sni.size()));
    ext.insert(ext.end(), sni.begin(), sni.end());
  }
  Bytes8 body{3, 3};
  body.insert(body.end(), 32, 0x11);  // random
  body.push_back(32);
  body.insert(body.end(), 32, 0x22);  // session id
  put16(body, 4);
  put16(body, 0x1301);
  put16(body, 0x1302);
  body.push_back(1);
  body.push_back(0);
  put16(body, static_cast<std::uint32_t>(ext.size()));
  body = cat(body, ext);
  Bytes8 hs{1};
  hs.push_back(static_cast<std::uint8_t>(body.size() >> 16));
  put16(hs, static_cast<std::uint32_t>(body.size() & 0xffff));
  hs = cat(hs, body);
  Bytes8 rec{22, 3, 1};
  put16(rec, static_cast<std::uint32_t>(hs.size()));
  return cat(rec, hs);
}

inline Bytes8 text(const std::string& s) { return Bytes8(s.begin(), s.end()); }

inline Bytes8 stunBindingRequest() {
  Bytes8 b;
  put16(b, 0x0001);
  put16(b, 0);
  put32(b, 0x2112a442);
  for (int i = 0; i < 12; ++i) b.push_back(static_cast<std::uint8_t>(i));
  return b;
}

// The classic pcap file format (microsecond timestamps), written by hand so that tests can also
// write broken ones.
inline Bytes8 pcapHeader(std::uint32_t linktype, std::uint32_t snaplen = 262144) {
  Bytes8 b;
  const auto le32 = [&b](std::uint32_t v) {
    for (int i = 0; i < 4; ++i) b.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
  };
  le32(0xa1b2c3d4);
  le32(0x00040002);  // version 2.4
  le32(0);
  le32(0);
  le32(snaplen);
  le32(linktype);
  return b;
}

inline Bytes8 pcapRecord(std::uint32_t sec, std::uint32_t usec, const Bytes8& frame,
                         std::uint32_t wire_len = 0) {
  Bytes8 b;
  const auto le32 = [&b](std::uint32_t v) {
    for (int i = 0; i < 4; ++i) b.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
  };
  le32(sec);
  le32(usec);
  le32(static_cast<std::uint32_t>(frame.size()));
  le32(wire_len != 0 ? wire_len : static_cast<std::uint32_t>(frame.size()));
  return cat(b, frame);
}

inline bool writeFile(const std::string& path, const Bytes8& data) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return false;
  const bool ok = data.empty() || std::fwrite(data.data(), 1, data.size(), f) == data.size();
  return std::fclose(f) == 0 && ok;
}

}  // namespace vpnleak::testing::frames
