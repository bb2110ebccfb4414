//! The terminal summary: a `tabled` table, one row per claim, then the failures' explanations.

use crate::model::{CheckRow, Verdict};
use crate::model::{Conformance, Status};
use crate::text::{figure_text, no_controls, ops_text, shorten};
use tabled::builder::Builder;
use tabled::settings::object::{Cell, Rows};
use tabled::settings::{Color, Style};

/// Longest claim wording shown in the table before it is cut with `…`.
const WORDING_MAX: usize = 36;
/// Longest scenario name (or not-covered reason) shown before it is cut.
const SCENARIO_MAX: usize = 30;

/// Renders the summary table for a terminal.
///
/// Contract: pure; with `color == false` the output contains no ANSI escape (`\x1b`) at all, so it
/// is safe for pipes and files. The caller passes `std::io::stdout().is_terminal()`. Claims that
/// are not covered keep their row, with the reason in the scenario column.
pub fn render_terminal(report: &Conformance, color: bool) -> String {
    let mut builder = Builder::default();
    builder.push_record([
        "Claim",
        "Wording",
        "Scenario",
        "Ops ok/fail/info",
        "Verdicts",
        "Figure vs bound",
        "Result",
    ]);
    for row in &report.rows {
        let (scenario, ops, verdicts, figure) = match (&row.scenario, &row.status) {
            (Some(sc), _) => (
                shorten(&sc.name, SCENARIO_MAX),
                ops_text(&sc.ops),
                verdicts_short(&sc.checks),
                sc.figure.as_ref().map_or("—".to_string(), figure_text),
            ),
            (None, Status::NotCovered { reason }) => (
                shorten(reason, SCENARIO_MAX),
                "—".into(),
                "—".into(),
                "—".into(),
            ),
            (None, _) => ("—".into(), "—".into(), "—".into(), "—".into()),
        };
        let record = [
            row.claim.clone(),
            shorten(&row.wording, WORDING_MAX),
            scenario,
            ops,
            verdicts,
            figure,
            row.status.label().to_string(),
        ];
        builder.push_record(record.map(|cell| no_controls(&cell)));
    }
    let mut table = builder.build();
    table.with(Style::rounded());
    if color {
        table.modify(Rows::first(), Color::BOLD);
        for (i, row) in report.rows.iter().enumerate() {
            let paint = match row.status {
                Status::Pass => Color::FG_GREEN,
                Status::Fail => Color::FG_RED | Color::BOLD,
                Status::NotCovered { .. } => Color::FG_YELLOW,
            };
            table.modify(Cell::new(i + 1, 6), paint);
        }
    }

    let s = &report.summary;
    let mut out = format!("{}\n", no_controls(&report.title));
    out.push_str(&table.to_string());
    out.push('\n');
    let verdict = if s.all_pass() { "PASS" } else { "FAIL" };
    let verdict = match (color, s.all_pass()) {
        (false, _) => verdict.to_string(),
        (true, true) => format!("\x1b[1;32m{verdict}\x1b[0m"),
        (true, false) => format!("\x1b[1;31m{verdict}\x1b[0m"),
    };
    out.push_str(&format!(
        "{verdict}: {} claims: {} pass, {} fail, {} not yet covered; ops {} ok / {} fail / {} info\n",
        s.claims, s.pass, s.fail, s.not_covered, s.ops.ok, s.ops.fail, s.ops.info
    ));
    for row in &report.rows {
        let (Status::Fail, Some(sc)) = (&row.status, &row.scenario) else {
            continue;
        };
        out.push_str(&no_controls(&format!(
            "\n{} FAILED in {}:\n",
            row.claim, sc.name
        )));
        for e in &sc.explanations {
            for line in e.lines() {
                out.push_str(&format!("  {}\n", no_controls(line)));
            }
        }
        out.push_str(&format!("  reproduce: {}\n", no_controls(&sc.repro)));
    }
    out
}

/// Compact verdicts: `"2 valid"` when all are valid, else the names of the checks that are not,
/// e.g. `"invalid: bank; unknown: perf (advisory)"`.
fn verdicts_short(checks: &[CheckRow]) -> String {
    if checks.is_empty() {
        return "—".to_string();
    }
    let mut parts = Vec::new();
    for v in [Verdict::Invalid, Verdict::Unknown] {
        let names: Vec<String> = checks
            .iter()
            .filter(|c| c.verdict == v)
            .map(|c| {
                if c.advisory {
                    format!("{} (advisory)", c.name)
                } else {
                    c.name.clone()
                }
            })
            .collect();
        if !names.is_empty() {
            parts.push(format!("{}: {}", v.as_str(), names.join(", ")));
        }
    }
    let valid = checks
        .iter()
        .filter(|c| c.verdict == Verdict::Valid)
        .count();
    if valid > 0 {
        parts.push(format!("{valid} valid"));
    }
    parts.join("; ")
}
