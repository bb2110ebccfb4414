//! Builds the page of one run ([`report::RunPage`]) from what the run already has: the history,
//! `results.json` (outcome, schedule, applied faults, checks and their verdicts, metrics) and the
//! config. Used by `run` and `soak` (failing seeds) to write `report.html` into the run directory,
//! and by [`page_for_dir`] to (re)build the page of a stored run.
//!
//! Contract: a pure function of (report, history): equal inputs give an equal page, so the page is
//! as deterministic as `results.json`. Nothing here reads the clock or iterates a hash map.

use crate::checks::CheckResult;
use crate::run::RunReport;
use checkers::{History, Op, OpType, Process, Validity, Value};
use report::anomaly::{BankRead, BankView, LinearOp, LinearRole, LinearView};
use report::run_page::{Explanation, RunCheck, RunPage};
use report::{FaultBand, OpKind, Timeline, TimelineOp};
use workloads::recorder::on_primary;
use workloads::WorkloadKind;

/// Longest value text kept per invocation or completion in hover labels.
const VALUE_MAX: usize = 160;
/// Most concurrent ops drawn next to the op that cannot be linearized.
const CONCURRENT_MAX: usize = 12;

/// Files of a run directory the page links to.
pub const RUN_FILES: [&str; 7] = [
    "results.json",
    "history.edn",
    "history.jsonl",
    "schedule.json",
    "config.json",
    "metrics.json",
    "metrics.txt",
];

fn short(s: String) -> String {
    report::text::shorten(&s, VALUE_MAX)
}

fn ms(op: &Op) -> f64 {
    op.time.unwrap_or(0) as f64 / 1e6
}

fn fault_name(fault: &serde_json::Value) -> String {
    fault["fault"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| fault.to_string())
}

/// Each applied fault as a window from its start to the next heal (or the end of the run).
pub fn fault_bands(report: &RunReport) -> Vec<FaultBand> {
    fault_bands_of(&report.applied_faults, report.sim_ms as f64)
}

/// [`fault_bands`] from the applied faults (`{"at_ms", "fault", …}`) and the run's end (ms).
pub fn fault_bands_of(applied_faults: &[serde_json::Value], end: f64) -> Vec<FaultBand> {
    let applied: Vec<(f64, String)> = applied_faults
        .iter()
        .map(|a| (a["at_ms"].as_f64().unwrap_or(0.0), fault_name(&a["fault"])))
        .collect();
    let mut bands = Vec::new();
    for (i, (at, name)) in applied.iter().enumerate() {
        if name == "heal" {
            continue;
        }
        let until = applied[i + 1..]
            .iter()
            .find(|(_, n)| n == "heal")
            .map_or(end, |(t, _)| *t);
        bands.push(FaultBand {
            start_ms: *at,
            end_ms: until.max(*at),
            name: name.clone(),
        });
    }
    bands
}

/// The Jepsen-style timeline: every client op from invoke to completion, its hover label holding
/// the invocation value, the completion value, the error and the endpoint; and a nemesis lane
/// (process -1) with one bar per applied fault.
pub fn timeline(report: &RunReport, h: &History) -> Timeline {
    let mut tl = timeline_of(&report.applied_faults, report.sim_ms as f64, h);
    tl.lags = report.global_lag.clone();
    tl
}

