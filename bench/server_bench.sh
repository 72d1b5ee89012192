#!/usr/bin/env bash
# vpnleak server side by side with its peers, on one machine, inside a throwaway network
# namespace (loopback only: nothing leaves the host, the root namespace is not touched).
#   DNS   dnsperf  -> vpnleak (wildcard zone, logging every query) vs NSD (same wildcard zone)
#   HTTP  wrk      -> vpnleak GET /api/v1/ip vs nginx-light returning the remote address
#   STUN  bench/server_stun_load -> vpnleak vs coturn --stun-only
# Every server gets CPU 0 and one worker; every load generator gets CPU 1. Rate limiting off.
# Each test runs PAIRS times in turns (vpnleak, peer, vpnleak, peer, ...) so that both see the
# same background load; the table has the medians.
#   bench/server_bench.sh [SECONDS] [PAIRS]  (default 10 and 3; needs root,
#   scripts/deps.sh --bench, a build); ONLY=dns|http|stun runs that part alone.
# Prints a Markdown table for bench/RESULTS.md, then every run.
set -euo pipefail

secs=${1:-10}
pairs=${2:-3}
only=${ONLY:-all}
want() { [[ $only == all || $only == "$1" ]]; }
root=$(cd "$(dirname "$0")/.." && pwd)
vpnleak=${VPNLEAK:-$root/build/release/apps/vpnleak/vpnleak}
[[ $(id -u) -eq 0 ]] || { echo "server_bench.sh: needs root (network namespace)" >&2; exit 3; }
for t in dnsperf nsd wrk nginx turnserver curl taskset g++; do
  command -v "$t" >/dev/null || { echo "server_bench.sh: $t missing (scripts/deps.sh --bench)" >&2; exit 3; }
done
[[ -x $vpnleak ]] || { echo "server_bench.sh: no vpnleak at $vpnleak (set VPNLEAK=...)" >&2; exit 3; }
# shellcheck source=bench/lib/server_peers.sh
source "$root/bench/lib/server_peers.sh"  # peer configs, load runners, wait_port, median

bench_start "vlbench-$(head -c3 /dev/urandom | od -An -tx1 | tr -d ' \n')"
in_ns() { ip netns exec "$ns" "$@"; }
# exec: started with &, the recorded pid must be the server itself, not a subshell.
server_cpu() { exec ip netns exec "$ns" taskset -c 0 "$@"; }

# --- servers -------------------------------------------------------------------------------
server_cpu "$vpnleak" --log-level warn server --zone leak.test --dns 127.0.0.1:5300 --http 127.0.0.1:8080 \
  --stun 127.0.0.1:3478 --answer-v4 192.0.2.10 --rrl 0 --threads 1 --max-tests $((1000 * pairs + 1000)) \
  >"$tmp/vpnleak.log" 2>&1 &
pids+=($!)

peer_nsd_conf 5301
server_cpu nsd -d -c "$tmp/nsd/nsd.conf" >"$tmp/nsd/stdout.log" 2>&1 &
pids+=($!)

peer_nginx_conf 8081
want http && { server_cpu nginx -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" & pids+=($!); }

want stun && server_cpu turnserver --stun-only --listening-ip 127.0.0.1 --listening-port 3479 --no-cli \
  --no-tls --no-dtls --relay-threads 1 --log-file stdout --simple-log -n \
  >"$tmp/coturn.log" 2>&1 &
want stun && pids+=($!)

wait_port udp 5300; wait_port udp 5301; wait_port tcp 8080; wait_port udp 3478
want http && wait_port tcp 8081
want stun && wait_port udp 3479

load_start=$(cut -d' ' -f1-3 /proc/loadavg)

# --- DNS -----------------------------------------------------------------------------------
# Every pair gets 1000 new tests x 10 names (dns_queries in bench/lib/server_peers.sh): every
# query is recorded under its token (at most 1000 per test; the memory store keeps 1,000,000 in
# all, evicting the oldest).
dns_vpnleak=(); dns_nsd=()
for _ in $(seq "$pairs"); do
  want dns || break
  dns_queries
  dns_vpnleak+=("$(dnsperf_qps 5300)")
  dns_nsd+=("$(dnsperf_qps 5301)")
done
recorded=$(in_ns curl -s http://127.0.0.1:8080/metrics | awk '/outcome="recorded"/ {print $2}')

# --- HTTP ----------------------------------------------------------------------------------
http_vpnleak=(); http_nginx=()
for _ in $(seq "$pairs"); do
  want http || break
  http_vpnleak+=("$(wrk_rps http://127.0.0.1:8080/api/v1/ip)")
  http_nginx+=("$(wrk_rps http://127.0.0.1:8081/api/v1/ip)")
done

# --- STUN ----------------------------------------------------------------------------------
want stun && g++ -O2 -std=c++20 -I"$root/src" "$root/bench/server_stun_load.cpp" "$root/src/wire/stun.cpp" \
  "$root/src/core/ip.cpp" "$root/src/core/result.cpp" -o "$tmp/stun_load"
stun_vpnleak=(); stun_coturn=()
for _ in $(seq "$pairs"); do
  want stun || break
  stun_vpnleak+=("$(load_cpu "$tmp/stun_load" 127.0.0.1 3478 "$secs" 128)")
  stun_coturn+=("$(load_cpu "$tmp/stun_load" 127.0.0.1 3479 "$secs" 128)")
done
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
row() {  # row NAME PEER VPNLEAK_VALUES PEER_VALUES
  local a b
  a=$(echo "$3" | median); b=$(echo "$4" | median)
  echo "| $1 | $a | $2 | $b | $(ratio "$a" "$b") |"
}
echo "| test (median of $pairs) | vpnleak | peer | peer value | vpnleak / peer |"
echo "|---|---:|---|---:|---:|"
want dns && row "DNS queries/s (dnsperf, UDP, wildcard zone)" "NSD $(nsd -v 2>&1 | awk '{print $3; exit}')" \
  "${dns_vpnleak[*]}" "${dns_nsd[*]}"
want http && row "HTTP GET /api/v1/ip requests/s (wrk, 64 connections)" "nginx-light" \
  "${http_vpnleak[*]}" "${http_nginx[*]}"
want stun && row "STUN bindings/s (128 in flight)" "coturn --stun-only" "${stun_vpnleak[*]}" "${stun_coturn[*]}"
echo
echo "Runs in order (vpnleak/peer): DNS ${dns_vpnleak[*]} / ${dns_nsd[*]};" \
  "HTTP ${http_vpnleak[*]} / ${http_nginx[*]}; STUN ${stun_vpnleak[*]} / ${stun_coturn[*]}."
echo "vpnleak observations recorded during the DNS runs: ${recorded:-?}; ${secs}s per run;" \
  "load average $load_start at the start, $load_end at the end."
