//! The hunt dashboard: one HTML page (`results/hunt/index.html`, in the style of the run and
//! conformance pages) rendering the detection matrix (`matrix.json`, with the shrunk sizes that
//! `shrink --all` attached), the per-workload goal, the shrunk fixtures and the coverage table of a
//! sweep's `summary.json` (the false-positive sweep by default).
//!
//! Contract: a pure function of those two JSON documents (no clock, no hash-map order), so the
//! page is rewritten byte for byte from the same files. Missing coverage is said on the page, never
//! filled in.

use crate::hunt_report::GOAL_MEDIAN;
use anyhow::Context;
use report::text::escape_html as esc;
use serde_json::Value;
use std::path::{Path, PathBuf};

const WORKLOADS: [&str; 3] = ["bank", "register", "list-append"];

const EXTRA_CSS: &str = "td.miss{color:#fff;background:#c62828}td.slow{background:#f0d78c}\
td.hit{color:#fff;background:#2a9d2a}td.na{background:#fafafa;color:#999}\
td.num{text-align:right}.bar{display:inline-block;height:10px;background:#2a9d2a;\
vertical-align:middle}.bar.full{background:#ccc}";

/// Where the coverage of the standard sweep is read from by default (next to `results/hunt`).
pub fn default_coverage(hunt_dir: &Path) -> PathBuf {
    hunt_dir
        .parent()
        .unwrap_or(Path::new("."))
        .join("sweeps/fp-1000/summary.json")
}

fn read_json(p: &Path) -> anyhow::Result<Value> {
    let t = std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
    serde_json::from_str(&t).with_context(|| format!("{}: not JSON", p.display()))
}

/// Re-renders `index.html` in `hunt_dir` from its `matrix.json` and the coverage summary
/// (`coverage`, or [`default_coverage`]; a missing one is stated on the page).
pub fn write_page(hunt_dir: &Path, coverage: Option<&Path>) -> anyhow::Result<()> {
    let matrix = read_json(&hunt_dir.join("matrix.json"))?;
    let cov_path = coverage
        .map(Path::to_path_buf)
        .unwrap_or_else(|| default_coverage(hunt_dir));
    let cov = read_json(&cov_path).ok();
    let html = render(&matrix, cov.as_ref(), &cov_path.display().to_string());
    let p = hunt_dir.join("index.html");
    std::fs::write(&p, html).with_context(|| format!("writing {}", p.display()))
}

fn short(check: &str) -> &str {
    match check {
        "white-box invariants" => "wb-invariants",
        "durability ledger (storage's syncs)" => "wb-ledger",
        "storage re-replicated (gossip)" => "wb-replication",
        "storage scrubbed (checksums)" => "wb-scrub",
        "storage adopted truncations (recovery)" => "wb-truncation",
        "storage discarded truncated records (disks)" => "wb-truncated",
        c => c,
    }
}

/// One matrix cell: class by result, text `median (detections/seeds)` and the checks as a title.
fn cell(v: &Value) -> String {
    if v.is_null() {
        return "<td class=\"na\">not run</td>".into();
    }
    if v["observable"] == false {
        return format!(
            "<td class=\"na\" title=\"{}\">—</td>",
            esc(v["why"].as_str().unwrap_or(""))
        );
    }
    let det = v["detections"].as_array().map_or(0, Vec::len);
    let seeds = v["seeds_run"].as_u64().unwrap_or(0);
    let checks: Vec<&str> = v["caught_by"]
        .as_object()
        .map(|m| m.keys().map(|k| short(k)).collect())
        .unwrap_or_default();
    let (class, med) = match v["median"].as_u64() {
        Some(m) if m <= GOAL_MEDIAN => ("hit", m.to_string()),
        Some(m) => ("slow", m.to_string()),
        None if det > 0 => ("slow", format!("&gt;{seeds}")),
        None => ("miss", format!("&gt;{seeds}")),
    };
    format!(
        "<td class=\"{class}\" title=\"{}\">{med} <span class=\"note\">({det}/{seeds})</span><br>\
         <span class=\"note\">{}</span></td>",
        esc(&checks.join(", ")),
        esc(&checks.join(", "))
    )
}