/// [`timeline`] from the applied faults and the run's end (ms). A fault's bar is labelled with
/// its hosts (simulated runs) or else with what applying it did (`result` / `error`, real runs).
pub fn timeline_of(applied_faults: &[serde_json::Value], end_ms: f64, h: &History) -> Timeline {
    let mut ops = Vec::new();
    if let Ok(pairs) = h.pairs() {
        for p in pairs {
            let inv = &h.ops[p.invoke];
            let Some(Process::Client(process)) = inv.process else {
                continue;
            };
            let comp = p.complete.map(|c| &h.ops[c]);
            let (end_ms, kind) = match comp {
                Some(c) => (
                    ms(c),
                    match c.kind {
                        OpType::Ok => OpKind::Ok,
                        OpType::Fail => OpKind::Fail,
                        _ => OpKind::Info,
                    },
                ),
                None => (end_ms, OpKind::Info),
            };
            let mut label = format!("invoke {}", short(inv.value.to_string()));
            match comp {
                Some(c) => {
                    label.push_str(&format!(
                        " → {} {}",
                        c.kind.name(),
                        short(c.value.to_string())
                    ));
                    if let Some(e) = c.error.as_ref().or(inv.error.as_ref()) {
                        label.push_str(&format!("; error {}", short(e.to_string())));
                    }
                }
                None => label.push_str(" → never completed"),
            }
            if !on_primary(inv) {
                label.push_str(" (reader endpoint)");
            }
            ops.push(TimelineOp {
                process,
                start_ms: ms(inv),
                end_ms,
                kind,
                f: inv.f().to_string(),
                label,
            });
        }
    }
    let faults = fault_bands_of(applied_faults, end_ms);
    for (a, band) in applied_faults
        .iter()
        .filter(|a| fault_name(&a["fault"]) != "heal")
        .zip(&faults)
    {
        let label = match a["hosts"].as_array() {
            Some(h) => {
                let hosts = h
                    .iter()
                    .filter_map(|x| x.as_str())
                    .collect::<Vec<_>>()
                    .join(", ");
                format!("{} on {hosts}", a["fault"])
            }
            None => match a.get("result").or(a.get("error")) {
                Some(r) => format!("{} → {r}", a["fault"]),
                None => a["fault"].to_string(),
            },
        };
        ops.push(TimelineOp {
            process: -1,
            start_ms: band.start_ms,
            end_ms: band.end_ms,
            kind: OpKind::Info,
            f: band.name.clone(),
            label: short(label),
        });
    }
    Timeline {
        lags: Vec::new(),
        ops,
        faults,
        end_ms,
    }
}

/// A check's row on the page.
pub fn run_check(c: &CheckResult) -> RunCheck {
    RunCheck {
        name: c.name.clone(),
        claims: c.claims.clone(),
        verdict: match c.valid {
            Validity::Valid => report::Verdict::Valid,
            Validity::Unknown => report::Verdict::Unknown,
            Validity::Invalid => report::Verdict::Invalid,
        },
        advisory: c.advisory,
        summary: c.summary.clone(),
        figure: match (c.figure, c.bound, &c.unit) {
            (Some(f), Some(b), Some(u)) => Some(format!(
                "{} {u} (bound {})",
                report::text::fmt_num(f),
                report::text::fmt_num(b)
            )),
            (Some(f), _, _) => Some(report::text::fmt_num(f)),
            _ => None,
        },
    }
}

/// Finds the pair a linearizability explanation refers to: by its `index` in the history, or in
/// the client-only / writer-only sub-history the checker saw (checks reindex those), confirmed by
/// process, `:f` and value; else by content alone. `None` when nothing matches.
fn find_pair<'h>(h: &'h History, j: &serde_json::Value) -> Option<(&'h Op, Option<&'h Op>)> {
    let pairs = h.pairs().ok()?;
    let want_proc = j["process"].as_str().unwrap_or_default().to_string();
    let want_f = j["f"].as_str().unwrap_or_default();
    let want_val = j["value"].as_str().unwrap_or_default();
    let matches = |inv: &Op| {
        inv.process
            .as_ref()
            .map(|p| p.to_string())
            .unwrap_or_default()
            == want_proc
            && inv.f() == want_f
            && inv.value.to_string() == want_val
    };
    let idx = j["index"].as_u64().map(|i| i as usize);
    let client: Vec<_> = pairs
        .iter()
        .filter(|p| matches!(h.ops[p.invoke].process, Some(Process::Client(_))))
        .collect();
    let client_ops: Vec<usize> = (0..h.ops.len())
        .filter(|&i| matches!(h.ops[i].process, Some(Process::Client(_))))
        .collect();
    let primary_ops: Vec<usize> = client_ops
        .iter()
        .copied()
        .filter(|&i| on_primary(&h.ops[i]))
        .collect();
    let pick = |pos: usize| -> Option<(&'h Op, Option<&'h Op>)> {
        let p = pairs.iter().find(|p| p.invoke == pos)?;
        let inv = &h.ops[p.invoke];
        matches(inv).then(|| (inv, p.complete.map(|c| &h.ops[c])))
    };
    if let Some(i) = idx {
        for space in [&primary_ops, &client_ops] {
            if let Some(found) = space.get(i).and_then(|&pos| pick(pos)) {
                return Some(found);
            }
        }
        if let Some(found) = h.ops.iter().position(|o| o.index == i).and_then(pick) {
            return Some(found);
        }
    }
    client
        .into_iter()
        .find(|p| matches(&h.ops[p.invoke]))
        .map(|p| (&h.ops[p.invoke], p.complete.map(|c| &h.ops[c])))
}

