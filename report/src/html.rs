//! `report.html`: one self-contained page (inline CSS and SVG, no script, no network, no fonts to
//! fetch) with the summary table and, per scenario, verdicts, explanations, the repro command and
//! three figures: ops timeline, latency over time and throughput, with fault windows shaded.

use crate::model::{ClaimRow, Conformance, ScenarioResult, Status, Timeline};
use crate::plots::{latency_svg, rate_svg, MAX_POINTS};
use crate::text::{
    escape_html as esc, figure_long, figure_text, ops_text, scenario_text, schedule_compact,
    seeds_text, verdicts_text,
};
use crate::timeline::timeline_svg;
use std::fmt::Write;

/// Longest schedule (compact JSON characters) printed on the page.
const SCHEDULE_MAX: usize = 4000;

const CSS: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;\
margin:24px;color:#222;max-width:1240px}\
h1{margin-bottom:4px}.gen{color:#777;margin-top:0}\
table{border-collapse:collapse;margin:8px 0 16px}th,td{border:1px solid #ccc;padding:4px 8px;\
text-align:left;vertical-align:top;font-size:14px}th{background:#f3f3f3}\
.pass{color:#fff;background:#2a9d2a}.fail{color:#fff;background:#c62828}\
.nc{color:#444;background:#f0d78c}.badge{padding:2px 8px;border-radius:4px;font-weight:600;\
white-space:nowrap}\
.valid{color:#1b7d1b}.invalid{color:#c62828;font-weight:600}.unknown{color:#c77700}\
section{border-top:2px solid #ddd;margin-top:24px;padding-top:8px}\
pre{background:#f7f7f7;border:1px solid #e3e3e3;padding:8px;white-space:pre-wrap;\
word-break:break-word;font-size:13px}\
pre.expl{border-left:4px solid #c62828}\
svg{max-width:100%;height:auto;display:block;border:1px solid #eee;margin:4px 0 12px}\
.meta{color:#444}.error{color:#c62828}.note{color:#777;font-size:13px}";

/// Renders the whole page.
///
/// Contract: pure and byte-identical for equal input; every piece of user text is HTML-escaped;
/// the page has no `<script>`, no external reference and no URL (plot SVGs carry no `xmlns`).
/// Each scenario with a timeline gets exactly three `<svg` elements, in the order timeline,
/// latency, throughput. Ops beyond [`MAX_POINTS`] per plot are thinned deterministically.
pub fn render_html(report: &Conformance) -> String {
    let mut out = String::new();
    let title = esc(&report.title);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<h1>{title}</h1>\n\
         <p class=\"gen\">Generated: {}</p>\n",
        esc(&report.generated)
    );
    summary(&mut out, report);
    for row in &report.rows {
        claim_section(&mut out, row);
    }
    out.push_str("</body>\n</html>\n");
    out
}

fn badge(status: &Status) -> String {
    let class = match status {
        Status::Pass => "pass",
        Status::Fail => "fail",
        Status::NotCovered { .. } => "nc",
    };
    format!("<span class=\"badge {class}\">{}</span>", status.label())
}

/// An `id` safe for HTML: letters, digits, `-` and `_` only.
fn anchor(claim: &str) -> String {
    let id: String = claim
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("claim-{id}")
}

fn summary(out: &mut String, report: &Conformance) {
    let s = &report.summary;
    let overall = if s.all_pass() {
        Status::Pass
    } else {
        Status::Fail
    };
    let _ = writeln!(
        out,
        "<p>{} {} claims: {} pass, {} fail, {} not yet covered; ops {} ok / {} fail / {} info.</p>",
        badge(&overall),
        s.claims,
        s.pass,
        s.fail,
        s.not_covered,
        s.ops.ok,
        s.ops.fail,
        s.ops.info
    );
    out.push_str(
        "<table class=\"summary\">\n<tr><th>Claim</th><th>Wording</th><th>Scenario</th>\
         <th>Ops ok/fail/info</th><th>Verdicts</th><th>Figure vs bound</th><th>Result</th></tr>\n",
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
            "<tr><td><a href=\"#{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td>{}</td><td>{}</td></tr>",
            anchor(&row.claim),
            esc(&row.claim),
            esc(&row.wording),
            esc(&scenario_text(row)),
            ops,
            esc(&verdicts),
            esc(&figure),
            badge(&row.status)
        );
    }
    out.push_str("</table>\n");
}

fn claim_section(out: &mut String, row: &ClaimRow) {
    let _ = writeln!(
        out,
        "<section id=\"{}\">\n<h2>{}: {} {}</h2>",
        anchor(&row.claim),
        esc(&row.claim),
        esc(&row.wording),
        badge(&row.status)
    );
    match (&row.status, &row.scenario) {
        (Status::NotCovered { reason }, _) => {
            let _ = writeln!(out, "<p>Not yet covered: {}</p>", esc(reason));
        }
        (_, Some(sc)) => scenario_body(out, sc),
        (_, None) => out.push_str("<p>No scenario recorded.</p>\n"),
    }
    out.push_str("</section>\n");
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
            "<p>Figure: <span class=\"{class}\">{}</span></p>",
            esc(&figure_long(fig))
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
        figures(out, tl);
    }
}

fn figures(out: &mut String, tl: &Timeline) {
    if tl.ops.len() > MAX_POINTS {
        let _ = writeln!(
            out,
            "<p class=\"note\">{} ops; the timeline and latency plots show {MAX_POINTS} of them \
             (every fail and info op kept where possible); throughput counts all.</p>",
            tl.ops.len()
        );
    }
    out.push_str("<h3>Timeline of ops by process</h3>\n");
    out.push_str(&timeline_svg(tl));
    out.push_str("<h3>Latency over time</h3>\n");
    plot(out, latency_svg(tl));
    out.push_str("<h3>Throughput</h3>\n");
    plot(out, rate_svg(tl));
}

fn plot(out: &mut String, svg: Result<String, String>) {
    match svg {
        Ok(svg) => out.push_str(&svg),
        Err(e) => {
            let _ = writeln!(out, "<p class=\"error\">plot failed: {}</p>", esc(&e));
        }
    }
}
