// OpenVPN's servers for the audit: what command lines and config files say (table-driven, bad
// input included), the snapshot's "endpoints" (round trip, old snapshots without them, strict
// reading), and the analysis of an OpenVPN client's host route to its server.
#include <gtest/gtest.h>

#include <map>

#include "audit/analyze.hpp"
#include "audit/openvpn.hpp"
#include "audit/snapshot.hpp"

namespace vpnleak::audit {
namespace {

using core::IpAddress;
using core::Prefix;

std::string argv(std::initializer_list<const char*> args) {
  std::string out;
  for (const char* a : args) out += std::string(a) + '\0';
  return out;
}

struct RemoteCase {
  const char* name;
  std::string cmdline;
  std::map<std::string, std::string> files;  // path -> text
  std::vector<OpenVpnRemote> expected;
  std::size_t notes = 0;
};

const std::string kLabConfig =
    "# vpnleak lab: OpenVPN client\nclient\ndev o7-ovc\nproto udp\nremote 203.0.113.2 1194\n"
    "nobind\n<ca>\n-----BEGIN CERTIFICATE-----\nremote 6.6.6.6 1\n-----END CERTIFICATE-----\n"
    "</ca>\nverb 3\n";

std::vector<RemoteCase> remoteCases() {
  return {
      {"lab_client",
       argv({"openvpn", "--config", "/run/vpnleak/o7-/client.conf"}),
       {{"/run/vpnleak/o7-/client.conf", kLabConfig}},
       {{"203.0.113.2", 1194, "udp"}}},
      {"command_line_remote",
       argv({"/usr/sbin/openvpn", "--client", "--remote", "vpn.example", "443", "tcp-client",
             "--dev", "tun"}),
       {},
       {{"vpn.example", 443, "tcp"}}},
      {"defaults_from_the_last_port_and_proto",
       argv({"openvpn", "--remote", "a.example", "--port", "1195", "--remote", "b.example", "53",
             "--proto", "tcp4"}),
       {},
       {{"a.example", 1195, "tcp"}, {"b.example", 53, "tcp"}}},
      {"no_port_no_proto",
       argv({"openvpn", "--remote", "2001:db8::1"}),
       {},
       {{"2001:db8::1", 1194, "udp"}}},
      {"lone_config_relative_to_cwd",
       argv({"openvpn", "client.ovpn"}),
       {{"/etc/openvpn/client.ovpn", "remote 198.51.100.7\nrport 1300\n"}},
       {{"198.51.100.7", 1300, "udp"}}},
      {"cd_then_relative_config",
       argv({"openvpn", "--cd", "/etc/openvpn/client", "--config", "x.conf"}),
       {{"/etc/openvpn/client/x.conf", "--remote 192.0.2.1 1194 udp6\n"}},
       {{"192.0.2.1", 1194, "udp"}}},
      {"command_line_after_config_overrides",
       argv({"openvpn", "--config", "/c", "--proto", "tcp"}),
       {{"/c", "proto udp\nremote 192.0.2.2\n"}},
       {{"192.0.2.2", 1194, "tcp"}}},
      {"quotes_comments_escapes",
       argv({"openvpn", "--config", "/c"}),
       {{"/c",
         "  ; a comment\n# remote 9.9.9.9\nremote \"my vpn.example\" 1194 # trailing\n"
         "remote 'q.example' 1200\nremote e\\ x.example 1201\nremote x.example 1202 ;c\n"
         "remote y.example 1203;c\n"}},
       {{"my vpn.example", 1194, "udp"},
        {"q.example", 1200, "udp"},
        {"e x.example", 1201, "udp"},
        {"x.example", 1202, "udp"}},
       1},  // "1203;c" is not a port: a comment starts only where a word would
      {"connection_blocks",
       argv({"openvpn", "--config", "/c"}),
       {{"/c",
         "port 1300\n<connection>\nremote 192.0.2.3\nproto tcp\n</connection>\n"
         "<connection>\nremote 192.0.2.4 1400\n</connection>\nproto udp\n"}},
       {{"192.0.2.3", 1300, "tcp"}, {"192.0.2.4", 1400, "udp"}}},
      {"nested_config",
       argv({"openvpn", "--config", "/a"}),
       {{"/a", "config /b\nremote 192.0.2.5\n"}, {"/b", "port 1500\nremote 192.0.2.6 1600\n"}},
       {{"192.0.2.6", 1600, "udp"}, {"192.0.2.5", 1500, "udp"}}},
      {"config_loop_ends",
       argv({"openvpn", "--config", "/a"}),
       {{"/a", "remote 192.0.2.7\nconfig /a\n"}},
       std::vector<OpenVpnRemote>(8, {"192.0.2.7", 1194, "udp"}),
       1},
      {"unreadable_config", argv({"openvpn", "--config", "/missing"}), {}, {}, 1},
      {"bad_ports_and_protos",
       argv({"openvpn",  "--remote", "a",  "0",        "--remote", "b",        "65536",
             "--remote", "c",        "x",  "--remote", "d",        "1",        "sctp",
             "--remote", "--port",   "-1", "--proto",  "quic",     "--remote", "e"}),
       {},
       {{"e", 1194, "udp"}},
       7},
      {"server_has_no_remote",
       argv({"openvpn", "--config", "/s"}),
       {{"/s",
         "dev tun\nproto udp\nlocal 203.0.113.2\nport 1194\nserver 10.77.0.0 "
         "255.255.255.0\n"}},
       {}},
      {"not_even_an_argv", "", {}, {}},
      {"garbage", std::string("\0\0--\0\xff\xfe--remote\0\0", 16), {}, {}},
      {"unclosed_quote_and_block",
       argv({"openvpn", "--config", "/c"}),
       {{"/c", "remote \"192.0.2.8 1194\n<ca>\nremote 192.0.2.9\n"}},
       {{"192.0.2.8 1194", 1194, "udp"}}},
      {"crlf_and_bom_free",
       argv({"openvpn", "--config", "/c"}),
       {{"/c", "remote 192.0.2.10 1194 udp\r\nproto tcp\r\n"}},
       {{"192.0.2.10", 1194, "udp"}}},
  };
}

class OpenVpnRemotesTest : public ::testing::TestWithParam<RemoteCase> {};

TEST_P(OpenVpnRemotesTest, FromCommandLineAndConfig) {
  const auto& c = GetParam();
  std::vector<std::string> read_paths;
  const ConfigReader read = [&](const std::string& path) -> std::optional<std::string> {
    read_paths.push_back(path);
    auto it = c.files.find(path);
    return it == c.files.end() ? std::nullopt : std::optional(it->second);
  };
  std::vector<std::string> notes;
  const auto got = openVpnRemotes(c.cmdline, "/etc/openvpn", read, notes);
  ASSERT_EQ(got.size(), c.expected.size()) << ::testing::PrintToString(notes);
  for (std::size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].host, c.expected[i].host) << i;
    EXPECT_EQ(got[i].port, c.expected[i].port) << i;
    EXPECT_EQ(got[i].proto, c.expected[i].proto) << i;
  }
  EXPECT_EQ(notes.size(), c.notes) << ::testing::PrintToString(notes);
  for (const auto& p : read_paths) EXPECT_EQ(p.front(), '/') << p;
}

