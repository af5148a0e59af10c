#!/usr/bin/env bash
# Builds every fuzz target (release, libFuzzer) and runs each for SECONDS (default 60) on a seed corpus made
# from the CPython fixtures, two targets at a time. Exits non-zero on any crash, leak, timeout or
# out-of-memory, after copying the failing inputs into FailCases/.
#   Fuzz/run.sh [SECONDS] [--asan]      (--asan: release with AddressSanitizer and LeakSanitizer,
#                                        scratch path .build-asan)
set -euo pipefail
cd "$(dirname "$0")"
seconds=${1:-60}
flags=(-c release --sanitize=fuzzer)
scratch=.build
if [ "${2:-}" = "--asan" ]; then flags+=(-Xswiftc -sanitize=fuzzer,address); scratch=.build-asan; fi
swift build "${flags[@]}" --scratch-path "$scratch" 2>&1 | tail -1

python3 make_seeds.py seeds >/dev/null
mkdir -p corpus FailCases artifacts

# Runs one target; its log goes to artifacts/<target>.log and its exit status to artifacts/<target>.status.
run_target() {
    local target=$1
    mkdir -p "corpus/$target"
    # SWIFT_BACKTRACE=enable=no: otherwise Swift's crash handler swallows the crash and no crash file is written.
    set +e
    SWIFT_BACKTRACE=enable=no "$scratch/release/$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -dict=pickle.dict -artifact_prefix="artifacts/$target-" -print_final_stats=1 \
        "corpus/$target" "seeds/$target" >"artifacts/$target.log" 2>&1
    echo $? >"artifacts/$target.status"
}

status=0
for group in "FuzzUnpickle FuzzChunked" "FuzzRoundTrip FuzzZstd" "FuzzArchives FuzzScan"; do
    set -- $group
    echo "== $*: $seconds s each"
    for target in "$@"; do run_target "$target" & done
    wait
    for target in "$@"; do
        if [ "$(cat "artifacts/$target.status")" != 0 ]; then
            echo "!! $target found a failure:"; tail -30 "artifacts/$target.log"
            cp artifacts/"$target"-* FailCases/ 2>/dev/null || true
            status=1
        fi
        echo "$target: $(grep -E "stat::number_of_executed_units" "artifacts/$target.log" | tail -1 | tr -s ' ') \
$(grep -oE "cov: [0-9]+ ft: [0-9]+" "artifacts/$target.log" | tail -1), \
$(grep -E "stat::peak_rss_mb" "artifacts/$target.log" | tail -1 | tr -s ' ')"
    done
done
exit $status
