//! `REPORT.md`: header, summary line, the claims table, then one short section per claim.

use crate::model::{ClaimRow, Conformance, MutationOutcome, ScenarioResult, Status};
use crate::text::{
    figure_long, figure_text, ops_text, scenario_text, schedule_compact, seeds_text, verdicts_text,
};
use std::fmt::Write;

/// Longest schedule (compact JSON characters) printed in a claim's section.
const SCHEDULE_MAX: usize = 2000;

/// Renders the report as GitHub-flavoured Markdown.
///
/// Contract: pure and byte-identical for equal input; `generated` appears on one line only
/// (`Generated: …`). Every row appears in the table and gets a section; not-covered claims say why.
/// User text is escaped for table cells, and free text (explanations, repro, schedule) goes into
/// fenced blocks whose fence is longer than any backtick run inside, so it cannot break the page.
pub fn render_markdown(report: &Conformance) -> String {
    let mut out = String::new();
    let s = &report.summary;
    let _ = writeln!(out, "# {}\n", inline(&report.title));
    let _ = writeln!(out, "Generated: {}\n", inline(&report.generated));
    let line = report.overall_line();
    let (head, rest) = line.split_once(": ").unwrap_or((&line, ""));
    let _ = writeln!(
        out,
        "**{head}**: {}; ops {} ok / {} fail / {} info.\n",
        inline(rest),
        s.ops.ok,
        s.ops.fail,
        s.ops.info
    );
    out.push_str(
        "| Claim | Wording | Scenario | Ops ok/fail/info | Verdicts | Figure vs bound | Result |\n",
    );
    out.push_str("|---|---|---|---|---|---|---|\n");
    for row in &report.rows {
        table_row(&mut out, row);
    }
    mutations(&mut out, report);
    out.push_str("\n## Claims\n");
    for row in &report.rows {
        section(&mut out, row);
    }
    out
}

/// The claim × bug matrix as a table, one row per (claim, bug); nothing when there are none.
fn mutations(out: &mut String, report: &Conformance) {
    if report.mutations.is_empty() {
        return;
    }
    out.push_str(
        "\n## Mutations (claim × bug)\n\nEach claim rerun with a known bug switched on must FAIL \
         (`caught`); a claim that still passes is `VACUOUS`.\n\n\
         | Claim | Bug | What the bug does | Seeds | Figure under the bug | Outcome |\n\
         |---|---|---|---|---|---|\n",
    );
    for m in &report.mutations {
        let outcome = match m.outcome {
            MutationOutcome::Caught => "caught".to_string(),
            MutationOutcome::Vacuous => "**VACUOUS**".to_string(),
            MutationOutcome::NotRun => "_not run_".to_string(),
        };
        let _ = writeln!(
            out,
            "| {} | `{}` | {} | {} | {} | {} |",
            inline(&m.claim),
            code_safe(&m.bug),
            inline(&m.bug_description),
            seeds_text(&m.seeds),
            inline(&m.figure.as_ref().map_or("—".to_string(), figure_text)),
            outcome
        );
    }
}

fn table_row(out: &mut String, row: &ClaimRow) {
    let (ops, verdicts, figure) = match &row.scenario {
        Some(sc) => (
            ops_text(&sc.ops),
            verdicts_text(&sc.checks),
            sc.figure.as_ref().map_or("—".to_string(), figure_text),
        ),
        None => ("—".into(), "—".into(), "—".into()),
    };
    let result = match row.status {
        Status::Pass => "PASS".to_string(),
        Status::Fail => "**FAIL**".to_string(),
        Status::NotCovered { .. } => "_not yet covered_".to_string(),
        Status::Vacuous { .. } => "**VACUOUS**".to_string(),
    };
    let _ = writeln!(
        out,
        "| {} | {} | {} | {} | {} | {} | {} |",
        inline(&row.claim),
        inline(&row.wording),
        inline(&scenario_text(row)),
        ops,
        inline(&verdicts),
        inline(&figure),
        result
    );
}

