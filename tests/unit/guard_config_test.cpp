// Config parsing and validation (table-driven), LAN prefix selection, wg endpoint parsing and the
// Prometheus text: the pure parts of the guard.
#include <gtest/gtest.h>

#include "guard/config.hpp"
#include "guard/lan.hpp"
#include "guard/metrics.hpp"
#include "guard/watch.hpp"
#include "guard_golden_cases.hpp"

namespace vpnleak::guard {
namespace {

using testing::ep;
using testing::ip;
using testing::pre;

struct EndpointCase {
  const char* text;
  bool ok;
  const char* formatted;
};

class GuardEndpointParse : public ::testing::TestWithParam<EndpointCase> {};

TEST_P(GuardEndpointParse, ParsesOrNamesTheValue) {
  const auto& c = GetParam();
  auto r = GuardEndpoint::parse(c.text);
  ASSERT_EQ(r.ok(), c.ok) << c.text;
  if (c.ok) {
    EXPECT_EQ(r->toString(), c.formatted);
  } else {
    EXPECT_EQ(r.error().exitCode(), 2);
    EXPECT_NE(r.error().message().find(std::string("'") + c.text + "'"), std::string::npos)
        << r.error().message();
    EXPECT_EQ(r.error().message().find('\n'), std::string::npos);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, GuardEndpointParse,
    ::testing::Values(EndpointCase{"203.0.113.2:51820", true, "203.0.113.2:51820/udp"},
                      EndpointCase{"203.0.113.2:443/tcp", true, "203.0.113.2:443/tcp"},
                      EndpointCase{"[2001:db8::1]:1194/udp", true, "[2001:db8::1]:1194/udp"},
                      EndpointCase{"203.0.113.2", false, ""},
                      EndpointCase{"203.0.113.2:0", false, ""},
                      EndpointCase{"203.0.113.2:70000", false, ""},
                      EndpointCase{"203.0.113.2:51820/sctp", false, ""},
                      EndpointCase{"vpn.example.com:51820", false, ""},
                      EndpointCase{"0.0.0.0:51820", false, ""},
                      EndpointCase{"127.0.0.1:51820", false, ""},
                      EndpointCase{"224.0.0.1:51820", false, ""}, EndpointCase{"", false, ""}));

struct ValidateCase {
  const char* what;
  GuardConfig config;
  const char* error_substring;  // empty: valid
};

GuardConfig with(const std::function<void(GuardConfig&)>& f) {
  auto c = testing::wgBase();
  f(c);
  return c;
}

std::vector<ValidateCase> validateCases() {
  return {
      {"base", testing::wgBase(), ""},
      {"no tunnel", with([](auto& c) { c.tunnel.clear(); }), "missing --tunnel"},
      {"bad tunnel name", with([](auto& c) { c.tunnel = "wg 0"; }), "invalid --tunnel 'wg 0'"},
      {"long tunnel name", with([](auto& c) { c.tunnel = "abcdefghijklmnop"; }),
       "invalid --tunnel"},
      {"quote in name", with([](auto& c) { c.tunnel = "wg\"0"; }), "invalid --tunnel"},
      {"tunnel lo", with([](auto& c) { c.tunnel = "lo"; }), "invalid --tunnel 'lo'"},
      {"no endpoint", with([](auto& c) { c.endpoints.clear(); }), "missing --endpoint"},
      {"v6 dns with v6 blocked", with([](auto& c) { c.dns.push_back(ip("fd00::53")); }),
       "conflicting flags: --dns fd00::53"},
      {"v6 dns with v6 tunnelled", with([](auto& c) {
         c.dns.push_back(ip("fd00::53"));
         c.ipv6 = Ipv6Mode::kTunnel;
       }),
       ""},
      {"loopback dns", with([](auto& c) { c.dns = {ip("127.0.0.53")}; }), "invalid --dns"},
      {"lan iface without allow-lan", with([](auto& c) { c.lan_iface = "eth0"; }),
       "--lan-iface eth0 needs --allow-lan"},
      {"lan iface is the tunnel", with([](auto& c) {
         c.allow_lan = true;
         c.lan_iface = "wg0";
       }),
       "invalid --lan-iface 'wg0'"},
      {"public lan prefix", with([](auto& c) {
         c.allow_lan = true;
         c.lan = {pre("198.51.100.0/24")};
       }),
       "refusing LAN prefix '198.51.100.0/24'"},
      {"fwmark zero", with([](auto& c) { c.fwmark = 0U; }), "invalid --fwmark '0'"},
      {"lockdown alone",
       [] {
         GuardConfig c;
         c.lockdown = true;
         return c;
       }(),
       ""},
      {"lockdown with tunnel", with([](auto& c) { c.lockdown = true; }),
       "conflicting flags: --lockdown"},
  };
}

class GuardValidate : public ::testing::TestWithParam<ValidateCase> {};

TEST_P(GuardValidate, AcceptsOrExplainsInOneLine) {
  const auto& c = GetParam();
  const auto st = validate(c.config);
  if (std::string(c.error_substring).empty()) {
    EXPECT_TRUE(st.ok()) << c.what << ": " << st.error().message();
    return;
  }
  ASSERT_FALSE(st.ok()) << c.what;
  EXPECT_EQ(st.error().exitCode(), 2) << c.what;
  EXPECT_NE(st.error().message().find(c.error_substring), std::string::npos)
      << c.what << ": " << st.error().message();
  EXPECT_EQ(st.error().message().find('\n'), std::string::npos) << c.what;
}

INSTANTIATE_TEST_SUITE_P(Table, GuardValidate, ::testing::ValuesIn(validateCases()),
                         [](const auto& vcase) { return "case" + std::to_string(vcase.index); });

TEST(GuardConfig, RoundTripsThroughJson) {
  for (const auto& c : testing::goldenCases()) {
    auto back = configFromJson(toJson(c.config));
    ASSERT_TRUE(back.ok()) << c.name;
    EXPECT_EQ(*back, c.config) << c.name;
    EXPECT_EQ(configDigest(*back), configDigest(c.config)) << c.name;
  }
  EXPECT_NE(configDigest(testing::goldenCases()[0].config),
            configDigest(testing::goldenCases()[1].config));
}

TEST(GuardLan, KeepsOnlyPrivateOnLinkPrefixesOfNonTunnelInterfaces) {
  const std::vector<OnLinkPrefix> on_link{
      {"lo", pre("127.0.0.0/8")},       {"eth0", pre("192.168.1.0/24")},
      {"eth0", pre("fe80::/64")},       {"eth0", pre("2001:db8:77::/64")},  // public: LocalNet
      {"eth0", pre("198.51.100.0/24")},                                     // public: LocalNet
      {"wlan0", pre("10.5.0.0/16")},    {"wg0", pre("10.64.0.0/24")},       // the tunnel's own
      {"eth1", pre("0.0.0.0/0")},
  };
  const auto all = selectLanPrefixes(on_link, "wg0", "");
  EXPECT_EQ(all.allowed, (std::vector<core::Prefix>{pre("10.5.0.0/16"), pre("192.168.1.0/24"),
                                                    pre("fe80::/64")}));
  ASSERT_EQ(all.rejected.size(), 3U);
  EXPECT_EQ(all.rejected[0].prefix, pre("2001:db8:77::/64"));
  const auto eth0 = selectLanPrefixes(on_link, "wg0", "eth0");
  EXPECT_EQ(eth0.allowed, (std::vector<core::Prefix>{pre("192.168.1.0/24"), pre("fe80::/64")}));
}

TEST(GuardWatch, ParsesWgEndpoints) {
  const auto got =
      parseWgEndpoints("abc=\t203.0.113.2:51820\nxyz=\t(none)\nkey=\t[2001:db8::2]:51820\n");
  EXPECT_EQ(got, (std::vector<GuardEndpoint>{ep("203.0.113.2:51820"), ep("[2001:db8::2]:51820")}));
  EXPECT_TRUE(parseWgEndpoints("").empty());
}

TEST(GuardMetrics, FormatsPrometheusTextWithEveryReason) {
  WatchMetrics m;
  m.present = m.matches = true;
  m.restores = 3;
  m.last_restore_ms = 4.5;
  m.drops["dns"] = {7, 420};
  const auto text = formatPrometheus(m);
  EXPECT_NE(text.find("vpnleak_guard_table_present 1\n"), std::string::npos);
  EXPECT_NE(text.find("vpnleak_guard_restores_total 3\n"), std::string::npos);
  EXPECT_NE(text.find("vpnleak_guard_last_restore_seconds 0.0045\n"), std::string::npos);
  EXPECT_NE(text.find("vpnleak_guard_dropped_packets_total{reason=\"dns\"} 7\n"),
            std::string::npos);
  EXPECT_NE(text.find("vpnleak_guard_dropped_bytes_total{reason=\"dns\"} 420\n"),
            std::string::npos);
  EXPECT_NE(text.find("vpnleak_guard_dropped_packets_total{reason=\"out\"} 0\n"),
            std::string::npos);
  EXPECT_NE(text.find("# TYPE vpnleak_guard_dropped_packets_total counter\n"), std::string::npos);
}

}  // namespace
}  // namespace vpnleak::guard
