//! A fixed, made-up report for tests, the `sample` example and documentation. Not real results.
//!
//! Deterministic: ops come from a small linear congruential generator with a fixed seed, so every
//! call returns an equal value. It covers each case a renderer must handle: a pass with a figure,
//! a failure with checker explanations and hostile text (`<script>`, `|`, backticks) in labels, a
//! pass with an advisory unknown check, and a claim not yet covered.

use crate::model::*;
use serde_json::json;

/// Fixed `generated` value of the sample report.
pub const GENERATED: &str = "2026-01-01T00:00:00Z";

/// The sample report with `ops_per_process` ops per process (5 processes) in each timeline.
pub fn report(ops_per_process: usize) -> Conformance {
    Conformance::new(
        "aurora-chaos conformance (sample)",
        GENERATED,
        rows_with(ops_per_process),
    )
}

/// Sample rows with small timelines (3 ops per process), as used in snapshot tests.
pub fn rows() -> Vec<ClaimRow> {
    rows_with(3)
}

fn rows_with(n: usize) -> Vec<ClaimRow> {
    vec![
        ClaimRow {
            claim: "C1".into(),
            wording: "No acknowledged commit is lost while every PG keeps ≥ 3 of 6 segments (AZ+1 down)".into(),
            status: Status::Pass,
            scenario: Some(ScenarioResult {
                name: "recovery_survives_az_plus_one".into(),
                workload: "bank".into(),
                nemesis: "lose-az+1".into(),
                seeds: vec![1, 2, 3],
                schedule: json!([[2000, {"lose_az": "az-a"}], [2500, {"crash": "seg-b3"}], [6000, "heal"]]),
                ops: OpCounts { ok: 0, fail: 0, info: 0 },
                checks: vec![
                    check("bank", Verdict::Valid, false, "totals conserved in every read"),
                    check("linearizable", Verdict::Valid, false, "linearizable over 3 keys"),
                ],
                figure: Some(Figure {
                    name: "acknowledged commits lost".into(),
                    value: 0.0,
                    bound: 0.0,
                    unit: String::new(),
                    comparison: Comparison::Eq,
                }),
                explanations: vec![],
                repro: "aurora-chaos suite --filter C1 --seed 1".into(),
                timeline: Some(timeline(n, 11, &[(2000.0, 6000.0, "lose-az"), (2500.0, 4500.0, "crash")], "bank")),
            }),
        },
        ClaimRow {
            claim: "C7".into(),
            wording: "Once a new volume epoch is recorded, a zombie writer's I/O is rejected".into(),
            status: Status::Fail,
            scenario: Some(ScenarioResult {
                name: "zombie_writer_fenced".into(),
                workload: "register".into(),
                nemesis: "partition writer | failover".into(),
                seeds: vec![7],
                schedule: json!([[1000, {"partition": ["writer", "storage"]}], [1500, "failover"], [5000, "heal"]]),
                ops: OpCounts { ok: 0, fail: 0, info: 0 },
                checks: vec![
                    check("linearizable", Verdict::Invalid, false, "nonlinearizable: read of 5 after write of 6 acknowledged"),
                    check("zombie-io", Verdict::Invalid, false, "2 writes accepted at stale epoch 3"),
                ],
                figure: Some(Figure {
                    name: "zombie writes accepted".into(),
                    value: 2.0,
                    bound: 0.0,
                    unit: String::new(),
                    comparison: Comparison::Eq,
                }),
                explanations: vec![
                    "Let W1 = write 6 at epoch 3 (process 2, ok at 1820 ms) and W2 = write 5 at epoch 4 \
                     (process 0, ok at 1650 ms).\nThen W2 < W1 because W1 completed after W2 in real time. \
                     However, a read at 2100 ms returned 5: W1 was accepted after epoch 4 was recorded, \
                     a contradiction!".into(),
                    "Storage node seg-a1 accepted `write` with <epoch 3> after volume epoch 4 | twice.".into(),
                ],
                repro: "aurora-chaos suite --filter C7 --seed 7".into(),
                timeline: Some(timeline(n, 23, &[(1000.0, 5000.0, "partition"), (1500.0, 1700.0, "failover")], "register")),
            }),
        },
        ClaimRow {
            claim: "C13".into(),
            wording: "Failover RTO (failure to first successful write)".into(),
            status: Status::Pass,
            scenario: Some(ScenarioResult {
                name: "failover_rto_within_goal".into(),
                workload: "register".into(),
                nemesis: "crash writer".into(),
                seeds: vec![42],
                schedule: json!([[3000, {"crash": "writer"}], [8000, {"restart": "writer"}]]),
                ops: OpCounts { ok: 0, fail: 0, info: 0 },
                checks: vec![
                    check("linearizable", Verdict::Valid, false, "linearizable"),
                    check("latency-p99", Verdict::Unknown, true, "too few samples for p99"),
                ],
                figure: Some(Figure {
                    name: "failover RTO".into(),
                    value: 12_345.5,
                    bound: 30_000.0,
                    unit: "ms".into(),
                    comparison: Comparison::Le,
                }),
                explanations: vec![],
                repro: "aurora-chaos suite --filter C13 --seed 42".into(),
                timeline: None,
            }),
        },
        ClaimRow {
            claim: "C14".into(),
            wording: "Backtrack to T yields exactly the committed state at the reported T′ ≤ T".into(),
            status: Status::NotCovered {
                reason: "the reference does not implement backtrack yet".into(),
            },
            scenario: None,
        },
    ]
    .into_iter()
    .map(count_ops)
    .collect()
}