fn section(out: &mut String, row: &ClaimRow) {
    let _ = writeln!(
        out,
        "\n### {}: {}\n",
        inline(&row.claim),
        inline(&row.wording)
    );
    match (&row.status, &row.scenario) {
        (Status::NotCovered { reason }, _) => {
            let _ = writeln!(out, "_Not yet covered_: {}", inline(reason));
        }
        (Status::Vacuous { reason }, sc) => {
            let _ = writeln!(out, "**VACUOUS**: {}\n", inline(reason));
            if let Some(sc) = sc {
                scenario_section(out, &row.status, sc);
            }
        }
        (status, Some(sc)) => scenario_section(out, status, sc),
        (status, None) => {
            let _ = writeln!(out, "**{}** (no scenario recorded)", status.label());
        }
    }
}

fn scenario_section(out: &mut String, status: &Status, sc: &ScenarioResult) {
    let _ = writeln!(
        out,
        "**{}**. Scenario `{}`: workload {}, nemesis {}, seeds {}; ops {} ok / {} fail / {} info.\n",
        status.label(),
        code_safe(&sc.name),
        inline(&sc.workload),
        inline(&sc.nemesis),
        seeds_text(&sc.seeds),
        sc.ops.ok,
        sc.ops.fail,
        sc.ops.info
    );
    if let Some(fig) = &sc.figure {
        let _ = writeln!(out, "Figure: {}\n", inline(&figure_long(fig)));
    }
    out.push_str("Schedule:\n\n");
    out.push_str(&fenced(
        &schedule_compact(&sc.schedule, SCHEDULE_MAX),
        "json",
    ));
    if !sc.checks.is_empty() {
        out.push_str("\n| Check | Verdict | Advisory | Summary |\n|---|---|---|---|\n");
        for c in &sc.checks {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                inline(&c.name),
                c.verdict.as_str(),
                if c.advisory { "yes" } else { "no" },
                inline(&c.summary)
            );
        }
    }
    if !sc.explanations.is_empty() {
        out.push_str("\nExplanations:\n");
        for e in &sc.explanations {
            out.push('\n');
            out.push_str(&fenced(e, "text"));
        }
    }
    out.push_str("\nReproduce:\n\n");
    out.push_str(&fenced(&sc.repro, "sh"));
}

/// Escapes text for a table cell or a line: no newlines, no `|`, no raw HTML tag.
fn inline(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            '|' => out.push_str("\\|"),
            // Only a `<` that could open a tag or comment is escaped, so `<=` stays readable.
            '<' if chars
                .peek()
                .is_some_and(|n| n.is_ascii_alphabetic() || "/!?".contains(*n)) =>
            {
                out.push_str("&lt;")
            }
            '\n' | '\r' => out.push(' '),
            _ => out.push(c),
        }
    }
    out
}

/// Text for inside a single-backtick code span (backticks and newlines replaced).
fn code_safe(s: &str) -> String {
    s.replace('`', "'").replace(['\n', '\r'], " ")
}

/// A fenced code block whose fence is longer than any backtick run in `body`.
fn fenced(body: &str, lang: &str) -> String {
    let mut longest = 0;
    let mut run = 0;
    for c in body.chars() {
        if c == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    let fence = "`".repeat((longest + 1).max(3));
    format!("{fence}{lang}\n{}\n{fence}\n", body.trim_end_matches('\n'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fence_outgrows_backticks() {
        assert_eq!(fenced("a", "sh"), "```sh\na\n```\n");
        assert_eq!(fenced("x ```` y", ""), "`````\nx ```` y\n`````\n");
    }

    #[test]
    fn inline_escapes_cells() {
        assert_eq!(inline("a|b\n<c> <= 3"), "a\\|b &lt;c> <= 3");
    }
}
