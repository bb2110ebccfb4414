//! The conformance dashboard: claims grouped by area as coloured tiles, each with its measured
//! figure drawn against its bound to scale, and the claim × bug (mutation) matrix.
//!
//! Contract: pure, byte-identical for equal input, every piece of user text escaped; the SVG
//! gauges carry no `xmlns` and no script.

use crate::model::{ClaimRow, Comparison, Conformance, Figure, MutationOutcome, Status};
use crate::text::{escape_html as esc, figure_text, fmt_num, matrix_axes, shorten};
use std::fmt::Write;

/// The areas of AURORA.md's claims table, then the claims beyond it (C21 on), in the order the
/// dashboard shows them.
pub const AREAS: [(&str, &[&str]); 8] = [
    ("storage and quorums", &["C1", "C2", "C8"]),
    ("commit", &["C3", "C5", "C6"]),
    ("recovery", &["C4", "C7"]),
    ("replicas", &["C9", "C10"]),
    ("failover", &["C11", "C12", "C13"]),
    ("time travel", &["C14", "C15", "C16"]),
    ("global", &["C17", "C18", "C19", "C20"]),
    (
        "the rest of Aurora",
        &["C21", "C22", "C23", "C24", "C25", "C26", "C27"],
    ),
];

/// The area a claim id belongs to; `"other"` for ids outside AURORA.md's table.
pub fn area_of(claim: &str) -> &'static str {
    AREAS
        .iter()
        .find(|(_, ids)| ids.iter().any(|c| c.eq_ignore_ascii_case(claim)))
        .map_or("other", |(name, _)| name)
}

/// CSS class of a status: `pass`, `fail`, `nc` (not covered), `vac` (vacuous).
pub fn status_class(status: &Status) -> &'static str {
    match status {
        Status::Pass => "pass",
        Status::Fail => "fail",
        Status::NotCovered { .. } => "nc",
        Status::Vacuous { .. } => "vac",
    }
}

/// Relative link of a claim's own page: `claims/<id>.html` (id reduced to `[A-Za-z0-9_-]`).
pub fn claim_href(claim: &str) -> String {
    format!("claims/{}.html", file_stem(claim))
}

