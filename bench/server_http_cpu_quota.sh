#!/usr/bin/env bash
# HTTP `GET /api/v1/ip`: vpnleak vs nginx with the SAME CPU budget for each server.
#
# In bench/server_bench.sh wrk (one thread on CPU 1) is the bottleneck once the server is cheap,
# so requests/s there measure wrk's cost per response as much as the server's. Here each server
# runs in its own CPU cgroup with the same quota (default 40% of a core, 10 ms period, so that the
# throttling is fine-grained), which makes the server the bottleneck; wrk runs unconstrained on
# CPU 1. Runs alternate (vpnleak, nginx, ...) and the per-pair ratios are printed.
#   bench/server_http_cpu_quota.sh [QUOTA_PERCENT] [PAIRS] [SECONDS]   (default 40 5 8; root)
set -euo pipefail

pct=${1:-40}; pairs=${2:-5}; secs=${3:-8}
root=$(cd "$(dirname "$0")/.." && pwd)
vpnleak=${VPNLEAK:-$root/build/release/apps/vpnleak/vpnleak}
[[ $(id -u) -eq 0 ]] || { echo "server_http_cpu_quota.sh: needs root" >&2; exit 3; }
[[ $pct =~ ^[0-9]+$ && $pct -ge 5 && $pct -le 100 ]] ||
  { echo "server_http_cpu_quota.sh: quota '$pct': expected a percentage 5-100" >&2; exit 2; }
for t in wrk nginx taskset; do
  command -v "$t" >/dev/null || { echo "server_http_cpu_quota.sh: $t missing (scripts/deps.sh --bench)" >&2; exit 3; }
done
[[ -x $vpnleak ]] || { echo "server_http_cpu_quota.sh: no vpnleak at $vpnleak (set VPNLEAK=...)" >&2; exit 3; }

id=vlhq-$$
ns=$id; tmp=$(mktemp -d /tmp/vpnleak-hq.XXXXXX)
period=10000 quota=$((10000 * pct / 100))
if [[ -d /sys/fs/cgroup/cpu && -f /sys/fs/cgroup/cpu/cpu.cfs_quota_us ]]; then
  cg=/sys/fs/cgroup/cpu  # cgroup v1
  setquota() { echo $period >"$1/cpu.cfs_period_us"; echo $quota >"$1/cpu.cfs_quota_us"; }
else
  cg=/sys/fs/cgroup  # cgroup v2
  grep -qw cpu $cg/cgroup.subtree_control || echo +cpu >$cg/cgroup.subtree_control
  setquota() { echo "$quota $period" >"$1/cpu.max"; }
fi
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  sleep 0.3
  ip netns del "$ns" 2>/dev/null || true
  for _ in $(seq 50); do  # a cgroup can be removed once its last process is gone
    rmdir "$cg/$id-a" "$cg/$id-b" 2>/dev/null || true
    [[ -d $cg/$id-a || -d $cg/$id-b ]] || break
    sleep 0.1
  done
  rm -rf "$tmp"
}
trap cleanup EXIT
ip netns add "$ns"
ip -n "$ns" link set lo up
mkdir "$cg/$id-a" "$cg/$id-b"
setquota "$cg/$id-a"; setquota "$cg/$id-b"

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
    location = /api/v1/ip { default_type application/json;
      return 200 '{"ip":"\$remote_addr","port":\$remote_port}\n'; }
  }
}
CONF
# Each server joins its cgroup before exec, so every thread and child (nginx's worker) is in it.
in_cgroup() { local g=$1; shift; exec sh -c 'echo $$ >"$0/cgroup.procs"; exec "$@"' "$g" \
  ip netns exec "$ns" taskset -c 0 "$@"; }
in_cgroup "$cg/$id-a" "$vpnleak" --log-level warn server --zone leak.test --dns 127.0.0.1:5300 \
  --http 127.0.0.1:8080 --answer-v4 192.0.2.10 --rrl 0 --threads 1 >"$tmp/vpnleak.log" 2>&1 &
pids+=($!)
in_cgroup "$cg/$id-b" nginx -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" >"$tmp/nginx.log" 2>&1 &
pids+=($!)
for port in 8080 8081; do
  for _ in $(seq 100); do
    ip netns exec "$ns" ss -lntH "sport = :$port" | grep -q . && break
    sleep 0.1
  done
done

wrk1() { ip netns exec "$ns" taskset -c 1 wrk -t1 -c64 -d"${secs}s" "$1" | awk '/Requests\/sec/ {printf "%d", $2}'; }
echo "CPU quota ${pct}% of a core (${quota}/${period} us) per server; load average $(cut -d' ' -f1-3 /proc/loadavg)"
ratios=()
for i in $(seq "$pairs"); do
  a=$(wrk1 http://127.0.0.1:8080/api/v1/ip)
  b=$(wrk1 http://127.0.0.1:8081/api/v1/ip)
  r=$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.3f", a / b }')
  ratios+=("$r")
  echo "pair $i: vpnleak $a nginx $b ratio $r"
done
echo "median vpnleak/nginx: $(printf '%s\n' "${ratios[@]}" | sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}');" \
  "load average $(cut -d' ' -f1-3 /proc/loadavg) at the end"
