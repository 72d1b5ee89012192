#!/usr/bin/env bash
# Wall time of `vpnleak test` in the lab: a clean run (dual-stack tunnel, guard up, so every
# check passes) and a leaky one (the default IPv4-only lab, no guard), N runs each.
#   VPNLEAK=build/ci/apps/vpnleak/vpnleak bench/test_latency.sh [N]
# Prints median, p95 and max in ms. Needs root; builds its own lab (prefix vlb-) and removes it.
set -euo pipefail
BIN=${VPNLEAK:-build/ci/apps/vpnleak/vpnleak}
N=${1:-20}
P=vlb-
trap '"$BIN" lab down --prefix $P >/dev/null 2>&1 || true' EXIT

stats() {  # reads one number per line
  sort -n | awk '{a[NR]=$1} END {
    p95 = a[int((NR * 95 + 99) / 100)];
    printf "median %d ms, p95 %d ms, max %d ms (n=%d)\n", a[int((NR + 1) / 2)], p95, a[NR], NR }'
}

run() {  # label, then extra setup already done
  local label=$1 times=()
  for _ in $(seq "$N"); do
    start=$(date +%s%N)
    ip netns exec ${P}client "$BIN" test --server http://192.0.2.10 >/dev/null || true
    times+=($(( ($(date +%s%N) - start) / 1000000 )))
  done
  printf '%-34s ' "$label"; printf '%s\n' "${times[@]}" | stats
}

"$BIN" lab up --prefix $P --tunnel-ipv6 >/dev/null 2>&1
ip netns exec ${P}client "$BIN" guard up --tunnel ${P}wgc --endpoint 203.0.113.2:51820/udp \
  --dns 10.77.0.1 --ipv6 tunnel >/dev/null
run "clean (dual-stack tunnel + guard)"
"$BIN" lab down --prefix $P >/dev/null 2>&1
"$BIN" lab up --prefix $P >/dev/null 2>&1
run "leaky (IPv4-only tunnel, no guard)"
