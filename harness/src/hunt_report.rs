//! The hunt's detection matrix as data (`matrix.json`) and prose (`MATRIX.md`, the terminal).
//!
//! Median seeds-to-detection is honest about censoring: a pair asked for D detections that found
//! fewer pads its samples with "not within the cap" (infinity) before taking the median, so a bug
//! found once in 8 seeds does not report a median of its one lucky gap.

use crate::hunt::{caught_by_counts, unobservable, HuntArgs, PairResult, WHITE_BOX_CHECKS};
use anyhow::Context;
use reference::Bug;
use serde_json::{json, Value};
use std::path::Path;
use workloads::WorkloadKind;

/// Median seeds-to-detection goal.
pub const GOAL_MEDIAN: u64 = 5;

/// Median of `samples` padded with infinities to `wanted` entries; `None` is infinity.
pub fn censored_median(samples: &[u64], wanted: usize) -> Option<u64> {
    let mut v: Vec<Option<u64>> = samples.iter().map(|s| Some(*s)).collect();
    while v.len() < wanted {
        v.push(None);
    }
    v.sort_by_key(|x| x.unwrap_or(u64::MAX));
    v[(v.len() - 1) / 2]
}

fn command(a: &HuntArgs) -> String {
    let mut s = format!(
        "aurora-chaos hunt --first-seed {} --max-seeds {} --detections {} --time-limit {} --interval-ms {}",
        a.first_seed, a.max_seeds, a.detections, a.time_limit, a.interval_ms
    );
    if let Some(b) = &a.bugs {
        s.push_str(&format!(" --bugs {b}"));
    }
    if let Some(w) = &a.workloads {
        s.push_str(&format!(" --workloads {w}"));
    }
    s
}

pub fn matrix(a: &HuntArgs, results: &[PairResult]) -> Value {
    let mut bugs = Vec::new();
    let mut per_wl: Vec<(WorkloadKind, u64, u64)> =
        WorkloadKind::ALL.iter().map(|w| (*w, 0, 0)).collect();
    let mut met = 0;
    let names: Vec<&str> = results.iter().map(|r| r.bug.as_str()).collect();
    // Bugs no run can observe are listed too (every cell `—`, with the reason), when selected.
    let selected = |b: &Bug| {
        a.bugs
            .as_deref()
            .is_none_or(|l| l.split(',').any(|n| n.trim() == b.name()))
    };
    let mut run_invisible = 0;
    for bug in Bug::all().into_iter().filter(|b| {
        names.contains(&b.name())
            || (selected(b)
                && WorkloadKind::ALL
                    .iter()
                    .all(|w| unobservable(*b, *w).is_some()))
    }) {
        let invisible = WorkloadKind::ALL
            .iter()
            .all(|w| unobservable(bug, *w).is_some());
        run_invisible += usize::from(invisible);
        let mut wls = serde_json::Map::new();
        let mut best: Option<u64> = None;
        let mut all_white = true;
        let mut any = false;
        for w in WorkloadKind::ALL {
            if let Some(reason) = unobservable(bug, w) {
                wls.insert(w.name().into(), json!({"observable": false, "why": reason}));
                continue;
            }
            let Some(r) = results
                .iter()
                .find(|r| r.bug == bug.name() && r.workload == w.name())
            else {
                continue;
            };
            let gaps = r.seeds_to_detection(a.first_seed);
            let median = censored_median(&gaps, a.detections);
            let counts = caught_by_counts(r);
            let white_only = !counts.is_empty()
                && counts
                    .keys()
                    .all(|c| WHITE_BOX_CHECKS.contains(&c.as_str()));
            if !counts.is_empty() {
                any = true;
                all_white &= white_only;
            }
            if let Some(m) = median {
                best = Some(best.map_or(m, |b: u64| b.min(m)));
            }
            let slot = per_wl.iter_mut().find(|x| x.0 == w).unwrap();
            slot.1 += 1;
            if median.is_some_and(|m| m <= GOAL_MEDIAN) {
                slot.2 += 1;
            }
            let repro = r
                .detections()
                .first()
                .map(|s| crate::hunt::probe_config(bug, w, *s, a).repro_command());
            wls.insert(
                w.name().into(),
                json!({
                    "observable": true,
                    "seeds_run": r.probes.len(),
                    "detections": r.detections(),
                    "seeds_to_detection": gaps,
                    "median": median,
                    "caught_by": counts,
                    "white_box_only": white_only,
                    "first_repro": repro,
                    "probes": r.probes,
                }),
            );
        }
        if best.is_some_and(|m| m <= GOAL_MEDIAN) {
            met += 1;
        }
        bugs.push(json!({
            "bug": bug.name(),
            "description": bug.description(),
            "echoes": bug.echoes(),
            "best_median": best,
            "meets_goal": best.is_some_and(|m| m <= GOAL_MEDIAN),
            "white_box_only": any && all_white,
            "run_invisible": invisible,
            "workloads": wls,
        }));
    }
    let workloads: serde_json::Map<String, Value> = per_wl
        .iter()
        .filter(|x| x.1 > 0)
        .map(|(w, obs, caught)| {
            (
                w.name().to_string(),
                json!({"observable": obs, "caught_within_goal": caught,
                       "meets_half": 2 * caught >= *obs}),
            )
        })
        .collect();
    json!({
        "command": command(a),
        "params": {"first_seed": a.first_seed, "max_seeds": a.max_seeds,
                   "detections": a.detections, "time_limit_s": a.time_limit,
                   "interval_ms": a.interval_ms, "goal_median": GOAL_MEDIAN},
        "summary": {"bugs": bugs.len() - run_invisible, "bugs_meeting_goal": met,
                    "run_invisible": run_invisible},
        "workloads": workloads,
        "bugs": bugs,
    })
}