INSTANTIATE_TEST_SUITE_P(Table, OpenVpnRemotesTest, ::testing::ValuesIn(remoteCases()),
                         [](const ::testing::TestParamInfo<RemoteCase>& tc) {
                           return std::string(tc.param.name);
                         });

TEST(OpenVpnConfig, WordsAndBlocks) {
  const auto opts = parseOpenVpnConfig(
      "\n  --client\nremote   a   1 \t udp\n<tls-crypt>\nx y\n</tls-crypt>\n<connection>\n"
      "remote b\n</connection>\nauth-user-pass \"/etc/a b\"\n");
  const std::vector<std::vector<std::string>> want{
      {"client"},      {"remote", "a", "1", "udp"}, {"<connection>"},
      {"remote", "b"}, {"</connection>"},           {"auth-user-pass", "/etc/a b"}};
  EXPECT_EQ(opts, want);
}

TEST(OpenVpnConfig, ProtoFamilies) {
  for (const char* p : {"udp", "udp4", "udp6"}) EXPECT_EQ(openVpnProtoFamily(p), "udp") << p;
  for (const char* p : {"tcp", "tcp6", "tcp-client", "tcp4-client"}) {
    EXPECT_EQ(openVpnProtoFamily(p), "tcp") << p;
  }
  for (const char* p : {"", "UDP", "tcp-server", "sctp"}) EXPECT_FALSE(openVpnProtoFamily(p)) << p;
}

