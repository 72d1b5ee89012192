// The monitor on captures recorded in the lab (tests/data/monitor, see record.sh there) agrees
// exactly with tcpdump filters that express the same definitions, class by class; and bad input
// on the command line fails with one line and the documented exit code.
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <array>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "core/file.hpp"
#include "core/json.hpp"
#include "core/unique_fd.hpp"
#include "monitor_test_process.hpp"
#include "pcapng_blocks.hpp"
#include "test_support.hpp"

namespace vpnleak::testing {
namespace {

namespace fs = std::filesystem;

fs::path dataDir() { return fs::path(__FILE__).parent_path().parent_path() / "data" / "monitor"; }

// The classifier's definitions as tcpdump filters (docs/monitor.md), for one WireGuard endpoint.
struct Filters {
  std::string tunnel, allowed, leak;
};

std::string wireguardFraming() {
  return "(udp[9:2] = 0 and udp[11] = 0 and ((udp[8] = 1 and udp[4:2] = 156) or (udp[8] = 2 and "
         "udp[4:2] = 100) or (udp[8] = 3 and udp[4:2] = 72) or (udp[8] = 4 and udp[4:2] >= 40 and "
         "udp[4:2] & 15 = 8)))";
}

std::string endpointMatch(const std::string& host, int port) {
  const auto p = std::to_string(port);
  return "(udp and ((dst host " + host + " and dst port " + p + ") or (src host " + host +
         " and src port " + p + ")))";
}

const std::string kDhcp =
    "(udp and ((src port 68 and dst port 67) or (src port 67 and dst port 68) or (src port 546 "
    "and dst port 547) or (src port 547 and dst port 546)))";
const std::string kNdp = "(icmp6 and ip6[40] >= 133 and ip6[40] <= 137 and ip6[7] = 255)";

Filters filters(const std::string& tunnel, const std::string& allowed) {
  return {tunnel, "(not " + tunnel + ") and " + allowed,
          "(ip or ip6 or arp) and not " + tunnel + " and not " + allowed};
}

// A payload-offset expression for TCP (data offset from the header) and the ClientHello test the
// classifier applies: handshake record, SSL 3.0-TLS 1.3 version, sane length, ClientHello.
std::string tlsClientHello() {
  const std::string o = "((tcp[12] & 0xf0) >> 2)";
  return "(tcp and tcp[" + o + "] = 22 and tcp[" + o + " + 1] = 3 and tcp[" + o +
         " + 2] <= 4 and tcp[" + o + " + 3:2] >= 4 and tcp[" + o + " + 3:2] <= 18432 and tcp[" + o +
         " + 5] = 1)";
}

std::string stun() {
  return "(udp and udp[8] & 0xc0 = 0 and udp[10:2] & 3 = 0 and udp[10:2] + 28 = udp[4:2] and "
         "udp[12:4] = 0x2112a442)";
}

std::size_t tcpdumpCount(const fs::path& file, const std::string& filter) {
  auto r = sh({"tcpdump", "-r", file.string(), "-nn", filter});
  // The BPF optimiser proves some combinations empty (e.g. "arp" among leaks when ARP is allowed).
  if (r.err.find("expression rejects all packets") != std::string::npos) return 0;
  EXPECT_EQ(r.exit_code, 0) << filter << ": " << r.err;
  return static_cast<std::size_t>(std::count(r.out.begin(), r.out.end(), '\n'));
}

struct MonitorRun {
  int exit_code = -1;
  core::Json summary;
  std::vector<core::Json> leaks;
};

MonitorRun monitorFile(const fs::path& file, const std::vector<std::string>& args) {
  std::vector<std::string> argv{vpnleakBinary(), "monitor", "--read", file.string(), "--json"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = sh(argv);
  MonitorRun out;
  out.exit_code = r.exit_code;
  std::istringstream lines(r.out);
  std::string line;
  while (std::getline(lines, line)) {
    auto j = core::parseJson(line, "monitor output");
    if (!j) {
      ADD_FAILURE() << "not JSON: " << line;
      continue;
    }
    if ((*j)["type"] == "leak") out.leaks.push_back(*j);
    if ((*j)["type"] == "summary") out.summary = *j;
  }
  EXPECT_FALSE(out.summary.is_null()) << r.err;
  return out;
}

std::size_t countLeaks(const MonitorRun& m, const std::string& key, const std::string& value) {
  return static_cast<std::size_t>(std::count_if(m.leaks.begin(), m.leaks.end(), [&](const auto& j) {
    return j.contains(key) && j[key] == value;
  }));
}

std::size_t countWith(const MonitorRun& m, const std::string& key) {
  return static_cast<std::size_t>(std::count_if(m.leaks.begin(), m.leaks.end(),
                                                [&](const auto& j) { return j.contains(key); }));
}

struct Definition {
  std::string what;
  std::vector<std::string> args;
  Filters f;
};

std::vector<Definition> definitions() {
  const auto ep = endpointMatch("203.0.113.2", 51820);
  return {
      {"wireguard framing, dhcp/ndp/arp allowed",
       {"--endpoint", "203.0.113.2:51820", "--allow", "arp", "--allow", "ndp", "--allow", "dhcp"},
       filters("(" + ep + " and " + wireguardFraming() + ")",
               "(arp or " + kDhcp + " or " + kNdp + ")")},
      {"udp transport only, LAN prefix allowed, ARP a leak",
       {"--endpoint", "203.0.113.2:51820/udp", "--allow", "192.168.77.0/24"},
       filters(ep, "((ip or ip6) and dst net 192.168.77.0/24)")},
  };
}

class MonitorFilesAgree : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (!core::haveExecutable("tcpdump")) {
      if (inCi()) FAIL() << "tcpdump is required in CI";
      GTEST_SKIP() << "needs tcpdump";
    }
  }
};

TEST_P(MonitorFilesAgree, CountsEqualTcpdumpFilters) {
  const auto file = dataDir() / GetParam();
  ASSERT_TRUE(fs::exists(file)) << file;
  for (const auto& d : definitions()) {
    SCOPED_TRACE(d.what);
    // The second definition's prefix is matched on the destination: on a capture with both
    // directions, inbound packets would be judged by their source instead.
    if (d.args.back() == "192.168.77.0/24" && GetParam() != "wg_drop.pcap") continue;
    const auto m = monitorFile(file, d.args);
    const auto leaks = tcpdumpCount(file, d.f.leak);
    EXPECT_GT(leaks, 0U);
    EXPECT_EQ(m.exit_code, 1);
    EXPECT_EQ(m.summary["packets"], tcpdumpCount(file, ""));
    EXPECT_EQ(m.summary["tunnel"], tcpdumpCount(file, d.f.tunnel));
    EXPECT_EQ(m.summary["allowed"], tcpdumpCount(file, d.f.allowed));
    EXPECT_EQ(m.summary["leaks"], leaks);
    EXPECT_EQ(m.leaks.size(), leaks);
    EXPECT_EQ(m.summary["other"], tcpdumpCount(file, "not (ip or ip6 or arp)"));
    const std::string leak = "(" + d.f.leak + ")";
    EXPECT_EQ(m.summary["reasons"]["dns"], tcpdumpCount(file, leak + " and port 53"));
    EXPECT_EQ(countLeaks(m, "family", "ipv6"), tcpdumpCount(file, leak + " and ip6"));
    EXPECT_EQ(countLeaks(m, "proto", "arp"), tcpdumpCount(file, leak + " and arp"));
    EXPECT_EQ(countLeaks(m, "proto", "icmp"), tcpdumpCount(file, leak + " and icmp"));
    const std::string not_dns = " and not port 53 and not port 5353 and not port 5355";
    EXPECT_EQ(m.summary["reasons"]["tls"],
              tcpdumpCount(file, leak + not_dns + " and " + tlsClientHello()));
    EXPECT_EQ(m.summary["reasons"]["stun"], tcpdumpCount(file, leak + not_dns + " and " + stun()));
  }
}

TEST_P(MonitorFilesAgree, ReportsWhatTheRecordedTrafficRevealed) {
  const auto m = monitorFile(dataDir() / GetParam(), definitions()[0].args);
  // record.sh looked up l1..l3 (UDP and TCP), fetched l4 over HTTP and l5 over TLS.
  for (const char* q : {"l1.leak.test", "l2.leak.test", "l3.leak.test"}) {
    EXPECT_GE(countLeaks(m, "dns_qname", q), 1U) << q;
  }
  // Asked through the tunnel: on lan0 it is ciphertext; "any" also sees the tunnel interface,
  // whose inner packets go to no endpoint and so count as leaks there.
  EXPECT_EQ(countLeaks(m, "dns_qname", "h1.leak.test"), GetParam() == "wg_drop.pcap" ? 0U : 1U);
  EXPECT_EQ(countLeaks(m, "http_host", "l4.leak.test"), 1U);
  EXPECT_EQ(countLeaks(m, "sni", "l5.leak.test"), 1U);
  EXPECT_EQ(countLeaks(m, "reason", "stun"), 1U);
  EXPECT_EQ(countWith(m, "sni"), 1U);
  EXPECT_GE(m.summary["windows"].get<int>(), 1);
}

// tcpdump's view of a capture: every packet's time, addresses and bytes (-xx: the link header too).
std::string tcpdumpDump(const std::string& file, const std::string& filter) {
  auto r = sh({"tcpdump", "-r", file, "-nn", "-tt", "-xx", filter});
  EXPECT_EQ(r.exit_code, 0) << file << ": " << r.err;
  return r.out;
}

TEST_P(MonitorFilesAgree, WriteSavesExactlyTheLeakedFrames) {
  const auto file = dataDir() / GetParam();
  const auto defs = definitions();
  const auto& d = defs[0];
  const TempFile out("vlt-leaks.pcapng");
  auto args = d.args;
  args.insert(args.end(), {"--write", out.path});
  const auto m = monitorFile(file, args);
  EXPECT_EQ(m.exit_code, 1);
  // tcpdump reads the file: the frames its leak filter selects from the input, byte for byte,
  // with their timestamps, and nothing else.
  const auto leaks = tcpdumpCount(file, d.f.leak);
  ASSERT_GT(leaks, 0U);
  EXPECT_EQ(tcpdumpCount(out.path, ""), leaks);
  EXPECT_EQ(tcpdumpDump(out.path, ""), tcpdumpDump(file.string(), d.f.leak));
  const auto r = sh({"tcpdump", "-r", out.path, "-c", "1"});
  EXPECT_NE(r.err.find(GetParam() == "wg_drop.pcap" ? "EN10MB" : "LINUX_SLL2"), std::string::npos)
      << r.err;
  // And the monitor reads it back: the same leaks at the same times, nothing else.
  const auto again = monitorFile(out.path, d.args);
  EXPECT_EQ(again.summary["packets"], m.summary["leaks"]);
  EXPECT_EQ(again.summary["leaks"], m.summary["leaks"]);
  EXPECT_EQ(again.summary["reasons"], m.summary["reasons"]);
  ASSERT_EQ(again.leaks.size(), m.leaks.size());
  for (std::size_t i = 0; i < m.leaks.size(); ++i) {
    auto a = again.leaks[i];
    auto b = m.leaks[i];
    a.erase("iface");  // the file's name
    b.erase("iface");
    EXPECT_EQ(a, b) << i;
  }
}

TEST(MonitorWrite, AFailedRunLeavesTheFileAsItWas) {
  const auto bad = dataDir() / "missing.pcap";
  // An existing file is not truncated by a run that fails before its sources are open ...
  const TempFile existing("vlt-keep.pcapng");
  std::ofstream(existing.path) << "keep me\n";
  auto r = sh({vpnleakBinary(), "monitor", "--read", bad.string(), "--endpoint",
               "203.0.113.2:51820", "--write", existing.path});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(core::readFile(existing.path).value_or(""), "keep me\n");
  // ... and one it created is removed again.
  const TempFile created("vlt-new.pcapng");
  r = sh({vpnleakBinary(), "monitor", "--read", bad.string(), "--endpoint", "203.0.113.2:51820",
          "--write", created.path});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_FALSE(fs::exists(created.path));
}

TEST(MonitorWrite, ADanglingSymlinkIsRefusedAndLeftAsItWas) {
  const TempFile link("vlt-dangling.pcapng");
  const TempFile target("vlt-target.pcapng");
  fs::create_symlink(target.path, link.path);
  const auto r = sh({vpnleakBinary(), "monitor", "--read", (dataDir() / "wg_drop.pcap").string(),
                     "--endpoint", "203.0.113.2:51820", "--write", link.path});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(r.err, "vpnleak: --write '" + link.path + "' is a symbolic link to a missing file\n");
  EXPECT_TRUE(fs::is_symlink(link.path));
  EXPECT_FALSE(fs::exists(target.path));
}

TEST(MonitorWrite, AFifoWhoseReaderGoesAwayEndsTheRunWithItsSummaryAndExit3) {
  const TempFile fifo("vlt-fifo");
  ASSERT_EQ(::mkfifo(fifo.path.c_str(), 0600), 0);
  // The reader is there before the monitor opens the FIFO (one nobody reads is refused).
  core::UniqueFd reader(::open(fifo.path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  ASSERT_TRUE(reader.valid());
  // The recorded capture 40 times: more leaked frames than a pipe holds, so the monitor is still
  // writing (blocked) when the reader goes, whatever the scheduling.
  std::vector<std::string> argv{vpnleakBinary(), "monitor", "--endpoint", "203.0.113.2:51820",
                                "--json",        "--write", fifo.path,    "--read"};
  for (int i = 0; i < 40; ++i) argv.push_back((dataDir() / "wg_drop.pcap").string());
  Background mon;
  ASSERT_TRUE(mon.start(argv));
  pollfd p{reader.get(), POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 10000), 1) << "nothing arrived: " << mon.output();
  std::array<char, 16> head{};
  ASSERT_GT(::read(reader.get(), head.data(), head.size()), 0);
  ::close(reader.release());  // the reader goes
  EXPECT_EQ(mon.wait(std::chrono::milliseconds(10000)), 3) << mon.output();
  EXPECT_NE(mon.output().find("vpnleak: cannot write --write '" + fifo.path + "': Broken pipe"),
            std::string::npos)
      << mon.output();
  EXPECT_NE(mon.output().find("\"type\":\"summary\""), std::string::npos) << mon.output();
}

TEST(MonitorWrite, AFileThatCannotTakeTheFramesEndsTheRunWithExit3) {
  const auto r = sh({vpnleakBinary(), "monitor", "--read", (dataDir() / "wg_drop.pcap").string(),
                     "--endpoint", "203.0.113.2:51820", "--write", "/dev/full"});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_EQ(r.err, "vpnleak: cannot write --write '/dev/full': No space left on device\n");
}

// The recorded capture COPIES times, each as its own --read source, as NDJSON.
std::vector<std::string> repeatedRead(int copies, const std::vector<std::string>& more) {
  std::vector<std::string> argv{vpnleakBinary(), "monitor", "--json", "--endpoint",
                                "203.0.113.2:51820"};
  for (int i = 0; i < copies; ++i) {
    argv.insert(argv.end(), {"--read", (dataDir() / "wg_drop.pcap").string()});
  }
  argv.insert(argv.end(), more.begin(), more.end());
  return argv;
}

// Each frame with its time and bytes; absolute TCP sequence numbers, so that a frame reads the
// same whichever file it is in.
std::string frameDump(const std::string& file) {
  auto r = sh({"tcpdump", "-r", file, "-nn", "-tt", "-S", "-xx"});
  EXPECT_EQ(r.exit_code, 0) << file << ": " << r.err;
  return r.out;
}

core::Json summaryOf(const std::string& out) {
  const auto at = out.rfind("{\"type\":\"summary\"");
  if (at == std::string::npos) return {};
  auto j = core::parseJson(out.substr(at), "summary");
  return j ? *j : core::Json{};
}

// --write-limit: the leaked frames in numbered files of at most the limit each, which together
// hold what one file would; --write-files keeps the newest of them.
TEST(MonitorWrite, ALimitSplitsTheFramesIntoNumberedFiles) {
  const TempDir dir("vlt-split");
  const auto whole = dir.file("whole.pcapng");
  auto r = sh(repeatedRead(20, {"--write", whole}));
  ASSERT_EQ(r.exit_code, 1) << r.err;
  const auto all = summaryOf(r.out);
  EXPECT_EQ(all["written"], core::Json({{"files", 1}, {"first", whole}, {"last", whole}}));

  const auto base = dir.file("leaks.pcapng");
  r = sh(repeatedRead(20, {"--write", base, "--write-limit", "0.01"}));
  ASSERT_EQ(r.exit_code, 1) << r.err;
  const auto split = summaryOf(r.out);
  EXPECT_EQ(split["leaks"], all["leaks"]);
  const auto files = split["written"].value("files", 0);
  ASSERT_GE(files, 3);
  EXPECT_EQ(split["written"]["first"], base);
  EXPECT_EQ(split["written"]["last"], dir.file("leaks-" + std::to_string(files - 1) + ".pcapng"));
  std::string frames;
  for (int n = 0; n < files; ++n) {
    const auto name = n == 0 ? base : dir.file("leaks-" + std::to_string(n) + ".pcapng");
    SCOPED_TRACE(name);
    const auto bytes = core::readFile(name).value_or("");
    const auto blocks = pcapngBlocks(bytes);
    ASSERT_TRUE(blocks && blocks->size() > 21U);  // a section, 20 interfaces, frames
    // At most the limit, unless a single frame would not fit next to the header.
    EXPECT_TRUE(bytes.size() <= 10000 || blocks->size() == 22U) << bytes.size();
    frames += frameDump(name);
  }
  EXPECT_FALSE(fs::exists(dir.file("leaks-" + std::to_string(files) + ".pcapng")));
  const auto want = frameDump(whole);
  EXPECT_GT(want.size(), 1000U);
  EXPECT_TRUE(frames == want) << "the split files' frames differ from the whole file's";

  // The newest three of the same split, byte for byte; nothing older is left.
  const TempDir ring("vlt-ring");
  const auto ring_base = ring.file("leaks.pcapng");
  r = sh(repeatedRead(20, {"--write", ring_base, "--write-limit", "0.01", "--write-files", "3"}));
  ASSERT_EQ(r.exit_code, 1) << r.err;
  const auto kept = summaryOf(r.out)["written"];
  EXPECT_EQ(kept["files"], 3);
  EXPECT_EQ(kept["last"], ring.file("leaks-" + std::to_string(files - 1) + ".pcapng"));
  int left = 0;
  for (const auto& e : fs::directory_iterator(ring.path())) {
    ++left;
    const auto name = e.path().filename().string();
    EXPECT_EQ(core::readFile(e.path().string()).value_or("a"),
              core::readFile(dir.file(name)).value_or("b"))
        << name;
  }
  EXPECT_EQ(left, 3);
}

TEST(MonitorWrite, ANextFileThatCannotBeOpenedEndsTheRunWithExit3) {
  const TempDir dir("vlt-split-fail");
  fs::create_directory(dir.file("leaks-1.pcapng"));  // in the way of the second file
  const auto r =
      sh(repeatedRead(20, {"--write", dir.file("leaks.pcapng"), "--write-limit", "0.01"}));
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_EQ(r.err, "vpnleak: cannot write --write '" + dir.file("leaks-1.pcapng") +
                       "': there is a directory of that name\n");
  EXPECT_EQ(summaryOf(r.out)["written"]["first"], dir.file("leaks.pcapng"));
  const auto first = pcapngBlocks(core::readFile(dir.file("leaks.pcapng")).value_or(""));
  ASSERT_TRUE(first);
  EXPECT_GT(first->size(), 21U);
}

// A split's next name that holds something other than a file of its own is left as it is and
// ends the run (exit 3, named): a FIFO (no wait for a reader), a symbolic link, the monitor's
// stdout, an input under another name.
TEST(MonitorWrite, ASplitLeavesWhatIsNotItsOwnFileAlone) {
  const TempDir dir("vlt-split-guard");
  const auto base = dir.file("leaks.pcapng");
  const auto next = dir.file("leaks-1.pcapng");
  const auto run = [&base] {
    return sh(repeatedRead(20, {"--write", base, "--write-limit", "0.01"}));
  };
  ASSERT_EQ(::mkfifo(next.c_str(), 0600), 0);
  auto r = run();
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_EQ(r.err, "vpnleak: cannot write --write '" + next + "': there is a FIFO of that name\n");
  EXPECT_TRUE(fs::is_fifo(next));
  fs::remove(next);

  const auto target = dir.file("target");
  std::ofstream(target) << "someone else's";
  fs::create_symlink(target, next);
  r = run();
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_EQ(r.err, "vpnleak: cannot write --write '" + next +
                       "': there is a symbolic link of that name\n");
  EXPECT_EQ(core::readFile(target).value_or(""), "someone else's");
  fs::remove(next);

  r = sh({"bash",
          "-c",
          "exec \"$0\" \"$@\" > " + next,
          vpnleakBinary(),
          "monitor",
          "--read",
          (dataDir() / "wg_drop.pcap").string(),
          "--read",
          (dataDir() / "wg_drop.pcap").string(),
          "--read",
          (dataDir() / "wg_drop.pcap").string(),
          "--read",
          (dataDir() / "wg_drop.pcap").string(),
          "--endpoint",
          "203.0.113.2:51820",
          "--json",
          "--write",
          base,
          "--write-limit",
          "0.003"});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_EQ(r.err,
            "vpnleak: cannot write --write '" + next + "': it is the monitor's stdout or stderr\n");
  EXPECT_EQ(core::readFile(next).value_or("").rfind("{\"schema\"", 0), 0U);
  fs::remove(next);

  const auto input = dir.file("in.pcap");
  const auto original = core::readFile((dataDir() / "wg_drop.pcap").string()).value_or("");
  std::ofstream(input, std::ios::binary) << original;
  fs::create_hard_link(input, next);
  r = sh({vpnleakBinary(), "monitor", "--read", input, "--read", input, "--read", input, "--read",
          input, "--endpoint", "203.0.113.2:51820", "--write", base, "--write-limit", "0.003"});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_EQ(r.err,
            "vpnleak: cannot write --write '" + next + "': it is a file the monitor reads\n");
  EXPECT_TRUE(core::readFile(input).value_or("") == original) << "the input was changed";
}

// --read -: standard input, from a pipe or a redirected file, reads like the file itself.
TEST(MonitorStream, StandardInputReadsLikeTheFile) {
  const auto file = (dataDir() / "wg_drop.pcap").string();
  const auto direct = monitorFile(file, {"--endpoint", "203.0.113.2:51820"});
  ASSERT_GT(direct.leaks.size(), 0U);
  for (const std::string how : {"cat \"$1\" | ", "< \"$1\" "}) {
    SCOPED_TRACE(how);
    const auto r =
        sh({"bash", "-c", how + "\"$0\" monitor --read - --json --endpoint 203.0.113.2:51820",
            vpnleakBinary(), file});
    EXPECT_EQ(r.exit_code, 1) << r.err;
    const auto s = summaryOf(r.out);
    EXPECT_EQ(s["leaks"], direct.summary["leaks"]);
    EXPECT_EQ(s["packets"], direct.summary["packets"]);
    EXPECT_EQ(s["reasons"], direct.summary["reasons"]);
    EXPECT_NE(r.out.find("\"iface\":\"-\""), std::string::npos) << r.out;
  }
}

// A FIFO (or a pipe) is read as it is written: leaks are reported before the writer is done,
// and SIGINT while the monitor waits for more ends the run with its summary.
TEST(MonitorStream, AFifoIsReportedAsItComesAndASignalEndsIt) {
  const auto file = (dataDir() / "wg_drop.pcap").string();
  const auto direct = monitorFile(file, {"--endpoint", "203.0.113.2:51820", "--gap-ms", "200"});
  const auto windows = direct.summary["windows"].get<std::size_t>();
  ASSERT_GE(windows, 2U);
  const auto bytes = core::readFile(file).value_or("");
  for (const int sig : {SIGINT, SIGTERM}) {
    SCOPED_TRACE(sig);
    const TempFile fifo("vlt-stream");
    ASSERT_EQ(::mkfifo(fifo.path.c_str(), 0600), 0);
    Background mon;
    ASSERT_TRUE(mon.start({vpnleakBinary(), "monitor", "--read", fifo.path, "--json", "--endpoint",
                           "203.0.113.2:51820", "--gap-ms", "200"}));
    // Blocks until the monitor opens its end.
    core::UniqueFd writer(::open(fifo.path.c_str(), O_WRONLY | O_CLOEXEC));
    ASSERT_TRUE(writer.valid());
    ASSERT_EQ(::write(writer.get(), bytes.data(), bytes.size()),
              static_cast<ssize_t>(bytes.size()));
    // The writer stays: the leaks are there before the end of the stream.
    EXPECT_TRUE(
        mon.waitFor(direct.leaks.back()["ts"].get<std::string>(), std::chrono::milliseconds(10000)))
        << mon.output();
    // The last window too, once the gap has passed with the writer still there.
    const auto count = [&mon] {
      const auto out = mon.output();
      std::size_t n = 0;
      for (auto at = out.find("\"type\":\"window\""); at != std::string::npos;
           at = out.find("\"type\":\"window\"", at + 1)) {
        ++n;
      }
      return n;
    };
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (count() < windows && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    EXPECT_EQ(count(), windows) << mon.output();
    EXPECT_EQ(mon.output().find("summary"), std::string::npos) << mon.output();
    EXPECT_EQ(mon.stop(sig), 1) << mon.output();
    const auto s = summaryOf(mon.output());
    EXPECT_EQ(s["leaks"], direct.summary["leaks"]) << mon.output();
    EXPECT_EQ(s["packets"], direct.summary["packets"]);
  }
}

// Stopped while a FIFO still waits for its writer: nothing was read, and it says so (exit 3).
TEST(MonitorStream, StoppedBeforeTheStreamBeganSaysSo) {
  const TempFile fifo("vlt-stream-none");
  ASSERT_EQ(::mkfifo(fifo.path.c_str(), 0600), 0);
  Background mon;
  ASSERT_TRUE(mon.start(
      {vpnleakBinary(), "monitor", "--read", fifo.path, "--endpoint", "203.0.113.2:51820"}));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // into the open (either way: 3)
  EXPECT_EQ(mon.stop(SIGINT), 3) << mon.output();
  EXPECT_NE(mon.output().find("vpnleak: stopped before the capture '" + fifo.path +
                              "' began: nothing was read"),
            std::string::npos)
      << mon.output();
}

// A terminal is no capture: standard input that is one, or one named (run under a pty by
// script(1), util-linux, Essential in Debian).
TEST(MonitorStream, ATerminalIsNoCapture) {
  for (const std::string read : {"-", "/dev/tty"}) {
    SCOPED_TRACE(read);
    const auto r = sh({"script", "-qec",
                       "'" + std::string(vpnleakBinary()) + "' monitor --read " + read +
                           " --endpoint 203.0.113.2:51820",
                       "/dev/null"});
    EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
    EXPECT_NE(r.out.find(read == "-" ? "--read '-' is standard input, which is a terminal"
                                     : "--read '/dev/tty' is a terminal: expected a capture file"),
              std::string::npos)
        << r.out;
  }
}

// Standard input that is the --write file, or closed: refused before anything is written.
TEST(MonitorStream, StandardInputThatCannotBeReadIsBadInput) {
  const TempDir dir("vlt-stdin");
  const auto input = dir.file("in.pcap");
  const auto original = core::readFile((dataDir() / "wg_drop.pcap").string()).value_or("");
  std::ofstream(input, std::ios::binary) << original;
  auto r = sh({"bash", "-c",
               "exec \"$0\" monitor --read - --endpoint 203.0.113.2:51820 --write \"$1\" < \"$1\"",
               vpnleakBinary(), input});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(r.err, "vpnleak: --write '" + input +
                       "' is also read (--read '-', standard input): expected another file\n");
  EXPECT_TRUE(core::readFile(input).value_or("") == original) << "the input was changed";
  r = sh({"bash", "-c",
          "exec \"$0\" monitor --read \"$1\" --read - --endpoint 203.0.113.2:51820 <&-",
          vpnleakBinary(), input});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(r.err, "vpnleak: --read '-': standard input is closed: pipe a capture into it\n");
  EXPECT_TRUE(r.out.empty()) << r.out;
}

INSTANTIATE_TEST_SUITE_P(Recorded, MonitorFilesAgree,
                         ::testing::Values("wg_drop.pcap", "any_sll2.pcap"),
                         [](const auto& param_info) {
                           auto n = param_info.param;
                           n.erase(n.find('.'));
                           return n;
                         });

// Bad input: one line on stderr, nothing on stdout, exit 2 (input) or 3 (environment).
struct BadInput {
  std::string what;
  std::vector<std::string> args;
  int exit_code;
  std::string message;
};

class MonitorBadInput : public ::testing::TestWithParam<BadInput> {
 protected:
  static void SetUpTestSuite() {
    dir_ = fs::temp_directory_path() / ("vlm-bad-" + randomHex(8));
    fs::create_directories(dir_);
    std::ifstream in(dataDir() / "wg_drop.pcap", std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::ofstream(dir_ / "truncated.pcap", std::ios::binary) << bytes.substr(0, bytes.size() - 30);
    std::ofstream(dir_ / "text.pcap") << "not a capture\n";
    // A valid pcap header announcing DLT_IEEE802_11 (105).
    std::string hdr("\xd4\xc3\xb2\xa1\x02\x00\x04\x00\0\0\0\0\0\0\0\0\x00\x00\x04\x00\x69\0\0\0",
                    24);
    std::ofstream(dir_ / "wifi.pcap", std::ios::binary) << hdr;
    ASSERT_EQ(::mkfifo((dir_ / "fifo").c_str(), 0600), 0);
    std::ofstream(dir_ / "target.pcapng") << "";
    fs::create_symlink(dir_ / "target.pcapng", dir_ / "link.pcapng");
  }
  static void TearDownTestSuite() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  static fs::path dir_;
};
fs::path MonitorBadInput::dir_;

TEST_P(MonitorBadInput, OneLineAndExitCode) {
  const auto& c = GetParam();
  std::vector<std::string> argv{vpnleakBinary(), "monitor"};
  for (auto a : c.args) {
    if (a.rfind("@", 0) == 0) a = (dir_ / a.substr(1)).string();
    argv.push_back(a);
  }
  ScopedNetns ns("mon");  // live captures look for interfaces here, never in the root namespace
  std::vector<std::string> full{"ip", "netns", "exec", ns.name()};
  full.insert(full.end(), argv.begin(), argv.end());
  // A --write file that was not there before is not there after (bad input changes nothing).
  std::string written;
  for (std::size_t i = 0; i + 1 < c.args.size(); ++i) {
    if (c.args[i] == "--write" && c.args[i + 1].rfind("@", 0) == 0) written = argv[i + 3];
  }
  const bool existed = !written.empty() && fs::exists(written);
  const auto r = sh(full);
  if (!written.empty() && !existed) {
    EXPECT_FALSE(fs::exists(written)) << written;
  }
  EXPECT_EQ(r.exit_code, c.exit_code) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_NE(r.err.find(c.message), std::string::npos) << r.err;
  // Events stream as they are read, so a capture corrupt at its end has already printed some;
  // the summary is never printed for a failed run.
  EXPECT_EQ(r.out.find("summary"), std::string::npos) << r.out;
  if (c.what != "truncated pcap") {
    EXPECT_TRUE(r.out.empty()) << r.out;
  }
}

const std::vector<std::string> kEp{"--endpoint", "203.0.113.2:51820"};
std::vector<std::string> with(std::vector<std::string> a) {
  a.insert(a.end(), kEp.begin(), kEp.end());
  return a;
}

INSTANTIATE_TEST_SUITE_P(
    Cli, MonitorBadInput,
    ::testing::Values(
        BadInput{"truncated pcap", with({"--read", "@truncated.pcap"}), 2, "corrupt capture"},
        BadInput{"not a capture", with({"--read", "@text.pcap"}), 2, "not a readable pcap"},
        BadInput{"unknown link type", with({"--read", "@wifi.pcap"}), 2, "unsupported link type"},
        BadInput{"missing file", with({"--read", "@none.pcap"}), 2, "No such file"},
        BadInput{"missing interface", with({"--iface", "vlmnone0"}), 3, "no interface 'vlmnone0'"},
        BadInput{"bad endpoint",
                 {"--read", "@text.pcap", "--endpoint", "203.0.113.2"},
                 2,
                 "invalid --endpoint '203.0.113.2'"},
        BadInput{"bad endpoint protocol",
                 {"--read", "@text.pcap", "--endpoint", "1.2.3.4:5/gre"},
                 2,
                 "protocol 'gre'"},
        BadInput{"bad allow", with({"--read", "@text.pcap", "--allow", "lan"}), 2,
                 "invalid --allow 'lan'"},
        BadInput{"bad metrics", with({"--iface", "lo", "--metrics", "localhost"}), 2,
                 "invalid --metrics"},
        BadInput{"no source", kEp, 2, "--iface or --read is required"},
        BadInput{"both sources", with({"--iface", "lo", "--read", "@text.pcap"}), 2, "excludes"},
        BadInput{"no endpoint", {"--iface", "lo"}, 2, "--endpoint is required"},
        BadInput{"write into a missing directory",
                 with({"--read", "@truncated.pcap", "--write", "@none/leaks.pcapng"}), 2,
                 "cannot write --write"},
        BadInput{"write to a directory", with({"--read", "@truncated.pcap", "--write", "@"}), 2,
                 "is a directory"},
        BadInput{"write over the file read",
                 with({"--read", "@truncated.pcap", "--write", "@truncated.pcap"}), 2,
                 "is also read"},
        BadInput{"write to a FIFO nobody reads", with({"--read", "@text.pcap", "--write", "@fifo"}),
                 2, "is a FIFO that nobody reads yet"},
        BadInput{"write to stdout", with({"--read", "@text.pcap", "--write", "-"}), 2,
                 "would be stdout"},
        BadInput{"write to stdout by name",
                 with({"--read", (dataDir() / "wg_drop.pcap").string(), "--write", "/dev/stdout"}),
                 2, "is the monitor's stdout"},
        BadInput{"write with no name", with({"--read", "@text.pcap", "--write", ""}), 2,
                 "--write: expected a file name"},
        BadInput{"standard input twice", with({"--read", "-", "--read", "-"}), 2,
                 "--read '-' given twice"},
        BadInput{"standard input twice, once by name",
                 with({"--read", "-", "--read", "/dev/stdin"}), 2, "--read '-' given twice"},
        BadInput{"write limit without a file", with({"--read", "@text.pcap", "--write-limit", "1"}),
                 2, "--write-limit needs --write FILE"},
        BadInput{"write files without a limit",
                 with({"--read", "@text.pcap", "--write", "@kept.pcapng", "--write-files", "3"}), 2,
                 "--write-files 3 needs --write-limit MB"},
        BadInput{"write limit zero",
                 with({"--read", "@text.pcap", "--write", "@zero.pcapng", "--write-limit", "0"}), 2,
                 "--write-limit: '0': expected megabytes from 0.001 to 1000000"},
        BadInput{"write limit not a number",
                 with({"--read", "@text.pcap", "--write", "@nan.pcapng", "--write-limit", "nan"}),
                 2, "'nan': expected megabytes from 0.001 to 1000000"},
        BadInput{"write limit on a symbolic link",
                 with({"--read", "@text.pcap", "--write", "@link.pcapng", "--write-limit", "1"}), 2,
                 "is a symbolic link: name the file itself"},
        BadInput{"write limit on a device",
                 with({"--read", (dataDir() / "wg_drop.pcap").string(), "--write", "/dev/null",
                       "--write-limit", "1"}),
                 2, "--write '/dev/null' is not a regular file"},
        BadInput{
            "write limit naming the split like a file read",
            with({"--read", "@capture-2.pcap", "--write", "@capture.pcap", "--write-limit", "1"}),
            2, "would be split into files named like --read"},
        BadInput{"write sources of two link types",
                 with({"--read", (dataDir() / "wg_drop.pcap").string(), "--read",
                       (dataDir() / "any_sll2.pcap").string(), "--write", "@mixed.pcapng"}),
                 2, "link types differ"}),
    VL_CASE_NAMES);

}  // namespace
}  // namespace vpnleak::testing
