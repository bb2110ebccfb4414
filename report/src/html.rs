//! The conformance pages: `report.html` (the dashboard, the mutation matrix and a compact table of
//! every claim) and one `claims/<id>.html` per claim (verdicts, explanations, repro command,
//! schedule and the figures: ops timeline, latency, latency quantiles and throughput per `:f`,
//! fault windows shaded on each).
//!
//! Splitting keeps `report.html` small and fast to open whatever the size of the timelines: it
//! holds no plot, only the tiles' gauges. Every page is self-contained (inline CSS and SVG, no
//! script, no network, no external fonts); links are relative, between the pages of one directory.

use crate::dashboard::{
    claim_href, dashboard, file_stem, gauge_svg, mutation_matrix, status_class,
};
use crate::figures::figures_html;
use crate::model::{ClaimRow, Conformance, Overall, ScenarioResult, Status};
use crate::text::{
    escape_html as esc, figure_long, figure_text, ops_text, scenario_text, schedule_compact,
    seeds_text, shorten, verdicts_text,
};
use std::fmt::Write;

/// Longest schedule (compact JSON characters) printed on a page.
const SCHEDULE_MAX: usize = 4000;

/// Styles shared by every page this crate writes (conformance, claim and run pages).
pub const CSS: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;\
margin:24px;color:#222;max-width:1240px}\
h1{margin-bottom:4px}.gen{color:#777;margin-top:0}\
table{border-collapse:collapse;margin:8px 0 16px}th,td{border:1px solid #ccc;padding:4px 8px;\
text-align:left;vertical-align:top;font-size:14px}th{background:#f3f3f3}\
.pass{color:#fff;background:#2a9d2a}.fail{color:#fff;background:#c62828}\
.nc{color:#444;background:#f0d78c}.vac{color:#fff;background:#8e24aa}\
.caught{color:#fff;background:#2a9d2a}td.empty{background:#fafafa}\
.badge{padding:2px 8px;border-radius:4px;font-weight:600;white-space:nowrap}\
.valid{color:#1b7d1b}.invalid{color:#c62828;font-weight:600}.unknown{color:#c77700}\
section{border-top:2px solid #ddd;margin-top:24px;padding-top:8px}\
pre{background:#f7f7f7;border:1px solid #e3e3e3;padding:8px;white-space:pre-wrap;\
word-break:break-word;font-size:13px}\
pre.expl{border-left:4px solid #c62828}\
svg{max-width:100%;height:auto;display:block;border:1px solid #eee;margin:4px 0 12px}\
.meta{color:#444}.error{color:#c62828}.note{color:#777;font-size:13px;font-weight:400}\
.overall{font-size:20px;font-weight:700;padding:10px 14px;border-radius:6px;margin:8px 0 16px}\
.overall.incomplete{background:#f0d78c;color:#333}\
.area{margin:8px 0 14px}.area h3{margin:6px 0}.tiles{display:flex;flex-wrap:wrap;gap:10px}\
a.tile{display:block;width:250px;padding:8px 10px;border-radius:6px;text-decoration:none;\
color:inherit;box-shadow:0 1px 3px rgba(0,0,0,.25)}\
a.tile.nc{background:#f3f0e4;color:#555}a.tile svg{background:#fff;border:0;margin:6px 0 2px}\
.tid{font-weight:700;font-size:16px}.tst{float:right;font-size:12px}.tw{font-size:12px;margin-top:4px}\
.tf,.tr{font-size:12px;margin-top:2px}\
table.matrix td,table.matrix th{text-align:center}\
nav a{margin-right:12px}";

/// A whole page: doctype, head with [`CSS`] (plus `extra_css`), `body` inside `<body>`.
pub fn page(title: &str, extra_css: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{CSS}{extra_css}</style>\n</head>\n<body>\n{body}</body>\n</html>\n",
        esc(title)
    )
}

/// A status badge (`<span class="badge pass">PASS</span>`).
pub fn badge(status: &Status) -> String {
    format!(
        "<span class=\"badge {}\">{}</span>",
        status_class(status),
        status.label()
    )
}

/// The headline: the overall status and counts; never says PASS while a claim is uncovered or
/// vacuous (see [`Conformance::overall`]).
fn overall(out: &mut String, report: &Conformance) {
    let class = match report.overall() {
        Overall::Pass => "pass",
        Overall::Incomplete => "incomplete",
        Overall::Fail => "fail",
    };
    let s = &report.summary;
    let _ = writeln!(
        out,
        "<div class=\"overall {class}\" id=\"overall\">{}</div>\n<p class=\"meta\">ops over every \
         covered scenario: {} ok / {} fail / {} info.</p>",
        esc(&report.overall_line()),
        s.ops.ok,
        s.ops.fail,
        s.ops.info
    );
}

/// Renders `report.html`: the headline, the dashboard (tiles by area, figures to scale), the
/// mutation matrix when there is one, and a compact table of every claim linking to its page.
///
/// Contract: pure and byte-identical for equal input; every piece of user text is HTML-escaped;
/// no `<script>`, no URL other than relative links to `claims/*.html`; its only `<svg>` elements
/// are the tiles' gauges (one per claim with a figure), so its size does not grow with timelines.
pub fn render_html(report: &Conformance) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "<h1>{}</h1>\n<p class=\"gen\">Generated: {}</p>",
        esc(&report.title),
        esc(&report.generated)
    );
    overall(&mut out, report);
    dashboard(&mut out, report);
    mutation_matrix(&mut out, report);
    out.push_str(
        "<h2 id=\"claims\">All claims</h2>\n<table class=\"summary\">\n<tr><th>Claim</th>\
         <th>Wording</th><th>Scenario</th><th>Ops ok/fail/info</th><th>Verdicts</th>\
         <th>Figure vs bound</th><th>Result</th></tr>\n",
    );
    for row in &report.rows {
        let (ops, verdicts, figure) = match &row.scenario {
            Some(sc) => (
                ops_text(&sc.ops),
                verdicts_text(&sc.checks),
                sc.figure.as_ref().map_or("—".to_string(), figure_text),
            ),
            None => ("—".into(), "—".into(), "—".into()),
        };
        let _ = writeln!(
            out,
            "<tr><td><a href=\"{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td>{}</td><td>{}</td></tr>",
            claim_href(&row.claim),
            esc(&row.claim),
            esc(&row.wording),
            esc(&shorten(&scenario_text(row), 120)),
            ops,
            esc(&verdicts),
            esc(&figure),
            badge(&row.status)
        );
    }
    out.push_str("</table>\n");
    page(&report.title, "", &out)
}

/// Renders `claims/<id>.html` for one row of `report`: status, scenario, figure, checks,
/// explanations, repro command, schedule and (when the scenario has a timeline) the figures.
/// Same contract as [`render_html`]; links point back to `../report.html`.
pub fn render_claim_page(report: &Conformance, row: &ClaimRow) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "<nav><a href=\"../report.html\">← {}</a></nav>\n<h1>{}: {} {}</h1>\n\
         <p class=\"gen\">Generated: {}</p>",
        esc(&report.title),
        esc(&row.claim),
        esc(&row.wording),
        badge(&row.status),
        esc(&report.generated)
    );
    match (&row.status, &row.scenario) {
        (Status::NotCovered { reason }, _) => {
            let _ = writeln!(out, "<p>Not yet covered: {}</p>", esc(reason));
        }
        (status, sc) => {
            if let Status::Vacuous { reason } = status {
                let _ = writeln!(out, "<p class=\"error\">Vacuous: {}</p>", esc(reason));
            }
            match sc {
                Some(sc) => scenario_body(&mut out, sc),
                None => out.push_str("<p>No scenario recorded.</p>\n"),
            }
        }
    }
    let muts: Vec<_> = report
        .mutations
        .iter()
        .filter(|m| m.claim == row.claim)
        .collect();
    if !muts.is_empty() {
        out.push_str(
            "<h3>Mutations</h3>\n<table><tr><th>Bug</th><th>What it does</th><th>Seeds</th>\
             <th>Figure under the bug</th><th>Outcome</th></tr>\n",
        );
        for m in muts {
            let class = match m.outcome {
                crate::MutationOutcome::Caught => "caught",
                crate::MutationOutcome::Vacuous => "vac",
                crate::MutationOutcome::NotRun => "nc",
            };
            let _ = writeln!(
                out,
                "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td>\
                 <td class=\"{class}\">{}</td></tr>",
                esc(&m.bug),
                esc(&m.bug_description),
                seeds_text(&m.seeds),
                esc(&m.figure.as_ref().map_or("—".to_string(), figure_long)),
                m.outcome.label()
            );
        }
        out.push_str("</table>\n");
    }
    page(&format!("{} {}", row.claim, report.title), "", &out)
}

fn scenario_body(out: &mut String, sc: &ScenarioResult) {
    let _ = writeln!(
        out,
        "<p class=\"meta\">Scenario <code>{}</code>: workload {}, nemesis {}, seeds {}; ops {} ok / \
         {} fail / {} info.</p>",
        esc(&sc.name),
        esc(&sc.workload),
        esc(&sc.nemesis),
        seeds_text(&sc.seeds),
        sc.ops.ok,
        sc.ops.fail,
        sc.ops.info
    );
    if let Some(fig) = &sc.figure {
        let class = if fig.holds() { "valid" } else { "invalid" };
        let _ = writeln!(
            out,
            "<p>Figure: <span class=\"{class}\">{}</span></p>\n{}",
            esc(&figure_long(fig)),
            gauge_svg(fig, 460.0)
        );
    }
    if !sc.checks.is_empty() {
        out.push_str(
            "<table class=\"checks\">\n<tr><th>Check</th><th>Verdict</th><th>Advisory</th>\
             <th>Summary</th></tr>\n",
        );
        for c in &sc.checks {
            let v = c.verdict.as_str();
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td class=\"{v}\">{v}</td><td>{}</td><td>{}</td></tr>",
                esc(&c.name),
                if c.advisory { "yes" } else { "no" },
                esc(&c.summary)
            );
        }
        out.push_str("</table>\n");
    }
    for e in &sc.explanations {
        let _ = writeln!(out, "<pre class=\"expl\">{}</pre>", esc(e));
    }
    let _ = writeln!(
        out,
        "<p>Reproduce:</p>\n<pre><code>{}</code></pre>\n<details><summary>Fault schedule</summary>\
         <pre>{}</pre></details>",
        esc(&sc.repro),
        esc(&schedule_compact(&sc.schedule, SCHEDULE_MAX))
    );
    if let Some(tl) = &sc.timeline {
        out.push_str(&figures_html(tl));
    }
}

/// Every conformance page as (path relative to the report directory, body): `report.html` first,
/// then `claims/<id>.html` for each row in order.
pub fn html_pages(report: &Conformance) -> Vec<(String, String)> {
    let mut pages = vec![("report.html".to_string(), render_html(report))];
    for row in &report.rows {
        pages.push((
            format!("claims/{}.html", file_stem(&row.claim)),
            render_claim_page(report, row),
        ));
    }
    pages
}
