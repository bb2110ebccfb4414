//! The views of a real-target run directory — `report.html` (the simulated runs' page, see
//! [`crate::run_page`]) and `REPORT.md` — and rechecking a stored run.
//!
//! Contract: both views are pure functions of the stored `config.json`, `results.json` and
//! `history.edn` (no clock, no hash-map order), so `aurora-chaos page DIR` rebuilds them byte for
//! byte. [`recheck_dir`] reruns every history check on the stored history and faults (the
//! figures measured only on the real clock, such as replica lag, are recomputed from their
//! stored samples, or kept as stored when the run predates storing them) and rewrites
//! `results.json`; the run itself is never repeated.

use super::checks::{run_checks, Facts};
use crate::checks::CheckResult;
use crate::outcome::Outcome;
use crate::run_page::{bank_view_of, explanations, fault_bands_of, run_check, timeline_of};
use anyhow::{anyhow, Context};
use checkers::{History, Validity};
use serde_json::Value as J;
use std::path::Path;
use targets::faults::Fault;
use targets::runner::Generator;
use workloads::WorkloadConfig;

/// The banner of every real-target page and report.
pub const NOT_REPLAYABLE: &str = "Real processes, real clocks: not replayable by seed. The seed fixes the op generator and the fault schedule, not the interleaving or the engine's timing; rerunning the command draws the same ops and faults and may find different anomalies.";

/// Files of a target run directory the page links to.
pub const TARGET_FILES: [&str; 6] = [
    "REPORT.md",
    "results.json",
    "history.edn",
    "history.jsonl",
    "schedule.json",
    "config.json",
];

/// A run directory written by a real-target run (its config says `"replayable": false`).
pub fn is_target_dir(dir: &Path) -> bool {
    read_json(&dir.join("config.json")).is_ok_and(|c| c["replayable"] == J::Bool(false))
}

fn read_json(path: &Path) -> anyhow::Result<J> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| {
        anyhow!(
            "{}: line {}, column {}: {e}",
            path.display(),
            e.line(),
            e.column()
        )
    })
}

fn read_history(dir: &Path) -> anyhow::Result<History> {
    let path = dir.join("history.edn");
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    checkers::io::read_history_str(&text, &path.display().to_string())
        .map_err(|e| anyhow!("{}: {e}", path.display()))
}

fn checks_of(results: &J) -> anyhow::Result<Vec<CheckResult>> {
    serde_json::from_value(results["checks"].clone())
        .map_err(|e| anyhow!("results.json: checks: {e}"))
}

fn s<'a>(j: &'a J, k: &str) -> &'a str {
    j[k].as_str().unwrap_or("")
}

/// One line per run parameter, then the schedule: what the "Run parameters" box shows.
fn banner(config: &J, results: &J) -> String {
    let mut b = format!(
        "target {} ({})  replication {}  replicas {}  isolation {}\n",
        s(config, "engine"),
        s(&config["cluster"]["at_start"], "version"),
        s(config, "replication"),
        config["replicas"],
        s(config, "isolation"),
    );
    b.push_str(&format!(
        "documented model: {} (writer), {} (incl. reader endpoint)\n",
        s(config, "documented_model"),
        config["documented_model_with_readers"]
            .as_str()
            .unwrap_or("(not recorded)"),
    ));
    b.push_str(&format!(
        "workload {}  seed {}  time limit {} real s  rate {}/s  concurrency {}  nemesis {}  interval {} ms\n",
        s(config, "workload"),
        config["seed"],
        config["time_limit_s"],
        config["rate"],
        config["concurrency"],
        config["nemesis"],
        config["interval_ms"],
    ));
    b.push_str(&format!(
        "elapsed {:.1} real s; faults applied: {}",
        results["elapsed_ms"].as_f64().unwrap_or(0.0) / 1000.0,
        results["applied_faults"].as_array().map_or(0, Vec::len),
    ));
    b
}