fn lin_label(inv: &Op, comp: Option<&Op>) -> String {
    let v = |x: &Value| {
        if x.is_nil() {
            String::new()
        } else {
            format!(" {}", short(x.to_string()))
        }
    };
    match comp {
        Some(c) => format!(
            ":{}{} → :{}{}",
            inv.f(),
            v(&inv.value),
            c.kind.name(),
            v(&c.value)
        ),
        None => format!(":{}{} → never completed", inv.f(), v(&inv.value)),
    }
}

/// Porcupine-style views of every failing key of a linearizability verdict's `nonlinearizable`
/// data (tolerant: entries without the expected fields are skipped).
pub fn linear_views(h: &History, anomalies: &serde_json::Value) -> Vec<LinearView> {
    let Some(items) = anomalies["nonlinearizable"].as_array() else {
        return Vec::new();
    };
    let mut views = Vec::new();
    for item in items.iter().take(3) {
        let Some((binv, bcomp)) = find_pair(h, &item["op"]) else {
            continue;
        };
        let prefix_length = item["prefix-length"].as_u64().unwrap_or(0) as usize;
        let mut ops = Vec::new();
        let mut used = Vec::new();
        let last = item["last-ops"].as_array().cloned().unwrap_or_default();
        let first_pos = prefix_length.saturating_sub(last.len());
        for (k, j) in last.iter().enumerate() {
            if let Some((inv, comp)) = find_pair(h, j) {
                used.push(inv as *const Op);
                ops.push(LinearOp {
                    process: j["process"].as_str().unwrap_or("?").to_string(),
                    start_ms: ms(inv),
                    end_ms: comp.map_or(ms(inv), ms),
                    label: lin_label(inv, comp),
                    role: LinearRole::Prefix,
                    position: Some(first_pos + k + 1),
                });
            }
        }
        let (b0, b1) = (ms(binv), bcomp.map_or(f64::INFINITY, ms));
        let key = item["key"].as_str().map(str::to_string);
        let same_key = |o: &Op| match (&key, o.value.as_vec()) {
            (Some(k), Some(v)) => v.first().is_some_and(|x| &x.to_string() == k),
            (Some(_), None) => false,
            (None, _) => true,
        };
        if let Ok(pairs) = h.pairs() {
            let mut n = 0;
            for p in pairs {
                let inv = &h.ops[p.invoke];
                let comp = p.complete.map(|c| &h.ops[c]);
                let (s, e) = (ms(inv), comp.map_or(f64::INFINITY, ms));
                let is_blocked = std::ptr::eq(inv, binv);
                if is_blocked || used.contains(&(inv as *const Op)) || !same_key(inv) {
                    continue;
                }
                if !matches!(inv.process, Some(Process::Client(_)))
                    || comp.is_some_and(|c| c.kind == OpType::Fail)
                {
                    continue;
                }
                if s < b1 && e > b0 && n < CONCURRENT_MAX {
                    n += 1;
                    ops.push(LinearOp {
                        process: inv
                            .process
                            .as_ref()
                            .map(|p| p.to_string())
                            .unwrap_or_default(),
                        start_ms: s,
                        end_ms: comp.map_or(b1.min(s + 1.0), ms),
                        label: lin_label(inv, comp),
                        role: LinearRole::Concurrent,
                        position: None,
                    });
                }
            }
        }
        ops.push(LinearOp {
            process: item["op"]["process"].as_str().unwrap_or("?").to_string(),
            start_ms: b0,
            end_ms: bcomp.map_or(b0, ms),
            label: lin_label(binv, bcomp),
            role: LinearRole::Blocked,
            position: None,
        });
        views.push(LinearView {
            key,
            prefix_length,
            states: item["states"]
                .as_array()
                .map(|s| {
                    s.iter()
                        .map(|x| x.as_str().map_or(x.to_string(), str::to_string))
                        .collect()
                })
                .unwrap_or_default(),
            ops,
        });
    }
    views
}

