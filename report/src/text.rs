//! Small text helpers shared by the renderers: fixed number formatting, escaping, shortening.
//!
//! Every function here is pure and locale-independent, so equal inputs give byte-identical text.

use crate::model::{CheckRow, ClaimRow, Figure, MutationRow, OpCounts, Status};

/// Formats a number with fixed rules: integers without a fraction, others with at most three
/// decimals (trailing zeros trimmed); `NaN`, `inf`, `-inf` spelled out.
pub fn fmt_num(x: f64) -> String {
    if x.is_nan() {
        return "NaN".to_string();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.to_string();
    }
    let s = format!("{x:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".to_string()
    } else {
        s.to_string()
    }
}

/// Escapes `& < > " '` for HTML text and attribute values (SVG too).
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Replaces control characters other than newline (ANSI escapes, tabs, carriage returns) with
/// `\u{FFFD}`, so user-supplied text cannot move the cursor or colour a terminal.
pub fn no_controls(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_control() && c != '\n' {
                '\u{FFFD}'
            } else {
                c
            }
        })
        .collect()
}

/// Shortens to at most `max` characters (not bytes), ending with `…` when cut.
pub fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// `"ok/fail/info"`, e.g. `"1204/3/7"`.
pub fn ops_text(ops: &OpCounts) -> String {
    format!("{}/{}/{}", ops.ok, ops.fail, ops.info)
}

/// `"412 ms <= 30000 ms ✓"`-style text, with ASCII comparison and `ok`/`MISSED` suffix.
pub fn figure_text(fig: &Figure) -> String {
    let unit = if fig.unit.is_empty() {
        String::new()
    } else {
        format!(" {}", fig.unit)
    };
    format!(
        "{}{unit} {} {}{unit} ({})",
        fmt_num(fig.value),
        fig.comparison.as_str(),
        fmt_num(fig.bound),
        if fig.holds() { "met" } else { "MISSED" }
    )
}

/// `"name = value"`-style long form: `"acknowledged commits lost: 0 == 0 (met)"`.
pub fn figure_long(fig: &Figure) -> String {
    format!("{}: {}", fig.name, figure_text(fig))
}

/// `"linearizable valid, bank invalid, perf unknown (advisory)"`.
pub fn verdicts_text(checks: &[CheckRow]) -> String {
    if checks.is_empty() {
        return "—".to_string();
    }
    checks
        .iter()
        .map(|c| {
            let adv = if c.advisory { " (advisory)" } else { "" };
            format!("{} {}{adv}", c.name, c.verdict.as_str())
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The scenario column: `"name (workload; nemesis)"`; for a claim without a scenario the reason it
/// is not covered, or `"—"`.
pub fn scenario_text(row: &ClaimRow) -> String {
    match (&row.scenario, &row.status) {
        (Some(sc), _) => format!("{} ({}; {})", sc.name, sc.workload, sc.nemesis),
        (None, Status::NotCovered { reason } | Status::Vacuous { reason }) => reason.clone(),
        (None, _) => "—".to_string(),
    }
}

/// The claim × bug matrix's axes: claims and bugs in order of first appearance in `rows`.
pub fn matrix_axes(rows: &[MutationRow]) -> (Vec<String>, Vec<String>) {
    let mut claims: Vec<String> = Vec::new();
    let mut bugs: Vec<String> = Vec::new();
    for m in rows {
        if !claims.contains(&m.claim) {
            claims.push(m.claim.clone());
        }
        if !bugs.contains(&m.bug) {
            bugs.push(m.bug.clone());
        }
    }
    (claims, bugs)
}

/// Seeds joined by commas.
pub fn seeds_text(seeds: &[u64]) -> String {
    seeds
        .iter()
        .map(|s| s.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The schedule as compact one-line JSON (sorted object keys), cut to `max` characters.
pub fn schedule_compact(schedule: &serde_json::Value, max: usize) -> String {
    shorten(&schedule.to_string(), max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_have_fixed_form() {
        assert_eq!(fmt_num(0.0), "0");
        assert_eq!(fmt_num(-0.0), "0");
        assert_eq!(fmt_num(30000.0), "30000");
        assert_eq!(fmt_num(12.5), "12.5");
        assert_eq!(fmt_num(1.0 / 3.0), "0.333");
        assert_eq!(fmt_num(f64::NAN), "NaN");
        assert_eq!(fmt_num(f64::NEG_INFINITY), "-inf");
    }

    #[test]
    fn escaping_covers_markup() {
        assert_eq!(
            escape_html("<script>a&'b\"</script>"),
            "&lt;script&gt;a&amp;&#39;b&quot;&lt;/script&gt;"
        );
    }

    #[test]
    fn shorten_counts_chars() {
        assert_eq!(shorten("abc", 3), "abc");
        assert_eq!(shorten("abcdef", 4), "abc…");
        assert_eq!(shorten("ééééé", 3), "éé…");
    }
}
