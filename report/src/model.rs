//! The report data model: one [`Conformance`] value feeds every renderer.
//!
//! Contract: every field except [`Conformance::generated`] is a pure function of the run (seeds,
//! schedule, history), so two runs of the same suite produce equal values and therefore byte-identical
//! reports. Collections are `Vec`s in the order the producer chose (claims in C1…C20 order); no map
//! type with unspecified iteration order appears anywhere. `schedule` is a `serde_json::Value`, whose
//! objects serialize with sorted keys (serde_json without `preserve_order`).

use serde::{Deserialize, Serialize};

/// A whole conformance report: one row per claim, covered or not.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Conformance {
    /// Page and document title, e.g. `"aurora-chaos conformance"`.
    pub title: String,
    /// When the report was produced. The only non-deterministic field: renderers print it in the
    /// header only, and snapshot tests redact it.
    pub generated: String,
    /// Counts over `rows`; build it with [`Summary::of`] (or [`Conformance::new`]).
    pub summary: Summary,
    /// One row per claim, in the order to show them. Uncovered claims stay in the list.
    pub rows: Vec<ClaimRow>,
    /// The claim × bug matrix: each claim run again with a known bug switched on, which must make
    /// the claim fail. Empty (and absent from the JSON) when no mutation runs were made.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mutations: Vec<MutationRow>,
}

impl Conformance {
    /// A report whose summary is computed from `rows`.
    pub fn new(
        title: impl Into<String>,
        generated: impl Into<String>,
        rows: Vec<ClaimRow>,
    ) -> Self {
        Conformance {
            title: title.into(),
            generated: generated.into(),
            summary: Summary::of(&rows),
            rows,
            mutations: Vec::new(),
        }
    }

    /// Parse a report previously written by [`crate::render_json`].
    pub fn from_json(text: &str) -> Result<Conformance, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// The overall verdict: [`Overall::Fail`] when any claim failed or is vacuous or any mutation
    /// was vacuous, else [`Overall::Incomplete`] when some claim is not covered, else
    /// [`Overall::Pass`]. Never `Pass` while a claim is uncovered or vacuous.
    pub fn overall(&self) -> Overall {
        let s = &self.summary;
        let vacuous_mutation = self
            .mutations
            .iter()
            .any(|m| m.outcome == MutationOutcome::Vacuous);
        if s.fail > 0 || s.vacuous > 0 || vacuous_mutation {
            Overall::Fail
        } else if s.not_covered > 0 || s.pass < s.claims {
            Overall::Incomplete
        } else {
            Overall::Pass
        }
    }

    /// One line for every format's header, e.g.
    /// `"INCOMPLETE: 13 of 20 claims shown, 7 not covered; 13 pass, 0 fail, 0 vacuous"`.
    pub fn overall_line(&self) -> String {
        let s = &self.summary;
        let shown = s.claims - s.not_covered;
        let mut line = format!(
            "{}: {shown} of {} claims shown, {} not covered; {} pass, {} fail, {} vacuous",
            self.overall().label(),
            s.claims,
            s.not_covered,
            s.pass,
            s.fail,
            s.vacuous
        );
        if !self.mutations.is_empty() {
            let count =
                |o: MutationOutcome| self.mutations.iter().filter(|m| m.outcome == o).count();
            line.push_str(&format!(
                "; mutations: {} caught, {} vacuous, {} not run",
                count(MutationOutcome::Caught),
                count(MutationOutcome::Vacuous),
                count(MutationOutcome::NotRun)
            ));
        }
        line
    }
}

/// The report's overall status, as the dashboard shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overall {
    /// Every claim is covered and passes (and no mutation was vacuous).
    Pass,
    /// Nothing failed, but some claims are not covered: not a pass.
    Incomplete,
    /// A claim failed or is vacuous, or a mutation did not make its claim fail.
    Fail,
}

impl Overall {
    pub fn label(self) -> &'static str {
        match self {
            Overall::Pass => "PASS",
            Overall::Incomplete => "INCOMPLETE",
            Overall::Fail => "FAIL",
        }
    }
}

/// One cell of the claim × bug matrix: the claim's scenario rerun with `bug` switched on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MutationRow {
    /// Claim id, `"C1"` … `"C20"`.
    pub claim: String,
    /// The bug's name as `--inject-bug` takes it, e.g. `"ack-before-quorum"`.
    pub bug: String,
    pub bug_description: String,
    pub outcome: MutationOutcome,
    /// The claim's figure measured under the bug, when it has one.
    pub figure: Option<Figure>,
    pub seeds: Vec<u64>,
}

