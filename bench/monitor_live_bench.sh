#!/usr/bin/env bash
# Live capture, side by side: the highest packet rate at which `vpnleak monitor --iface IF` and
# `tcpdump -i IF -Q out FILTER` (the equivalent leak filter, docs/monitor.md; same ring size) lose
# nothing in the kernel. Two throwaway network namespaces joined by a veth pair born inside them;
# the paced generator bench/monitor_live_sender.cpp sends the monitor bench's mix
# (bench/monitor_mix.hpp: 90% WireGuard to the endpoint, 9% leaks of which 4% DNS, 1% ARP) out of
# one end, where the capture runs. Every capture writes its normal output to a file on tmpfs,
# removed after each trial. TOOLS (default "vpnleak tcpdump"), any of:
#   vpnleak       vpnleak monitor --json (NDJSON lines)   tcpdump       tcpdump -w FILE (pcap)
#   vpnleak-text  vpnleak monitor (text lines)            tcpdump-text  tcpdump >FILE (text)
# A trial passes when the capture reports no kernel drop and saw exactly the packets it should
# (the monitor: every packet sent, or with --prefilter every non-tunnel packet; tcpdump: the
# leaks), counted after it has caught up with its ring (its CPU use has fallen to idle).
# Search: from START, rates double (up to MAX) while trials pass or halve while they fail, then
# bisection until the last rate that passed and the first that failed are within RESOLUTION
# percent (default 5); a failed trial is run once more (the machine may be busy with other work)
# and the rate passes if either did. ROUNDS (default 1): searches per tool, the tools' order
# alternating from round to round; the medians and their ratios are printed.
#   PREFIX=b5- VPNLEAK=... SENDER=... bench/monitor_live_bench.sh [SECONDS] [START] [MAX]
# SECONDS per trial (default 3), START rate (default 50000 packets/s), MAX (default 3200000).
# OUTPUT=null: every capture writes its output to /dev/null instead (`tcpdump -w /dev/null`, as the
# offline comparison of issue 7 defines it; the monitor's lines go to /dev/null too): then the
# monitor's counts are read from its --metrics endpoint (127.0.0.1:9469 in the capture's
# namespace), and it counts as ready 0.5 s after that answers (it opens the capture right after
# the listener; the output's start line is not there to wait for).
# CPUs: SENDER_CPU (default 0) for the generator, CAPTURE_CPU (default 1) for the capture;
# SENDER_CPU="0 1" runs one generator on each (the rate split between them).
# CPU_QUOTA="QUOTA_US PERIOD_US" (e.g. "1000 500000": 0.2% of one CPU) runs the capture in its
# own cgroup (b5-cap-PID with PREFIX=b5-) with that CPU bandwidth limit (cgroup v2 cpu.max, else
# v1 cpu.cfs_quota_us), the same for every tool: then the capture, not the generator, is what
# runs out of CPU. BUFFER_MB: the kernel ring of every capture (default 32, the monitor's
# default; tcpdump -B). MONITOR_ARGS: more arguments for vpnleak monitor (e.g. --prefilter).
# Trial columns on stderr: verdict, sent, achieved rate, captured, expected, kernel drops, the
# capture's CPU time per packet sent (ns), periods in which the quota throttled it.
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
read -r -a tools <<<"${TOOLS:-vpnleak tcpdump}"
rounds=${ROUNDS:-1}
resolution=${RESOLUTION:-5}
quota=${CPU_QUOTA:-}
output=${OUTPUT:-file}
[[ $output == file || $output == null ]] || { echo "monitor_live_bench.sh: OUTPUT '$output': expected file or null" >&2; exit 2; }
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