/// Every completed bank read's total (ok reads whose value is a map of balances), with the
/// expected total from the config.
pub fn bank_view(report: &RunReport, h: &History, faults: &[FaultBand]) -> Option<BankView> {
    bank_view_of(&report.config.workload, report.sim_ms as f64, h, faults)
}

/// [`bank_view`] from the workload config and the run's end (ms); `None` unless a bank run.
pub fn bank_view_of(
    w: &workloads::WorkloadConfig,
    end_ms: f64,
    h: &History,
    faults: &[FaultBand],
) -> Option<BankView> {
    if w.kind != WorkloadKind::Bank {
        return None;
    }
    let expected = w.bank_initial_balance * w.keys.max(2) as i64;
    let pairs = h.pairs().ok()?;
    let mut reads = Vec::new();
    for p in pairs {
        let inv = &h.ops[p.invoke];
        let Some(c) = p.complete.map(|c| &h.ops[c]) else {
            continue;
        };
        if c.kind != OpType::Ok
            || inv.f() != "read"
            || !matches!(inv.process, Some(Process::Client(_)))
        {
            continue;
        }
        let Some(m) = c.value.as_map() else {
            continue;
        };
        let total: i64 = m
            .values()
            .filter_map(Value::as_int)
            .fold(0i64, |a, b| a.saturating_add(b));
        reads.push(BankRead {
            t_ms: ms(c),
            total: total as f64,
            reader: !on_primary(inv),
        });
    }
    Some(BankView {
        expected_total: expected as f64,
        reads,
        faults: faults.to_vec(),
        end_ms,
    })
}

/// The explanations of the checks that found something, with their pictures: every invalid or
/// unknown check with a verdict, the advisory ones too when `with_advisory` (real targets name
/// what a weaker isolation level allows in informational checks).
pub fn explanations(checks: &[CheckResult], h: &History, with_advisory: bool) -> Vec<Explanation> {
    checks
        .iter()
        .filter(|c| c.valid != Validity::Valid && (with_advisory || !c.advisory))
        .filter_map(|c| {
            let v = c.verdict.as_ref()?;
            let anomalies = serde_json::to_value(&v.anomalies).unwrap_or_default();
            Some(Explanation {
                check: c.name.clone(),
                prose: v.explanation.clone(),
                linear: linear_views(h, &anomalies),
                anomalies,
            })
        })
        .collect()
}

/// The run's backtracks and clones as a timeline of notices (none: the page is unchanged): each
/// request, its target, and the point it rewound or branched at, or why it was refused.
fn backtrack_notices(h: &History) -> Vec<String> {
    let (done, refused) = workloads::checks::timeline::rewinds(h);
    let mut rows: Vec<(i64, String)> = done
        .iter()
        .enumerate()
        .map(|(i, r)| {
            (
                r.requested_ms,
                format!(
                    "backtrack at {:.3} s to T = {:.3} s: rewound to T′ = {:.3} s{}; done at {:.3} s",
                    r.requested_ms as f64 / 1e3,
                    r.to_ms as f64 / 1e3,
                    r.to_prime_ms as f64 / 1e3,
                    if r.forward(i) { " (forward again, into an earlier interval)" } else { "" },
                    r.done_ns as f64 / 1e9
                ),
            )
        })
        .collect();
    rows.extend(refused.iter().map(|(at, to)| {
        (
            *at,
            format!(
                "backtrack at {:.3} s to T = {:.3} s: refused (outside [now − window, now])",
                *at as f64 / 1e3,
                *to as f64 / 1e3
            ),
        )
    }));
    let (forks, clone_refused) = workloads::checks::fork::forks(h);
    rows.extend(forks.iter().map(|f| {
        (
            f.requested_ms,
            format!(
                "clone requested at {:.3} s: clone {} branched at T′ = {:.3} s; its cluster provisioned at {:.3} s (processes from {})",
                f.requested_ms as f64 / 1e3,
                f.volume,
                f.t_prime_ms as f64 / 1e3,
                f.done_ns as f64 / 1e9,
                workloads::checks::fork::process_base(f.volume)
            ),
        )
    }));
    rows.extend(clone_refused.iter().map(|(at, why)| {
        (
            *at,
            format!(
                "clone requested at {:.3} s: refused ({why})",
                *at as f64 / 1e3
            ),
        )
    }));
    rows.sort();
    rows.into_iter().map(|(_, s)| s).collect()
}