/// What a mutation run showed. `Caught` is the expected result; `Vacuous` is a suite failure
/// (the claim's checks cannot see the bug they are meant to catch).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MutationOutcome {
    /// The claim FAILED under the bug, as it must.
    Caught,
    /// The claim still passed under its bug.
    Vacuous,
    /// The mutation run was not made.
    NotRun,
}

impl MutationOutcome {
    pub fn label(self) -> &'static str {
        match self {
            MutationOutcome::Caught => "caught",
            MutationOutcome::Vacuous => "VACUOUS",
            MutationOutcome::NotRun => "not run",
        }
    }
}

/// Counts of claims by status, plus total ops over every covered scenario.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub claims: usize,
    pub pass: usize,
    pub fail: usize,
    pub not_covered: usize,
    /// Claims whose checks still passed under the bugs meant to break them (not passing).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub vacuous: usize,
    pub ops: OpCounts,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl Summary {
    /// Count `rows` by status and add up the ops of their scenarios.
    pub fn of(rows: &[ClaimRow]) -> Summary {
        let mut s = Summary {
            claims: rows.len(),
            ..Summary::default()
        };
        for row in rows {
            match row.status {
                Status::Pass => s.pass += 1,
                Status::Fail => s.fail += 1,
                Status::NotCovered { .. } => s.not_covered += 1,
                Status::Vacuous { .. } => s.vacuous += 1,
            }
            if let Some(sc) = &row.scenario {
                s.ops.ok += sc.ops.ok;
                s.ops.fail += sc.ops.fail;
                s.ops.info += sc.ops.info;
            }
        }
        s
    }

    /// True when no covered claim failed or is vacuous. Uncovered claims do not count here; use
    /// [`Conformance::overall`] for the headline status.
    pub fn all_pass(&self) -> bool {
        self.fail == 0 && self.vacuous == 0
    }
}

/// One claim of AURORA.md's table and what the suite showed about it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClaimRow {
    /// Claim id, `"C1"` … `"C20"`.
    pub claim: String,
    /// The claim's wording as in AURORA.md.
    pub wording: String,
    pub status: Status,
    /// The scenario that exercised the claim; `None` when not covered.
    pub scenario: Option<ScenarioResult>,
}

/// Outcome of a claim. `Fail` means the scenario ran and refuted the claim (or a checker was
/// invalid); `NotCovered` means nothing ran, and says why; `Vacuous` means the scenario passed but
/// also passed with the bugs meant to break it, so it proves nothing (counted as not passing).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Status {
    Pass,
    Fail,
    NotCovered { reason: String },
    Vacuous { reason: String },
}

impl Status {
    /// The word shown in tables: `PASS`, `FAIL`, `not yet covered`, `VACUOUS`.
    pub fn label(&self) -> &'static str {
        match self {
            Status::Pass => "PASS",
            Status::Fail => "FAIL",
            Status::NotCovered { .. } => "not yet covered",
            Status::Vacuous { .. } => "VACUOUS",
        }
    }
}

/// One scenario run (possibly over several pinned seeds) and its checks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScenarioResult {
    /// Scenario name, e.g. `"recovery_survives_az_plus_one"`.
    pub name: String,
    /// Workload name, e.g. `"bank"`, `"list-append"`.
    pub workload: String,
    /// Nemesis description, e.g. `"lose-az+1"`.
    pub nemesis: String,
    pub seeds: Vec<u64>,
    /// The fault schedule as data (the harness's `Schedule` serialized).
    pub schedule: serde_json::Value,
    pub ops: OpCounts,
    pub checks: Vec<CheckRow>,
    /// The measured figure against the claim's bound, when the claim has one.
    pub figure: Option<Figure>,
    /// Checkers' prose explanations of anomalies (empty when all is well).
    pub explanations: Vec<String>,
    /// Exact command reproducing this scenario, e.g. `aurora-chaos suite --filter C1`.
    pub repro: String,
    /// Op-level timeline for the plots; `None` leaves the scenario without figures.
    pub timeline: Option<Timeline>,
}

/// Completed ops by outcome (invocations are not counted).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpCounts {
    pub ok: u64,
    pub fail: u64,
    pub info: u64,
}