/// The run page of a target run from its stored parts.
pub fn page(config: &J, results: &J, schedule: &J, h: &History) -> anyhow::Result<report::RunPage> {
    let checks = checks_of(results)?;
    let applied: Vec<J> = results["applied_faults"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let end_ms = results["elapsed_ms"].as_f64().unwrap_or(0.0);
    let timeline = timeline_of(&applied, end_ms, h);
    let wcfg: Option<WorkloadConfig> = serde_json::from_value(config["workload_config"].clone())
        .ok()
        .filter(|_| s(config, "workload") == "bank");
    let bank = wcfg.and_then(|w| bank_view_of(&w, end_ms, h, &fault_bands_of(&applied, end_ms)));
    let mut notices = vec![NOT_REPLAYABLE.to_string()];
    notices.extend(
        results["notes"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(J::as_str)
            .filter(|n| !n.contains("not replayable by seed"))
            .map(str::to_string),
    );
    let outcome: Outcome = serde_json::from_value(results["outcome"].clone())
        .map_err(|e| anyhow!("results.json: outcome: {e}"))?;
    let ops = &results["ops"];
    let nemesis = config["nemesis"]
        .as_array()
        .map(|n| {
            let v: Vec<&str> = n.iter().filter_map(J::as_str).collect();
            if v.is_empty() {
                "none".to_string()
            } else {
                v.join("+")
            }
        })
        .unwrap_or_default();
    Ok(report::RunPage {
        title: format!(
            "{} {} · {} · {} · {nemesis} · real processes",
            s(config, "engine"),
            s(config, "replication"),
            s(config, "isolation"),
            s(config, "workload"),
        ),
        outcome: outcome.name().to_string(),
        exit_code: outcome.exit_code(),
        banner: banner(config, results),
        repro: s(config, "command").to_string(),
        ops_line: format!(
            "ops: {} ok, {} fail, {} info over {:.1} real s",
            ops["ok"],
            ops["fail"],
            ops["info"],
            end_ms / 1000.0
        ),
        checks: checks.iter().map(run_check).collect(),
        schedule: schedule.clone(),
        applied,
        timeline,
        explanations: explanations(&checks, h, true),
        bank,
        sim_error: None,
        notices,
        replayable: false,
        files: TARGET_FILES.iter().map(|f| f.to_string()).collect(),
        metrics: vec![],
    })
}

/// `REPORT.md` of a target run from its stored parts.
pub fn report_md(config: &J, results: &J) -> anyhow::Result<String> {
    let checks = checks_of(results)?;
    let outcome: Outcome = serde_json::from_value(results["outcome"].clone())
        .map_err(|e| anyhow!("results.json: outcome: {e}"))?;
    let mut md = format!(
        "# {} {} · {} · {}\n\n> {NOT_REPLAYABLE}\n\n`{}`\n\noutcome: **{}** (exit {}); documented model: `{}` (writer), `{}` (incl. reader endpoint); ops: {}\n\n",
        s(config, "engine"),
        s(config, "replication"),
        s(config, "isolation"),
        s(config, "workload"),
        s(config, "command"),
        outcome.name(),
        outcome.exit_code(),
        s(config, "documented_model"),
        config["documented_model_with_readers"].as_str().unwrap_or("?"),
        results["ops"]["by_f"],
    );
    md.push_str("| check | verdict | figure | details |\n|---|---|---|---|\n");
    for c in &checks {
        let fig = c
            .figure
            .map(|f| format!("{f:.3} {}", c.unit.clone().unwrap_or_default()))
            .unwrap_or_default();
        md.push_str(&format!(
            "| {} | {} | {fig} | {} |\n",
            c.name,
            verdict_word(c),
            c.summary.replace('|', "\\|")
        ));
    }
    md.push_str("\n## Faults applied\n\n");
    for f in results["applied_faults"].as_array().into_iter().flatten() {
        md.push_str(&format!(
            "- {:.3} s: `{}` → {}\n",
            f["at_ms"].as_f64().unwrap_or(0.0) / 1000.0,
            f["fault"],
            f.get("result")
                .or(f.get("error"))
                .cloned()
                .unwrap_or_default()
        ));
    }
    md.push_str("\n## Errors seen by clients\n\n");
    for (e, n) in results["ops"]["errors"].as_object().into_iter().flatten() {
        md.push_str(&format!("- {n} × `{e}`\n"));
    }
    for c in checks.iter().filter(|c| c.valid != Validity::Valid) {
        if let Some(v) = &c.verdict {
            let text = v.explanation.trim();
            if !text.is_empty() {
                let cut: String = text.chars().take(3000).collect();
                md.push_str(&format!(
                    "\n## {}\n\n```\n{cut}{}\n```\n",
                    c.name,
                    if cut.len() < text.len() { "\n…" } else { "" }
                ));
            }
        }
    }
    md.push_str("\n## Notes\n\n");
    for n in results["notes"].as_array().into_iter().flatten() {
        md.push_str(&format!("- {}\n", n.as_str().unwrap_or("")));
    }
    md.push_str("\nThe run page is `report.html` in this directory.\n");
    Ok(md)
}

/// `pass`, `FAIL`, `found (informational)` or `unknown`.
pub fn verdict_word(c: &CheckResult) -> &'static str {
    match (c.valid, c.advisory) {
        (Validity::Valid, _) => "pass",
        (Validity::Invalid, true) => "found (informational)",
        (Validity::Invalid, false) => "FAIL",
        (Validity::Unknown, _) => "unknown",
    }
}

/// Writes `REPORT.md` and `report.html` into `dir` from the stored parts.
pub fn write_views(
    dir: &Path,
    config: &J,
    results: &J,
    schedule: &J,
    h: &History,
) -> anyhow::Result<()> {
    let md = report_md(config, results)?;
    std::fs::write(dir.join("REPORT.md"), md)
        .with_context(|| format!("writing {}", dir.join("REPORT.md").display()))?;
    let html = report::render_run_page(&page(config, results, schedule, h)?);
    std::fs::write(dir.join("report.html"), html)
        .with_context(|| format!("writing {}", dir.join("report.html").display()))
}

/// The page of a stored target run (for `serve`).
pub fn page_for_dir(dir: &Path) -> anyhow::Result<String> {
    let config = read_json(&dir.join("config.json"))?;
    let results = read_json(&dir.join("results.json"))?;
    let schedule = read_json(&dir.join("schedule.json"))?;
    let h = read_history(dir)?;
    Ok(report::render_run_page(&page(
        &config, &results, &schedule, &h,
    )?))
}

/// Rewrites `REPORT.md` and `report.html` of a stored target run; with `recheck`, first reruns
/// the checks on the stored history and rewrites `results.json`. Returns (old, new) outcome.
pub fn rewrite_dir(dir: &Path, recheck: bool) -> anyhow::Result<(String, String)> {
    let mut config = read_json(&dir.join("config.json"))?;
    let mut results = read_json(&dir.join("results.json"))?;
    let h = read_history(dir)?;
    let old = s(&results, "outcome").to_string();
    if recheck {
        recheck_results(&mut config, &mut results, &h)?;
        let pretty = |j: &J| serde_json::to_string_pretty(j).map(|t| t + "\n");
        std::fs::write(dir.join("config.json"), pretty(&config)?)?;
        std::fs::write(dir.join("results.json"), pretty(&results)?)?;
    }
    let new = s(&results, "outcome").to_string();
    let schedule = read_json(&dir.join("schedule.json"))?;
    write_views(dir, &config, &results, &schedule, &h)?;
    Ok((old, new))
}

/// Recomputes `results["checks"]`, the outcome and the documented models from the stored run.
fn recheck_results(config: &mut J, results: &mut J, h: &History) -> anyhow::Result<()> {
    let engine = targets::Engine::from_name(s(config, "engine"))
        .ok_or_else(|| anyhow!("config.json: unknown engine {}", config["engine"]))?;
    let iso = targets::Isolation::from_name(s(config, "isolation"))
        .ok_or_else(|| anyhow!("config.json: unknown isolation {}", config["isolation"]))?;
    let wcfg: WorkloadConfig = serde_json::from_value(config["workload_config"].clone())
        .map_err(|e| anyhow!("config.json: workload_config: {e}"))?;
    let generator = Generator::for_workload(s(config, "workload"), &wcfg)
        .ok_or_else(|| anyhow!("config.json: unknown workload {}", config["workload"]))?;
    let g = targets::guarantee(engine, iso);
    config["documented_model"] = J::from(g.writer);
    config["documented_model_with_readers"] = J::from(g.with_readers);
    let mut applied = Vec::new();
    for a in results["applied_faults"].as_array().into_iter().flatten() {
        let f: Fault = serde_json::from_value(a["fault"].clone())
            .map_err(|e| anyhow!("results.json: applied fault {a}: {e}"))?;
        applied.push((a["at_ms"].as_u64().unwrap_or(0), f));
    }
    let windows: Vec<(u64, u64)> = serde_json::from_value(results["fault_windows_ms"].clone())
        .map_err(|e| anyhow!("results.json: fault_windows_ms: {e}"))?;
    let lag: Option<Vec<(u64, f64)>> = results
        .get("replica_lag_ms")
        .map(|l| serde_json::from_value(l.clone()))
        .transpose()
        .map_err(|e| anyhow!("results.json: replica_lag_ms: {e}"))?;
    let old = checks_of(results)?;
    let converged = old
        .iter()
        .find(|c| c.name == "liveness")
        .is_some_and(|c| c.valid == Validity::Valid);
    let facts = Facts {
        history: h,
        applied,
        fault_windows: &windows,
        lag_samples: lag.as_deref(),
        converged,
    };
    let mut checks = run_checks(&generator, &wcfg, &g, &facts);
    if lag.is_none() {
        // Lag samples were not stored by older runs: keep the figure measured at the time.
        checks.extend(
            old.into_iter()
                .filter(|c| c.name.starts_with("replica lag")),
        );
    }
    let crashed = s(results, "outcome") == Outcome::HarnessCrash.name();
    let outcome = if crashed {
        Outcome::HarnessCrash
    } else {
        super::write::outcome_from_checks(&checks)
    };
    results["checks"] = serde_json::to_value(&checks)?;
    results["outcome"] = serde_json::to_value(outcome)?;
    results["valid"] = super::write::valid_json(outcome);
    Ok(())
}
