//! Elle-style transactional consistency checking for list-append and rw-register histories.
//!
//! The pipeline follows jepsen-io/elle:
//! 1. [`txn`] (or, from a file, the streaming reader [`stream`]): keep client ops (integer `:process`), pair invocations and completions, intern keys
//!    and values.
//! 2. [`list_append`] / [`rw_register`]: infer version orders, build ww / wr / rw edges, and find the
//!    anomalies that need no graph (G1a, G1b, internal, lost-update, …).
//! 3. Add real-time edges if the requested models prohibit some `-realtime` cycle, else process
//!    edges if they prohibit some `-process` cycle ([`graph`]).
//! 4. Strongly connected components (iterative Tarjan), then per component Elle's cycle-existence
//!    checks and typed cycle search ([`cycle`]).
//! 5. Judge against the models ([`model`]): invalid if a prohibited anomaly is present, unknown if
//!    only `empty-transaction-graph` / `cycle-search-timeout` are, and report `not` (the weakest
//!    models ruled out).
//!
//! Setting `ELLE_TIMING` prints the time of each phase to stderr (profiling only).
//!
//! Cycles are explained as data ([`explain::CycleExplanation`], stored in `Verdict::anomalies`) and
//! in prose (`Verdict::explanation`); [`cycle_dots`] renders them as Graphviz DOT.
//!
//! ```
//! use checkers::elle::{dsl, ElleOptions, ListAppendChecker};
//! use checkers::{Checker, Validity};
//! // T1 appends 1 to x; T2 reads x = [1] and appends 2 to y; T3 reads y = [2] and x = [1].
//! let h = dsl::history("ax1 ; rx1 ay2 ; ry2 rx1").unwrap();
//! let v = ListAppendChecker::new(ElleOptions::default()).check(&h);
//! assert_eq!(v.valid, Validity::Valid);
//! ```

mod append_checks;
pub mod cycle;
pub mod dsl;
pub mod explain;
pub mod graph;
pub mod list_append;
pub mod model;
pub mod options;
mod parse;
pub mod rw_register;
mod search;
pub mod stream;
pub mod svg;
pub mod txn;

pub use explain::{CycleExplanation, StepExplanation, TxnRef};
pub use options::ElleOptions;

