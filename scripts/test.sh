#!/usr/bin/env bash
# Runs every test of swift-pickle, installing first what a fresh machine lacks.
# CPython 3.11 (python3) is the oracle: the tests run it live and compare its bytes with ours.
set -euo pipefail
cd "$(dirname "$0")/.."

need_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

if ! command -v python3 >/dev/null 2>&1; then
    need_root apt-get update -qq && need_root apt-get install -y -qq python3 python3-pip
fi
# numpy: the fixtures include numpy arrays, and the oracle rebuilds them.
python3 -c "import numpy" 2>/dev/null || python3 -m pip install --quiet numpy
# libzstd-dev: the PickleZstd layer links the system's libzstd (headers and pkg-config file).
if ! pkg-config --exists libzstd 2>/dev/null; then
    need_root apt-get update -qq && need_root apt-get install -y -qq libzstd-dev pkg-config
fi
# The zstd CLI and Python's zstd module: the interop tests compress and decompress with both.
command -v zstd >/dev/null 2>&1 || { need_root apt-get update -qq && need_root apt-get install -y -qq zstd; }
python3 -c "from backports import zstd" 2>/dev/null || python3 -m pip install --quiet backports.zstd
# pandas: the real-world corpus (Tests/Fixtures/corpus.py) pickles DataFrames, Series and Indexes, and fails
# loudly without it.
python3 -c "import pandas" 2>/dev/null || python3 -m pip install --quiet pandas
# safetensors: the safetensors tests load what the writer wrote with the reference implementation.
python3 -c "import safetensors" 2>/dev/null || python3 -m pip install --quiet safetensors
# joblib: the scanner's tests read what joblib.dump writes (arrays inside the pickle stream).
python3 -c "import joblib" 2>/dev/null || python3 -m pip install --quiet joblib
# hypothesis: the differential test generates random object graphs with it.
python3 -c "import hypothesis" 2>/dev/null || python3 -m pip install --quiet hypothesis

# The committed fixtures must be what the committed generator makes (CPython is the source of truth).
fixtures=$(mktemp -d)
trap 'rm -rf "$fixtures"' EXIT
python3 Tests/Fixtures/generate_fixtures.py "$fixtures" >/dev/null
if ! diff -rq "$fixtures" Tests/PickleTests/Fixtures >/dev/null; then
    echo "Tests/PickleTests/Fixtures is out of date: run python3 Tests/Fixtures/generate_fixtures.py" >&2
    diff -rq "$fixtures" Tests/PickleTests/Fixtures | head -20 >&2
    exit 1
fi

# The committed codec table must be what its generator makes from this CPython's codec registry.
python3 scripts/generate_codec_table.py "$fixtures/PythonCodecTable.swift"
if ! cmp -s "$fixtures/PythonCodecTable.swift" Sources/Pickle/Reading/PythonCodecTable.swift; then
    echo "Sources/Pickle/Reading/PythonCodecTable.swift is out of date: run python3 scripts/generate_codec_table.py" >&2
    exit 1
fi

# Optimized build with @testable access: the parser tests feed every fixture split at every offset, which
# takes seconds optimized and many minutes unoptimized.
swift build -c release --build-tests -Xswiftc -enable-testing
swift test -c release -Xswiftc -enable-testing --skip-build 2>&1 | tee "$fixtures/test.log"
# swift test exits non-zero on failure (pipefail); print the closing lines CI reads.
grep -E "Executed [0-9]+ tests" "$fixtures/test.log" | tail -1

# The whole XCTest suite again under AddressSanitizer (release, a scratch path of its own): any memory error
# fails the run. Leak detection is off for this run only: Foundation (`Data(contentsOf:)` buffers, `Process`'s
# weak references) and XCTest (test-case instances and registrations) leak at exit, not this library, and the
# fuzz targets below run LeakSanitizer over the library alone. SANITIZED_TESTS=0 skips it (a quick local run).
if [ "${SANITIZED_TESTS:-1}" != 0 ]; then
    asan=(-c release -Xswiftc -enable-testing -Xswiftc -sanitize=address --scratch-path .build-asan-tests)
    swift build --build-tests "${asan[@]}"
    ASAN_OPTIONS=detect_leaks=0 swift test --skip-build "${asan[@]}" 2>&1 | tee "$fixtures/asan.log" | grep -E "ERROR: AddressSanitizer|error:|Executed [0-9]+ tests" | tail -5
fi

# The DocC catalogs build without a warning (unresolved links, undocumented parameters).
bash scripts/docs.sh

# Every fuzz target for a bounded time, with AddressSanitizer and LeakSanitizer: any crash, leak, timeout or
# out-of-memory fails the run. FUZZ_SECONDS=0 skips it (a quick local run); CI uses the default minute.
fuzz_seconds=${FUZZ_SECONDS:-60}
if [ "$fuzz_seconds" -gt 0 ]; then
    Fuzz/run.sh "$fuzz_seconds" --asan
fi