/// One checker's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckRow {
    /// Checker name, e.g. `"linearizable"`, `"elle-list-append"`, `"bank"`.
    pub name: String,
    pub verdict: Verdict,
    /// Advisory checks are shown but do not decide the claim's status.
    pub advisory: bool,
    /// One line, e.g. `"no anomalies in 1,204 txns"` or `"G1c: 2 cycles"`.
    pub summary: String,
}

/// Three-valued checker result, as Jepsen's `:valid?` (`true`, `false`, `:unknown`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Valid,
    Unknown,
    Invalid,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Valid => "valid",
            Verdict::Unknown => "unknown",
            Verdict::Invalid => "invalid",
        }
    }
}

/// A measured number and the bound the claim states for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Figure {
    /// What was measured, e.g. `"acknowledged commits lost"`, `"failover RTO"`.
    pub name: String,
    /// NaN (a scenario that did not exercise its claim) is written as JSON `null` and read
    /// back as NaN.
    #[serde(deserialize_with = "nan_from_null")]
    pub value: f64,
    pub bound: f64,
    /// Unit shown after both numbers (`"ms"`, `"s"`, or empty for counts).
    pub unit: String,
    pub comparison: Comparison,
}

/// JSON has no NaN: serde_json writes it as `null`; read `null` back as NaN.
fn nan_from_null<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    use serde::Deserialize;
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

impl Figure {
    /// Whether `value` meets `bound` under `comparison`. `==` compares exactly: use it for counts.
    /// A NaN value never holds.
    pub fn holds(&self) -> bool {
        match self.comparison {
            Comparison::Le => self.value <= self.bound,
            Comparison::Ge => self.value >= self.bound,
            Comparison::Eq => self.value == self.bound,
        }
    }
}

/// How a figure must relate to its bound. Serialized as `"<="`, `">="`, `"=="`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Comparison {
    #[serde(rename = "<=")]
    Le,
    #[serde(rename = ">=")]
    Ge,
    #[serde(rename = "==")]
    Eq,
}

impl Comparison {
    pub fn as_str(self) -> &'static str {
        match self {
            Comparison::Le => "<=",
            Comparison::Ge => ">=",
            Comparison::Eq => "==",
        }
    }
}

/// Ops and fault windows of one run, on the simulation clock (milliseconds from start).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Timeline {
    /// Completed ops (an op still pending at the end should be given `Info` and `end_ms = end_ms`).
    pub ops: Vec<TimelineOp>,
    /// Fault windows; a fault never healed should end at `end_ms`.
    pub faults: Vec<FaultBand>,
    /// Length of the run; the plots' time axis spans `0..end_ms` (widened to cover every op).
    pub end_ms: f64,
    /// Global database runs: each secondary's replication and RPO lag over time (drawn as the
    /// replication-lag plot; empty, and absent from JSON, for a one-region run).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lags: Vec<crate::lag::LagSeries>,
}

/// One op from invoke to completion, by one process.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimelineOp {
    /// Jepsen's process number; the nemesis, if included, is conventionally `-1`.
    pub process: i64,
    pub start_ms: f64,
    pub end_ms: f64,
    pub kind: OpKind,
    /// Jepsen's `:f`, e.g. `"read"`, `"write"`, `"txn"`.
    pub f: String,
    /// Free text shown on hover (the op's value); escaped by every renderer.
    pub label: String,
}

impl TimelineOp {
    /// Latency in ms, never negative (a completion recorded before its invoke counts as 0).
    pub fn latency_ms(&self) -> f64 {
        (self.end_ms - self.start_ms).max(0.0)
    }
}

/// How an op completed: Jepsen's `:ok`, `:fail`, `:info` (outcome unknown).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OpKind {
    Ok,
    Fail,
    Info,
}

impl OpKind {
    pub const ALL: [OpKind; 3] = [OpKind::Ok, OpKind::Fail, OpKind::Info];

    pub fn as_str(self) -> &'static str {
        match self {
            OpKind::Ok => "ok",
            OpKind::Fail => "fail",
            OpKind::Info => "info",
        }
    }
}

/// A fault window, drawn as a shaded band labelled `name`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultBand {
    pub start_ms: f64,
    pub end_ms: f64,
    /// Fault name, e.g. `"partition"`, `"lose-az"`.
    pub name: String,
}
