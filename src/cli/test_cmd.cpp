// vpnleak test: the active leak test a user runs on their own machine.
#include <CLI/CLI.hpp>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <memory>

#include "cli/app.hpp"
#include "probe/leak_test.hpp"
#include "report/junit.hpp"

namespace vpnleak::cli {

namespace {

struct TestArgs {
  std::string server;
  std::string tunnel;
  std::vector<std::string> expect_exit;
  std::size_t dns_names = 20;
  unsigned timeout_ms = 2000;
  std::vector<std::string> only;
  bool json = false;
  std::string junit;
};

core::Result<probe::TestOptions> options(const TestArgs& a) {
  probe::TestOptions o;
  auto url = probe::parseServerUrl(a.server);
  if (!url) return url.error();
  o.server = *url;
  o.tunnel = a.tunnel;
  for (const auto& e : a.expect_exit) {
    auto ip = core::IpAddress::parse(e);
    if (!ip)
      return core::makeError(core::Errc::kInvalidArgument,
                             "--expect-exit: " + ip.error().message());
    o.expect_exit.push_back(*ip);
  }
  if (a.dns_names < 1 || a.dns_names > 100) {
    return core::makeError(
        core::Errc::kInvalidArgument,
        "invalid --dns-names " + std::to_string(a.dns_names) + ": expected 1 to 100");
  }
  o.dns_names = a.dns_names;
  if (a.timeout_ms < 200 || a.timeout_ms > 60000) {
    return core::makeError(
        core::Errc::kInvalidArgument,
        "invalid --timeout " + std::to_string(a.timeout_ms) + ": expected 200 to 60000 ms");
  }
  o.timeout = std::chrono::milliseconds(a.timeout_ms);
  for (const auto& list : a.only) {
    std::stringstream ss(list);
    std::string id;
    while (std::getline(ss, id, ',')) {
      const auto& ids = probe::checkIds();
      if (std::find(ids.begin(), ids.end(), id) == ids.end()) {
        return core::makeError(
            core::Errc::kInvalidArgument,
            "unknown check '" + id + "' in --only: expected ipv4, ipv6, dns, webrtc or killswitch");
      }
      o.only.push_back(id);
    }
  }
  return o;
}

void printTable(const probe::TestReport& r, std::ostream& out) {
  const auto& o = r.observations;
  out << "server " << r.server << "  tunnel " << (o.tunnel.empty() ? "-" : o.tunnel) << "  outside "
      << (o.physical.empty() ? "-" : o.physical) << "  exit "
      << (o.exit_v4 ? o.exit_v4->toString() : "-") << " / "
      << (o.exit_v6 ? o.exit_v6->toString() : "-") << "\n\n";
  out << std::left << std::setw(12) << "CHECK" << std::setw(7) << "STATUS"
      << "EXPLANATION\n";
  for (const auto& c : r.checks) {
    out << std::setw(12) << c.id << std::setw(7) << c.status << c.explanation << "\n";
  }
  out << "\n"
      << (r.leaked() ? "LEAK: something escapes the tunnel (see above)" : "PASS: nothing leaked")
      << "  (" << r.duration_ms << " ms)\n";
}

int runTest(const TestArgs& a) {
  auto o = options(a);
  if (!o) return fail(2, o.error().message());
  auto rep = probe::runLeakTest(*o);
  if (!rep) return fail(rep.error().exitCode(), rep.error().message());
  if (!a.junit.empty()) {
    std::vector<report::JunitCase> cases;
    for (const auto& c : rep->checks) {
      cases.push_back({c.id, "vpnleak.test", c.status, c.explanation, c.evidence.dump(2),
                       static_cast<double>(rep->duration_ms) / 1000.0});
    }
    std::ofstream f(a.junit, std::ios::trunc);
    f << report::junitXml("vpnleak test " + rep->server, cases);
    if (!f) return fail(2, "cannot write --junit '" + a.junit + "'");
  }
  if (a.json) {
    std::cout << probe::toJson(*rep).dump(2) << "\n";
  } else {
    printTable(*rep, std::cout);
  }
  return rep->leaked() ? 1 : 0;
}

}  // namespace

void addTestCommand(CLI::App& root, Action& action) {
  auto args = std::make_shared<TestArgs>();
  auto* sub = root.add_subcommand("test", "Active leak test against a vpnleak server");
  sub->add_option("--server", args->server, "The leak-test server, http://HOST[:PORT]")->required();
  sub->add_option("--tunnel", args->tunnel, "The VPN interface (detected when not given)");
  sub->add_option("--expect-exit", args->expect_exit,
                  "An address the server should see through the tunnel (repeatable)");
  sub->add_option("--dns-names", args->dns_names, "Unique names to resolve")->capture_default_str();
  sub->add_option("--timeout", args->timeout_ms, "The whole test's deadline in ms")
      ->capture_default_str();
  sub->add_option("--only", args->only, "Checks to run: ipv4,ipv6,dns,webrtc,killswitch");
  sub->add_flag("--json", args->json, "One JSON document (schema vpnleak.test/1)");
  sub->add_option("--junit", args->junit, "Also write JUnit XML here");
  sub->callback([&action, args] { action = [args] { return runTest(*args); }; });
}

}  // namespace vpnleak::cli
