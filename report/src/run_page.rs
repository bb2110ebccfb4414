//! The page of one run (`report.html` in a run directory): outcome, seed banner and repro command,
//! checks, the fault schedule, explanations with pictures (Elle cycles, a Porcupine-style view of a
//! linearizability failure, bank reads against the expected total), and the figure set of
//! [`crate::figures`] (timeline with a nemesis lane, latency, quantiles and rate per `:f`, fault
//! bands on every plot).
//!
//! The harness builds a [`RunPage`] from what the run already has (history, schedule, checks and
//! verdicts of `results.json`, metrics). Contract: [`render_run_page`] is pure and byte-identical
//! for equal input, escapes all user text, and the page has no script and no URL other than
//! relative links to the run's own files.

use crate::anomaly::{
    bank_svg, cycle_html, cycles_from_anomalies, linear_svg, BankView, LinearView,
};
use crate::figures::figures_html;
use crate::html::page;
use crate::model::{Timeline, Verdict};
use crate::text::{escape_html as esc, shorten};
use serde::{Deserialize, Serialize};
use std::fmt::Write;

/// Everything the run page shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunPage {
    /// e.g. `"bank · all · seed 1"`.
    pub title: String,
    /// The outcome's name (`pass`, `violation`, `unknown`, …).
    pub outcome: String,
    pub exit_code: i32,
    /// The seed banner as the terminal prints it (seed and every drawn parameter).
    pub banner: String,
    /// Exact command reproducing the run.
    pub repro: String,
    /// One line of op counts, e.g. `"2,904 ok, 12 fail, 3 info over 63.2 simulated s"`.
    pub ops_line: String,
    pub checks: Vec<RunCheck>,
    /// The fault schedule as data (schedule.json).
    pub schedule: serde_json::Value,
    /// Faults as applied (`applied_faults` of results.json), shown as a table.
    pub applied: Vec<serde_json::Value>,
    /// Client ops and, as process -1, the nemesis's faults; fault windows as bands.
    pub timeline: Timeline,
    pub explanations: Vec<Explanation>,
    pub bank: Option<BankView>,
    pub sim_error: Option<String>,
    /// Warnings shown in a box under the outcome (e.g. that a run on real processes is not
    /// replayable by seed). Empty for simulated runs.
    pub notices: Vec<String>,
    /// Simulated runs are replayable from `repro` and their seed banner; runs on real processes
    /// are not: the page then labels `repro` as the command that ran and `banner` as the run's
    /// parameters, and the fault table shows what applying each fault did instead of hosts.
    pub replayable: bool,
    /// Files of the run directory to link to (names relative to the page).
    pub files: Vec<String>,
    /// CloudWatch-style metric plots (metrics.json); none on pages without metrics.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub metrics: Vec<crate::metrics_plot::MetricPlot>,
}

/// One check's row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunCheck {
    pub name: String,
    pub claims: Vec<String>,
    pub verdict: Verdict,
    pub advisory: bool,
    pub summary: String,
    /// e.g. `"2.38 s (bound 30)"`.
    pub figure: Option<String>,
}

/// What a failing check explained: its prose, its anomalies as data (pictures of cycles are drawn
/// from them), and Porcupine-style views of linearizability failures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Explanation {
    pub check: String,
    pub prose: String,
    /// The verdict's `anomalies` object.
    pub anomalies: serde_json::Value,
    pub linear: Vec<LinearView>,
}

/// Longest prose shown per explanation (the rest stays in results.json).
const PROSE_MAX: usize = 6000;

const EXTRA_CSS: &str =
    ".outcome{font-size:20px;font-weight:700;padding:10px 14px;border-radius:6px;\
margin:8px 0}.outcome.unknown,.outcome.liveness{background:#f0d78c;color:#333}\
.anomaly{margin:8px 0 16px}.anomaly ul.key{font-size:13px}";

/// Added only to pages with notices (simulated runs' pages stay byte-identical).
const NOTICE_CSS: &str =
    ".notice{background:#fff3cd;border:1px solid #e0c36c;padding:8px 12px;border-radius:6px;margin:8px 0}";