fn cell(v: &Value) -> String {
    if v["observable"] == false {
        return "—".into();
    }
    let med = match v["median"].as_u64() {
        Some(m) => m.to_string(),
        None => format!(">{}", v["seeds_run"]),
    };
    let by: Vec<String> = v["caught_by"]
        .as_object()
        .map(|m| m.keys().map(|k| short(k)).collect())
        .unwrap_or_default();
    let det = v["detections"].as_array().map(|d| d.len()).unwrap_or(0);
    if by.is_empty() {
        format!("{med} (0/{})", v["seeds_run"])
    } else {
        format!("{med} ({det}/{}; {})", v["seeds_run"], by.join(", "))
    }
}

/// Short names of checks for table cells.
fn short(check: &str) -> String {
    match check {
        "white-box invariants" => "wb-invariants".into(),
        "durability ledger (storage's syncs)" => "wb-ledger".into(),
        "storage re-replicated (gossip)" => "wb-replication".into(),
        "storage scrubbed (checksums)" => "wb-scrub".into(),
        "storage adopted truncations (recovery)" => "wb-truncation".into(),
        "storage discarded truncated records (disks)" => "wb-truncated".into(),
        c => c.to_string(),
    }
}

pub fn markdown(doc: &Value) -> String {
    let mut s = String::from("# Detection matrix\n\n");
    s.push_str(&format!(
        "Generated by `{}` (one bug switched on per run; each seed draws its own swarm mix from the \
         bug's fault families (`hunt::fault_family`), and its mode, fault interval, key count, \
         reader fraction, LAL, corruption target, client count and buffer cache size \
         (`soak::apply_swarm_shape`); no hand-written \
         schedules).\n\n",
        doc["command"].as_str().unwrap_or("")
    ));
    s.push_str(&format!(
        "**{} of {} bugs that runs can observe** are caught within a median of ≤ {} seeds on at least one \
         workload; {} more are visible only to the conformance suite's figures (rows marked \
         `suite only`). A cell reads \
         `median seeds-to-detection (detections/seeds run; checks that caught it)`; `>N` means fewer \
         detections than asked for within the cap (censored median); `—` means the workload's checks \
         cannot observe the bug (the reason is in `matrix.json`). `wb-*` checks are white-box (the \
         reference's event log, durability ledger and storage disks).\n\n",
        doc["summary"]["bugs_meeting_goal"],
        doc["summary"]["bugs"],
        GOAL_MEDIAN,
        doc["summary"]["run_invisible"]
    ));
    s.push_str("| bug | bank | register | list-append | best | white-box only | shrunk (entries / ops) |\n|---|---|---|---|---|---|---|\n");
    for b in doc["bugs"].as_array().into_iter().flatten() {
        let w = &b["workloads"];
        let best = match b["best_median"].as_u64() {
            Some(m) => m.to_string(),
            None if b["run_invisible"] == true => "suite only".into(),
            None => "not caught".into(),
        };
        let shrunk = match &b["shrunk"] {
            Value::Object(m) => format!(
                "{} → {} / {} → {}",
                m["entries_before"], m["entries_after"], m["ops_before"], m["ops_after"]
            ),
            _ => "".into(),
        };
        s.push_str(&format!(
            "| `{}` | {} | {} | {} | {} | {} | {} |\n",
            b["bug"].as_str().unwrap_or(""),
            cell(&w["bank"]),
            cell(&w["register"]),
            cell(&w["list-append"]),
            best,
            if b["white_box_only"] == true {
                "yes"
            } else {
                ""
            },
            shrunk
        ));
    }
    s.push_str("\n| workload | bugs observable | caught within the goal | at least half |\n|---|---|---|---|\n");
    for (w, v) in doc["workloads"].as_object().into_iter().flatten() {
        s.push_str(&format!(
            "| {w} | {} | {} | {} |\n",
            v["observable"],
            v["caught_within_goal"],
            if v["meets_half"] == true { "yes" } else { "no" }
        ));
    }
    let why: Vec<String> = doc["bugs"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|b| b["run_invisible"] == true)
        .map(|b| {
            format!(
                "- `{}`: {}\n",
                b["bug"].as_str().unwrap_or(""),
                b["workloads"]["bank"]["why"].as_str().unwrap_or("")
            )
        })
        .collect();
    if !why.is_empty() {
        s.push_str("\n## Suite only (no run verdict can observe these)\n\n");
        s.push_str(&why.concat());
    }
    s.push_str("\n## Bugs\n\n");
    for b in doc["bugs"].as_array().into_iter().flatten() {
        s.push_str(&format!(
            "- `{}`: {} — echoes {}.\n",
            b["bug"].as_str().unwrap_or(""),
            b["description"].as_str().unwrap_or(""),
            b["echoes"].as_str().unwrap_or("")
        ));
    }
    s
}

