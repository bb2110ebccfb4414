#!/usr/bin/env bash
# The README's test command, plus the checks that need more than cargo.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --release --workspace 2>&1 | tee /tmp/aurora-chaos-test.log
echo
echo "== test summary =="
grep -E '^test result:' /tmp/aurora-chaos-test.log | awk '{p+=$4; f+=$6; i+=$8} END {printf "%d passed, %d failed, %d skipped\n", p, f, i}'