tmp=$(mktemp -d /dev/shm/vpnleak-live-bench.XXXXXX)
pids=()
cg=""
cleanup() {
  # Unthrottled first, so that what is killed there can exit.
  [[ -z $cg ]] || cg_move "$cg/.." "$(cat "$cg/cgroup.procs" 2>/dev/null)"
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  sleep 0.2
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  ip netns del "$tx" 2>/dev/null || true
  ip netns del "$rx" 2>/dev/null || true
  if [[ -n $cg ]]; then
    for _ in 1 2 3 4 5 6 7 8 9 10; do rmdir "$cg" 2>/dev/null && break; sleep 0.3; done
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- the capture's cgroup: cg_stat prints the number of throttled periods so far, cg_move DIR
# PIDS moves processes. A capture starts outside it (starting up, loading its filter, at 0.2% of
# a CPU could take seconds) and joins it once it is ready, before the generator starts; it
# leaves it when the generator has finished, so that it catches up, stops and exits at full
# speed.
cap_prefix=(ip netns exec "$tx" taskset -c "$cap_cpu")
cg_move() { local p; for p in $2; do echo "$p" >"$1/cgroup.procs" 2>/dev/null || true; done; }
if [[ -n $quota ]]; then
  read -r share_num share_den <<<"$quota"
  [[ $share_num -ge 1000 && $share_den -ge $share_num ]] || die "CPU_QUOTA '$quota': QUOTA_US >= 1000, <= PERIOD_US"
  if grep -qw cpu /sys/fs/cgroup/cgroup.subtree_control 2>/dev/null; then
    cg=/sys/fs/cgroup/${P}cap-$$
    mkdir "$cg"
    echo "$quota" >"$cg/cpu.max"
  elif [[ -d /sys/fs/cgroup/cpu ]]; then
    cg=/sys/fs/cgroup/cpu/${P}cap-$$
    mkdir "$cg"
    echo "$share_den" >"$cg/cpu.cfs_period_us"
    echo "$share_num" >"$cg/cpu.cfs_quota_us"
  else
    die "CPU_QUOTA needs the cgroup cpu controller (v2 cpu.max or v1 cpu)"
  fi
fi
cg_stat() { if [[ -n $cg ]]; then awk '$1 == "nr_throttled" { print $2 }' "$cg/cpu.stat"; else echo 0; fi; }

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

# scrape: the monitor's Prometheus counters (OUTPUT=null), or fails.
scrape() { ip netns exec "$tx" curl -sf --max-time 2 http://127.0.0.1:9469/metrics; }
field() { grep -o "\"$1\":[0-9.]*" | head -1 | cut -d: -f2; }

# CPU time of a process so far in ns (all its threads; /proc/PID/task/*/schedstat).
cpu_ns() {
  cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ s += $1 } END { printf "%d\n", s }'
}

# Waits until the capture has caught up with its ring: at least 1.2 s (past tcpdump's 1 s block
# timeout: every block is handed over) and until it used less than a quarter of a CPU in half a
# second (at most 15 s).
drain() {
  local a b idle=$((500000000 / 4))
  sleep 1.2
  for _ in $(seq 30); do
    a=$(cpu_ns "$1")
    sleep 0.5
    b=$(cpu_ns "$1")
    [[ $((b - a)) -lt $idle ]] && return 0
  done
}

# trial TOOL RATE: one run; sets result to "OK|DROP|SLOW sent achieved captured expected dropped
# cpu_ns_per_packet throttled_periods". (Not run in a $(subshell): the capture's pid must reach
# the cleanup.)
trial() {
  local tool=$1 rate=$2 out="$tmp/$1-$2-$RANDOM" cap ready=0 thr0 cpu0 dest pcap metrics=()
  dest=$out.out pcap=$out.pcap
  if [[ $output == null ]]; then
    dest=/dev/null pcap=/dev/null metrics=(--metrics 127.0.0.1:9469)
  fi
  case $tool in
    vpnleak | vpnleak-text)
      local json=(--json)
      [[ $tool == vpnleak ]] || json=()
      "${cap_prefix[@]}" "$vpnleak" monitor --iface "$v0" "${json[@]}" \
        --endpoint 203.0.113.2:51820 --allow arp --allow ndp --allow dhcp \
        --buffer-mb "$buf_mb" "${metrics[@]}" "${monitor_args[@]}" >"$dest" 2>"$out.err" &
      ;;
    tcpdump)
      "${cap_prefix[@]}" tcpdump -i "$v0" -Q out -nn -B $((buf_mb * 1024)) \
        -w "$pcap" "$filter" >"$out.out" 2>"$out.err" &
      ;;
    tcpdump-text)
      "${cap_prefix[@]}" tcpdump -i "$v0" -Q out -nn -B $((buf_mb * 1024)) \
        "$filter" >"$dest" 2>"$out.err" &
      ;;
    *) die "unknown tool $tool" ;;
  esac
  cap=$!
  pids+=("$cap")
  for _ in $(seq 100); do
    if grep -q '"type":"start"\|^monitoring ' "$out.out" 2>/dev/null ||
      grep -q 'listening on' "$out.err"; then
      ready=1
      break
    fi
    if [[ ${#metrics[@]} -gt 0 ]] && scrape >/dev/null; then
      sleep 0.5
      ready=1
      break
    fi
    sleep 0.05
  done
  [[ $ready == 1 ]] || die "$tool did not start: $(head -c 300 "$out.err")" 4
  [[ -z $cg ]] || cg_move "$cg" "$cap"
  thr0=$(cg_stat)
  cpu0=$(cpu_ns "$cap")
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
  # Nothing arrives any more, so nothing more can be dropped: the capture catches up with its
  # ring outside the cgroup (its CPU time for that included), then stops.
  local cpu thr
  thr=$(($(cg_stat) - thr0))
  [[ -z $cg ]] || cg_move "$cg/.." "$cap"
  drain "$cap"
  cpu=$(($(cpu_ns "$cap") - cpu0))
  local scraped=""
  [[ ${#metrics[@]} -eq 0 || $tool != vpnleak* ]] || scraped=$(scrape)
  kill -INT "$cap"
  wait "$cap" || true
  local sent achieved captured dropped expected summary
  sent=$(field sent <"$out.send")
  achieved=$(field rate <"$out.send")
  if [[ -n $scraped ]]; then  # OUTPUT=null: the counters from --metrics, before the stop
    captured=$(awk '/^vpnleak_monitor_packets_total/ { s += $2 } END { print s + 0 }' <<<"$scraped")
    dropped=$(awk '/^vpnleak_monitor_kernel_drops_total/ { print $2 }' <<<"$scraped")
  elif [[ $tool == vpnleak-text ]]; then  # "summary: N packets: ..." then "  kernel drops: N, ..."
    captured=$(grep -o '^summary: [0-9]*' "$out.out" | tail -1 | grep -o '[0-9]*$')
    dropped=$(grep -o '^  kernel drops: [0-9]*' "$out.out" | tail -1 | grep -o '[0-9]*$')
  elif [[ $tool == vpnleak ]]; then
    summary=$(grep '"type":"summary"' "$out.out" | tail -1)
    captured=$(field packets <<<"$summary")
    dropped=$(field kernel_drops <<<"$summary")
  fi
  if [[ $tool == vpnleak* ]]; then
    expected=$sent
    if [[ " ${monitor_args[*]} " == *" --prefilter "* ]]; then  # tunnel packets stay uncounted
      expected=$(($(field leak <"$out.send") + $(field allowed <"$out.send")))
    fi
  else
    captured=$(grep -o '^[0-9]* packets captured' "$out.err" | cut -d' ' -f1)
    dropped=$(grep -o '^[0-9]* packets dropped by kernel' "$out.err" | cut -d' ' -f1)
    expected=$(field leak <"$out.send")
  fi
  rm -f "$out".*
  local verdict=OK
  if [[ ${dropped:-1} -gt 0 || ${captured:-0} -lt $expected ]]; then
    verdict=DROP
  elif [[ $captured -gt $expected ]]; then
    die "$tool captured $captured packets, $expected sent: something else is on $v0" 4
  elif awk -v a="$achieved" -v r="$rate" 'BEGIN { exit !(a < 0.95 * r) }'; then
    verdict=SLOW  # the generator could not keep the rate: the limit is not the capture's
  fi
  local per_packet
  per_packet=$(awk -v c="$cpu" -v s="$sent" 'BEGIN { printf "%.1f", c / (s > 0 ? s : 1) }')
  result="$verdict $sent ${achieved%.*} ${captured:-?} $expected ${dropped:-?} $per_packet $thr"
}

# passes TOOL RATE: 0 when a trial passes at the rate, 1 when two trials dropped, 2 when nothing
# was dropped but the generator fell short of the rate (a busy machine starves it too). Two
# trials at most; logs each on stderr and keeps in seen the highest rate the generator achieved
# in a trial without drops.
passes() {
  local verdict achieved dropped=0
  for _ in 1 2; do
    trial "$1" "$2"
    printf '  %-8s %8s pps: %s\n' "$1" "$2" "$result" >&2
    read -r verdict _ achieved _ <<<"$result"
    if [[ $verdict != DROP && $achieved -gt $seen ]]; then seen=$achieved; fi
    [[ $verdict == OK ]] && return 0
    [[ $verdict == DROP ]] && dropped=$((dropped + 1))
  done
  [[ $dropped == 2 ]] && return 1
  return 2
}

# highest TOOL: sets best to the highest rate that passed, with a "+" when the generator could
# not go faster and nothing was ever dropped (the capture's limit lies beyond).
# Up from START by doubling (at most MAX) while trials pass, down by halving while they fail,
# then bisection.
highest() {
  local tool=$1 good=0 bad=0 rate=$start rc
  seen=0
  while :; do
    rc=0
    passes "$tool" "$rate" || rc=$?
    if [[ $rc == 2 ]]; then best="$seen+"; return; fi
    if [[ $rc == 0 ]]; then
      good=$rate
      [[ $bad == 0 ]] || break
      [[ $rate -lt $max ]] || { best="$seen+"; return; }
      rate=$((rate * 2 < max ? rate * 2 : max))
    else
      bad=$rate
      [[ $good == 0 ]] || break
      [[ $rate -gt 1000 ]] || { best=0; return; }
      rate=$((rate / 2))
    fi
  done
  while [[ $(((bad - good) * 100)) -gt $((resolution * good)) ]]; do
    rate=$(((good + bad) / 2))
    rc=0
    passes "$tool" "$rate" || rc=$?
    if [[ $rc != 1 ]]; then good=$rate; else bad=$rate; fi  # 2: nothing dropped, generator short
  done
  best=$good
}

median() { tr ' ' '\n' | grep . | sed 's/+$//' | sort -n | awk '{ v[NR] = $1 } END {
  print (NR % 2 ? v[(NR + 1) / 2] : int((v[NR / 2] + v[NR / 2 + 1]) / 2)) }'; }

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg); trial ${secs}s; ring ${buf_mb} MiB;" \
  "generator CPU ${send_cpus[*]}, capture CPU $cap_cpu; capture CPU quota ${quota:-none}" >&2
echo "trial columns: verdict sent achieved_pps captured expected kernel_drops capture_cpu_ns_per_packet throttled_periods" >&2
declare -A found
for r in $(seq "$rounds"); do
  order=("${tools[@]}")
  if [[ $((r % 2)) == 0 ]]; then order=(); for t in "${tools[@]}"; do order=("$t" "${order[@]}"); done; fi
  for t in "${order[@]}"; do
    echo "round $r, $t, load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
    highest "$t"
    found[$t]="${found[$t]:-} $best"
    echo "round $r, $t: $best pps" >&2
  done
done
q=${quota:+, capture cgroup cpu quota $quota us}
file=FILE
[[ $output == file ]] || file=/dev/null
echo "| capture (ring $buf_mb MiB$q) | highest rate without kernel drops, each round | median |"
echo "|---|---:|---:|"
for t in "${tools[@]}"; do
  case $t in
    vpnleak) name="\`vpnleak monitor --iface $v0 --json --buffer-mb $buf_mb${MONITOR_ARGS:+ $MONITOR_ARGS} >$file\`" ;;
    vpnleak-text) name="\`vpnleak monitor --iface $v0 --buffer-mb $buf_mb${MONITOR_ARGS:+ $MONITOR_ARGS} >$file\`" ;;
    tcpdump) name="\`tcpdump -i $v0 -Q out -nn -B $((buf_mb * 1024)) -w $file FILTER\`" ;;
    tcpdump-text) name="\`tcpdump -i $v0 -Q out -nn -B $((buf_mb * 1024)) FILTER >$file\`" ;;
  esac
  echo "| $name |${found[$t]// / / } pps | $(median <<<"${found[$t]}") pps |" | sed 's/| \/ /| /'
done
for m in vpnleak vpnleak-text; do
  for t in tcpdump tcpdump-text; do
    [[ -n ${found[$m]:-} && -n ${found[$t]:-} ]] || continue
    if [[ ${found[$m]} == *+* && ${found[$t]} == *+* ]]; then
      echo "$m / $t: not resolved, neither dropped at some rate the generator reached"
    else
      echo "$m / $t (medians): $(awk -v a="$(median <<<"${found[$m]}")" \
        -v b="$(median <<<"${found[$t]}")" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')"
    fi
  done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