use crate::budget::Meter;
use crate::history::History;
use crate::io::ReadError;
use crate::verdict::{Checker, Validity, Verdict};
use cycle::Case;
use explain::Explainer;
use graph::GraphBuilder;
use serde_json::{json, Value as Json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Instant;
use txn::{Txns, Workload};

/// Phase timing, printed to stderr when `ELLE_TIMING` is set (for profiling; never affects
/// results).
pub(crate) struct Phases {
    on: bool,
    last: Instant,
}

impl Phases {
    pub(crate) fn new() -> Phases {
        Phases {
            on: std::env::var_os("ELLE_TIMING").is_some(),
            last: Instant::now(),
        }
    }
    pub(crate) fn lap(&mut self, name: &str) {
        if self.on {
            eprintln!("elle: {name}: {:.3} s", self.last.elapsed().as_secs_f64());
            self.last = Instant::now();
        }
    }
}

/// Checks list-append histories (`[:append k v]`, `[:r k [v …]]`).
#[derive(Debug, Clone, Default)]
pub struct ListAppendChecker {
    pub options: ElleOptions,
}

/// Checks read-write register histories (`[:w k v]`, `[:r k v]`).
#[derive(Debug, Clone, Default)]
pub struct RwRegisterChecker {
    pub options: ElleOptions,
}

impl ListAppendChecker {
    pub fn new(options: ElleOptions) -> Self {
        ListAppendChecker { options }
    }
}

impl RwRegisterChecker {
    pub fn new(options: ElleOptions) -> Self {
        RwRegisterChecker { options }
    }
}

impl ListAppendChecker {
    /// Checks a history already in transaction form (the streaming reader's output).
    pub fn check_txns(&self, t: &Txns) -> Verdict {
        if let Some(v) = malformed(t) {
            return v;
        }
        if let Some(v) = duplicate_appends(t) {
            return v;
        }
        let (la, g, anomalies) = list_append::ListAppend::analyse(t);
        analyse(
            t,
            &la,
            g,
            anomalies,
            &self.options,
            &cycle::LIST_APPEND_PREF,
            BTreeMap::new(),
        )
    }
}

impl RwRegisterChecker {
    /// Checks a history already in transaction form (the streaming reader's output).
    pub fn check_txns(&self, t: &Txns) -> Verdict {
        if let Some(v) = malformed(t) {
            return v;
        }
        let (rw, g, mut anomalies) =
            rw_register::RwRegister::analyse(t, &self.options.version_options());
        if let Some(d) = anomalies.remove("duplicate-writes") {
            let mut v = unknown("duplicate-writes", d);
            v.explanation =
                "a register value was written by more than one transaction; values must be unique"
                    .into();
            return v;
        }
        let mut stats = BTreeMap::new();
        stats.insert("version-sources".into(), json!(rw.sources));
        analyse(
            t,
            &rw,
            g,
            anomalies,
            &self.options,
            &cycle::RW_REGISTER_PREF,
            stats,
        )
    }
}

/// Checks a file through the streaming reader when it can read it, else through the generic
/// reader (which then names any problem of the input): the verdict is the same either way.
fn check_file_streaming(
    path: &Path,
    workload: Workload,
    check: impl Fn(&Txns) -> Verdict,
    generic: impl Fn(&History) -> Verdict,
) -> Result<(usize, Verdict), ReadError> {
    let mut clock = Phases::new();
    match stream::read_txns(path, workload) {
        Ok(t) => {
            clock.lap("stream txns");
            if clock.on {
                eprintln!("elle: {}", t.footprint());
            }
            Ok((t.op_index.len(), check(&t)))
        }
        Err(fb) => {
            if clock.on {
                eprintln!(
                    "elle: streaming reader fell back at line {}: {}",
                    fb.line, fb.reason
                );
            }
            let h = crate::io::read_history_file(path)?;
            clock.lap("read history");
            Ok((h.len(), generic(&h)))
        }
    }
}

impl Checker for ListAppendChecker {
    fn name(&self) -> &str {
        "list-append"
    }
    fn check(&self, history: &History) -> Verdict {
        let mut clock = Phases::new();
        let t = Txns::from_history(history, Workload::ListAppend);
        clock.lap("txns");
        self.check_txns(&t)
    }
    fn check_file(&self, path: &Path) -> Result<(usize, Verdict), ReadError> {
        check_file_streaming(
            path,
            Workload::ListAppend,
            |t| self.check_txns(t),
            |h| self.check(h),
        )
    }
}

impl Checker for RwRegisterChecker {
    fn name(&self) -> &str {
        "rw-register"
    }
    fn check(&self, history: &History) -> Verdict {
        self.check_txns(&Txns::from_history(history, Workload::RwRegister))
    }
    fn check_file(&self, path: &Path) -> Result<(usize, Verdict), ReadError> {
        check_file_streaming(
            path,
            Workload::RwRegister,
            |t| self.check_txns(t),
            |h| self.check(h),
        )
    }
}

fn unknown(kind: &str, details: Vec<Json>) -> Verdict {
    let mut v = Verdict::valid();
    v.valid = Validity::Unknown;
    v.anomaly_types = vec![kind.to_string()];
    v.anomalies.insert(kind.to_string(), Json::Array(details));
    v
}

/// Elle refuses histories with unexpected micro-ops (`:valid? :unknown`); so do we, under the anomaly
/// `malformed-history` that every checker of this crate uses for input it cannot interpret (the CLI
/// turns it into exit code 2). Details: `{"error": first message, "line": its line, "count": n,
/// "examples": [...]}`.
fn malformed(t: &Txns) -> Option<Verdict> {
    if t.malformed.is_empty() {
        return None;
    }
    Some(crate::verdict::malformed_history(
        &t.malformed[0],
        t.malformed_lines.first().copied().unwrap_or(0),
        t.malformed.len(),
        t.malformed.iter().take(8).cloned().collect(),
    ))
}

/// Elle's `verify-unique-appends`: the analysis assumes every append to a key chose a value no
/// other append to that key chose (whatever either's outcome); if two appends share one, the
/// version orders are ambiguous and Elle answers `:valid? :unknown` with `:duplicate-appends`.
/// So do we, naming the first such op, key and value.
fn duplicate_appends(t: &Txns) -> Option<Verdict> {
    let mut first: Vec<u32> = vec![u32::MAX; t.vals.values.len()];
    for i in 0..t.len() as u32 {
        for m in t.mops(i).iter().filter(|m| m.f == txn::APPEND) {
            let slot = &mut first[m.val as usize];
            if *slot == u32::MAX {
                *slot = i;
                continue;
            }
            let (k, v) = (t.keys.get(m.key), t.vals.get(m.val));
            let data = json!({
                "op": t.index(i),
                "other-op": t.index(*slot),
                "key": k.to_string(),
                "value": v.to_string(),
                "message": format!("value {v} appended to key {k} multiple times!"),
            });
            let mut verdict = unknown("duplicate-appends", vec![data]);
            verdict.explanation = format!(
                "value {v} appended to key {k} multiple times (ops {} and {}): list-append needs unique appended values",
                t.index(*slot),
                t.index(i)
            );
            return Some(verdict);
        }
    }
    None
}

/// Steps 3-5 of the pipeline, shared by both workloads.
fn analyse(
    t: &Txns,
    ex: &dyn Explainer,
    mut g: GraphBuilder,
    mut anomalies: BTreeMap<String, Vec<Json>>,
    opts: &ElleOptions,
    pref: &[u8],
    mut stats: BTreeMap<String, Json>,
) -> Verdict {
    let mut clock = Phases::new();
    let prohibited = opts.prohibited();
    let mut reportable = prohibited.clone();
    reportable.insert("empty-transaction-graph".into());
    reportable.insert("cycle-search-timeout".into());
    let types = cycle::cycle_types();
    let wants = |suffix: &str| {
        types
            .iter()
            .any(|c| c.ends_with(suffix) && reportable.contains(c))
    };
    if wants("-realtime") {
        graph::link_realtime(t, &mut g);
    } else if wants("-process") {
        graph::link_process(t, &mut g);
    }
    clock.lap("process/realtime edges");
    let g = g.finish(t.len());
    clock.lap("graph");
    if g.edge_count() == 0 {
        anomalies.insert("empty-transaction-graph".into(), vec![json!(true)]);
    }
    let sccs = g.sccs(u8::MAX);
    stats.insert("txn-count".into(), json!(t.len()));
    stats.insert("edge-count".into(), json!(g.edge_count()));
    stats.insert("scc-count".into(), json!(sccs.len()));
    clock.lap("sccs");
    let specs = cycle::base_specs();
    for scc in &sccs {
        let sub = g.induced(scc);
        // A fresh meter per SCC: each component's cases depend on that component alone.
        let mut meter = Meter::new(opts.cycle_search_budget, opts.cycle_search_timeout);
        for case in cycle::analyse_scc(&sub, &specs, pref, &mut meter) {
            let (kind, data) = match case {
                Case::Cycle { kind, steps } => {
                    let steps: Vec<(u32, u32, u8)> = steps
                        .iter()
                        .map(|s| (scc[s.from as usize], scc[s.to as usize], s.rel))
                        .collect();
                    let data = serde_json::to_value(explain::explain_cycle(&kind, &steps, ex))
                        .unwrap_or(Json::Null);
                    (kind, data)
                }
                Case::Exists {
                    kind,
                    not,
                    subgraph,
                    scc: part,
                } => {
                    let mut idx: Vec<usize> =
                        part.iter().map(|&v| t.index(scc[v as usize])).collect();
                    idx.sort_unstable();
                    let data = json!({"type": kind, "not": not, "subgraph": subgraph, "scc-size": idx.len(), "scc": idx});
                    (kind, data)
                }
                Case::Timeout {
                    spec,
                    scc_size,
                    reason,
                } => (
                    "cycle-search-timeout".to_string(),
                    json!({"anomaly-spec-type": spec, "scc-size": scc_size, "reason": reason.describe()}),
                ),
            };
            anomalies.entry(kind).or_default().push(data);
        }
    }
    clock.lap("cycle search");
    result(opts, &prohibited, &reportable, anomalies, stats)
}

/// Elle's `result-map`.
fn result(
    opts: &ElleOptions,
    prohibited: &BTreeSet<String>,
    reportable: &BTreeSet<String>,
    anomalies: BTreeMap<String, Vec<Json>>,
    stats: BTreeMap<String, Json>,
) -> Verdict {
    let _ = opts;
    let bad = anomalies.keys().any(|k| prohibited.contains(k));
    let mut shown: BTreeMap<String, Vec<Json>> = anomalies
        .iter()
        .filter(|(k, _)| reportable.contains(*k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    // Drop cycle-exists anomalies already implied by specific ones.
    let specific: Vec<&str> = shown
        .keys()
        .filter(|k| !k.ends_with("-cycle-exists"))
        .map(String::as_str)
        .collect();
    let ruled_out = model::impossible_models(specific);
    shown.retain(|k, _| match k.strip_suffix("-cycle-exists") {
        Some(m) => !ruled_out.contains(m),
        None => true,
    });
    let mut v = Verdict::valid();
    v.stats = stats;
    if shown.is_empty() {
        return v;
    }
    v.valid = if bad {
        Validity::Invalid
    } else {
        Validity::Unknown
    };
    v.anomaly_types = shown.keys().cloned().collect();
    let (not, also) = model::boundary(anomalies.keys().map(String::as_str));
    v.not = not;
    v.stats.insert("also-not".into(), json!(also));
    v.explanation = prose(&shown);
    v.anomalies = shown
        .into_iter()
        .map(|(k, cases)| (k, Json::Array(cases)))
        .collect();
    v
}

/// Human-readable summary: every cycle explained in Elle's prose, other anomalies listed briefly.
fn prose(anomalies: &BTreeMap<String, Vec<Json>>) -> String {
    let mut out = String::new();
    for (kind, cases) in anomalies {
        out.push_str(&format!("{kind} ({} found)\n", cases.len()));
        for c in cases.iter().take(3) {
            match serde_json::from_value::<CycleExplanation>(c.clone()) {
                Ok(cycle) => out.push_str(&explain::render(&cycle)),
                Err(_) => out.push_str(&format!("  {}\n", case_prose(kind, c))),
            }
            out.push('\n');
        }
    }
    out
}

/// One sentence for a non-cycle anomaly case (falls back to its JSON).
fn case_prose(kind: &str, c: &Json) -> String {
    let f = |k: &str| match c.get(k) {
        Some(Json::String(s)) => s.clone(),
        Some(v) => v.to_string(),
        None => "?".into(),
    };
    match kind {
        "G1a" => format!(
            "op {} ran {}, observing a write by op {}, which failed",
            f("op"),
            f("mop"),
            f("writer")
        ),
        "G1b" => format!(
            "op {} ran {}, observing an intermediate write of op {}",
            f("op"),
            f("mop"),
            f("writer")
        ),
        "internal" => format!(
            "op {} ran {}, but its own earlier operations imply {}",
            f("op"),
            f("mop"),
            f("expected")
        ),
        "future-read" => format!(
            "op {} ran {}, observing element {} it appends later",
            f("op"),
            f("mop"),
            f("element")
        ),
        "lost-update" => format!(
            "ops {} all read key {} = {} and then wrote it",
            f("txns"),
            f("key"),
            f("value")
        ),
        "duplicate-elements" => format!(
            "op {} ran {}, which contains duplicates {}",
            f("op"),
            f("mop"),
            f("duplicates")
        ),
        "incompatible-order" => format!(
            "reads of key {} are not prefixes of one order: {}",
            f("key"),
            f("values")
        ),
        "dirty-update" => format!(
            "key {}: versions {} go from a failed txn to a committed one ({})",
            f("key"),
            f("values"),
            f("txns")
        ),
        _ => c.to_string(),
    }
}

/// Every explained cycle of a verdict, as `(anomaly type, DOT text)`, in anomaly order.
pub fn cycle_dots(v: &Verdict) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (kind, cases) in &v.anomalies {
        for c in cases.as_array().into_iter().flatten() {
            if let Ok(cycle) = serde_json::from_value::<CycleExplanation>(c.clone()) {
                out.push((kind.clone(), explain::dot(&cycle)));
            }
        }
    }
    out
}

/// One DOT document with every explained cycle of a verdict as a cluster.
pub fn cycle_dot(v: &Verdict) -> String {
    let mut out = String::from("digraph anomalies {\n");
    for (i, (kind, dot)) in cycle_dots(v).into_iter().enumerate() {
        let body = dot
            .lines()
            .skip(1)
            .filter(|l| *l != "}")
            .collect::<Vec<_>>()
            .join("\n");
        let body = body
            .replace("  t", &format!("  c{i}t"))
            .replace("-> t", &format!("-> c{i}t"));
        out.push_str(&format!(
            "subgraph cluster_{i} {{\n  label=\"{kind}\";\n{body}\n}}\n"
        ));
    }
    out.push_str("}\n");
    out
}