/// `claim` with every character outside `[A-Za-z0-9-]` replaced by `_`.
pub fn file_stem(claim: &str) -> String {
    claim
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The dashboard: one block per area holding its claims' tiles (claims in report order); claims
/// whose id is in no area are shown under "other". Each tile links to the claim's page.
pub fn dashboard(out: &mut String, report: &Conformance) {
    out.push_str("<div class=\"dash\" id=\"dashboard\">\n");
    let mut areas: Vec<&str> = AREAS.iter().map(|(a, _)| *a).collect();
    areas.push("other");
    for area in areas {
        let rows: Vec<&ClaimRow> = report
            .rows
            .iter()
            .filter(|r| area_of(&r.claim) == area)
            .collect();
        if rows.is_empty() {
            continue;
        }
        let passed = rows.iter().filter(|r| r.status == Status::Pass).count();
        let _ = writeln!(
            out,
            "<div class=\"area\"><h3>{} <span class=\"note\">{passed} of {} pass</span></h3>\
             <div class=\"tiles\">",
            esc(area),
            rows.len()
        );
        for row in rows {
            tile(out, row);
        }
        out.push_str("</div></div>\n");
    }
    out.push_str("</div>\n");
}

fn tile(out: &mut String, row: &ClaimRow) {
    let class = status_class(&row.status);
    let _ = write!(
        out,
        "<a class=\"tile {class}\" href=\"{}\" title=\"{}\"><div class=\"tid\">{} \
         <span class=\"tst\">{}</span></div><div class=\"tw\">{}</div>",
        claim_href(&row.claim),
        esc(&row.wording),
        esc(&row.claim),
        row.status.label(),
        esc(&shorten(&row.wording, 90))
    );
    match (
        &row.status,
        row.scenario.as_ref().and_then(|s| s.figure.as_ref()),
    ) {
        (Status::NotCovered { reason }, _) => {
            let _ = write!(out, "<div class=\"tr\">{}</div>", esc(&shorten(reason, 80)));
        }
        (_, Some(fig)) => {
            out.push_str(&gauge_svg(fig, 230.0));
            let _ = write!(
                out,
                "<div class=\"tf\">{}: {}</div>",
                esc(&shorten(&fig.name, 60)),
                esc(&figure_text(fig))
            );
        }
        (Status::Vacuous { reason }, None) => {
            let _ = write!(out, "<div class=\"tr\">{}</div>", esc(&shorten(reason, 80)));
        }
        _ => out.push_str("<div class=\"tr\">no figure</div>"),
    }
    out.push_str("</a>\n");
}

/// A figure against its bound, to scale on a linear axis from 0 (or the smallest value) to a
/// little past the larger of the two: the region the claim allows is shaded green, the bound is a
/// dark tick, the value a bar (green when it holds, red when not). NaN values draw no bar and say
/// so. Width in pixels; the height is fixed (34).
pub fn gauge_svg(fig: &Figure, width: f64) -> String {
    let (l, r) = (6.0, width - 6.0);
    let finite = |x: f64| if x.is_finite() { x } else { 0.0 };
    let (v, b) = (finite(fig.value), finite(fig.bound));
    let lo = v.min(b).min(0.0);
    let hi = v.max(b).max(lo + 1e-9);
    let span = if hi - lo <= 1e-9 {
        1.0
    } else {
        (hi - lo) * 1.15
    };
    let x = |t: f64| l + (t - lo) / span * (r - l);
    let mut s = format!(
        "<svg class=\"gauge\" width=\"{width:.0}\" height=\"34\" viewBox=\"0 0 {width:.0} 34\" \
         font-family=\"sans-serif\" font-size=\"10\">"
    );
    let (a0, a1) = match fig.comparison {
        Comparison::Le => (x(lo), x(b)),
        Comparison::Ge => (x(b), r),
        Comparison::Eq => (x(b) - 1.5, x(b) + 1.5),
    };
    let _ = write!(
        s,
        "<rect x=\"{l:.1}\" y=\"6\" width=\"{:.1}\" height=\"12\" fill=\"#eee\"/>\
         <rect class=\"allowed\" x=\"{a0:.1}\" y=\"6\" width=\"{:.1}\" height=\"12\" fill=\"#cdebc9\"/>",
        r - l,
        (a1 - a0).max(1.0)
    );
    let holds = fig.holds();
    if fig.value.is_finite() {
        let (x0, x1) = (x(lo.max(0.0).min(v)), x(v));
        let colour = if holds { "#2a9d2a" } else { "#c62828" };
        let _ = write!(
            s,
            "<rect class=\"value\" x=\"{:.1}\" y=\"9\" width=\"{:.1}\" height=\"6\" fill=\"{colour}\"/>\
             <circle cx=\"{x1:.1}\" cy=\"12\" r=\"3.5\" fill=\"{colour}\"/>",
            x0.min(x1),
            (x1 - x0).abs().max(0.5)
        );
    } else {
        s.push_str("<text x=\"10\" y=\"16\" fill=\"#c62828\">value is NaN</text>");
    }
    let xb = x(b);
    let _ = write!(
        s,
        "<line class=\"bound\" x1=\"{xb:.1}\" y1=\"2\" x2=\"{xb:.1}\" y2=\"22\" stroke=\"#222\" \
         stroke-width=\"2\"/><text x=\"{l:.1}\" y=\"32\" fill=\"#555\">{}</text>\
         <text x=\"{r:.1}\" y=\"32\" fill=\"#555\" text-anchor=\"end\">bound {} {}</text></svg>",
        fmt_num(lo),
        fig.comparison.as_str(),
        esc(&format!("{}{}", fmt_num(fig.bound), unit_suffix(&fig.unit)))
    );
    s
}

fn unit_suffix(unit: &str) -> String {
    if unit.is_empty() {
        String::new()
    } else {
        format!(" {unit}")
    }
}

/// The claim × bug matrix as an HTML table (claims down, bugs across), cells coloured by outcome;
/// nothing when the report has no mutation rows. Hovering a cell shows the bug's description and
/// the figure measured under it.
pub fn mutation_matrix(out: &mut String, report: &Conformance) {
    if report.mutations.is_empty() {
        return;
    }
    let (claims, bugs) = matrix_axes(&report.mutations);
    out.push_str(
        "<h2 id=\"mutations\">Mutations: claim × bug</h2>\n<p class=\"note\">Each claim is rerun \
         with a known bug switched on and must FAIL (<b>caught</b>). A claim that still passes \
         under its bug is <b>VACUOUS</b>: its checks cannot see what they are meant to catch.</p>\n\
         <table class=\"matrix\">\n<tr><th>claim \\ bug</th>",
    );
    for bug in &bugs {
        let desc = report
            .mutations
            .iter()
            .find(|m| &m.bug == bug)
            .map_or("", |m| m.bug_description.as_str());
        let _ = write!(
            out,
            "<th title=\"{}\"><code>{}</code></th>",
            esc(desc),
            esc(bug)
        );
    }
    out.push_str("</tr>\n");
    for claim in &claims {
        let _ = write!(
            out,
            "<tr><th><a href=\"{}\">{}</a></th>",
            claim_href(claim),
            esc(claim)
        );
        for bug in &bugs {
            match report
                .mutations
                .iter()
                .find(|m| &m.claim == claim && &m.bug == bug)
            {
                None => out.push_str("<td class=\"empty\"></td>"),
                Some(m) => {
                    let class = match m.outcome {
                        MutationOutcome::Caught => "caught",
                        MutationOutcome::Vacuous => "vac",
                        MutationOutcome::NotRun => "nc",
                    };
                    let fig = m.figure.as_ref().map_or("no figure".to_string(), |f| {
                        format!("{}: {}", f.name, figure_text(f))
                    });
                    let _ = write!(
                        out,
                        "<td class=\"{class}\" title=\"{}; {}; seeds {}\">{}</td>",
                        esc(&m.bug_description),
                        esc(&fig),
                        crate::text::seeds_text(&m.seeds),
                        m.outcome.label()
                    );
                }
            }
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_aurora_claim_has_an_area() {
        for n in 1..=20 {
            assert_ne!(area_of(&format!("C{n}")), "other", "C{n}");
        }
        assert_eq!(area_of("C99"), "other");
    }

    #[test]
    fn gauge_draws_value_and_bound_to_scale() {
        let fig = Figure {
            name: "rto".into(),
            value: 15.0,
            bound: 30.0,
            unit: "s".into(),
            comparison: Comparison::Le,
        };
        let svg = gauge_svg(&fig, 236.0);
        // Axis 0..34.5 over 224 px: the value sits at 6 + 15/34.5*224, the bound at twice that.
        assert!(svg.contains("cx=\"103.4\""), "{svg}");
        assert!(svg.contains("x1=\"200.8\""), "{svg}");
        let nan = Figure {
            value: f64::NAN,
            ..fig
        };
        assert!(gauge_svg(&nan, 236.0).contains("value is NaN"));
    }
}