fn bar(after: f64, before: f64) -> String {
    let w = if before > 0.0 {
        (80.0 * after / before).clamp(1.0, 80.0)
    } else {
        1.0
    };
    format!(
        "<span class=\"bar\" style=\"width:{w:.0}px\"></span><span class=\"bar full\" \
         style=\"width:{:.0}px\"></span>",
        80.0 - w
    )
}

fn matrix_table(out: &mut String, m: &Value) {
    out.push_str(
        "<table class=\"matrix\"><tr><th>bug</th><th>bank</th><th>register</th>\
         <th>list-append</th><th>best median</th><th>white-box only</th><th>shrunk entries</th>\
         <th>shrunk ops</th></tr>\n",
    );
    for b in m["bugs"].as_array().into_iter().flatten() {
        let name = b["bug"].as_str().unwrap_or("");
        out.push_str(&format!(
            "<tr><th title=\"{}\"><code>{}</code></th>",
            esc(b["description"].as_str().unwrap_or("")),
            esc(name)
        ));
        for w in WORKLOADS {
            out.push_str(&cell(&b["workloads"][w]));
        }
        let best = match b["best_median"].as_u64() {
            Some(x) => x.to_string(),
            None if b["run_invisible"] == true => "suite only".into(),
            None => "not caught".into(),
        };
        let class = match b["meets_goal"].as_bool() {
            Some(true) => "hit",
            _ if b["run_invisible"] == true => "na",
            _ => "miss",
        };
        out.push_str(&format!("<td class=\"{class}\">{best}</td>"));
        out.push_str(&format!(
            "<td>{}</td>",
            if b["white_box_only"] == true {
                "yes"
            } else {
                ""
            }
        ));
        match &b["shrunk"] {
            Value::Object(s) => out.push_str(&format!(
                "<td class=\"num\">{} → {}</td><td class=\"num\">{} → {} {}</td>",
                s["entries_before"],
                s["entries_after"],
                s["ops_before"],
                s["ops_after"],
                bar(
                    s["ops_after"].as_f64().unwrap_or(0.0),
                    s["ops_before"].as_f64().unwrap_or(0.0)
                )
            )),
            _ => out.push_str("<td class=\"na\"></td><td class=\"na\"></td>"),
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n");
}

fn workload_table(out: &mut String, m: &Value) {
    out.push_str(
        "<table><tr><th>workload</th><th>bugs observable</th><th>caught within the goal</th>\
         <th>at least half</th></tr>\n",
    );
    for (w, v) in m["workloads"].as_object().into_iter().flatten() {
        let half = v["meets_half"] == true;
        out.push_str(&format!(
            "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"{}\">{}</td></tr>\n",
            esc(w),
            v["observable"],
            v["caught_within_goal"],
            if half { "hit" } else { "miss" },
            if half { "yes" } else { "no" }
        ));
    }
    out.push_str("</table>\n");
}

fn coverage_table(out: &mut String, cov: Option<&Value>, path: &str) {
    let Some(cov) = cov else {
        out.push_str(&format!(
            "<p class=\"error\">No coverage summary at <code>{}</code>: run the documented sweep.</p>\n",
            esc(path)
        ));
        return;
    };
    let seeds = cov["rows"].as_array().map_or(0, Vec::len);
    let outcomes: Vec<String> = cov["outcomes"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| format!("{v} {k}"))
        .collect();
    out.push_str(&format!(
        "<p class=\"meta\">From <code>{}</code>: seeds {} ({seeds} runs; {}), workload {}.</p>\n",
        esc(path),
        esc(cov["seeds"].as_str().unwrap_or("?")),
        esc(&outcomes.join(", ")),
        esc(cov["workload"].as_str().unwrap_or("?"))
    ));
    out.push_str(
        "<table><tr><th>coverage goal</th><th>required</th><th>events</th>\
         <th>runs reaching it</th><th>what</th></tr>\n",
    );
    for g in crate::coverage::goals() {
        let c = &cov["coverage"][g.name];
        let runs = c["runs"].as_u64().unwrap_or(0);
        let class = match (runs > 0, g.required) {
            (true, _) => "hit",
            (false, true) => "miss",
            (false, false) => "slow",
        };
        out.push_str(&format!(
            "<tr><td><code>{}</code></td><td>{}</td><td class=\"num\">{}</td>\
             <td class=\"{class}\">{runs} of {seeds}</td><td>{}</td></tr>\n",
            g.name,
            if g.required { "yes" } else { "tracked" },
            c["events"].as_u64().unwrap_or(0),
            esc(g.what)
        ));
    }
    out.push_str("</table>\n");
}

/// The whole page.
pub fn render(m: &Value, cov: Option<&Value>, cov_path: &str) -> String {
    let mut b = String::new();
    b.push_str("<h1>Bug hunt</h1>\n");
    b.push_str(&format!(
        "<p class=\"gen\">Generated from <code>matrix.json</code> of <code>{}</code></p>\n",
        esc(m["command"].as_str().unwrap_or(""))
    ));
    let s = &m["summary"];
    let met = s["bugs_meeting_goal"].as_u64().unwrap_or(0);
    let obs = s["bugs"].as_u64().unwrap_or(0);
    b.push_str(&format!(
        "<div class=\"overall {}\">{met} of {obs} bugs that runs can observe are caught within a \
         median of ≤ {GOAL_MEDIAN} seeds on some workload; {} more are visible only to the suite</div>\n",
        if met == obs { "pass" } else { "incomplete" },
        s["run_invisible"].as_u64().unwrap_or(0)
    ));
    b.push_str(
        "<nav><a href=\"#matrix\">matrix</a><a href=\"#workloads\">workloads</a>\
                <a href=\"#coverage\">coverage</a><a href=\"#bugs\">bugs</a>\
                <a href=\"MATRIX.md\">MATRIX.md</a><a href=\"matrix.json\">matrix.json</a>\
                <a href=\"shrunk.json\">shrunk.json</a></nav>\n",
    );
    b.push_str(&format!(
        "<section id=\"matrix\"><h2>Detection matrix</h2>\n<p class=\"note\">A cell is the median \
         seeds to detection (detections / seeds run) and the checks that caught it; green: within \
         {GOAL_MEDIAN}, yellow: caught but slower (or fewer detections than asked), red: never \
         caught, grey —: the workload cannot observe the bug (hover for why). <code>wb-*</code> \
         checks are white-box. Shrunk: schedule entries (final heal included) and client ops of \
         the first detection before → after <code>shrink</code>.</p>\n"
    ));
    matrix_table(&mut b, m);
    b.push_str("</section>\n<section id=\"workloads\"><h2>Per workload</h2>\n");
    workload_table(&mut b, m);
    b.push_str("</section>\n<section id=\"coverage\"><h2>Coverage goals</h2>\n");
    coverage_table(&mut b, cov, cov_path);
    b.push_str("</section>\n<section id=\"bugs\"><h2>The catalog</h2>\n<ul>\n");
    for x in m["bugs"].as_array().into_iter().flatten() {
        b.push_str(&format!(
            "<li><code>{}</code>: {} — echoes {}.</li>\n",
            esc(x["bug"].as_str().unwrap_or("")),
            esc(x["description"].as_str().unwrap_or("")),
            esc(x["echoes"].as_str().unwrap_or(""))
        ));
    }
    b.push_str("</ul>\n</section>\n");
    report::html::page("Bug hunt", EXTRA_CSS, &b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cells_are_classed_by_result() {
        let hit = json!({"observable": true, "median": 2, "seeds_run": 4,
                         "detections": [1, 3], "caught_by": {"liveness": 2}});
        assert!(cell(&hit).starts_with("<td class=\"hit\""));
        let miss = json!({"observable": true, "median": null, "seeds_run": 8,
                          "detections": [], "caught_by": {}});
        assert!(cell(&miss).contains("class=\"miss\"") && cell(&miss).contains("&gt;8"));
        let slow = json!({"observable": true, "median": null, "seeds_run": 8,
                          "detections": [5], "caught_by": {"liveness": 1}});
        assert!(cell(&slow).contains("class=\"slow\""));
        let na = json!({"observable": false, "why": "a <reason>"});
        assert!(cell(&na).contains("a &lt;reason&gt;"));
    }

    #[test]
    fn missing_coverage_is_said() {
        let m = json!({"command": "x", "summary": {"bugs": 0, "bugs_meeting_goal": 0,
                       "run_invisible": 0}, "bugs": [], "workloads": {}});
        let page = render(&m, None, "nowhere.json");
        assert!(page.contains("No coverage summary at <code>nowhere.json</code>"));
    }
}