pub fn terminal(doc: &Value) -> String {
    let mut t = tabled::builder::Builder::default();
    t.push_record(["bug", "bank", "register", "list-append", "best"]);
    for b in doc["bugs"].as_array().into_iter().flatten() {
        let w = &b["workloads"];
        t.push_record([
            b["bug"].as_str().unwrap_or("").to_string(),
            cell(&w["bank"]),
            cell(&w["register"]),
            cell(&w["list-append"]),
            b["best_median"]
                .as_u64()
                .map(|m| m.to_string())
                .unwrap_or_else(|| "-".into()),
        ]);
    }
    let mut t = t.build();
    t.with(tabled::settings::Style::rounded());
    format!(
        "{t}\n{} of {} bugs caught within a median of <= {GOAL_MEDIAN} seeds on some workload\n",
        doc["summary"]["bugs_meeting_goal"], doc["summary"]["bugs"]
    )
}

/// Writes `matrix.json` and `MATRIX.md`, keeping shrink results a previous `shrink --all` stored.
pub fn write(out: &Path, doc: &Value) -> anyhow::Result<()> {
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let mut doc = doc.clone();
    crate::shrink::attach_shrunk(out, &mut doc);
    let (j, m) = crate::hunt::matrix_paths(out);
    std::fs::write(&j, serde_json::to_string_pretty(&doc)? + "\n")
        .with_context(|| format!("writing {}", j.display()))?;
    std::fs::write(&m, markdown(&doc)).with_context(|| format!("writing {}", m.display()))?;
    crate::hunt_page::write_page(out, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn censored_median_counts_misses_as_infinite() {
        assert_eq!(censored_median(&[2, 4, 1], 3), Some(2));
        assert_eq!(censored_median(&[2, 4], 3), Some(4));
        assert_eq!(censored_median(&[2], 3), None);
        assert_eq!(censored_median(&[], 3), None);
    }
}