fn check(name: &str, verdict: Verdict, advisory: bool, summary: &str) -> CheckRow {
    CheckRow {
        name: name.into(),
        verdict,
        advisory,
        summary: summary.into(),
    }
}

/// Fills `ops` from the timeline, when there is one, so the counts agree with the plots.
fn count_ops(mut row: ClaimRow) -> ClaimRow {
    if let Some(sc) = &mut row.scenario {
        match &sc.timeline {
            Some(tl) => {
                let n = |k| tl.ops.iter().filter(|o| o.kind == k).count() as u64;
                sc.ops = OpCounts {
                    ok: n(OpKind::Ok),
                    fail: n(OpKind::Fail),
                    info: n(OpKind::Info),
                };
            }
            None => {
                sc.ops = OpCounts {
                    ok: 412,
                    fail: 9,
                    info: 2,
                }
            }
        }
    }
    row
}

/// Knuth's MMIX LCG; returns a value in [0, 1).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Five processes issuing ops back to back; inside a fault window latencies grow and some ops
/// fail or end `info`. One op's label carries `<script>` to exercise escaping.
fn timeline(
    per_process: usize,
    seed: u64,
    faults: &[(f64, f64, &str)],
    workload: &str,
) -> Timeline {
    let mut rng = Lcg(seed);
    let in_fault = |t: f64| faults.iter().any(|(s, e, _)| *s <= t && t < *e);
    let mut ops = Vec::new();
    // Spread the run over about 8 s whatever the op count.
    let gap_ms = 8000.0 / per_process.max(1) as f64;
    for p in 0..5i64 {
        let mut t = rng.next() * 20.0;
        for i in 0..per_process {
            let faulty = in_fault(t);
            // A heavy tail without libm calls, so every platform and opt level computes the same floats.
            let tail = rng.next();
            let base = 2.0 + rng.next() * 10.0 + tail * tail * tail * 50.0;
            let lat = if faulty {
                base * (2.0 + rng.next() * 20.0)
            } else {
                base
            };
            let roll = rng.next();
            let kind = match (faulty, roll) {
                (true, r) if r < 0.25 => OpKind::Fail,
                (true, r) if r < 0.35 => OpKind::Info,
                (false, r) if r < 0.02 => OpKind::Fail,
                _ => OpKind::Ok,
            };
            let f = if rng.next() < 0.5 { "read" } else { "write" };
            let label = if p == 1 && i == 1 {
                "<script>alert('x')</script> | `v`".to_string()
            } else {
                format!(
                    "{workload} {f} k{} = {}",
                    i % 3,
                    (rng.next() * 100.0) as u32
                )
            };
            ops.push(TimelineOp {
                process: p,
                start_ms: t,
                end_ms: t + lat,
                kind,
                f: f.into(),
                label,
            });
            t += lat + gap_ms * (0.2 + rng.next() * 0.3);
        }
    }
    ops.sort_by(|a, b| a.start_ms.total_cmp(&b.start_ms));
    let end_ms = ops.iter().map(|o| o.end_ms).fold(8000.0, f64::max);
    Timeline {
        lags: Vec::new(),
        ops,
        faults: faults
            .iter()
            .map(|(s, e, n)| FaultBand {
                start_ms: *s,
                end_ms: *e,
                name: (*n).into(),
            })
            .collect(),
        end_ms,
    }
}
