// Guard benchmarks (acceptance 4 of the guard issue), in a private network namespace that dies
// with the process, so that the machine's own firewall is never touched:
//   1. applying a full ruleset through libnftables vs `nft -f` of the same text: p50/p99 over
//      200 applies each, and their ratio;
//   2. per-packet cost vs the number of endpoints and LAN prefixes: the guard uses sets, so a
//      packet that walks every rule costs the same with 1 or 1000 entries. A table with one rule
//      per entry is measured beside it for contrast.
// Usage: guard_apply_bench [--applies N] [--packets N]   (root)
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "core/process.hpp"
#include "core/unique_fd.hpp"
#include "guard/nft.hpp"
#include "guard/ruleset.hpp"

namespace {

using namespace vpnleak;  // NOLINT: a benchmark's main
using Clock = std::chrono::steady_clock;

double msSince(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[static_cast<std::size_t>(p * static_cast<double>(v.size() - 1))];
}

guard::GuardConfig config(int entries) {
  guard::GuardConfig c;
  c.tunnel = "wg0";
  c.tunnel_may_be_absent = true;
  c.fwmark = 51820;
  c.dns = {core::IpAddress::parse("10.64.0.1").value()};
  c.allow_lan = entries > 1;
  for (int i = 0; i < entries; ++i) {
    const std::string ip = "203.0." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1);
    c.endpoints.push_back(guard::GuardEndpoint::parse(ip + ":51820").value());
    if (entries > 1) {
      c.lan.push_back(core::Prefix::parse("10." + std::to_string(i / 250) + "." +
                                          std::to_string(i % 250) + ".0/24")
                          .value());
    }
  }
  return guard::normalized(c);
}

// The same allowances as one rule per entry: what the guard avoids.
std::string linearRuleset(int entries) {
  std::string s =
      "table inet vpnleak {}\ndelete table inet vpnleak\ntable inet vpnleak {\n"
      " chain output {\n  type filter hook output priority filter; policy drop;\n"
      "  oifname \"lo\" accept\n";
  for (int i = 0; i < entries; ++i) {
    const std::string ip = "203.0." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1);
    s += "  ip daddr " + ip + " udp dport 51820 meta mark 51820 accept\n";
    s += "  ip daddr 10." + std::to_string(i / 250) + "." + std::to_string(i % 250) +
         ".0/24 accept\n";
  }
  return s + "  oifname \"wg0\" accept\n  counter drop\n }\n}\n";
}

bool setupNamespace() {
  if (::unshare(CLONE_NEWNET) != 0) {
    std::perror("unshare(CLONE_NEWNET) (needs root)");
    return false;
  }
  for (const auto& argv : std::vector<std::vector<std::string>>{
           {"ip", "link", "set", "lo", "up"},
           {"ip", "link", "add", "eth0", "type", "veth", "peer", "name", "eth0p"},
           {"ip", "address", "add", "192.168.9.2/24", "dev", "eth0"},
           {"ip", "link", "set", "eth0", "up"},
           {"ip", "link", "set", "eth0p", "up"},
           {"ip", "route", "add", "default", "via", "192.168.9.1"},
           {"ip", "neigh", "add", "192.168.9.1", "lladdr", "02:00:00:00:00:01", "dev", "eth0"}}) {
    if (!core::runChecked(argv)) {
      std::fprintf(stderr, "setup failed: %s\n", core::joinArgv(argv).c_str());
      return false;
    }
  }
  return true;
}

void benchApply(int applies) {
  const std::string text = guard::generateRuleset(config(100));
  const std::string file = "/tmp/vpnleak-guard-bench-" + std::to_string(::getpid()) + ".nft";
  std::ofstream(file) << text;
  auto nft = guard::NftCtx::create();
  if (!nft) return;
  std::vector<double> lib;
  std::vector<double> cli;
  for (int i = 0; i < applies; ++i) {
    auto t = Clock::now();
    if (!nft->run(text)) return;
    lib.push_back(msSince(t));
    t = Clock::now();
    if (!core::runChecked({"nft", "-f", file})) return;
    cli.push_back(msSince(t));
  }
  std::remove(file.c_str());
  std::printf("apply (100 endpoints + 100 LAN prefixes, %d applies each)\n", applies);
  std::printf("  libnftables   p50 %7.3f ms  p99 %7.3f ms\n", percentile(lib, 0.5),
              percentile(lib, 0.99));
  std::printf("  nft -f        p50 %7.3f ms  p99 %7.3f ms\n", percentile(cli, 0.5),
              percentile(cli, 0.99));
  std::printf("  ratio nft -f / libnftables at p50: %.2f\n",
              percentile(cli, 0.5) / percentile(lib, 0.5));
}

// Nanoseconds per sendto() of a packet that walks the whole output chain and is dropped.
double nsPerDroppedPacket(int packets) {
  core::UniqueFd fd(::socket(AF_INET, SOCK_DGRAM, 0));
  sockaddr_in dst{};
  dst.sin_family = AF_INET;
  dst.sin_port = htons(9);
  ::inet_pton(AF_INET, "198.51.100.50", &dst.sin_addr);
  const char payload[16] = {};
  const auto t = Clock::now();
  for (int i = 0; i < packets; ++i) {
    (void)::sendto(fd.get(), payload, sizeof(payload), 0, reinterpret_cast<const sockaddr*>(&dst),
                   sizeof(dst));  // NOLINT
  }
  return msSince(t) * 1e6 / packets;
}

void benchPerPacket(int packets) {
  auto nft = guard::NftCtx::create();
  if (!nft) return;
  std::printf("per dropped packet (walks every output rule), %d packets\n", packets);
  std::printf("  %8s  %14s  %18s\n", "entries", "guard (sets)", "one rule per entry");
  for (const int n : {1, 10, 100, 1000}) {
    if (!nft->run(guard::generateRuleset(config(n)))) return;
    const double sets = nsPerDroppedPacket(packets);
    if (!nft->run(linearRuleset(n))) return;
    const double linear = nsPerDroppedPacket(packets);
    std::printf("  %8d  %11.0f ns  %15.0f ns\n", n, sets, linear);
  }
}

}  // namespace

int main(int argc, char** argv) {
  int applies = 200;
  int packets = 200000;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--applies") applies = std::max(1, std::atoi(argv[i + 1]));
    if (flag == "--packets") packets = std::max(1, std::atoi(argv[i + 1]));
  }
  if (!setupNamespace()) return 3;
  benchApply(applies);
  benchPerPacket(packets);
  return 0;
}
