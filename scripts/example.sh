#!/usr/bin/env bash
# Runs pickletool on the bundled example, installing first what a fresh machine lacks (libzstd-dev).
set -euo pipefail
cd "$(dirname "$0")/.."
need_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
if ! pkg-config --exists libzstd 2>/dev/null; then
    need_root apt-get update -qq && need_root apt-get install -y -qq libzstd-dev pkg-config >/dev/null
fi
swift run -c release pickletool show Examples/example.pickle
