// `vpnleak lab run` end to end: a subset of the catalogue with one run each. Asserts the verdict
// table (not the timings): with the guard off the leaky scenarios leak, with it on nothing does.
// The reports it writes are checked too, and the HTML is rendered in headless Chromium.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "core/file.hpp"
#include "core/json.hpp"
#include "lab/lab.hpp"
#include "lab_fixture.hpp"
#include "pcapng_blocks.hpp"

namespace vpnleak::testing {
namespace {

std::string slurp(const std::string& path) { return core::readFile(path).value_or(""); }

// A unique prefix ("vlr" + 3 hex + "-"), and whatever `lab run` leaves behind is removed.
class RunLab {
 public:
  RunLab() : prefix_("vlr" + randomHex(3) + "-"), dir_("/tmp/vlr-test-" + randomHex(8)) {
    std::filesystem::create_directories(dir_);
  }
  ~RunLab() {
    if (lab::present(prefix_)) {
      (void)sh({vpnleakBinary(), "guard", "--netns", prefix_ + "client", "down"});
      if (auto st = lab::down(prefix_); !st) ADD_FAILURE() << "lab down: " << st.error().message();
    }
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
    std::filesystem::remove("/run/vpnleak/lab/" + prefix_ + ".lock", ec);
  }
  RunLab(const RunLab&) = delete;
  RunLab& operator=(const RunLab&) = delete;
  [[nodiscard]] const std::string& prefix() const { return prefix_; }
  [[nodiscard]] std::string file(const std::string& name) const { return dir_ + "/" + name; }

