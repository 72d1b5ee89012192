# shellcheck shell=bash disable=SC2154  # $tmp and $ns come from the sourcing script
# Shared by bench/server_bench.sh and bench/server_cpu_quota.sh (sourced, not run): the peers'
# configurations (NSD with the same wildcard zone as vpnleak, nginx returning the client's
# address like GET /api/v1/ip), CPU cgroups with a quota, and the helpers around them.
# The caller calls bench_start (below) first: it sets $ns and $tmp.

# peer_nsd_conf PORT: $tmp/nsd/nsd.conf for leak.test (`*.leak.test A 192.0.2.10`, TTL 0) on
# 127.0.0.1@PORT, one server process, rate limiting off.
peer_nsd_conf() {
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
  ip-address: 127.0.0.1@$1
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
}

# peer_nginx_conf PORT: $tmp/nginx/nginx.conf, one worker, GET /api/v1/ip on 127.0.0.1:PORT
# answering {"ip":"$remote_addr","port":$remote_port}, no access log.
peer_nginx_conf() {
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
    listen 127.0.0.1:$1;
    location = /api/v1/ip {
      default_type application/json;
      return 200 '{"ip":"\$remote_addr","port":\$remote_port}\n';
    }
  }
}
CONF
}

# wait_port tcp|udp PORT: until something in $ns listens there (10 s), else exit 4.
wait_port() {
  for _ in $(seq 100); do
    ip netns exec "$ns" ss -lnH --"$1" "sport = :$2" | grep -q . && return 0
    sleep 0.1
  done
  echo "$(basename "$0"): nothing listening on $1 port $2" >&2
  exit 4
}

# bench_start NS: the namespace $ns (loopback up) and a private directory $tmp, and a cleanup on
# exit, Ctrl-C or failure that ends the processes in $pids, then removes the namespace, the
# cgroups made by cg_make and $tmp.
pids=()
bench_cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  sleep 0.3
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  ip netns del "$ns" 2>/dev/null || true
  cg_remove_all
  rm -rf "$tmp"
}
bench_start() {
  ns=$1
  tmp=$(mktemp -d /tmp/vpnleak-bench.XXXXXX)
  trap bench_cleanup EXIT
  trap 'exit 130' INT TERM
  ip netns add "$ns"
  ip -n "$ns" link set lo up
}

# CPU cgroups with a quota: cgroup v1 (the cpu controller's own hierarchy) or v2.
# cg_init: sets $cg_root; cg_make NAME PERCENT: a cgroup allowed PERCENT of one CPU per 10 ms
# period (fine-grained throttling), remembered for cg_remove_all (call it from the EXIT trap,
# after the processes in them are gone).
cg_made=()
cg_init() {
  if [[ -f /sys/fs/cgroup/cpu/cpu.cfs_quota_us ]]; then
    cg_root=/sys/fs/cgroup/cpu  # v1
  elif [[ -f /sys/fs/cgroup/cgroup.controllers ]]; then
    cg_root=/sys/fs/cgroup  # v2
    grep -qw cpu $cg_root/cgroup.subtree_control || echo +cpu >$cg_root/cgroup.subtree_control
  else
    echo "$(basename "$0"): no cpu cgroup controller found" >&2
    exit 3
  fi
}
cg_make() {
  local g=$cg_root/$1 period=10000 quota=$((10000 * $2 / 100))
  mkdir "$g"
  cg_made+=("$g")
  if [[ -f $g/cpu.cfs_quota_us ]]; then
    echo $period >"$g/cpu.cfs_period_us"
    echo $quota >"$g/cpu.cfs_quota_us"
  else
    echo "$quota $period" >"$g/cpu.max"
  fi
}
cg_remove_all() {
  local g
  for _ in $(seq 50); do  # a cgroup can be removed once its last process is gone
    for g in "${cg_made[@]}"; do rmdir "$g" 2>/dev/null || true; done
    for g in "${cg_made[@]}"; do [[ -d $g ]] && continue 2; done
    return 0
  done
  echo "$(basename "$0"): could not remove ${cg_made[*]}" >&2
}
# in_cgroup CGROUP_DIR CMD...: exec CMD on CPU 0 inside $ns, having joined the cgroup first, so
# that every thread and child (nginx's worker) is in it. Start it with & and record $!.
in_cgroup() {
  local g=$1
  shift
  exec sh -c 'echo $$ >"$0/cgroup.procs"; exec "$@"' "$g" ip netns exec "$ns" taskset -c 0 "$@"
}

# median: of the integers on stdin (whitespace-separated); for an even count the mean of the
# two middle values, truncated.
median() {
  tr ' ' '\n' | grep . | sort -n |
    awk '{ v[NR] = $1 } END { print NR % 2 ? v[(NR + 1) / 2] : int((v[NR / 2] + v[NR / 2 + 1]) / 2) }'
}

# load_cpu CMD...: CMD in $ns on CPU 1, where the load generators run.
load_cpu() { ip netns exec "$ns" taskset -c 1 "$@"; }
# wrk_rps URL: requests/s of one wrk thread with 64 keep-alive connections for $secs s.
wrk_rps() { load_cpu wrk -t1 -c64 -d"${secs}s" "$1" | awk '/Requests\/sec/ {printf "%d", $2}'; }
# dns_queries: 1000 new tests through the API on 127.0.0.1:8080, 10 names each, asked in turn,
# into $tmp/queries (dnsperf's input); dns_queries PORT FILE: from the API on PORT into FILE. DNS_NAMES=unknown turns each token into a well-formed one
# that was never created (answered, looked up, not recorded), DNS_NAMES=notoken into a label that
# is no token (answered, no lookup): the cost of recording, by difference.
dns_queries() {
  local urls=() mode=${DNS_NAMES:-live} port=${1:-8080} out=${2:-$tmp/queries}
  [[ $mode =~ ^(live|unknown|notoken)$ ]] ||
    { echo "$(basename "$0"): DNS_NAMES=$mode: expected live, unknown or notoken" >&2; exit 2; }
  for _ in $(seq 1000); do urls+=("http://127.0.0.1:$port/api/v1/tests"); done
  load_cpu curl -s -X POST "${urls[@]}" | grep -o '"token":"[0-9a-f]*"' | cut -d'"' -f4 |
    while read -r t; do
      [[ $mode == unknown ]] && t=${t:1}${t:0:1}  # rotated: well-formed, never created
      [[ $mode == notoken ]] && t=x${t:1}
      for i in $(seq 0 9); do echo "q$i.$t.leak.test A"; done
    done >"$out"
}
# dnsperf_qps PORT [QUERIES]: queries/s for $secs s against 127.0.0.1:PORT; lost queries are
# reported on stderr.
dnsperf_qps() {
  load_cpu dnsperf -s 127.0.0.1 -p "$1" -d "${2:-$tmp/queries}" -l "$secs" -c 8 -q 500 -T 1 \
    >"$tmp/dnsperf.out" 2>&1 || true
  awk '/Queries lost/ && $3 > 0 {print "  (port '"$1"': " $3 " queries lost)" > "/dev/stderr"}' \
    "$tmp/dnsperf.out"
  awk '/Queries per second/ {printf "%d", $4}' "$tmp/dnsperf.out"
}
