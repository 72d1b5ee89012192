#!/usr/bin/env bash
# Builds the libFuzzer harnesses (CMake preset `fuzz`: clang, ASan + UBSan) and runs each for a
# bounded time from its committed seed corpus fuzz/corpus/<name>/. What the fuzzer adds goes to a
# temporary working corpus, never into the committed one. Exit 0 when every harness ran clean,
# 1 on any crash, leak, timeout or out-of-memory (the log and the reproducer's path are printed),
# 3 when clang++ is missing.
#   fuzz/run.sh [SECONDS] [HARNESS...]     harnesses: dns stun http monitor openvpn (default: all)
# Environment: FUZZ_SECONDS (per harness, default 20; SECONDS overrides it), FUZZ_JOBS (harnesses
# run at once, default nproc), FUZZ_SEED (libFuzzer -seed; default random, printed), FUZZ_KEEP=1
# (keep the temporary directory after a clean run), VPNLEAK_FUZZ_BUILD (default build/fuzz).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "$root" && realpath -m "${VPNLEAK_FUZZ_BUILD:-build/fuzz}")
secs=${FUZZ_SECONDS:-20}
if [[ ${1:-} =~ ^[0-9]+$ ]]; then
  secs=$1
  shift
fi
parallel=${FUZZ_JOBS:-$(nproc)}

# name -> harness binary and the largest input worth trying.
declare -A binary=([dns]=fuzz_dns [stun]=fuzz_stun [http]=fuzz_http [monitor]=monitor_classifier_fuzz
  [openvpn]=fuzz_openvpn_config)
declare -A max_len=([dns]=4096 [stun]=2048 [http]=16384 [monitor]=8192 [openvpn]=8192)
names=("$@")
[[ ${#names[@]} -eq 0 ]] && names=(dns stun http monitor openvpn)
for h in "${names[@]}"; do
  [[ -n ${binary[$h]:-} ]] || { echo "fuzz/run.sh: unknown harness '$h' (dns stun http monitor openvpn)" >&2; exit 2; }
  [[ -n $(ls -A "$root/fuzz/corpus/$h" 2>/dev/null) ]] || { echo "fuzz/run.sh: empty seed corpus fuzz/corpus/$h" >&2; exit 2; }
done
command -v clang++ >/dev/null || { echo "fuzz/run.sh: clang++ is required (scripts/deps.sh installs it)" >&2; exit 3; }

start=$(date +%s)
(cd "$root" && cmake --preset fuzz -B "$build" >/dev/null)
cmake --build "$build" --target fuzzers -j "$(nproc)"
built=$(date +%s)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vpnleak-fuzz.XXXXXX")
echo "fuzz: ${secs}s per harness (${names[*]}), ${parallel} at a time; logs, corpora and artifacts in $tmp"
# A UBSan finding must end the run like an ASan one; libFuzzer reports leaks per input.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

run_one() {
  local h=$1 rc=0
  mkdir -p "$tmp/corpus/$h" "$tmp/artifacts"
  "$build/fuzz/${binary[$h]}" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
    -max_len="${max_len[$h]}" -seed="${FUZZ_SEED:-0}" -print_final_stats=1 \
    -artifact_prefix="$tmp/artifacts/$h-" "$tmp/corpus/$h" "$root/fuzz/corpus/$h" \
    >"$tmp/$h.log" 2>&1 || rc=$?
  echo "$rc" >"$tmp/$h.rc"
}

for h in "${names[@]}"; do
  while [[ $(jobs -rp | wc -l) -ge $parallel ]]; do wait -n || true; done
  run_one "$h" &
done
wait

final_stat() { grep -m1 -oP "^$2:\s*\K\S+" "$1" || echo "?"; }
status=0
for h in "${names[@]}"; do
  log=$tmp/$h.log
  rc=$(cat "$tmp/$h.rc")
  cov=$(grep -oP '^#\d+\s+DONE\s+cov: \K\d+' "$log" || echo "?")
  printf 'fuzz %-8s %s: %s runs, %s exec/s, cov %s, %s new inputs (%s)\n' "$h" \
    "$([[ $rc -eq 0 ]] && echo ok || echo "FAILED (exit $rc)")" \
    "$(final_stat "$log" stat::number_of_executed_units)" "$(final_stat "$log" stat::average_exec_per_sec)" \
    "$cov" "$(final_stat "$log" stat::new_units_added)" "$(grep -m1 -o 'Seed: [0-9]*' "$log" || true)"
  [[ $rc -eq 0 ]] && continue
  status=1
  echo "---- last lines of $log" >&2
  tail -n 40 "$log" >&2
  for a in "$tmp/artifacts/$h-"*; do
    [[ -e $a ]] || continue
    echo "fuzz $h: reproducer $a" >&2
    echo "  reproduce: $build/fuzz/${binary[$h]} $a" >&2
    echo "  keep it:   cp $a $root/fuzz/corpus/$h/  (replayed by the unit tests from then on)" >&2
  done
done
echo "fuzz: build $((built - start))s, fuzzing $(($(date +%s) - built))s"
if [[ $status -eq 0 && ${FUZZ_KEEP:-0} != 1 ]]; then
  rm -rf "$tmp"
else
  echo "fuzz: kept $tmp"
fi
exit $status