TEST(OpenVpnConfig, ConfigsNamingEachOtherAreReadABoundedNumberOfTimes) {
  // Two `config` lines per file would otherwise read 2^depth files.
  int reads = 0;
  const ConfigReader read = [&](const std::string&) {
    ++reads;
    return std::optional<std::string>("remote 192.0.2.1\nconfig a.conf\nconfig b.conf\n");
  };
  std::vector<std::string> notes;
  const auto got = openVpnRemotes(argv({"openvpn", "--config", "a.conf"}), "/etc", read, notes);
  EXPECT_LE(reads, 32);
  EXPECT_GE(got.size(), 1U);
  EXPECT_FALSE(notes.empty());
}

TEST(OpenVpnConfig, ArbitraryBytesNeverCrash) {
  std::string text;
  std::uint32_t x = 12345;
  std::vector<std::string> notes;
  const ConfigReader read = [&](const std::string&) { return std::optional(text); };
  for (int round = 0; round < 300; ++round) {
    text.clear();
    for (int i = 0; i < 200; ++i) {
      x = x * 1103515245U + 12345U;
      const char alphabet[] = "remote port proto config cd <>/\"'\\#;\n\t 0123456789.:\0\xff";
      text += alphabet[(x >> 16) % (sizeof alphabet - 1)];
    }
    (void)parseOpenVpnConfig(text);
    (void)openVpnRemotes(argv({"openvpn", "--config", "/c"}) + text, "", read, notes);
  }
  SUCCEED();
}

Snapshot openVpnHost() {
  Snapshot s;
  Interface lan;
  lan.name = "lan0";
  lan.up = true;
  lan.addresses = {{IpAddress::parse("192.168.77.2").value(), 24}};
  Interface tun;
  tun.name = "o7-ovc";
  tun.kind = "tun";
  tun.up = true;
  tun.addresses = {{IpAddress::parse("10.77.0.2").value(), 24}};
  s.interfaces = {lan, tun};
  auto route = [](const char* dst, const char* dev, const char* via, const char* scope) {
    RouteEntry r;
    r.dst = Prefix::parse(dst).value();
    r.dev = dev;
    if (via != nullptr) r.gateway = IpAddress::parse(via).value();
    r.scope = scope;
    return r;
  };
  // What OpenVPN's redirect-gateway def1 leaves: the host route to its server via the LAN.
  s.routes = {route("0.0.0.0/0", "lan0", "192.168.77.1", "global"),
              route("192.168.77.0/24", "lan0", nullptr, "link"),
              route("10.77.0.0/24", "o7-ovc", nullptr, "link"),
              route("0.0.0.0/1", "o7-ovc", "10.77.0.1", "global"),
              route("128.0.0.0/1", "o7-ovc", "10.77.0.1", "global"),
              route("203.0.113.2/32", "lan0", "192.168.77.1", "global")};
  RuleEntry main;
  main.priority = 32766;
  main.table = 254;
  s.rules = {main};
  s.resolvers = {IpAddress::parse("10.77.0.1").value()};
  s.endpoints.push_back(
      {"openvpn", "203.0.113.2", core::Endpoint::parse("203.0.113.2:1194").value(), "udp", 42U});
  return s;
}

const Finding* find(const Report& r, const std::string& id) {
  for (const auto& f : r.findings) {
    if (f.id == id) return &f;
  }
  return nullptr;
}

