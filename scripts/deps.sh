#!/usr/bin/env bash
# Installs every build, test and lab dependency of vpnleak from Debian's packages.
# Idempotent: installs only what is missing and says what it installs. Needs root.
#   scripts/deps.sh          build + test + lab dependencies
#   scripts/deps.sh --bench  also the peer tools the benchmarks compare against
set -euo pipefail

build=(cmake ninja-build g++ pkg-config make
  libmnl-dev libnftables-dev libpcap-dev libboost-dev libsqlite3-dev libhiredis-dev
  nlohmann-json3-dev libcli11-dev libspdlog-dev libfmt-dev
  googletest libgtest-dev libgmock-dev libbenchmark-dev clang libclang-rt-dev)
lab=(iproute2 nftables wireguard-go wireguard-tools openvpn openssl unbound dnsmasq isc-dhcp-client
  tcpdump curl dnsutils redis-server chromium procps psmisc iputils-ping coturn radvd)
bench=(nsd dnsperf nginx-light wrk tshark)

want=("${build[@]}" "${lab[@]}")
[[ "${1:-}" == "--bench" ]] && want+=("${bench[@]}")

if [[ $(id -u) -ne 0 ]]; then
  echo "deps.sh: must run as root to install packages (try: sudo $0)" >&2
  exit 3
fi

missing=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "deps.sh: all ${#want[@]} packages already installed"
  exit 0
fi

echo "deps.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Services shipped by these packages (unbound, redis, dnsmasq) must not start in the root
# namespace: the lab and tests start their own instances.
policy=/usr/sbin/policy-rc.d
made_policy=0
if [[ ! -e $policy ]]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && made_policy=1
fi
trap '[[ $made_policy -eq 1 ]] && rm -f "$policy"' EXIT
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "deps.sh: done"
