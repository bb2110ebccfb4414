#!/usr/bin/env bash
# The README's test command, then the checks that need more than cargo: the conformance page rendered
# in a real browser.
set -euo pipefail
cd "$(dirname "$0")/.."
log=$(mktemp)
trap 'rm -f "$log"' EXIT
echo "== real engines (PostgreSQL, MariaDB) for the target tests =="
bash ci/install-engines.sh
cargo test --release --workspace 2>&1 | tee "$log"
echo
echo "== conformance page in headless chromium =="
bash ci/check-report-html.sh results/conformance/report.html "$(mktemp -d)/report.png"
echo
echo "== results browser (serve, run page, dashboard) in headless chromium =="
bash ci/browser-test.sh
echo
echo "== test summary =="
grep -E '^test result:' "$log" | awk '{p+=$4; f+=$6; i+=$8} END {printf "%d passed, %d failed, %d skipped\n", p, f, i}'
