#!/usr/bin/env bash
# The README's test command, then the checks that need more than cargo: the conformance page rendered
# in a real browser.
set -euo pipefail
cd "$(dirname "$0")/.."
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# The Debian packages (PostgreSQL and MariaDB for the target tests, Chromium for the browser checks)
# install in the background while cargo compiles: apt waits on the network and dpkg, cargo on the CPU.
echo "== Debian packages (PostgreSQL, MariaDB, Chromium) in the background; compiling the tests =="
pkglog=$(mktemp)
bash ci/install-engines.sh --chromium >"$pkglog" 2>&1 &
pkgpid=$!
cargo test --release --workspace --no-run
if ! wait "$pkgpid"; then
  cat "$pkglog" >&2
  echo "error: installing the Debian packages failed (ci/install-engines.sh --chromium)" >&2
  exit 1
fi
cat "$pkglog"
rm -f "$pkglog"
echo
echo "== cargo test --release --workspace =="
cargo test --release --workspace 2>&1 | tee "$log"
echo
echo "== false-positive sweep, a CI slice (seeds 1-30 of the 1,000-seed sweep, 2 local shards) =="
slice=$(mktemp -d)
(cd "$slice" && "$OLDPWD/target/release/aurora-chaos" soak --seeds 1..31 --keep-going --workload all \
  --time-limit 6 --interval-ms 1500 --jobs 2 --no-coverage-goals | tail -3)
rm -rf "$slice"
echo
echo "== conformance page in headless chromium =="
bash ci/check-report-html.sh results/conformance/report.html "$(mktemp -d)/report.png"
echo
echo "== results browser (serve, run page, dashboard) in headless chromium =="
bash ci/browser-test.sh
echo
echo "== test summary =="
grep -E '^test result:' "$log" | awk '{p+=$4; f+=$6; i+=$8} END {printf "%d passed, %d failed, %d skipped\n", p, f, i}'
