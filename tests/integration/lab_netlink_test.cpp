// The netlink route lookup agrees with `ip route get` in the lab client: a real wg-quick-style
// tunnel, for IPv4 and IPv6, with and without the tunnel's fwmark.
#include <gtest/gtest.h>

#include "core/json.hpp"
#include "lab/lab.hpp"
#include "lab_fixture.hpp"
#include "netlink/netns.hpp"
#include "netlink/route_lookup.hpp"
#include "test_support.hpp"

namespace vpnleak::lab {
namespace {

using core::IpAddress;

class LabNetlinkTest : public testing::LabTest {};

TEST_F(LabNetlinkTest, RouteLookupAgreesWithIpRouteGet) {
  LabOptions o;
  o.prefix = prefix_;
  o.tunnel_ipv6 = true;
  ASSERT_TRUE(up(o).ok());
  const auto plan = makePlan(o);
  const auto ns = plan.netns("client");
  const std::vector<IpAddress> dsts{plan.server_v4,
                                    plan.server_v6,
                                    plan.tunnel.endpoint.address,
                                    plan.isp_resolver_v4,
                                    plan.vpn_resolver_v4,
                                    plan.isp_resolver_v6,
                                    IpAddress::parse("8.8.8.8").value(),
                                    IpAddress::parse("2001:4860:4860::8888").value()};
  int via_tunnel = 0;
  int via_lan = 0;
  for (const auto& dst : dsts) {
    for (std::optional<std::uint32_t> mark :
         {std::optional<std::uint32_t>(), std::optional<std::uint32_t>(plan.tunnel.fwmark)}) {
      std::vector<std::string> argv{"ip", "-n", ns, "-j", "route", "get", dst.toString()};
      if (mark) {
        argv.emplace_back("mark");
        argv.push_back(std::to_string(*mark));
      }
      const auto ip_out = testing::sh(argv);
      ASSERT_TRUE(ip_out.ok()) << core::joinArgv(argv) << ": " << ip_out.err;
      const auto want = core::Json::parse(ip_out.out).at(0);

      netlink::RouteQuery q;
      q.dst = dst;
      q.mark = mark;
      auto guard = netlink::NetnsGuard::enter(ns);
      ASSERT_TRUE(guard.ok());
      auto got = netlink::lookupRoute(q);
      ASSERT_TRUE(got.ok()) << got.error().message();
      const std::string what = core::joinArgv(argv);
      EXPECT_EQ(got->oif_name, want["dev"].get<std::string>()) << what;
      EXPECT_EQ(got->gateway ? got->gateway->toString() : "", want.value("gateway", "")) << what;
      EXPECT_EQ(got->prefsrc ? got->prefsrc->toString() : "", want.value("prefsrc", "")) << what;
      if (want.contains("table")) {
        EXPECT_EQ(std::to_string(got->table), want["table"].get<std::string>()) << what;
      }
      (got->oif_name == plan.tunnel.client_iface ? via_tunnel : via_lan) += 1;
    }
  }
  // Both paths were exercised: unmarked traffic into the tunnel, marked traffic to the LAN.
  EXPECT_GE(via_tunnel, 5);
  EXPECT_GE(via_lan, 8);
}

}  // namespace
}  // namespace vpnleak::lab
