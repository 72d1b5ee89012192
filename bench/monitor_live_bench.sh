#!/usr/bin/env bash
# Live capture, side by side: the highest packet rate at which `vpnleak monitor --iface IF` and
# `tcpdump -i IF -w /dev/null FILTER` (the equivalent leak filter, same ring size) lose nothing
# in the kernel. Two throwaway network namespaces joined by a veth pair born inside them; the
# paced generator bench/monitor_live_sender.cpp sends the monitor bench's mix
# (bench/monitor_mix.hpp: 90% WireGuard to the endpoint, 9% leaks of which 4% DNS, 1% ARP) out of
# one end, where the capture runs.
# Rates double from START until a trial drops, then a binary search between the last rate
# without drops and the first with; a trial that drops is run once more (the machine may be
# busy with other work) and the rate passes if either run lost nothing.
#   PREFIX=vlb- VPNLEAK=... SENDER=... bench/monitor_live_bench.sh [SECONDS] [START] [MAX]
# SECONDS per trial (default 3), START rate (default 50000 packets/s), MAX (default 3200000).
# CPUs: SENDER_CPU (default 0) for the generator, CAPTURE_CPU (default 1) for the capture;
# SENDER_CPU="0 1" runs one generator on each (the rate split between them) when one alone
# cannot reach the capture's limit.
# TOOLS: which captures to measure (default "vpnleak tcpdump"). BUFFER_MB: the kernel ring of both captures (default 32, the monitor's default). MONITOR_ARGS:
# more arguments for vpnleak monitor (e.g. --prefilter: tunnel traffic stays in the kernel, as
# tcpdump's filter keeps it, and is then not counted).
# Needs root. Everything it creates is removed on exit, on Ctrl-C and on failure.
set -euo pipefail

secs=${1:-3}
start=${2:-50000}
max=${3:-3200000}
root=$(cd "$(dirname "$0")/.." && pwd)
vpnleak=${VPNLEAK:-$root/build/release/apps/vpnleak/vpnleak}
sender=${SENDER:-$root/build/release/src/monitor/monitor_live_sender}
P=${PREFIX:-vlb-}
read -r -a send_cpus <<<"${SENDER_CPU:-0}"
cap_cpu=${CAPTURE_CPU:-1}
buf_mb=${BUFFER_MB:-32}
tools=${TOOLS:-vpnleak tcpdump}
read -r -a monitor_args <<<"${MONITOR_ARGS:-}"
tx=${P}tx rx=${P}rx v0=${P}v0 v1=${P}v1

