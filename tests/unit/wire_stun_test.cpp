#include <gtest/gtest.h>

#include <vector>

#include "wire/stun.hpp"

namespace vpnleak::wire::stun {
namespace {

using Bytes8 = std::vector<std::uint8_t>;

const TransactionId kRfcId{0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae};

// RFC 5769 2.2 and 2.3: sample binding responses (SOFTWARE, XOR-MAPPED-ADDRESS,
// MESSAGE-INTEGRITY, FINGERPRINT).
const Bytes8 kRfcResponseV4{
    0x01, 0x01, 0x00, 0x3c, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86,
    0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b, 0x74, 0x65, 0x73, 0x74, 0x20, 0x76, 0x65, 0x63,
    0x74, 0x6f, 0x72, 0x20, 0x00, 0x20, 0x00, 0x08, 0x00, 0x01, 0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43,
    0x00, 0x08, 0x00, 0x14, 0x2b, 0x91, 0xf5, 0x99, 0xfd, 0x9e, 0x90, 0xc3, 0x8c, 0x74, 0x89, 0xf9,
    0x2a, 0xf9, 0xba, 0x53, 0xf0, 0x6b, 0xe7, 0xd7, 0x80, 0x28, 0x00, 0x04, 0xc0, 0x7d, 0x4c, 0x96};
const Bytes8 kRfcResponseV6{
    0x01, 0x01, 0x00, 0x48, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86,
    0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b, 0x74, 0x65, 0x73, 0x74, 0x20, 0x76, 0x65, 0x63,
    0x74, 0x6f, 0x72, 0x20, 0x00, 0x20, 0x00, 0x14, 0x00, 0x02, 0xa1, 0x47, 0x01, 0x13, 0xa9, 0xfa,
    0xa5, 0xd3, 0xf1, 0x79, 0xbc, 0x25, 0xf4, 0xb5, 0xbe, 0xd2, 0xb9, 0xd9, 0x00, 0x08, 0x00, 0x14,
    0xa3, 0x82, 0x95, 0x4e, 0x4b, 0xe6, 0x7b, 0xf1, 0x17, 0x84, 0xc9, 0x7c, 0x82, 0x92, 0xc2, 0x75,
    0xbf, 0xe3, 0xed, 0x41, 0x80, 0x28, 0x00, 0x04, 0xc8, 0xfb, 0x0b, 0x4c};

TEST(WireStun, ParsesTheRfc5769Responses) {
  struct Case {
    const Bytes8* bytes;
    const char* mapped;
  };
  for (const auto& c : {Case{&kRfcResponseV4, "192.0.2.1:32853"},
                        Case{&kRfcResponseV6, "[2001:db8:1234:5678:11:2233:4455:6677]:32853"}}) {
    auto m = parse(*c.bytes);
    ASSERT_TRUE(m.ok()) << m.error().message();
    EXPECT_EQ(m->method, kMethodBinding);
    EXPECT_EQ(m->cls, Class::kSuccess);
    EXPECT_FALSE(m->rfc3489);
    EXPECT_EQ(m->transaction_id, kRfcId);
    EXPECT_TRUE(m->has_fingerprint);
    EXPECT_EQ(m->attribute_count, 4U);
    auto ep = mappedAddress(*m);
    ASSERT_TRUE(ep.ok()) << ep.error().message();
    EXPECT_EQ(ep->toString(), c.mapped);
  }
}

TEST(WireStun, Crc32MatchesTheCheckValue) {
  const std::string s = "123456789";
  EXPECT_EQ(crc32(Bytes(reinterpret_cast<const std::uint8_t*>(s.data()), s.size())), 0xcbf43926U);
}

TEST(WireStun, RoundTripsRequestAndResponse) {
  std::array<std::uint8_t, 128> req{};
  auto n = buildBindingRequest(req, kRfcId, true);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 28U);
  auto parsed = parse(Bytes(req.data(), *n));
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  EXPECT_EQ(parsed->cls, Class::kRequest);
  EXPECT_TRUE(parsed->has_fingerprint);
  for (const char* mapped : {"198.51.100.7:4242", "[2001:db8:77::2]:65535"}) {
    std::array<std::uint8_t, 128> resp{};
    auto rn = buildBindingSuccess(resp, *parsed, core::Endpoint::parse(mapped).value());
    ASSERT_TRUE(rn.ok());
    auto r = parse(Bytes(resp.data(), *rn));
    ASSERT_TRUE(r.ok()) << r.error().message();
    EXPECT_EQ(r->cls, Class::kSuccess);
    EXPECT_EQ(r->transaction_id, kRfcId);
    EXPECT_TRUE(r->has_fingerprint);
    EXPECT_EQ(mappedAddress(*r)->toString(), mapped);
  }
}

TEST(WireStun, AnswersRfc3489ClientsWithMappedAddress) {
  // A classic request: no magic cookie, the 128-bit id's first word in its place.
  Bytes8 req{0x00, 0x01, 0x00, 0x00, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  auto m = parse(req);
  ASSERT_TRUE(m.ok());
  EXPECT_TRUE(m->rfc3489);
  std::array<std::uint8_t, 64> resp{};
  auto n = buildBindingSuccess(resp, *m, core::Endpoint::parse("192.0.2.9:1000").value());
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 32U);  // header + MAPPED-ADDRESS, no FINGERPRINT
  EXPECT_EQ(Bytes8(resp.begin() + 4, resp.begin() + 20), Bytes8(req.begin() + 4, req.end()));
  auto r = parse(Bytes(resp.data(), *n));
  ASSERT_TRUE(r.ok());
  ASSERT_NE(r->find(kAttrMappedAddress), nullptr);
  EXPECT_EQ(mappedAddress(*r)->toString(), "192.0.2.9:1000");
}

TEST(WireStun, BuildsErrorResponsesWithUnknownAttributes) {
  std::array<std::uint8_t, 64> req{};
  auto n = buildBindingRequest(req, kRfcId, false);
  ASSERT_TRUE(n.ok());
  auto m = parse(Bytes(req.data(), *n));
  ASSERT_TRUE(m.ok());
  std::array<std::uint8_t, 128> resp{};
  const std::array<std::uint16_t, 1> unknown{0x7777};
  auto rn = buildError(resp, *m, 420, "Unknown Attribute", unknown);
  ASSERT_TRUE(rn.ok());
  auto r = parse(Bytes(resp.data(), *rn));
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->cls, Class::kError);
  const auto* ec = r->find(kAttrErrorCode);
  ASSERT_NE(ec, nullptr);
  EXPECT_EQ(ec->value[2], 4);
  EXPECT_EQ(ec->value[3], 20);
  const auto* ua = r->find(kAttrUnknownAttributes);
  ASSERT_NE(ua, nullptr);
  EXPECT_EQ(load16(ua->value.data()), 0x7777);
}

