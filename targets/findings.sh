#!/usr/bin/env bash
# The runs behind the README's findings: every engine × replication mode × isolation level × workload,
# each 25 real seconds with a kill -9 of the primary and a promotion about every 8 s, then one run per
# engine with every process fault. Results go to results/targets/<engine>/<replication>-<isolation>/.
# About 40 minutes on a 2-core machine. Usage: bash targets/findings.sh [seed]
set -uo pipefail
cd "$(dirname "$0")/.."
seed="${1:-1}"
bin=target/release/aurora-chaos
cargo build --release -p harness -q
for engine in postgres mysql; do
  for repl in async sync; do
    for iso in read-committed repeatable-read serializable; do
      for w in bank register list-append rw-register; do
        echo "== $engine $repl $iso $w"
        "$bin" run --target "$engine" --replication "$repl" --isolation "$iso" --workload "$w" \
          --seed "$seed" --time-limit 25 --nemesis kill-promote --interval-ms 8000 \
          > /dev/null 2>&1
        echo "   exit $?"
      done
    done
  done
  echo "== $engine async serializable list-append, every fault kind"
  "$bin" run --target "$engine" --replication async --isolation serializable --workload list-append \
    --seed "$seed" --time-limit 40 --nemesis all --interval-ms 5000 \
    --out "results/targets/$engine/async-serializable/list-append-all-faults" > /dev/null 2>&1
  echo "   exit $?"
done
