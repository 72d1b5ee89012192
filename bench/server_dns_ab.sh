#!/usr/bin/env bash
# Two vpnleak builds side by side AT THE SAME TIME, for deciding whether a change pays:
#   bench/server_dns_ab.sh A B [ROUNDS] [SECONDS] [QUOTA_PERCENT]     (default 6 5 25)
# Each server runs on CPU 0 in its own CPU cgroup with the same quota (default 25% of a core,
# 10 ms period), each with its own dnsperf (8 sockets, 300 outstanding, 1000 new live tests x 10
# names per round, every query recorded) on CPU 1, both dnsperfs at once: whatever else the
# machine does hits both alike, so B/A per round is steady to about +-1% (two copies of one
# build measured 0.995-1.009), where the alternating runs of server_cpu_quota.sh against NSD
# move by +-5% between pairs. A or B may be the word `nsd`: NSD (same wildcard zone, rate
# limiting off, one server process, as in server_cpu_quota.sh) in that slot, asked the other
# slot's names; then run both orders (A B and B A) and take sqrt(ratio1 * ratio2) over the
# slots, since each slot has a small bias of its own (~1%). ENV_A / ENV_B: "VAR=value ..." for
# that server's environment (vpnleak only).
# Root, scripts/deps.sh --bench; cgroups, namespace and files are removed on exit.
set -euo pipefail

me=$(basename "$0")
[[ $# -ge 2 ]] || { echo "usage: $me A B [ROUNDS] [SECONDS] [QUOTA_PERCENT]" >&2; exit 2; }
a_bin=$1 b_bin=$2 rounds=${3:-6} secs=${4:-5} pct=${5:-25}
[[ $(id -u) -eq 0 ]] || { echo "$me: needs root" >&2; exit 3; }
for v in "$rounds" "$secs" "$pct"; do
  [[ $v =~ ^[1-9][0-9]*$ ]] ||
    { echo "$me: '$v': ROUNDS, SECONDS and QUOTA_PERCENT must be positive integers" >&2; exit 2; }
done
for b in "$a_bin" "$b_bin"; do
  [[ $b == nsd || -x $b ]] ||
    { echo "$me: '$b': expected an executable vpnleak or the word nsd (A and B)" >&2; exit 2; }
done
[[ $a_bin == nsd && $b_bin == nsd ]] && { echo "$me: at most one of A and B can be nsd" >&2; exit 2; }
[[ $a_bin != nsd && $b_bin != nsd ]] || command -v nsd >/dev/null ||
  { echo "$me: nsd missing (scripts/deps.sh --bench)" >&2; exit 3; }
for t in taskset curl dnsperf; do
  command -v "$t" >/dev/null || { echo "$me: $t missing (scripts/deps.sh --bench)" >&2; exit 3; }
done
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib/server_peers.sh
source "$root/bench/lib/server_peers.sh"

id=vlab-$$
bench_start "$id"
cg_init
for x in a b; do
  cg_make "$id-$x" "$pct"
  bin=$a_bin dns=5300 http=8080 env=${ENV_A:-}
  [[ $x == b ]] && bin=$b_bin dns=5302 http=8082 env=${ENV_B:-}
  if [[ $bin == nsd ]]; then
    peer_nsd_conf "$dns"
    in_cgroup "$cg_root/$id-$x" nsd -d -c "$tmp/nsd/nsd.conf" >"$tmp/$x.log" 2>&1 &
  else
    # shellcheck disable=SC2086  # env holds VAR=value words
    in_cgroup "$cg_root/$id-$x" env $env "$bin" --log-level warn server --zone leak.test \
      --dns "127.0.0.1:$dns" --http "127.0.0.1:$http" --answer-v4 192.0.2.10 --rrl 0 \
      --threads 1 --max-tests $((1000 * rounds + 1000)) >"$tmp/$x.log" 2>&1 &
  fi
  pids+=($!)
done
wait_port udp 5300; wait_port udp 5302
[[ $a_bin == nsd ]] || wait_port tcp 8080
[[ $b_bin == nsd ]] || wait_port tcp 8082

echo "A $a_bin, B $b_bin: ${pct}% of CPU 0 each, ${secs} s rounds;" \
  "load average $(cut -d' ' -f1-3 /proc/loadavg) at the start"
ratios=()
for i in $(seq "$rounds"); do
  # NSD's slot is asked the same names as the other slot (its zone is a wildcard).
  [[ $a_bin == nsd ]] || dns_queries 8080 "$tmp/qa"
  [[ $b_bin == nsd ]] || dns_queries 8082 "$tmp/qb"
  [[ $a_bin == nsd ]] && cp "$tmp/qb" "$tmp/qa"
  [[ $b_bin == nsd ]] && cp "$tmp/qa" "$tmp/qb"
  for x in a b; do
    port=5300
    [[ $x == b ]] && port=5302
    load_cpu dnsperf -s 127.0.0.1 -p "$port" -d "$tmp/q$x" -l "$secs" -c 8 -q 300 -T 1 \
      >"$tmp/dnsperf.$x" 2>&1 &
    pids+=($!)
  done
  wait "${pids[-1]}" "${pids[-2]}" || true
  qa=$(awk '/Queries per second/ {printf "%d", $4}' "$tmp/dnsperf.a")
  qb=$(awk '/Queries per second/ {printf "%d", $4}' "$tmp/dnsperf.b")
  r=$(awk -v a="$qa" -v b="$qb" 'BEGIN { if (a > 0) printf "%.3f", b / a; else print "0" }')
  ratios+=("$r")
  echo "round $i: A $qa B $qb B/A $r; load average $(cut -d' ' -f1 /proc/loadavg)"
done
echo "median B/A: $(printf '%s\n' "${ratios[@]}" | sort -g |
  awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}')"