/// Renders the run page (see the module docs for the contract).
pub fn render_run_page(p: &RunPage) -> String {
    let mut out = String::new();
    let class = match p.outcome.as_str() {
        "pass" => "pass",
        "unknown" => "unknown",
        "liveness" => "liveness",
        _ => "fail",
    };
    let _ = writeln!(
        out,
        "<nav><a href=\"/\">all results (aurora-chaos serve)</a></nav>\n<h1>{}</h1>\n<div class=\"outcome \
         {class}\" id=\"outcome\">{} (exit {})</div>\n<p class=\"meta\">{}</p>",
        esc(&p.title),
        esc(&p.outcome.to_uppercase()),
        p.exit_code,
        esc(&p.ops_line)
    );
    if let Some(e) = &p.sim_error {
        let _ = writeln!(out, "<p class=\"error\">simulation error: {}</p>", esc(e));
    }
    for n in &p.notices {
        let _ = writeln!(out, "<div class=\"notice\">{}</div>", esc(n));
    }
    let (repro_label, banner_label) = if p.replayable {
        ("Reproduce:", "Seed banner")
    } else {
        (
            "Command (reruns draw the same ops and faults, not the same interleaving):",
            "Run parameters",
        )
    };
    let _ = writeln!(
        out,
        "<p>{repro_label}</p>\n<pre id=\"repro\"><code>{}</code></pre>\n<details open><summary>\
         {banner_label}</summary><pre id=\"banner\">{}</pre></details>",
        esc(&p.repro),
        esc(&p.banner)
    );
    checks(&mut out, p);
    explanations(&mut out, p);
    if let Some(b) = &p.bank {
        out.push_str(
            "<h2>Bank reads against the expected total</h2>\n<div class=\"anomaly\" id=\"bank\">\n",
        );
        match bank_svg(b) {
            Ok(svg) => out.push_str(&svg),
            Err(e) => {
                let _ = writeln!(out, "<p class=\"error\">plot failed: {}</p>", esc(&e));
            }
        }
        out.push_str("</div>\n");
    }
    schedule(&mut out, p);
    out.push_str("<h2>Figures</h2>\n");
    out.push_str(&figures_html(&p.timeline));
    if !p.metrics.is_empty() {
        out.push_str("<h2>Metrics (CloudWatch names)</h2>\n<div id=\"metrics\">\n");
        for m in &p.metrics {
            let _ = writeln!(out, "<h3>{}</h3>", esc(&m.title));
            match crate::metrics_plot::metric_svg(m, &p.timeline.faults) {
                Ok(svg) => out.push_str(&svg),
                Err(e) => {
                    let _ = writeln!(out, "<p class=\"error\">plot failed: {}</p>", esc(&e));
                }
            }
        }
        out.push_str("</div>\n");
    }
    if !p.files.is_empty() {
        out.push_str("<h2>Files</h2>\n<ul id=\"files\">");
        for f in &p.files {
            let _ = write!(out, "<li><a href=\"{0}\">{0}</a></li>", esc(&link_safe(f)));
        }
        out.push_str("</ul>\n");
    }
    if p.notices.is_empty() {
        page(&p.title, EXTRA_CSS, &out)
    } else {
        page(&p.title, &format!("{EXTRA_CSS}{NOTICE_CSS}"), &out)
    }
}

/// A relative file name with nothing that could make it a URL or leave the directory.
fn link_safe(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_ascii_alphanumeric() || "._-".contains(*c))
        .collect::<String>()
        .trim_start_matches('.')
        .to_string()
}

fn checks(out: &mut String, p: &RunPage) {
    out.push_str(
        "<h2>Checks</h2>\n<table class=\"checks\" id=\"checks\">\n<tr><th>Check</th><th>Claims</th>\
         <th>Verdict</th><th>Advisory</th><th>Figure</th><th>Summary</th></tr>\n",
    );
    for c in &p.checks {
        let v = c.verdict.as_str();
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td class=\"{v}\">{v}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&c.name),
            esc(&c.claims.join(" ")),
            if c.advisory { "yes" } else { "no" },
            esc(c.figure.as_deref().unwrap_or("")),
            esc(&shorten(&c.summary, 300))
        );
    }
    out.push_str("</table>\n");
}

fn explanations(out: &mut String, p: &RunPage) {
    if p.explanations.is_empty() {
        return;
    }
    out.push_str("<h2 id=\"explanations\">What went wrong</h2>\n");
    for e in &p.explanations {
        let _ = writeln!(out, "<h3>{}</h3>", esc(&e.check));
        let cycles = cycles_from_anomalies(&e.anomalies);
        let pictured = !cycles.is_empty() || !e.linear.is_empty();
        for c in &cycles {
            out.push_str(&cycle_html(c));
        }
        for v in &e.linear {
            out.push_str("<div class=\"anomaly linear-pic\">\n");
            out.push_str(&linear_svg(v));
            out.push_str("</div>\n");
        }
        if !e.prose.trim().is_empty() {
            // With pictures, the checker's prose is one click away; without, it is the explanation.
            let prose = esc(&shorten(e.prose.trim_end(), PROSE_MAX));
            if pictured {
                let _ = writeln!(
                    out,
                    "<details><summary>the checker's explanation</summary><pre class=\"expl\">{prose}</pre></details>"
                );
            } else {
                let _ = writeln!(out, "<pre class=\"expl\">{prose}</pre>");
            }
        }
    }
}

fn schedule(out: &mut String, p: &RunPage) {
    out.push_str("<h2>Fault schedule</h2>\n");
    if !p.applied.is_empty() {
        let third = if p.replayable { "hosts" } else { "result" };
        let _ = writeln!(
            out,
            "<table id=\"faults\"><tr><th>at (s)</th><th>fault</th><th>{third}</th></tr>"
        );
        for a in &p.applied {
            let at = a["at_ms"]
                .as_f64()
                .map_or("?".to_string(), |t| crate::text::fmt_num(t / 1000.0));
            let hosts = match a["hosts"].as_array() {
                Some(h) => h
                    .iter()
                    .filter_map(|x| x.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                None => a
                    .get("result")
                    .or(a.get("error"))
                    .map(|r| r.to_string())
                    .unwrap_or_default(),
            };
            let _ = writeln!(
                out,
                "<tr><td>{at}</td><td><code>{}</code></td><td>{}</td></tr>",
                esc(&shorten(&a["fault"].to_string(), 300)),
                esc(&shorten(&hosts, 300))
            );
        }
        out.push_str("</table>\n");
    } else {
        out.push_str("<p>No fault was applied.</p>\n");
    }
    let _ = writeln!(
        out,
        "<details><summary>schedule.json</summary><pre>{}</pre></details>",
        esc(&crate::text::schedule_compact(&p.schedule, 8000))
    );
}
