#!/usr/bin/env bash
# Builds the monitor's libFuzzer harness with clang (ASan + UBSan) and runs it for a bounded time,
# seeded with every frame of the lab captures in tests/data/monitor and with the files whole.
# Non-zero exit on a finding.
#   fuzz/monitor_run.sh [SECONDS]     (default 60)
set -euo pipefail
secs=${1:-60}
root=$(cd "$(dirname "$0")/.." && pwd)
build=${VPNLEAK_FUZZ_BUILD:-$root/build/fuzz}
command -v clang++ >/dev/null || { echo "monitor_run.sh: clang++ is required" >&2; exit 3; }
CC=clang CXX=clang++ cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DVPNLEAK_FUZZ=ON -DVPNLEAK_TESTS=OFF >/dev/null
cmake --build "$build" --target monitor_classifier_fuzz

seeds=$build/seeds/monitor
corpus=$build/corpus/monitor
mkdir -p "$seeds" "$corpus"
# One seed per captured frame: the first byte selects the link type (0 Ethernet, 2 SLL2).
python3 - "$seeds" "$root"/tests/data/monitor/*.pcap <<'PY'
import struct, sys, os
out = sys.argv[1]
for path in sys.argv[2:]:
    data = open(path, 'rb').read()
    magic = struct.unpack('<I', data[:4])[0]
    endian = '<' if magic in (0xa1b2c3d4, 0xa1b23c4d) else '>'
    link = {1: 0, 113: 1, 276: 2, 101: 3}.get(struct.unpack(endian + 'I', data[20:24])[0], 0)
    off, n = 24, 0
    while off + 16 <= len(data):
        caplen = struct.unpack(endian + 'I', data[off + 8:off + 12])[0]
        frame = data[off + 16:off + 16 + caplen]
        with open(os.path.join(out, '%s-%03d' % (os.path.basename(path), n)), 'wb') as f:
            f.write(bytes([link]) + frame)
        off += 16 + caplen
        n += 1
    # The whole file too, for the pcap reader (top bit of the first byte).
    with open(os.path.join(out, os.path.basename(path) + '-file'), 'wb') as f:
        f.write(bytes([0x80]) + data)
PY
echo "monitor_classifier_fuzz: ${secs}s from $(ls "$seeds" | wc -l) seeds"
"$build/fuzz/monitor_classifier_fuzz" -max_total_time="$secs" -max_len=8192 \
  -print_final_stats=1 -artifact_prefix="$build/crash-monitor-" "$corpus" "$seeds" \
  2>"$build/monitor_classifier_fuzz.log" || {
  echo "monitor_classifier_fuzz found a problem; see $build/monitor_classifier_fuzz.log" >&2
  exit 1
}
grep -E "stat::number_of_executed_units|cov:" "$build/monitor_classifier_fuzz.log" | tail -2 || true
