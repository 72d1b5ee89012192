// The OpenVPN lab's plan and config files: names, endpoint, no fwmark, fixed addresses, what the
// server pushes.
#include <gtest/gtest.h>

#include "lab/openvpn.hpp"
#include "lab/plan.hpp"

namespace vpnleak::lab {
namespace {

LabPlan openVpnPlan(bool tunnel_ipv6) {
  LabOptions o;
  o.prefix = "ov-";
  o.vpn = VpnKind::kOpenVpn;
  o.tunnel_ipv6 = tunnel_ipv6;
  return makePlan(o);
}

bool has(const std::string& text, const std::string& line) {
  return text.find(line + "\n") != std::string::npos;
}

TEST(OpenVpnPlan, TunNamesEndpointAndNoPolicyRouting) {
  const auto p = openVpnPlan(false);
  EXPECT_EQ(p.tunnel.client_iface, "ov-ovc");
  EXPECT_EQ(p.tunnel.server_iface, "ov-ovs");
  EXPECT_EQ(p.tunnel.endpoint.toString(), "203.0.113.2:1194");
  EXPECT_FALSE(p.tunnel.fwmark.has_value());
  EXPECT_FALSE(p.tunnel.table.has_value());
  EXPECT_EQ(p.tunnel.client_v4.cidr(), "10.77.0.2/24");
  const auto j = planToJson(p);
  EXPECT_EQ(j["tunnel"]["kind"], "openvpn");
  EXPECT_TRUE(j["tunnel"]["fwmark"].is_null());

  const auto wg = makePlan({});
  EXPECT_EQ(wg.tunnel.fwmark, 51820U);
  EXPECT_EQ(planToJson(wg)["tunnel"]["kind"], "wireguard");
}

TEST(OpenVpnPlan, KindNamesRoundTrip) {
  for (const auto k : {VpnKind::kWireGuard, VpnKind::kOpenVpn}) {
    EXPECT_EQ(parseVpnKind(vpnKindName(k)), k);
  }
  EXPECT_FALSE(parseVpnKind("ipsec").has_value());
}

TEST(OpenVpnConfig, ServerListensOnTheEndpointAndPushesDef1) {
  const auto c = openVpnServerConfig(openVpnPlan(false), "/run/x");
  EXPECT_TRUE(has(c, "dev ov-ovs")) << c;
  EXPECT_TRUE(has(c, "local 203.0.113.2")) << c;
  EXPECT_TRUE(has(c, "port 1194")) << c;
  EXPECT_TRUE(has(c, "server 10.77.0.0 255.255.255.0")) << c;
  EXPECT_TRUE(has(c, "push \"redirect-gateway def1\"")) << c;
  EXPECT_TRUE(has(c, "tls-crypt /run/x/tc.key")) << c;
  EXPECT_TRUE(has(c, "client-config-dir /run/x/ccd")) << c;
  EXPECT_EQ(c.find("server-ipv6"), std::string::npos) << c;
  EXPECT_EQ(c.find("--daemon"), std::string::npos) << c;

  const auto c6 = openVpnServerConfig(openVpnPlan(true), "/run/x");
  EXPECT_TRUE(has(c6, "server-ipv6 fd77:77::/64")) << c6;
  EXPECT_TRUE(has(c6, "push \"redirect-gateway def1 ipv6\"")) << c6;
}

TEST(OpenVpnConfig, ClientPullsAndGetsFixedAddresses) {
  const auto c = openVpnClientConfig(openVpnPlan(false), "/run/x");
  EXPECT_TRUE(has(c, "client")) << c;
  EXPECT_TRUE(has(c, "dev ov-ovc")) << c;
  EXPECT_TRUE(has(c, "remote 203.0.113.2 1194")) << c;
  EXPECT_TRUE(has(c, "remote-cert-tls server")) << c;
  EXPECT_TRUE(has(c, "writepid /run/x/openvpn-client.pid")) << c;
  EXPECT_EQ(openVpnClientCcd(openVpnPlan(false)), "ifconfig-push 10.77.0.2 255.255.255.0\n");
  EXPECT_TRUE(
      has(openVpnClientCcd(openVpnPlan(true)), "ifconfig-ipv6-push fd77:77::2/64 fd77:77::1"));
}

TEST(OpenVpnConfig, ClientRemoteCanBeANameOrAnotherAddressOnTheEndpointsPort) {
  const auto plan = openVpnPlan(false);
  for (const std::string host : {"vpn.vpn-provider.test", "192.0.2.10"}) {
    const auto c = openVpnClientConfig(plan, "/run/x", host);
    EXPECT_TRUE(has(c, "remote " + host + " 1194")) << c;
    EXPECT_EQ(c.find("203.0.113.2"), std::string::npos) << c;
    EXPECT_EQ(c.find("remote "), c.rfind("remote ")) << "one remote only: " << c;
  }
  EXPECT_EQ(openVpnClientConfig(plan, "/run/x", ""), openVpnClientConfig(plan, "/run/x"));
}

TEST(OpenVpnConfig, RedirectPrefixesAreThoseOfRedirectGatewayDef1) {
  auto texts = [](bool v6) {
    std::vector<std::string> out;
    for (const auto& p : openVpnRedirectPrefixes(openVpnPlan(v6))) out.push_back(p.toString());
    return out;
  };
  EXPECT_EQ(texts(false), (std::vector<std::string>{"0.0.0.0/1", "128.0.0.0/1"}));
  EXPECT_EQ(texts(true), (std::vector<std::string>{"0.0.0.0/1", "128.0.0.0/1", "::/3", "2000::/4",
                                                   "3000::/4", "fc00::/7"}));
}

}  // namespace
}  // namespace vpnleak::lab
