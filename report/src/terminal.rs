//! The terminal summary: a `tabled` table, one row per claim, then the failures' explanations.

use crate::model::{CheckRow, Verdict};
use crate::model::{Conformance, MutationOutcome, Overall, Status};
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
                Status::Vacuous { .. } => Color::FG_RED | Color::BOLD,
            };
            table.modify(Cell::new(i + 1, 6), paint);
        }
    }

    let s = &report.summary;
    let mut out = format!("{}\n", no_controls(&report.title));
    out.push_str(&table.to_string());
    out.push('\n');
    let line = no_controls(&report.overall_line());
    let (head, rest) = line.split_once(": ").unwrap_or((&line, ""));
    let head = match (color, report.overall()) {
        (false, _) => head.to_string(),
        (true, Overall::Pass) => format!("\x1b[1;32m{head}\x1b[0m"),
        (true, Overall::Incomplete) => format!("\x1b[1;33m{head}\x1b[0m"),
        (true, Overall::Fail) => format!("\x1b[1;31m{head}\x1b[0m"),
    };
    out.push_str(&format!(
        "{head}: {rest}; ops {} ok / {} fail / {} info\n",
        s.ops.ok, s.ops.fail, s.ops.info
    ));
    if !report.mutations.is_empty() {
        out.push_str(&mutation_table(report, color));
    }
    for row in &report.rows {
        if let (Status::Vacuous { reason }, _) = (&row.status, &row.scenario) {
            out.push_str(&no_controls(&format!(
                "\n{} VACUOUS: {reason}\n",
                row.claim
            )));
            continue;
        }
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

/// The claim × bug matrix: one row per claim, one column per bug, each cell `caught`,
/// `VACUOUS`, `not run` or empty (the bug is not run against that claim).
fn mutation_table(report: &Conformance, color: bool) -> String {
    let (claims, bugs) = crate::text::matrix_axes(&report.mutations);
    let mut b = Builder::default();
    let mut head = vec!["claim \\ bug".to_string()];
    head.extend(bugs.iter().cloned());
    b.push_record(head.into_iter().map(|c| no_controls(&c)));
    for claim in &claims {
        let mut rec = vec![claim.clone()];
        for bug in &bugs {
            let cell = report
                .mutations
                .iter()
                .find(|m| &m.claim == claim && &m.bug == bug)
                .map_or("", |m| m.outcome.label());
            rec.push(cell.to_string());
        }
        b.push_record(rec.into_iter().map(|c| no_controls(&c)));
    }
    let mut t = b.build();
    t.with(Style::rounded());
    if color {
        for (i, claim) in claims.iter().enumerate() {
            for (j, bug) in bugs.iter().enumerate() {
                let m = report
                    .mutations
                    .iter()
                    .find(|m| &m.claim == claim && &m.bug == bug);
                let paint = match m.map(|m| m.outcome) {
                    Some(MutationOutcome::Caught) => Color::FG_GREEN,
                    Some(MutationOutcome::Vacuous) => Color::FG_RED | Color::BOLD,
                    _ => Color::FG_YELLOW,
                };
                t.modify(Cell::new(i + 1, j + 1), paint);
            }
        }
    }
    format!("mutations (each claim must FAIL under its bug):\n{t}\n")
}
