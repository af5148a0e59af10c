#!/usr/bin/env bash
# Builds the DocC documentation of Pickle, PickleZstd and PickleNIO into .build/docs/<target>; fails when DocC
# warns (unresolved links, missing topics).
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
mkdir -p .build/docs
for target in Pickle PickleZstd PickleNIO; do
    log=$(mktemp)
    if ! swift package --allow-writing-to-directory .build/docs generate-documentation --target "$target" \
        --output-path ".build/docs/$target" --warnings-as-errors >"$log" 2>&1; then
        grep -E "^(warning|error)" -A8 "$log" | head -80
        status=1
    fi
    grep -E "^Generated documentation archive|^  /" "$log" || true
    rm -f "$log"
done
exit $status
