#!/usr/bin/env bash
# vpnleak vs its peer with the SAME CPU budget for each server:
#   http  GET /api/v1/ip, wrk (1 thread, 64 connections) -> vpnleak vs nginx
#   dns   dnsperf (8 sockets, 500 outstanding) -> vpnleak (wildcard zone, every query of 1000
#         live tests recorded) vs NSD (same wildcard zone); rate limiting off in both
#
# In bench/server_bench.sh the load generator on CPU 1 is the bottleneck once the server is
# cheap, so the rates there measure the client's cost per response as much as the server's.
# Here each server runs on CPU 0 in its own CPU cgroup with the same quota (default 40% of a
# core, 10 ms period, so that the throttling is fine-grained), which makes the server the
# bottleneck; the load generator runs unconstrained on CPU 1. Runs alternate (vpnleak, peer,
# ...) and the per-pair ratios are printed. Cgroups, namespace and files are removed on exit.
#   bench/server_cpu_quota.sh http|dns [QUOTA_PERCENT] [PAIRS] [SECONDS]
#   (default 40 5 8; root, scripts/deps.sh --bench, a build; VPNLEAK=path to the binary)
# dns only: VPNLEAK_B=another binary runs it too, in its own cgroup with the same quota, and each
# pair becomes a triple (vpnleak, peer, B; then B, peer, vpnleak): an A/B comparison in the same
# time window, each against the peer.
set -euo pipefail

me=$(basename "$0")
what=${1:-}
[[ $what == http || $what == dns ]] ||
  { echo "usage: $me http|dns [QUOTA_PERCENT] [PAIRS] [SECONDS]" >&2; exit 2; }
pct=${2:-40}; pairs=${3:-5}; secs=${4:-8}
root=$(cd "$(dirname "$0")/.." && pwd)
vpnleak=${VPNLEAK:-$root/build/release/apps/vpnleak/vpnleak}
[[ $(id -u) -eq 0 ]] || { echo "$me: needs root" >&2; exit 3; }
[[ $pct =~ ^[0-9]+$ && $pct -ge 5 && $pct -le 100 ]] ||
  { echo "$me: quota '$pct': expected a percentage 5-100" >&2; exit 2; }
[[ $pairs =~ ^[1-9][0-9]*$ && $secs =~ ^[1-9][0-9]*$ ]] ||
  { echo "$me: PAIRS and SECONDS must be positive numbers" >&2; exit 2; }
tools=(taskset curl wrk nginx)
[[ $what == dns ]] && tools=(taskset curl dnsperf nsd)
for t in "${tools[@]}"; do
  command -v "$t" >/dev/null || { echo "$me: $t missing (scripts/deps.sh --bench)" >&2; exit 3; }
done
[[ -x $vpnleak ]] || { echo "$me: no vpnleak at $vpnleak (set VPNLEAK=...)" >&2; exit 3; }
# shellcheck source=bench/lib/server_peers.sh
source "$root/bench/lib/server_peers.sh"

id=vlq-$what-$$
bench_start "$id"
cg_init
cg_make "$id-vpnleak" "$pct"
cg_make "$id-peer" "$pct"

in_cgroup "$cg_root/$id-vpnleak" "$vpnleak" --log-level warn server --zone leak.test \
  --dns 127.0.0.1:5300 --http 127.0.0.1:8080 --answer-v4 192.0.2.10 --rrl 0 --threads 1 \
  --max-tests $((1000 * pairs + 1000)) >"$tmp/vpnleak.log" 2>&1 &
pids+=($!)
vpnleak_b=${VPNLEAK_B:-}
if [[ -n $vpnleak_b ]]; then
  [[ $what == dns && -x $vpnleak_b ]] ||
    { echo "$me: VPNLEAK_B=$vpnleak_b: expected an executable, and the dns test" >&2; exit 2; }
  cg_make "$id-b" "$pct"
  in_cgroup "$cg_root/$id-b" "$vpnleak_b" --log-level warn server --zone leak.test \
    --dns 127.0.0.1:5302 --http 127.0.0.1:8082 --answer-v4 192.0.2.10 --rrl 0 --threads 1 \
    --max-tests $((1000 * pairs + 1000)) >"$tmp/vpnleak_b.log" 2>&1 &
  pids+=($!)
  wait_port tcp 8082
  wait_port udp 5302
fi
if [[ $what == http ]]; then
  peer=nginx
  peer_nginx_conf 8081
  in_cgroup "$cg_root/$id-peer" nginx -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" >"$tmp/nginx.log" 2>&1 &
  pids+=($!)
  wait_port tcp 8081
else
  peer=nsd
  peer_nsd_conf 5301
  in_cgroup "$cg_root/$id-peer" nsd -d -c "$tmp/nsd/nsd.conf" >"$tmp/nsd/stdout.log" 2>&1 &
  pids+=($!)
  wait_port udp 5301
fi
wait_port tcp 8080
wait_port udp 5300

echo "$what: CPU quota ${pct}% of a core per server (10 ms period), ${secs} s per run;" \
  "load average $(cut -d' ' -f1-3 /proc/loadavg) at the start"
ratios=() ratios_b=()
for i in $(seq "$pairs"); do
  if [[ -n $vpnleak_b ]]; then
    dns_queries 8080 "$tmp/queries"
    dns_queries 8082 "$tmp/queries_b"
    if ((i % 2)); then
      a=$(dnsperf_qps 5300); b=$(dnsperf_qps 5301); c=$(dnsperf_qps 5302 "$tmp/queries_b")
    else
      c=$(dnsperf_qps 5302 "$tmp/queries_b"); b=$(dnsperf_qps 5301); a=$(dnsperf_qps 5300)
    fi
    r=$(awk -v a="$a" -v b="$b" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "0" }')
    rb=$(awk -v a="$c" -v b="$b" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "0" }')
    ratios+=("$r")
    ratios_b+=("$rb")
    echo "triple $i: vpnleak $a nsd $b B $c ratios $r B $rb B/A $(awk -v a="$a" -v c="$c" 'BEGIN { printf "%.3f", c / a }')"
    continue
  fi
  if [[ $what == http ]]; then
    a=$(wrk_rps http://127.0.0.1:8080/api/v1/ip)
    b=$(wrk_rps http://127.0.0.1:8081/api/v1/ip)
  else
    dns_queries
    a=$(dnsperf_qps 5300)
    b=$(dnsperf_qps 5301)
  fi
  r=$(awk -v a="$a" -v b="$b" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "0" }')
  ratios+=("$r")
  echo "pair $i: vpnleak $a $peer $b ratio $r"
done
[[ $what == dns ]] &&
  echo "vpnleak observations recorded: $(ip netns exec "$ns" curl -s http://127.0.0.1:8080/metrics |
    awk '/outcome="recorded"/ {print $2}')"
[[ -n $vpnleak_b ]] && echo "median B/$peer: $(printf '%s\n' "${ratios_b[@]}" | sort -g |
  awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}')"
echo "median vpnleak/$peer: $(printf '%s\n' "${ratios[@]}" | sort -g |
  awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'); load average $(cut -d' ' -f1-3 /proc/loadavg) at the end"
