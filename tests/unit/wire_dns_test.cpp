#include <gtest/gtest.h>

#include <initializer_list>
#include <string>
#include <vector>

#include "wire/dns.hpp"

namespace vpnleak::wire::dns {
namespace {

using Bytes8 = std::vector<std::uint8_t>;

// Builds test packets byte by byte: header fields, raw bytes and names in wire form.
struct Pkt {
  Bytes8 b;
  Pkt& u8(std::initializer_list<int> v) {
    for (int x : v) b.push_back(static_cast<std::uint8_t>(x));
    return *this;
  }
  Pkt& u16(int v) { return u8({(v >> 8) & 0xff, v & 0xff}); }
  Pkt& u32(std::uint32_t v) {
    return u16(static_cast<int>(v >> 16)).u16(static_cast<int>(v & 0xffff));
  }
  Pkt& name(const std::string& n) {
    auto w = encodeName(n);
    EXPECT_TRUE(w.ok()) << n;
    b.insert(b.end(), w->begin(), w->end());
    return *this;
  }
  Pkt& header(int id, int flags, int qd, int an, int ns, int ar) {
    return u16(id).u16(flags).u16(qd).u16(an).u16(ns).u16(ar);
  }
};

Bytes8 query(const std::string& name, int qtype) {
  return Pkt{}.header(0x1234, 0x0100, 1, 0, 0, 0).name(name).u16(qtype).u16(1).b;
}

TEST(WireDns, ParsesASimpleQuery) {
  const auto p = query("Abc.Leak.Test", kTypeAaaa);
  auto m = parse(p);
  ASSERT_TRUE(m.ok()) << m.error().message();
  EXPECT_EQ(m->header.id, 0x1234);
  EXPECT_TRUE(m->header.has(Header::kRd));
  EXPECT_FALSE(m->header.qr());
  ASSERT_EQ(m->questions.size(), 1U);
  EXPECT_EQ(m->questions[0].name, "Abc.Leak.Test");
  EXPECT_EQ(m->questions[0].qtype, kTypeAaaa);
  EXPECT_EQ(m->question_end, p.size());
  EXPECT_FALSE(m->edns.has_value());
}

TEST(WireDns, ReadsCompressedNamesAndEscapes) {
  // Question "a.example" at 12; answer owner = pointer to 12; rdata a name "x\.y" + pointer.
  Pkt p;
  p.header(1, 0x8400, 1, 1, 0, 0).name("a.example").u16(kTypeNs).u16(1);
  p.u16(0xc00c).u16(kTypeNs).u16(1).u32(60).u16(6).u8({3, 'x', '.', 'y'}).u16(0xc00e);
  auto m = parse(p.b);
  ASSERT_TRUE(m.ok()) << m.error().message();
  ASSERT_EQ(m->answers.size(), 1U);
  EXPECT_EQ(m->answers[0].name, "a.example");
  auto target = readName(p.b, m->answers[0].rdata_offset);
  ASSERT_TRUE(target.ok()) << target.error().message();
  EXPECT_EQ(target->name, "x\\.y.example");
  EXPECT_EQ(target->next, m->answers[0].rdata_offset + 6);
}

TEST(WireDns, ReadNameIntoReusesOneString) {
  Pkt p;
  p.header(1, 0x8400, 1, 1, 0, 0).name("a.example").u16(kTypeNs).u16(1);
  p.u16(0xc00c).u16(kTypeNs).u16(1).u32(60).u16(6).u8({3, 'x', '.', 'y'}).u16(0xc00e);
  std::string name = "left over";
  auto next = readNameInto(p.b, kHeaderSize, name);
  ASSERT_TRUE(next.ok()) << next.error().message();
  EXPECT_EQ(name, "a.example");
  EXPECT_EQ(*next, readName(p.b, kHeaderSize)->next);
  const std::size_t rdata = p.b.size() - 6;
  next = readNameInto(p.b, rdata, name);
  ASSERT_TRUE(next.ok()) << next.error().message();
  EXPECT_EQ(name, "x\\.y.example");
  EXPECT_EQ(*next, rdata + 6);
  EXPECT_FALSE(readNameInto(p.b, p.b.size(), name).ok());
}

TEST(WireDns, EscapesUnprintableBytes) {
  Pkt p;
  p.header(1, 0, 1, 0, 0, 0).u8({3, 'a', 0, ' ', 0}).u16(1).u16(1);
  auto m = parse(p.b);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->questions[0].name, "a\\000\\032");
  auto wire = encodeName(m->questions[0].name);
  ASSERT_TRUE(wire.ok());
  EXPECT_EQ(*wire, (Bytes8{3, 'a', 0, ' ', 0}));
}

// The longest name, every octet escaped: the longest presentation form there is (1,003
// characters), read whole and back to the same wire form; one octet more is malformed.
TEST(WireDns, ReadsTheLongestNameEveryOctetEscaped) {
  Bytes8 wire;
  std::string text;
  for (const std::size_t len : {63U, 63U, 63U, 61U}) {
    if (!text.empty()) text += '.';
    wire.push_back(static_cast<std::uint8_t>(len));
    for (std::size_t i = 0; i < len; ++i) {
      const auto c = static_cast<std::uint8_t>(i % 3 == 0 ? 0 : (i % 3 == 1 ? '.' : 0xff));
      wire.push_back(c);
      text += c == '.' ? std::string("\\.") : std::string(c == 0 ? "\\000" : "\\255");
    }
  }
  wire.push_back(0);
  ASSERT_EQ(wire.size(), kMaxNameWire);
  std::string name = "left over";
  auto next = readNameInto(wire, 0, name);
  ASSERT_TRUE(next.ok()) << next.error().message();
  EXPECT_EQ(*next, kMaxNameWire);
  EXPECT_EQ(name, text);
  EXPECT_EQ(*encodeName(name), wire);
  wire.back() = 1;  // a fifth label of one octet: 257 octets
  wire.push_back(7);
  wire.push_back(0);
  EXPECT_FALSE(readNameInto(wire, 0, name).ok());
}

TEST(WireDns, ParsesEdnsWithClientSubnet) {
  Pkt p;
  p.header(7, 0x0100, 1, 0, 0, 1).name("t.leak.test").u16(kTypeA).u16(1);
  // OPT: root, type 41, udp 1232, ttl: ext 0 version 0 DO, rdata: cookie option + ECS /24.
  p.u8({0}).u16(kTypeOpt).u16(1232).u32(0x00008000).u16(4 + 8 + 4 + 7);
  p.u16(10).u16(8).u8({1, 2, 3, 4, 5, 6, 7, 8});
  p.u16(kOptionClientSubnet).u16(7).u16(1).u8({24, 0, 203, 0, 113});
  auto m = parse(p.b);
  ASSERT_TRUE(m.ok()) << m.error().message();
  ASSERT_TRUE(m->edns.has_value());
  EXPECT_EQ(m->edns->udp_payload_size, 1232);
  EXPECT_TRUE(m->edns->dnssec_ok);
  ASSERT_TRUE(m->edns->client_subnet.has_value());
  EXPECT_EQ(m->edns->client_subnet->toString(), "203.0.113.0/24");
  EXPECT_TRUE(m->additional.empty());
}

TEST(WireDns, ParsesIpv6ClientSubnetAndZeroPrefix) {
  Pkt p;
  p.header(7, 0, 1, 0, 0, 1).name("t").u16(kTypeA).u16(1);
  p.u8({0}).u16(kTypeOpt).u16(100).u32(0).u16(4 + 4 + 7);
  p.u16(kOptionClientSubnet).u16(11).u16(2).u8({56, 0, 0x20, 0x01, 0x0d, 0xb8, 0, 0x77, 0});
  auto m = parse(p.b);
  ASSERT_TRUE(m.ok()) << m.error().message();
  EXPECT_EQ(m->edns->udp_payload_size, 512);  // below 512 reads as 512
  EXPECT_EQ(m->edns->client_subnet->toString(), "2001:db8:77::/56");

  Pkt z;
  z.header(7, 0, 1, 0, 0, 1).name("t").u16(kTypeA).u16(1);
  z.u8({0}).u16(kTypeOpt).u16(1232).u32(0).u16(8).u16(kOptionClientSubnet).u16(4).u16(1).u8({0, 0});
  auto mz = parse(z.b);
  ASSERT_TRUE(mz.ok()) << mz.error().message();
  EXPECT_EQ(mz->edns->client_subnet->toString(), "0.0.0.0/0");
}

struct MalformedCase {
  const char* what;
  Bytes8 packet;
};

std::vector<MalformedCase> malformedCases() {
  auto q = [](Pkt p) { return p.b; };
  const Pkt h1 = Pkt{}.header(1, 0, 1, 0, 0, 0);
  std::vector<MalformedCase> c;
  c.push_back({"empty", {}});
  c.push_back({"short header", {0, 1, 0, 0, 0}});
  c.push_back({"question missing", q(h1)});
  c.push_back({"truncated label", q(Pkt(h1).u8({5, 'a', 'b'}))});
  c.push_back({"no root label", q(Pkt(h1).u8({1, 'a'}))});
  c.push_back({"truncated qtype", q(Pkt(h1).name("a").u8({0}))});
  c.push_back({"pointer to itself", q(Pkt(h1).u16(0xc00c).u16(1).u16(1))});
  c.push_back({"forward pointer", q(Pkt(h1).u16(0xc00e).u8({0}).u16(1).u16(1))});
  c.push_back({"pointer loop", q(Pkt(h1).u8({1, 'a'}).u16(0xc00c).u16(1).u16(1))});
  c.push_back({"pointer beyond end", q(Pkt(h1).u16(0xcfff).u16(1).u16(1))});
  c.push_back({"truncated pointer", q(Pkt(h1).u8({0xc0}))});
  c.push_back({"extended label type", q(Pkt(h1).u8({0x41, 0}).u16(1).u16(1))});
  {
    Pkt p(h1);  // 5 labels of 63 = 320 octets > 255
    for (int i = 0; i < 5; ++i) {
      p.u8({63});
      for (int k = 0; k < 63; ++k) p.u8({'a'});
    }
    c.push_back({"name longer than 255", q(p.u8({0}).u16(1).u16(1))});
  }
  c.push_back(
      {"counts beyond size", q(Pkt{}.header(1, 0, 1, 0xffff, 0, 0).name("a").u16(1).u16(1))});
  c.push_back({"rdata past end", q(Pkt{}
                                       .header(1, 0x8000, 1, 1, 0, 0)
                                       .name("a")
                                       .u16(1)
                                       .u16(1)
                                       .u16(0xc00c)
                                       .u16(1)
                                       .u16(1)
                                       .u32(0)
                                       .u16(4)
                                       .u8({1, 2}))});
  auto opt = [](Pkt p, Bytes8 rdata, int name_byte = 0) {
    p.u8({name_byte});
    if (name_byte != 0) p.u8({'x', 0});
    p.u16(kTypeOpt).u16(1232).u32(0).u16(static_cast<int>(rdata.size()));
    p.b.insert(p.b.end(), rdata.begin(), rdata.end());
    return p;
  };
  const Pkt qa = Pkt{}.header(1, 0, 1, 0, 0, 1).name("a").u16(1).u16(1);
  const Pkt qa2 = Pkt{}.header(1, 0, 1, 0, 0, 2).name("a").u16(1).u16(1);
  c.push_back({"OPT not at root", opt(qa, {}, 1).b});
  c.push_back({"two OPT records", opt(opt(qa2, {}), {}).b});
  c.push_back({"truncated option", opt(qa, {0, 8, 0, 9, 0}).b});
  c.push_back({"ECS bad family", opt(qa, {0, 8, 0, 4, 0, 3, 0, 0}).b});
  c.push_back({"ECS prefix too long", opt(qa, {0, 8, 0, 9, 0, 1, 33, 0, 1, 2, 3, 4, 5}).b});
  c.push_back({"ECS address length", opt(qa, {0, 8, 0, 6, 0, 1, 24, 0, 1, 2}).b});
  c.push_back({"ECS host bits", opt(qa, {0, 8, 0, 7, 0, 1, 23, 0, 1, 2, 3}).b});
  c.push_back({"two ECS", opt(qa, {0, 8, 0, 4, 0, 1, 0, 0, 0, 8, 0, 4, 0, 1, 0, 0}).b});
  c.push_back({"OPT in answer", q(Pkt{}
                                      .header(1, 0, 1, 1, 0, 0)
                                      .name("a")
                                      .u16(1)
                                      .u16(1)
                                      .u8({0})
                                      .u16(kTypeOpt)
                                      .u16(512)
                                      .u32(0)
                                      .u16(0))});
  return c;
}

TEST(WireDns, RejectsMalformedInput) {
  for (const auto& c : malformedCases()) {
    auto m = parse(c.packet);
    EXPECT_FALSE(m.ok()) << c.what;
    if (!m.ok()) {
      EXPECT_EQ(m.error().code, core::Errc::kMalformed) << c.what;
    }
  }
}

TEST(WireDns, EveryTruncationOfAValidMessageFailsCleanly) {
  Pkt p;
  p.header(9, 0x8400, 1, 2, 0, 1).name("x.t.leak.test").u16(kTypeA).u16(1);
  p.u16(0xc00c).u16(kTypeA).u16(1).u32(0).u16(4).u8({192, 0, 2, 10});
  p.u16(0xc00e).u16(kTypeTxt).u16(1).u32(0).u16(3).u8({2, 'h', 'i'});
  p.u8({0}).u16(kTypeOpt).u16(1232).u32(0).u16(0);
  ASSERT_TRUE(parse(p.b).ok());
  for (std::size_t n = 0; n < p.b.size(); ++n) {
    EXPECT_FALSE(parse(std::span(p.b.data(), n)).ok()) << n;
  }
}

struct NameCase {
  std::string name;
  bool valid;
};

TEST(WireDns, EncodesNames) {
  const std::vector<NameCase> cases = {
      {"", true},
      {".", true},
      {"a", true},
      {"a.b.", true},
      {"a..b", false},
      {".a", false},
      {"a\\", false},
      {"a\\256", false},
      {std::string(63, 'x'), true},
      {std::string(64, 'x'), false},
      {std::string(63, 'x') + "." + std::string(63, 'x') + "." + std::string(63, 'x') + "." +
           std::string(61, 'x'),
       true},
      {std::string(63, 'x') + "." + std::string(63, 'x') + "." + std::string(63, 'x') + "." +
           std::string(62, 'x'),
       false},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(encodeName(c.name).ok(), c.valid) << c.name;
    std::array<std::uint8_t, kMaxNameWire> into{};
    const std::size_t n = encodeNameInto(c.name, into);
    EXPECT_EQ(n != 0, c.valid) << c.name;
    if (c.valid && n != 0) {
      EXPECT_EQ(Bytes8(into.begin(), into.begin() + static_cast<std::ptrdiff_t>(n)),
                *encodeName(c.name))
          << c.name;
    }
  }
  EXPECT_EQ(*encodeName("A\\.b\\\\.\\255c."), (Bytes8{4, 'A', '.', 'b', '\\', 2, 0xff, 'c', 0}));
  EXPECT_EQ(*encodeName("."), Bytes8{0});
  // A final escaped dot belongs to the label; only an unescaped one is the root (the fuzzer's
  // round trip of a name read from the wire that ended in a '.' octet).
  EXPECT_EQ(*encodeName("a\\."), (Bytes8{2, 'a', '.', 0}));
  EXPECT_EQ(*encodeName("a\\.."), (Bytes8{2, 'a', '.', 0}));
  EXPECT_EQ(*encodeName("a\\\\."), (Bytes8{2, 'a', '\\', 0}));
  EXPECT_EQ(*encodeName("a\\\\\\."), (Bytes8{3, 'a', '\\', '.', 0}));
}

TEST(WireDns, ParseIntoReusesAMessageWithoutLeftovers) {
  Pkt big;
  big.header(1, 0x8400, 2, 1, 0, 1).name("first.example").u16(kTypeA).u16(1);
  big.name("second.example").u16(kTypeTxt).u16(1);
  big.u16(0xc00c).u16(kTypeA).u16(1).u32(60).u16(4).u8({192, 0, 2, 1});
  big.u8({0}).u16(kTypeOpt).u16(1232).u32(0).u16(0);
  Message m;
  ASSERT_TRUE(parseInto(big.b, m).ok());
  ASSERT_EQ(m.questions.size(), 2U);
  EXPECT_EQ(m.questions[1].name, "second.example");
  EXPECT_EQ(m.answers.size(), 1U);
  EXPECT_TRUE(m.edns.has_value());
  const auto small = query("Only.One", kTypeAaaa);
  ASSERT_TRUE(parseInto(small, m).ok());
  ASSERT_EQ(m.questions.size(), 1U);
  EXPECT_EQ(m.questions[0].name, "Only.One");
  EXPECT_EQ(m.questions[0].qtype, kTypeAaaa);
  EXPECT_TRUE(m.answers.empty());
  EXPECT_FALSE(m.edns.has_value());
  EXPECT_EQ(m.question_end, small.size());
  // After an error the next message parses as if the message were new.
  EXPECT_FALSE(parseInto(std::span(big.b.data(), big.b.size() - 1), m).ok());
  ASSERT_TRUE(parseInto(small, m).ok());
  EXPECT_EQ(m.questions.size(), 1U);
  EXPECT_FALSE(m.edns.has_value());
}

TEST(WireDns, ComparesNamesAndZones) {
  EXPECT_TRUE(nameEquals("Leak.TEST", "leak.test"));
  EXPECT_FALSE(nameEquals("leak.tes", "leak.test"));
  EXPECT_TRUE(nameInZone("leak.test", "leak.test"));
  EXPECT_TRUE(nameInZone("a.b.LEAK.test", "leak.test"));
  EXPECT_FALSE(nameInZone("aleak.test", "leak.test"));
  EXPECT_FALSE(nameInZone("a\\.leak.test", "leak.test"));
  EXPECT_TRUE(nameInZone("a\\\\.leak.test", "leak.test"));
  EXPECT_FALSE(nameInZone("test", "leak.test"));
  EXPECT_TRUE(nameInZone("anything", ""));
}

TEST(WireDns, BuildsAResponseThatParsesBack) {
  std::array<std::uint8_t, 512> buf{};
  Header h;
  h.id = 0xbeef;
  h.flags = Header::kQr | Header::kAa;
  Builder b(buf, h);
  ASSERT_TRUE(b.addQuestion("X.t.leak.test", kTypeA, kClassIn));
  ASSERT_TRUE(b.addAddress(Section::kAnswer, "X.t.leak.test", 0,
                           core::IpAddress::parse("192.0.2.10").value()));
  ASSERT_TRUE(b.addTxt(Section::kAnswer, "x.t.leak.test", 5, {"203.0.113.2", "more"}));
  Soa soa{"ns1.leak.test", "hostmaster.leak.test"};
  ASSERT_TRUE(b.addSoa(Section::kAuthority, "leak.test", 0, soa));
  ASSERT_TRUE(b.addNs(Section::kAuthority, "leak.test", 0, "ns1.leak.test"));
  Edns e;
  e.udp_payload_size = 1232;
  e.client_subnet = ClientSubnet{24, 0, core::IpAddress::parse("203.0.113.0").value()};
  ASSERT_TRUE(b.addOpt(e));
  const std::span<const std::uint8_t> out(buf.data(), b.size());
  auto m = parse(out);
  ASSERT_TRUE(m.ok()) << m.error().message();
  EXPECT_EQ(m->header.id, 0xbeef);
  ASSERT_EQ(m->answers.size(), 2U);
  EXPECT_EQ(m->answers[0].name, "X.t.leak.test");
  EXPECT_EQ(recordAddress(out, m->answers[0])->toString(), "192.0.2.10");
  EXPECT_EQ(m->answers[1].ttl, 5U);
  ASSERT_EQ(m->authority.size(), 2U);
  EXPECT_EQ(m->authority[0].name, "leak.test");
  auto mname = readName(out, m->authority[0].rdata_offset);
  ASSERT_TRUE(mname.ok());
  EXPECT_EQ(mname->name, "ns1.leak.test");
  EXPECT_EQ(m->edns->client_subnet->toString(), "203.0.113.0/24");
  // Compression: every owner after the question is a two-octet pointer, and so are the known
  // suffixes inside SOA and NS data (12 + 19 + 16 + 29 + 51 + 14 + 22 octets).
  EXPECT_EQ(b.size(), 163U);
}

TEST(WireDns, BuilderCompressesAgainstTheLongestKnownSuffixIgnoringCase) {
  std::array<std::uint8_t, 512> buf{};
  Builder b(buf, Header{});
  ASSERT_TRUE(b.addQuestion("A.Leak.Test", kTypeA, kClassIn));  // at 12: a, leak.test at 14
  ASSERT_TRUE(b.addNs(Section::kAnswer, "leak.TEST", 0, "ns1.leak.test"));
  const std::span<const std::uint8_t> out(buf.data(), b.size());
  // The question as given; the owner "leak.TEST" is a pointer to 14; "ns1" + a pointer to 14.
  EXPECT_EQ(Bytes8(out.begin() + 12, out.begin() + 25),
            (Bytes8{1, 'A', 4, 'L', 'e', 'a', 'k', 4, 'T', 'e', 's', 't', 0}));
  EXPECT_EQ(load16(out.data() + 29), 0xc00e);
  EXPECT_EQ(Bytes8(out.end() - 6, out.end()), (Bytes8{3, 'n', 's', '1', 0xc0, 0x0e}));
  auto m = parse(out);
  ASSERT_TRUE(m.ok()) << m.error().message();
  EXPECT_EQ(m->answers[0].name, "Leak.Test");  // the pointer's target keeps the question's case
  EXPECT_EQ(readName(out, m->answers[0].rdata_offset)->name, "ns1.Leak.Test");
  Builder bad(buf, Header{});
  EXPECT_FALSE(bad.addQuestion("x..y", kTypeA, kClassIn));
  EXPECT_EQ(bad.size(), kHeaderSize);
  EXPECT_EQ(bad.count(Section::kQuestion), 0);
}

TEST(WireDns, BuilderRollsBackWhatDoesNotFit) {
  std::array<std::uint8_t, 64> buf{};
  Builder b(buf, Header{}, 48);
  ASSERT_TRUE(b.addQuestion("abc.leak.test", kTypeA, kClassIn));
  const auto before = b.size();
  EXPECT_FALSE(b.addTxt(Section::kAnswer, "abc.leak.test", 0, {"0123456789012345678901234567890"}));
  EXPECT_EQ(b.size(), before);
  EXPECT_EQ(b.count(Section::kAnswer), 0);
  EXPECT_TRUE(b.addAddress(Section::kAnswer, "abc.leak.test", 0,
                           core::IpAddress::parse("192.0.2.1").value()));
  auto m = parse(std::span(buf.data(), b.size()));
  ASSERT_TRUE(m.ok()) << m.error().message();
  EXPECT_EQ(m->answers.size(), 1U);
}

// A name written again in full (an answer's owner repeating the question) is a pointer to where
// its labels begin; a record rolled back forgets its name, so that no later pointer leads to
// what was cut off.
TEST(WireDns, BuilderPointsARepeatedNameAtItsFirstCopy) {
  std::array<std::uint8_t, 512> buf{};
  Builder b(buf, Header{});
  ASSERT_TRUE(b.addQuestion("Q.Leak.Test", kTypeA, kClassIn));
  for (int i = 0; i < 30; ++i) {
    ASSERT_TRUE(b.addAddress(Section::kAnswer, "Q.Leak.Test", 0,
                             core::IpAddress::parse("192.0.2.1").value()));
    EXPECT_EQ(load16(buf.data() + b.size() - 16), 0xc00c) << i;
  }
  auto m = parse(std::span(buf.data(), b.size()));
  ASSERT_TRUE(m.ok()) << m.error().message();
  EXPECT_EQ(m->answers.size(), 30U);
  EXPECT_EQ(m->answers[29].name, "Q.Leak.Test");

  std::array<std::uint8_t, 128> small{};
  Builder r(small, Header{}, 70);
  ASSERT_TRUE(r.addQuestion("a.leak.test", kTypeA, kClassIn));  // 29 octets
  // The owner (25 octets) fits, its TXT data does not: both are rolled back.
  EXPECT_FALSE(r.addTxt(Section::kAnswer, "long-owner-name.example", 0, {"0123456789"}));
  const auto before = r.size();
  ASSERT_TRUE(r.addAddress(Section::kAnswer, "long-owner-name.example", 0,
                           core::IpAddress::parse("192.0.2.1").value()));
  EXPECT_EQ(r.size(), before + 25 + 14);  // written out, not a pointer to itself
  auto rm = parse(std::span(small.data(), r.size()));
  ASSERT_TRUE(rm.ok()) << rm.error().message();
  EXPECT_EQ(rm->answers[0].name, "long-owner-name.example");
}

TEST(WireDns, NamesTypesAndRcodes) {
  EXPECT_EQ(typeName(kTypeAaaa), "AAAA");
  EXPECT_EQ(typeName(999), "TYPE999");
  EXPECT_EQ(rcodeName(Rcode::kRefused), "REFUSED");
}

}  // namespace
}  // namespace vpnleak::wire::dns
