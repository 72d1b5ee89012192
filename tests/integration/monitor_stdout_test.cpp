// The monitor's output cannot be written (a full disk, a closed pipe with SIGPIPE ignored): it
// stops, reading a file or capturing live, and fails with one line and exit 3 instead of
// dropping its lines silently.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "lab/context.hpp"
#include "test_support.hpp"

namespace vpnleak::testing {
namespace {

namespace fs = std::filesystem;

std::string capture() {
  return (fs::path(__FILE__).parent_path().parent_path() / "data" / "monitor" / "wg_drop.pcap")
      .string();
}

void expectOneLineWriteError(const core::ProcessResult& r, const std::string& reason) {
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.err.find("cannot write the monitor's output to stdout: " + reason), std::string::npos)
      << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "one line: " << r.err;
}

TEST(MonitorStdout, FullDiskFailsReadingAFile) {
  for (const std::string format : {" --json", ""}) {  // NDJSON and text
    const auto r = sh(
        {"bash", "-c",
         "exec \"$0\" monitor --read \"$1\" --endpoint 203.0.113.2:51820" + format + " >/dev/full",
         vpnleakBinary(), capture()});
    expectOneLineWriteError(r, "No space left on device");
  }
}

// Python ignores SIGPIPE and, with restore_signals=False, so does the monitor it starts; the
// pipe's read end is closed before the monitor starts, so its first write fails with EPIPE.
TEST(MonitorStdout, ClosedPipeWithSigpipeIgnoredFails) {
  const auto r = sh({"python3", "-c",
                     "import os, subprocess, sys\n"
                     "r, w = os.pipe()\n"
                     "os.close(r)\n"
                     "p = subprocess.run(sys.argv[1:], stdout=w, stderr=subprocess.PIPE,\n"
                     "                   restore_signals=False)\n"
                     "sys.stderr.write(p.stderr.decode())\n"
                     "sys.exit(p.returncode)\n",
                     vpnleakBinary(), "monitor", "--read", capture(), "--endpoint",
                     "203.0.113.2:51820", "--json"});
  expectOneLineWriteError(r, "Broken pipe");
}

// Live and without --duration: the failed write of the start line ends the capture at once.
TEST(MonitorStdout, LiveCaptureStopsWhenStdoutFails) {
  VL_REQUIRE_ROOT();
  const ScopedNetns ns("monout");
  const auto r = ns.exec({"timeout", "10", "bash", "-c",
                          "exec \"$0\" monitor --iface lo --endpoint 127.0.0.1:51820 --json "
                          ">/dev/full",
                          vpnleakBinary()});
  expectOneLineWriteError(r, "No space left on device");
}

}  // namespace
}  // namespace vpnleak::testing
