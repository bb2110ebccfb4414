#!/usr/bin/env bash
# The runs behind the README's findings. Per engine: async replication × every isolation level ×
# every workload, and sync replication × every isolation level × bank and list-append, each with a
# kill -9 of the primary and a promotion about every 7 s; then one run with every process fault.
# Results go to results/targets/<engine>/<replication>-<isolation>/<workload>/; a configuration
# whose results.json already exists is skipped (delete it to rerun).
# Usage: bash targets/findings.sh [seed] [engine…]   (the two engines can run in parallel)
set -uo pipefail
cd "$(dirname "$0")/.."
seed="${1:-1}"
shift || true
engines=("${@:-postgres mysql}")
bin=target/release/aurora-chaos
cargo build --release -p harness -q
one() {
  local engine=$1 repl=$2 iso=$3 w=$4
  local dir="results/targets/$engine/$repl-$iso/$w"
  [ -f "$dir/results.json" ] && { echo "== $engine $repl $iso $w: kept"; return; }
  echo "== $engine $repl $iso $w"
  "$bin" run --target "$engine" --replication "$repl" --isolation "$iso" --workload "$w" \
    --seed "$seed" --time-limit 20 --nemesis kill-promote --interval-ms 7000 > /dev/null 2>&1
  echo "   exit $?"
}
for engine in ${engines[@]}; do
  for iso in read-committed repeatable-read serializable; do
    for w in bank register list-append rw-register; do one "$engine" async "$iso" "$w"; done
    for w in bank list-append; do one "$engine" sync "$iso" "$w"; done
  done
  dir="results/targets/$engine/async-serializable/list-append-all-faults"
  if [ ! -f "$dir/results.json" ]; then
    echo "== $engine async serializable list-append, every fault kind"
    "$bin" run --target "$engine" --replication async --isolation serializable --workload list-append \
      --seed "$seed" --time-limit 40 --nemesis all --interval-ms 5000 --out "$dir" > /dev/null 2>&1
    echo "   exit $?"
  fi
done
