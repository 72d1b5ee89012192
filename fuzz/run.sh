#!/usr/bin/env bash
# Builds the fuzz harnesses with clang (ASan + UBSan + libFuzzer) and runs each for a bounded
# time from a small seed corpus. Exit status non-zero when a harness finds a crash.
#   fuzz/run.sh [SECONDS_PER_HARNESS]     (default 60)
set -euo pipefail
secs=${1:-60}
root=$(cd "$(dirname "$0")/.." && pwd)
build=${VPNLEAK_FUZZ_BUILD:-$root/build/fuzz}
CC=clang CXX=clang++ cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DVPNLEAK_FUZZ=ON -DVPNLEAK_TESTS=OFF >/dev/null
cmake --build "$build" --target fuzz_dns fuzz_stun fuzz_http

seeds=$build/seeds
mkdir -p "$seeds/dns" "$seeds/stun" "$seeds/http"
# A query for x.leak.test A with EDNS and a client subnet; a compression loop.
printf '\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x01\x01x\x04leak\x04test\x00\x00\x01\x00\x01\x00\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x0b\x00\x08\x00\x07\x00\x01\x18\x00\xcb\x00\x71' >"$seeds/dns/query"
printf '\x00\x01\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\xc0\x0c\x00\x01\x00\x01' >"$seeds/dns/loop"
# A binding request with FINGERPRINT; an RFC 3489 request.
printf '\x00\x01\x00\x08\x21\x12\xa4\x42\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x80\x28\x00\x04\x5b\x20\xf9\xcc' >"$seeds/stun/request"
printf '\x00\x01\x00\x00\xde\xad\xbe\xef\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c' >"$seeds/stun/classic"
printf 'GET /api/v1/ip?token=00000000000000000000000000000001 HTTP/1.1\r\nHost: x\r\n\r\n' >"$seeds/http/ip"
printf 'POST /api/v1/tests/00000000000000000000000000000001/webrtc HTTP/1.1\r\nHost: x\r\nContent-Length: 84\r\n\r\n{"candidates":["candidate:1 1 udp 1 203.0.113.2 5 typ srflx raddr 0.0.0.0 rport 0"]}' >"$seeds/http/webrtc"
printf 'POST /api/v1/tests?names=3 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n' >"$seeds/http/create"

status=0
for h in dns stun http; do
  corpus=$build/corpus/$h
  mkdir -p "$corpus"
  echo "fuzz_$h: ${secs}s"
  "$build/fuzz/fuzz_$h" -max_total_time="$secs" -max_len=4096 -print_final_stats=1 \
    -artifact_prefix="$build/crash-$h-" "$corpus" "$seeds/$h" 2>"$build/fuzz_$h.log" || {
    status=1
    echo "fuzz_$h found a problem; see $build/fuzz_$h.log and $build/crash-$h-*"
  }
  grep -E "stat::number_of_executed_units|cov:" "$build/fuzz_$h.log" | tail -2 || true
done
exit $status
