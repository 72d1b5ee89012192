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

ns=vlbench-$(head -c3 /dev/urandom | od -An -tx1 | tr -d ' \n')
tmp=$(mktemp -d /tmp/vpnleak-bench.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  sleep 0.3
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  ip netns del "$ns" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
ip netns add "$ns"
ip -n "$ns" link set lo up
in_ns() { ip netns exec "$ns" "$@"; }
# exec: started with &, the recorded pid must be the server itself, not a subshell.
server_cpu() { exec ip netns exec "$ns" taskset -c 0 "$@"; }
load_cpu() { in_ns taskset -c 1 "$@"; }
wait_port() {  # wait_port tcp|udp PORT
  for _ in $(seq 100); do
    in_ns ss -lnH --"$1" "sport = :$2" | grep -q . && return 0
    sleep 0.1
  done
  echo "server_bench.sh: nothing listening on $1 port $2" >&2
  exit 4
}

# --- servers -------------------------------------------------------------------------------
server_cpu "$vpnleak" --log-level warn server --zone leak.test --dns 127.0.0.1:5300 --http 127.0.0.1:8080 \
  --stun 127.0.0.1:3478 --answer-v4 192.0.2.10 --rrl 0 --threads 1 --max-tests $((1000 * pairs + 1000)) \
  >"$tmp/vpnleak.log" 2>&1 &
pids+=($!)

mkdir -p "$tmp/nsd"
cat >"$tmp/nsd/leak.test.zone" <<'ZONE'
$ORIGIN leak.test.
$TTL 0
@  IN SOA ns1 hostmaster 1 3600 600 86400 0
@  IN NS  ns1
@  IN A   192.0.2.10
*  IN A   192.0.2.10
ZONE
cat >"$tmp/nsd/nsd.conf" <<CONF
server:
  ip-address: 127.0.0.1@5301
  server-count: 1
  username: ""
  zonesdir: "$tmp/nsd"
  database: ""
  zonelistfile: "$tmp/nsd/zone.list"
  xfrdfile: "$tmp/nsd/xfrd.state"
  pidfile: "$tmp/nsd/nsd.pid"
  logfile: "$tmp/nsd/nsd.log"
  rrl-ratelimit: 0
  verbosity: 0
remote-control:
  control-enable: no
zone:
  name: leak.test
  zonefile: leak.test.zone
CONF
server_cpu nsd -d -c "$tmp/nsd/nsd.conf" >"$tmp/nsd/stdout.log" 2>&1 &
pids+=($!)

mkdir -p "$tmp/nginx/logs"
cat >"$tmp/nginx/nginx.conf" <<CONF
worker_processes 1;
daemon off;
user root;
error_log $tmp/nginx/logs/error.log;
pid $tmp/nginx/nginx.pid;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $tmp/nginx/body;
  proxy_temp_path $tmp/nginx/proxy;
  fastcgi_temp_path $tmp/nginx/fastcgi;
  uwsgi_temp_path $tmp/nginx/uwsgi;
  scgi_temp_path $tmp/nginx/scgi;
  server {
    listen 127.0.0.1:8081;
    location = /api/v1/ip {
      default_type application/json;
      return 200 '{"ip":"\$remote_addr","port":\$remote_port}\n';
    }
  }
}
CONF
want http && { server_cpu nginx -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" & pids+=($!); }

want stun && server_cpu turnserver --stun-only --listening-ip 127.0.0.1 --listening-port 3479 --no-cli \
  --no-tls --no-dtls --relay-threads 1 --log-file stdout --simple-log -n \
  >"$tmp/coturn.log" 2>&1 &
want stun && pids+=($!)

wait_port udp 5300; wait_port udp 5301; wait_port tcp 8080; wait_port udp 3478
want http && wait_port tcp 8081
want stun && wait_port udp 3479

load_start=$(cut -d' ' -f1-3 /proc/loadavg)
median() {
  tr ' ' '\n' | grep . | sort -n |
    awk '{ v[NR] = $1 } END { print NR % 2 ? v[(NR + 1) / 2] : int((v[NR / 2] + v[NR / 2 + 1]) / 2) }'
}

# --- DNS -----------------------------------------------------------------------------------
# Every pair gets 1000 new tests x 10 names: every query is recorded under its token (at most
# 1000 per test; the memory store keeps 1,000,000 in all, evicting the oldest).
dns_queries() {
  local urls=()
  for _ in $(seq 1000); do urls+=(http://127.0.0.1:8080/api/v1/tests); done
  in_ns curl -s -X POST "${urls[@]}" | grep -o '"token":"[0-9a-f]*"' | cut -d'"' -f4 |
    while read -r t; do
      for i in $(seq 0 9); do echo "q$i.$t.leak.test A"; done
    done >"$tmp/queries"
}
dnsperf_qps() {
  load_cpu dnsperf -s 127.0.0.1 -p "$1" -d "$tmp/queries" -l "$secs" -c 8 -q 500 -T 1 2>&1 |
    awk '/Queries per second/ {printf "%d", $4}'
}
dns_vpnleak=(); dns_nsd=()
for _ in $(seq "$pairs"); do
  want dns || break
  dns_queries
  dns_vpnleak+=("$(dnsperf_qps 5300)")
  dns_nsd+=("$(dnsperf_qps 5301)")
done
recorded=$(in_ns curl -s http://127.0.0.1:8080/metrics | awk '/outcome="recorded"/ {print $2}')

# --- HTTP ----------------------------------------------------------------------------------
wrk_rps() {
  load_cpu wrk -t1 -c64 -d"${secs}s" "$1" | awk '/Requests\/sec/ {printf "%d", $2}'
}
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