/// The whole page of a run.
pub fn page(report: &RunReport, h: &History, banner: &str) -> RunPage {
    let tl = timeline(report, h);
    let explanations = explanations(&report.checks, h, false);
    let cfg = &report.config;
    RunPage {
        title: format!(
            "{} · {} · seed {}",
            cfg.workload.kind.name(),
            cfg.nemesis_label(),
            report.seed
        ),
        outcome: report.outcome.name().to_string(),
        exit_code: report.outcome.exit_code(),
        banner: banner.to_string(),
        repro: report.repro.clone(),
        ops_line: format!(
            "ops: {} ok, {} fail, {} info over {:.1} simulated s",
            report.ops.ok,
            report.ops.fail,
            report.ops.info,
            report.sim_ms as f64 / 1000.0
        ),
        checks: report.checks.iter().map(run_check).collect(),
        schedule: serde_json::to_value(&report.schedule).unwrap_or_default(),
        applied: report.applied_faults.clone(),
        bank: bank_view(report, h, &tl.faults),
        timeline: tl,
        explanations,
        sim_error: report.sim_error.clone(),
        notices: backtrack_notices(h),
        replayable: true,
        files: RUN_FILES.iter().map(|s| s.to_string()).collect(),
        metrics: vec![],
    }
}

/// The rendered `report.html` of a run.
pub fn render(report: &RunReport, h: &History) -> String {
    let banner = crate::terminal::banner(&report.config, &report.schedule);
    report::render_run_page(&page(report, h, &banner))
}

/// Rebuilds the page of a stored run directory from its `results.json` and `history.edn`.
/// Errors name the file and the problem.
pub fn page_for_dir(dir: &std::path::Path) -> anyhow::Result<String> {
    use anyhow::Context;
    if crate::target_run::page::is_target_dir(dir) {
        return crate::target_run::page::page_for_dir(dir);
    }
    let rpath = dir.join("results.json");
    let text =
        std::fs::read_to_string(&rpath).with_context(|| format!("reading {}", rpath.display()))?;
    let report: RunReport = serde_json::from_str(&text).map_err(|e| {
        anyhow::anyhow!(
            "{}: line {}, column {}: {e}",
            rpath.display(),
            e.line(),
            e.column()
        )
    })?;
    let hpath = dir.join("history.edn");
    let htext =
        std::fs::read_to_string(&hpath).with_context(|| format!("reading {}", hpath.display()))?;
    let h = checkers::io::read_history_str(&htext, &hpath.display().to_string())
        .map_err(|e| anyhow::anyhow!("{}: {e}", hpath.display()))?;
    // Metrics plots from metrics.json, when the run directory has one.
    let series = std::fs::read_to_string(dir.join("metrics.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<crate::metrics_series::Series>(&t).ok());
    Ok(render_with_metrics(&report, &h, series.as_ref()))
}

/// The rendered `report.html` of a run with its metrics plotted.
pub fn render_with_metrics(
    report: &RunReport,
    h: &History,
    series: Option<&crate::metrics_series::Series>,
) -> String {
    let banner = crate::terminal::banner(&report.config, &report.schedule);
    let mut p = page(report, h, &banner);
    if let Some(s) = series {
        p.metrics = crate::metrics_series::plots(s);
    }
    report::render_run_page(&p)
}