TEST(OpenVpnAudit, HostRouteToTheServerIsTheEndpointExceptionNotABypass) {
  const auto r = analyze(openVpnHost());
  ASSERT_EQ(r.tunnel.endpoints.size(), 1U);
  EXPECT_EQ(r.tunnel.endpoints[0].toString(), "203.0.113.2:1194/udp");
  EXPECT_EQ(r.tunnel.endpoints[0].source, "openvpn");
  EXPECT_EQ(find(r, "route-bypass"), nullptr) << toJson(r).dump(2);
  const auto* e = find(r, "endpoint-exception-broad");
  ASSERT_NE(e, nullptr) << toJson(r).dump(2);
  EXPECT_EQ(e->severity, Severity::kMedium);
  EXPECT_NE(e->fix.find("--endpoint 203.0.113.2:1194/udp"), std::string::npos) << e->fix;
  const auto j = toJson(r);
  EXPECT_EQ(j["tunnel"]["endpoints"], core::Json::array({"203.0.113.2:1194"}));
  EXPECT_EQ(j["tunnel"]["endpoint_details"][0]["source"], "openvpn");

  // Without the endpoint (the old audit), the same route is TunnelVision's high route-bypass.
  auto old = openVpnHost();
  old.endpoints.clear();
  const auto* bypass = find(analyze(old), "route-bypass");
  ASSERT_NE(bypass, nullptr);
  EXPECT_EQ(bypass->severity, Severity::kHigh);
}

TEST(OpenVpnAudit, TcpEndpointsFixNamesTcp) {
  auto s = openVpnHost();
  s.endpoints[0].proto = "tcp";
  const auto* e = find(analyze(s), "endpoint-exception-broad");
  ASSERT_NE(e, nullptr);
  EXPECT_NE(e->fix.find("--endpoint 203.0.113.2:1194/tcp"), std::string::npos) << e->fix;
}

TEST(OpenVpnAudit, EndpointsWithoutATunnelOrAddressAreNotUsed) {
  auto s = openVpnHost();
  s.endpoints.push_back({"openvpn", "vpn.example", std::nullopt, "udp", 43U});
  EXPECT_EQ(analyze(s).tunnel.endpoints.size(), 1U);
  s.interfaces.pop_back();  // no tunnel up: the client is still connecting
  EXPECT_TRUE(analyze(s).tunnel.endpoints.empty());
}

TEST(OpenVpnSnapshot, EndpointsRoundTripAndOldSnapshotsStillRead) {
  auto s = openVpnHost();
  s.endpoints.push_back({"openvpn", "vpn.example", std::nullopt, "tcp", std::nullopt});
  const auto j = toJson(s);
  ASSERT_EQ(j["endpoints"].size(), 2U);
  EXPECT_EQ(j["endpoints"][0], core::Json::parse(R"({"source":"openvpn","host":"203.0.113.2",
                                  "endpoint":"203.0.113.2:1194","proto":"udp","pid":42})"));
  auto back = snapshotFromJson(core::Json::parse(j.dump()));
  ASSERT_TRUE(back.ok()) << back.error().message();
  EXPECT_EQ(toJson(*back).dump(), j.dump());

  auto old = j;
  old.erase("endpoints");
  auto read = snapshotFromJson(old);
  ASSERT_TRUE(read.ok()) << read.error().message();
  EXPECT_TRUE(read->endpoints.empty());
}

TEST(OpenVpnSnapshot, MalformedEndpointsNameTheirPath) {
  const std::vector<std::pair<const char*, const char*>> bad{
      {"/endpoints/0/endpoint", "\"vpn.example:1194\""},
      {"/endpoints/0/proto", "\"sctp\""},
      {"/endpoints/0/source", "null"},
      {"/endpoints/0/pid", "-1"},
      {"/endpoints", "{}"},
      {"/endpoints/0", "\"x\""}};
  for (const auto& [pointer, value] : bad) {
    auto j = toJson(openVpnHost());
    j[core::Json::json_pointer(pointer)] = core::Json::parse(value);
    auto r = snapshotFromJson(j);
    ASSERT_FALSE(r.ok()) << pointer;
    EXPECT_EQ(r.error().exitCode(), 2);
    EXPECT_NE(r.error().message().find("$.endpoints"), std::string::npos) << r.error().message();
  }
}

}  // namespace
}  // namespace vpnleak::audit