 private:
  std::string prefix_, dir_;
};

// A wg-quick-like client for --vpn-cmd: the lab's keys and addresses come in the environment.
void writeUpScript(const RunLab& lab) {
  std::ofstream f(lab.file("up.sh"));
  f << "set -e\n"
       "ip link add \"$VPNLEAK_IFACE\" type wireguard 2>/dev/null || "
       "wireguard-go \"$VPNLEAK_IFACE\"\n"
       "wg set \"$VPNLEAK_IFACE\" private-key \"$VPNLEAK_CLIENT_KEY\" fwmark "
       "\"$VPNLEAK_FWMARK\" peer \"$VPNLEAK_SERVER_PUBKEY\" endpoint \"$VPNLEAK_ENDPOINT\" "
       "allowed-ips 0.0.0.0/0\n"
       "ip address add \"$VPNLEAK_ADDRESS\" dev \"$VPNLEAK_IFACE\"\n"
       "ip link set \"$VPNLEAK_IFACE\" mtu 1420 up\n"
       "ip -4 route replace default dev \"$VPNLEAK_IFACE\" table \"$VPNLEAK_TABLE\"\n";
}

// `lab run --scenarios reconnect --runs 1 --json` with the wg-quick-like client of
// writeUpScript for --vpn-cmd and DOWN for --vpn-down-cmd (plus EXTRA): its exit code and JSON.
struct OwnVpnRun {
  int exit_code = -1;
  core::Json doc;
};
OwnVpnRun runOwnVpn(const RunLab& lab, const std::string& down,
                    const std::vector<std::string>& extra = {}) {
  writeUpScript(lab);
  std::vector<std::string> argv{vpnleakBinary(),
                                "lab",
                                "run",
                                "--prefix",
                                lab.prefix(),
                                "--scenarios",
                                "reconnect",
                                "--runs",
                                "1",
                                "--json",
                                "--quiet",
                                "--vpn-cmd",
                                "sh " + lab.file("up.sh"),
                                "--vpn-down-cmd",
                                down};
  argv.insert(argv.end(), extra.begin(), extra.end());
  auto r = core::run(argv, core::RunOptions::withTimeout(std::chrono::seconds(120)));
  OwnVpnRun out;
  if (!r.ok()) {
    ADD_FAILURE() << "vpnleak could not be started";
    return out;
  }
  EXPECT_FALSE(r->timed_out) << r->err;
  out.exit_code = r->exit_code;
  auto doc = core::parseJson(r->out, "lab run");
  EXPECT_TRUE(doc.ok()) << r->err << r->out;
  if (doc) out.doc = *doc;
  return out;
}

std::uint64_t classCount(const core::Json& result, const std::string& cls) {
  return result["leaks_by_class"].value(cls, std::uint64_t{0});
}

// The statuses of the steady-state `vpnleak test`, by check id.
std::map<std::string, std::string> testChecks(const core::Json& result) {
  std::map<std::string, std::string> out;
  for (const auto& c : result["points"]["steady"]["test"]["checks"]) out[c["id"]] = c["status"];
  return out;
}

// The finding ids and severities of the audit at POINT ("steady" or "fault").
std::map<std::string, std::string> auditFindings(const core::Json& result,
                                                 const std::string& point) {
  std::map<std::string, std::string> out;
  for (const auto& f : result["points"][point]["audit"]["findings"]) out[f["id"]] = f["severity"];
  return out;
}

// Per-class counts are there for every class, add up to the leaked packets, and the monitor
// lost nothing.
void expectConsistentCounts(const core::Json& result) {
  ASSERT_TRUE(result.contains("leaks_by_class")) << result.dump();
  std::uint64_t sum = 0;
  for (const char* cls : {"dns", "stun", "tunnel-misdirected", "ipv6", "ipv4", "other"}) {
    ASSERT_TRUE(result["leaks_by_class"].contains(cls)) << cls;
    sum += result["leaks_by_class"][cls].get<std::uint64_t>();
  }
  EXPECT_EQ(sum, result["leaked_packets"].get<std::uint64_t>());
  EXPECT_EQ(result["monitor"]["kernel_drops"], 0);
  EXPECT_GE(result["monitor"]["leaks"].get<std::uint64_t>(), sum);
  EXPECT_LE(result["evidence"].size(), 5U);
  EXPECT_EQ(result["evidence"].empty(), sum == 0);
}

// The classes a scenario must leak with the guard off.
const std::map<std::string, std::vector<std::string>> kLeakedClasses{{"reconnect", {"ipv4"}},
                                                                     {"dns-isp", {"dns"}},
                                                                     {"ipv6-native", {"ipv6"}},
                                                                     {"tunnelvision", {"ipv4"}}};

TEST(LabRun, VerdictTableGuardOffLeaksGuardOnDoesNot) {
  VL_REQUIRE_ROOT();
  RunLab lab;
  auto r = core::run(
      {vpnleakBinary(), "lab", "run", "--prefix", lab.prefix(), "--scenarios",
       "reconnect,dns-isp,ipv6-native,tunnelvision", "--runs", "1", "--json", "--quiet", "--junit",
       lab.file("run.xml"), "--html", lab.file("run.html"), "--pcap-dir", lab.file("pcap")},
      core::RunOptions::withTimeout(std::chrono::seconds(270)));
  ASSERT_TRUE(r.ok()) << "vpnleak could not be started";
  ASSERT_FALSE(r->timed_out) << "lab run did not finish in time: " << r->err;
  EXPECT_EQ(r->exit_code, 0) << r->err << r->out;
  EXPECT_FALSE(lab::present(lab.prefix())) << "lab run left its lab up";
  auto doc = core::parseJson(r->out, "lab run");
  ASSERT_TRUE(doc.ok()) << r->out;
  EXPECT_EQ(doc->begin().key(), "schema");
  EXPECT_EQ((*doc)["schema"], "vpnleak.run/1");
  ASSERT_EQ((*doc)["scenarios"].size(), 4U);
  for (const auto& s : (*doc)["scenarios"]) {
    SCOPED_TRACE(s["id"].get<std::string>());
    ASSERT_NO_FATAL_FAILURE(expectLeaksOffPassesOn(s));
    const auto& off = s["results"][0];
    const auto& on = s["results"][1];
    EXPECT_GT(off["window_ms"]["max"].get<double>(), 0.0);
    expectConsistentCounts(off);
    expectConsistentCounts(on);
    const auto id = s["id"].get<std::string>();
    for (const auto& cls : kLeakedClasses.at(id)) EXPECT_GT(classCount(off, cls), 0U) << cls;
    // --pcap-dir: each mode's leaked frames, exactly those the monitor counted.
    for (const auto* mode : {&off, &on}) {
      const auto guard = (*mode)["guard"].get<std::string>();
      const auto pcap = lab.file("pcap") + "/" + id + "-guard-" + guard + ".pcapng";
      EXPECT_EQ((*mode)["pcap"], pcap);
      const auto blocks = readPcapngBlocks(pcap);
      ASSERT_TRUE(blocks) << pcap;
      EXPECT_EQ(
          std::count_if(blocks->begin(), blocks->end(), [](const auto& b) { return b.type == 6; }),
          (*mode)["monitor"]["leaks"].get<std::int64_t>())
          << guard;
      const auto dump = sh({"tcpdump", "-r", pcap, "-nn"});
      EXPECT_EQ(dump.exit_code, 0) << dump.err;
      if (id == "dns-isp" && guard == "off") {
        EXPECT_NE(dump.out.find("lab-run.leak.test"), std::string::npos) << dump.out;
      }
    }
    EXPECT_EQ(classCount(off, "tunnel-misdirected"), 0U);

    // The defined points: the steady-state audit and test, and the audit during the fault.
    const auto off_test = testChecks(off);
    const auto on_test = testChecks(on);
    EXPECT_EQ(off_test.at("killswitch"), "leak") << off["points"].dump();
    EXPECT_EQ(on_test.at("killswitch"), "pass") << on["points"].dump();
    EXPECT_EQ(on_test.at("ipv6"), "pass") << on["points"].dump();  // --ipv6 block
    EXPECT_EQ(off_test.at("ipv6"), "leak");                        // the lab's tunnel is IPv4 only
    EXPECT_EQ(auditFindings(off, "steady").count("no-killswitch"), 1U);
    EXPECT_EQ(auditFindings(on, "steady").count("no-killswitch"), 0U);
    EXPECT_EQ(auditFindings(on, "fault").count("no-killswitch"), 0U) << on["points"].dump();
    if (id == "reconnect") {
      // Inside the hold the tunnel interface is gone, and the audit says so.
      EXPECT_EQ(auditFindings(off, "fault").count("no-tunnel"), 1U) << off["points"].dump();
      EXPECT_EQ(auditFindings(on, "fault").count("no-tunnel"), 1U) << on["points"].dump();
    } else {
      EXPECT_EQ(auditFindings(off, "fault").count("no-killswitch"), 1U) << off["points"].dump();
    }
    if (id == "ipv6-native") {
      EXPECT_EQ(auditFindings(off, "fault")["ipv6-outside-tunnel"], "high");
      EXPECT_EQ(auditFindings(on, "fault")["ipv6-outside-tunnel"], "low");  // --ipv6 block
    }
    if (id == "dns-isp") {
      EXPECT_EQ(auditFindings(off, "steady")["dns-outside-tunnel"], "high");
      EXPECT_EQ(auditFindings(on, "steady")["dns-outside-tunnel"], "low");  // the guard stops it
      EXPECT_EQ(off_test.at("dns"), "leak");
      EXPECT_NE(off["evidence"][0].get<std::string>().find("lab-run.leak.test"), std::string::npos)
          << off["evidence"];
    } else {
      EXPECT_EQ(off_test.at("dns"), "pass") << off["points"].dump();
    }
    if (id == "tunnelvision") {
      // The rogue DHCP route exists only while the fault holds: the fault-time audit sees it.
      EXPECT_EQ(auditFindings(off, "steady").count("route-bypass"), 0U);
      EXPECT_EQ(auditFindings(off, "fault")["route-bypass"], "high") << off["points"].dump();
      EXPECT_EQ(auditFindings(on, "fault")["route-bypass"], "low") << on["points"].dump();
    }
    std::cout << "[ lab run ] " << s["id"].get<std::string>()
              << " off: leaked=" << off["leaked_packets"] << " window_ms=" << off["window_ms"]
              << " on: leaked=" << on["leaked_packets"] << "\n";
  }
  EXPECT_EQ((*doc)["summary"]["fail"], 0);

  const auto xml = slurp(lab.file("run.xml"));
  EXPECT_NE(xml.find("tests=\"8\""), std::string::npos) << xml;
  EXPECT_NE(xml.find("failures=\"0\""), std::string::npos) << xml;
  EXPECT_NE(xml.find("steady test: "), std::string::npos) << xml;
  EXPECT_NE(xml.find("[[ATTACHMENT|" + lab.file("pcap") + "/dns-isp-guard-off.pcapng]]"),
            std::string::npos)
      << xml;
  const auto html = lab.file("run.html");
  const auto page = slurp(html);
  ASSERT_NE(page.find("<svg"), std::string::npos);
  EXPECT_NE(page.find("Audit and test at defined points"), std::string::npos);
  EXPECT_NE(page.find("dns-outside-tunnel(high)"), std::string::npos);
  EXPECT_NE(page.find("<a href=\"pcap/dns-isp-guard-off.pcapng\">"), std::string::npos);

  // The report as a browser draws it.
  if (!core::haveExecutable("chromium")) {
    if (inCi()) FAIL() << "chromium is required in CI for the report screenshot";
    GTEST_SKIP() << "chromium not installed: the report screenshot is not checked";
  }
  const auto png = lab.file("run.png");
  const auto tmp = lab.file("chromium-tmp");
  ASSERT_TRUE(std::filesystem::create_directory(tmp)) << tmp;
  auto shot = core::run({"env", "TMPDIR=" + tmp, "chromium", "--headless=new", "--no-sandbox",
                         "--disable-gpu", "--user-data-dir=" + lab.file("chromium"),
                         "--screenshot=" + png, "--window-size=1200,800", "file://" + html},
                        core::RunOptions::withTimeout(std::chrono::seconds(60)));
  ASSERT_TRUE(shot.ok()) << "chromium could not be started";
  ASSERT_TRUE(std::filesystem::exists(png)) << shot->err;
  EXPECT_GT(std::filesystem::file_size(png), 10000U) << "the screenshot looks blank";
}

// Bring-your-own VPN: a wg-quick-like client written here replaces the lab's own, and the
// reconnect fault takes it down and up with the user's commands.
TEST(LabRun, OwnVpnCommandsReconnect) {
  VL_REQUIRE_ROOT();
  RunLab lab;
  const auto run = runOwnVpn(lab, "ip link del \"$VPNLEAK_IFACE\"");
  EXPECT_EQ(run.exit_code, 0) << run.doc.dump();
  ASSERT_TRUE(run.doc.contains("scenarios")) << run.doc.dump();
  EXPECT_EQ(run.doc["vpn"], "command");
  EXPECT_NO_FATAL_FAILURE(expectLeaksOffPassesOn(run.doc["scenarios"][0]));
  EXPECT_FALSE(lab::present(lab.prefix()));
}

// A step that fails once the monitor runs makes the result an `error`, and what the monitor
// saved until then is still named (a stale file of an earlier run is not).
TEST(LabRun, ErrorAfterTheMonitorStartedNamesItsPcap) {
  VL_REQUIRE_ROOT();
  RunLab lab;
  const auto dir = lab.file("pcap");
  std::filesystem::create_directories(dir);
  const auto stale = dir + "/reconnect-guard-off.pcapng";
  { std::ofstream(stale) << "an earlier run's file"; }
  const auto run = runOwnVpn(lab, "echo cannot take it down >&2; exit 7", {"--pcap-dir", dir});
  EXPECT_EQ(run.exit_code, 4) << run.doc.dump();
  ASSERT_TRUE(run.doc.contains("scenarios")) << run.doc.dump();
  const auto& results = run.doc["scenarios"][0]["results"];
  ASSERT_EQ(results.size(), 2U) << run.doc.dump();
  for (const auto& res : results) {
    const auto guard = res["guard"].get<std::string>();
    SCOPED_TRACE(guard);
    EXPECT_EQ(res["verdict"], "error");
    EXPECT_NE(res.value("error", "").find("cannot take it down"), std::string::npos) << res.dump();
    const auto pcap = dir + "/reconnect-guard-" + guard + ".pcapng";
    ASSERT_EQ(res.value("pcap", ""), pcap) << res.dump();
    const auto blocks = readPcapngBlocks(pcap);
    ASSERT_TRUE(blocks && !blocks->empty()) << pcap;
    EXPECT_EQ(blocks->front().type, 0x0A0D0D0AU);
  }
  EXPECT_FALSE(lab::present(lab.prefix()));
}

TEST(LabRun, RejectsUnknownScenarioWithExit2) {
  auto r = sh({vpnleakBinary(), "lab", "run", "--prefix", "vlrbad-", "--scenarios", "nope"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("unknown scenario 'nope'"), std::string::npos) << r.err;
  r = sh({vpnleakBinary(), "lab", "run", "--prefix", "vlrbad-", "--runs", "0"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  r = sh({vpnleakBinary(), "lab", "run", "--prefix", "vlrbad-", "--vpn-cmd", "true"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  r = sh({vpnleakBinary(), "lab", "run", "--prefix", "vlrbad-", "--pcap-dir", "/etc/hostname"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(r.err, "vpnleak: --pcap-dir '/etc/hostname' is not a directory\n");
  const std::string missing = "/tmp/vlr-none-" + randomHex(8) + "/pcap";
  r = sh({vpnleakBinary(), "lab", "run", "--prefix", "vlrbad-", "--pcap-dir", missing});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("expected a directory, or a new one in an existing directory"),
            std::string::npos)
      << r.err;
  EXPECT_FALSE(std::filesystem::exists(missing));
  r = sh({vpnleakBinary(), "lab", "run", "--prefix", "vlrbad-", "--pcap-dir", ""});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("--pcap-dir: expected a directory"), std::string::npos) << r.err;
  // A relative value is named as given.
  r = sh({"bash", "-c", "cd /etc && exec \"$0\" lab run --prefix vlrbad- --pcap-dir hostname",
          vpnleakBinary()});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(r.err, "vpnleak: --pcap-dir 'hostname' is not a directory\n");
}

}  // namespace
}  // namespace vpnleak::testing