TEST(WireStun, RejectsMalformedInput) {
  auto with = [](Bytes8 b, std::size_t at, std::uint8_t v) {
    b[at] = v;
    return b;
  };
  Bytes8 extra = kRfcResponseV4;  // an attribute after FINGERPRINT
  extra.insert(extra.end(), {0x80, 0x22, 0x00, 0x00});
  extra[3] = static_cast<std::uint8_t>(extra[3] + 4);
  Bytes8 overrun{0x00, 0x01, 0x00, 0x04, 0x21, 0x12, 0xa4, 0x42, 1,    2,    3,    4,
                 5,    6,    7,    8,    9,    10,   11,   12,   0x00, 0x20, 0x00, 0x08};
  Bytes8 many{0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42, 1,  2,
              3,    4,    5,    6,    7,    8,    9,    10,   11, 12};
  for (int i = 0; i < 33; ++i) many.insert(many.end(), {0x80, 0x22, 0x00, 0x00});
  many[3] = 33 * 4;
  struct Case {
    const char* what;
    Bytes8 bytes;
  };
  const std::vector<Case> cases = {
      {"empty", {}},
      {"short header", Bytes8(kRfcResponseV4.begin(), kRfcResponseV4.begin() + 19)},
      {"top bits", with(kRfcResponseV4, 0, 0xc1)},
      {"length not multiple of 4", with(kRfcResponseV4, 3, 0x3d)},
      {"length larger than datagram", with(kRfcResponseV4, 3, 0x40)},
      {"wrong fingerprint", with(kRfcResponseV4, 79, 0x97)},
      {"corrupted body", with(kRfcResponseV4, 45, 0x00)},
      {"attribute after fingerprint", extra},
      {"attribute overruns", overrun},
      {"too many attributes", many},
  };
  for (const auto& c : cases) {
    auto m = parse(c.bytes);
    EXPECT_FALSE(m.ok()) << c.what;
  }
  for (std::size_t n = 0; n < kRfcResponseV4.size(); ++n) {
    EXPECT_FALSE(parse(Bytes(kRfcResponseV4.data(), n)).ok()) << n;
  }
}

TEST(WireStun, DecodesAddressesStrictly) {
  EXPECT_FALSE(decodeAddress(Bytes8{0, 1, 0, 1}).ok());
  EXPECT_FALSE(decodeAddress(Bytes8{0, 3, 0, 1, 1, 2, 3, 4}).ok());
  EXPECT_FALSE(decodeAddress(Bytes8{0, 2, 0, 1, 1, 2, 3, 4}).ok());
  EXPECT_TRUE(decodeAddress(Bytes8{0, 1, 0, 1, 1, 2, 3, 4}).ok());
}

TEST(WireStun, RecognisesStunDatagrams) {
  EXPECT_TRUE(looksLikeStun(kRfcResponseV4));
  EXPECT_FALSE(looksLikeStun(Bytes8{0x16, 0x03, 0x01, 0x00}));
  Bytes8 classic{0x00, 0x01, 0x00, 0x00, 0xde, 0xad, 0xbe, 0xef, 1,  2,
                 3,    4,    5,    6,    7,    8,    9,    10,   11, 12};
  EXPECT_TRUE(looksLikeStun(classic));
  EXPECT_FALSE(looksLikeStun(classic, false));
}

}  // namespace
}  // namespace vpnleak::wire::stun
