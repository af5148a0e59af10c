#!/usr/bin/env bash
# Builds every fuzz target (release, libFuzzer) and runs each for SECONDS (default 60) on a seed corpus made
# from the CPython fixtures. Exits non-zero on any crash, leak, timeout or out-of-memory.
#   Fuzz/run.sh [SECONDS] [--asan]      (--asan: release with AddressSanitizer, scratch path .build-asan)
set -euo pipefail
cd "$(dirname "$0")"
seconds=${1:-60}
flags=(-c release --sanitize=fuzzer)
scratch=.build
if [ "${2:-}" = "--asan" ]; then flags+=(-Xswiftc -sanitize=fuzzer,address); scratch=.build-asan; fi
swift build "${flags[@]}" --scratch-path "$scratch" 2>&1 | tail -1

python3 make_seeds.py seeds >/dev/null
mkdir -p corpus FailCases artifacts
status=0
for target in FuzzUnpickle FuzzChunked FuzzRoundTrip FuzzZstd; do
    mkdir -p "corpus/$target"
    echo "== $target: $seconds s"
    # SWIFT_BACKTRACE=enable=no: otherwise Swift's crash handler swallows the crash and no crash file is written.
    if ! SWIFT_BACKTRACE=enable=no "$scratch/release/$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -dict=pickle.dict -artifact_prefix="artifacts/$target-" -print_final_stats=1 \
        "corpus/$target" "seeds/$target" 2>"artifacts/$target.log"; then
        echo "!! $target found a failure:"; tail -30 "artifacts/$target.log"
        cp artifacts/"$target"-* FailCases/ 2>/dev/null || true
        status=1
    fi
    grep -E "stat::number_of_executed_units|stat::peak_rss_mb|cov:" "artifacts/$target.log" | tail -3 || true
done
exit $status