die() { echo "monitor_live_bench.sh: $*" >&2; exit "${2:-3}"; }
[[ $(id -u) -eq 0 ]] || die "needs root (network namespaces)"
for t in tcpdump taskset ip; do command -v "$t" >/dev/null || die "$t missing"; done
[[ -x $vpnleak ]] || die "no vpnleak at $vpnleak (set VPNLEAK=...)"
[[ -x $sender ]] || die "no generator at $sender (cmake --build DIR --target monitor_live_sender; set SENDER=...)"
[[ ${#v0} -le 15 ]] || die "PREFIX '$P' too long for interface names"
for n in "$tx" "$rx"; do
  [[ ! -e /run/netns/$n ]] || die "namespace $n exists (an earlier run? ip netns del $n)"
done

tmp=$(mktemp -d /tmp/vpnleak-live-bench.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  sleep 0.2
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  ip netns del "$tx" 2>/dev/null || true
  ip netns del "$rx" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- the wire: tx --(veth)-- rx. No addresses and no IPv6 on it: nothing but the generator's
# frames crosses it (no ARP, ND or MLD of its own), and rx drops them (not its MAC address).
ip netns add "$tx"
ip netns add "$rx"
ip -n "$tx" link add "$v0" type veth peer name "$v1" netns "$rx"
ip netns exec "$tx" sysctl -qw "net.ipv6.conf.$v0.disable_ipv6=1"
ip netns exec "$rx" sysctl -qw "net.ipv6.conf.$v1.disable_ipv6=1"
for n in "$tx" "$rx"; do ip -n "$n" link set lo up; done
ip -n "$tx" link set "$v0" up
ip -n "$rx" link set "$v1" up

# The classifier's leak definition for one WireGuard endpoint as a tcpdump filter
# (docs/monitor.md; the same as bench/monitor_bench.cpp), outgoing packets only (-Q out).
filter='(ip or ip6 or arp) and not (udp and ((dst host 203.0.113.2 and dst port 51820) or (src host 203.0.113.2 and src port 51820)) and udp[9:2] = 0 and udp[11] = 0 and ((udp[8] = 1 and udp[4:2] = 156) or (udp[8] = 2 and udp[4:2] = 100) or (udp[8] = 3 and udp[4:2] = 72) or (udp[8] = 4 and udp[4:2] >= 40 and udp[4:2] & 15 = 8))) and not (arp or (udp and ((src port 68 and dst port 67) or (src port 67 and dst port 68) or (src port 546 and dst port 547) or (src port 547 and dst port 546))) or (icmp6 and ip6[40] >= 133 and ip6[40] <= 137 and ip6[7] = 255))'

field() { grep -o "\"$1\":[0-9.]*" | head -1 | cut -d: -f2; }

# trial TOOL RATE: one run; sets result to "OK|DROP|SLOW sent achieved captured dropped cpu_s".
# (Not run in a $(subshell): the capture's pid must reach the cleanup.)
trial() {
  local tool=$1 rate=$2 out="$tmp/$1-$2-$RANDOM" cap ready=0
  if [[ $tool == vpnleak ]]; then
    # Leak lines go through grep to nowhere (as tcpdump writes to /dev/null); the start line,
    # windows and the summary are kept.
    ip netns exec "$tx" taskset -c "$cap_cpu" "$vpnleak" monitor --iface "$v0" --json \
      --endpoint 203.0.113.2:51820 --allow arp --allow ndp --allow dhcp \
      --buffer-mb "$buf_mb" "${monitor_args[@]}" \
      > >(grep --line-buffered -v '"type":"leak"' >"$out.out") 2>"$out.err" &
  else
    ip netns exec "$tx" taskset -c "$cap_cpu" tcpdump -i "$v0" -Q out -nn -B $((buf_mb * 1024)) \
      -w /dev/null "$filter" >"$out.out" 2>"$out.err" &
  fi
  cap=$!
  pids+=("$cap")
  for _ in $(seq 100); do
    if grep -q '"type":"start"' "$out.out" 2>/dev/null || grep -q 'listening on' "$out.err"; then
      ready=1
      break
    fi
    sleep 0.05
  done
  [[ $ready == 1 ]] || die "$tool did not start: $(head -c 300 "$out.err")" 4
  local n=${#send_cpus[@]} k gens=()
  for k in "${!send_cpus[@]}"; do
    ip netns exec "$tx" taskset -c "${send_cpus[$k]}" "$sender" --iface "$v0" \
      --rate $((rate / n)) --count $(((rate / n) * secs)) --seconds $((secs + 2)) >"$out.send$k" &
    gens+=($!)
    pids+=($!)
  done
  wait "${gens[@]}"
  # One line with the generators' sums (seconds: the longest).
  awk -F'[:,}]' '{ for (i = 1; i < NF; i += 2) { gsub(/[{" ]/, "", $i); v[$i] += $(i + 1) } }
    END { printf "{\"sent\":%d,\"leak\":%d,\"allowed\":%d,\"rate\":%d}\n", v["sent"], v["leak"],
          v["allowed"], v["rate"] }' "$out".send[0-9]* >"$out.send"
  sleep 1.2  # past tcpdump's 1 s block timeout: every block handed over before the stop
  local ticks
  ticks=$(awk '{print $14 + $15}' "/proc/$cap/stat")
  kill -INT "$cap"
  wait "$cap" || true
  local sent achieved captured dropped expected
  sent=$(field sent <"$out.send")
  achieved=$(field rate <"$out.send")
  if [[ $tool == vpnleak ]]; then
    captured=$(grep '"type":"summary"' "$out.out" | field packets)
    dropped=$(grep '"type":"summary"' "$out.out" | field kernel_drops)
    expected=$sent
    if [[ " ${monitor_args[*]} " == *" --prefilter "* ]]; then  # tunnel packets stay uncounted
      expected=$(($(field leak <"$out.send") + $(field allowed <"$out.send")))
    fi
  else
    captured=$(grep -o '^[0-9]* packets captured' "$out.err" | cut -d' ' -f1)
    dropped=$(grep -o '^[0-9]* packets dropped by kernel' "$out.err" | cut -d' ' -f1)
    expected=$(field leak <"$out.send")
  fi
  local verdict=OK
  if [[ ${dropped:-1} -gt 0 || ${captured:-0} -lt $expected ]]; then
    verdict=DROP
  elif awk -v a="$achieved" -v r="$rate" 'BEGIN { exit !(a < 0.95 * r) }'; then
    verdict=SLOW  # the generator could not keep the rate: the limit is not the capture's
  fi
  result="$verdict $sent ${achieved%.*} ${captured:-?} ${dropped:-?} $(awk -v t="$ticks" 'BEGIN { printf "%.2f", t / 100 }')"
}

# passes TOOL RATE: 0 when a trial is drop-free at the rate, 1 when two trials dropped, 2 when
# nothing was dropped but the generator fell short of the rate (a busy machine starves it too).
# Two trials at most; logs each on stderr and keeps in seen the highest rate the generator
# achieved in a trial without drops.
passes() {
  local verdict achieved dropped=0
  for _ in 1 2; do
    trial "$1" "$2"
    printf '  %-8s %8s pps: %s (sent achieved captured dropped cpu_s)\n' "$1" "$2" "$result" >&2
    read -r verdict _ achieved _ <<<"$result"
    if [[ $verdict != DROP && $achieved -gt $seen ]]; then seen=$achieved; fi
    [[ $verdict == OK ]] && return 0
    [[ $verdict == DROP ]] && dropped=$((dropped + 1))
  done
  [[ $dropped == 2 ]] && return 1
  return 2
}

# highest TOOL: sets best to the highest drop-free rate found, with a "+" when the generator
# could not go faster and nothing was ever dropped (the capture's limit lies beyond).
highest() {
  local tool=$1 good=0 bad=0 rate=$start rc
  seen=0
  while [[ $rate -le $max ]]; do
    rc=0
    passes "$tool" "$rate" || rc=$?
    if [[ $rc == 0 ]]; then good=$rate; rate=$((rate * 2)); continue; fi
    if [[ $rc == 2 ]]; then best="$seen+"; return; fi
    bad=$rate
    break
  done
  [[ $bad -gt 0 ]] || { best="$seen+"; return; }
  for _ in 1 2 3; do
    rate=$(((good + bad) / 2))
    rc=0
    passes "$tool" "$rate" || rc=$?
    if [[ $rc != 1 ]]; then good=$rate; else bad=$rate; fi  # 2: nothing dropped, generator short
  done
  best=$good
}

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg); trial ${secs}s; ring ${buf_mb} MiB; generator CPU ${send_cpus[*]}, capture CPU $cap_cpu" >&2
m=- t=-
[[ $tools == *vpnleak* ]] && { highest vpnleak; m=$best; }
[[ $tools == *tcpdump* ]] && { highest tcpdump; t=$best; }
echo "| capture | highest rate without kernel drops |"
echo "|---|---:|"
echo "| \`vpnleak monitor --iface $v0 --json --buffer-mb $buf_mb${MONITOR_ARGS:+ $MONITOR_ARGS}\` | $m pps |"
echo "| \`tcpdump -i $v0 -Q out -B $((buf_mb * 1024)) -w /dev/null FILTER\` | $t pps |"
if [[ $m == - || $t == - ]]; then
  :  # one capture measured: no ratio
elif [[ $m == *+ && $t == *+ ]]; then
  echo "ratio: not resolved, neither capture dropped a packet at any rate the generator reached"
else
  echo "ratio vpnleak / tcpdump: $(awk -v a="${m%+}" -v b="${t%+}" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')"
fi
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
