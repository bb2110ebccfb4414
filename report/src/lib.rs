//! Conformance reports for aurora-chaos, in four formats from one data model.
//!
//! The harness turns its run results into a [`Conformance`] (one [`ClaimRow`] per claim of
//! AURORA.md, covered or not) and hands it to the renderers:
//!
//! | function | output | for |
//! |---|---|---|
//! | [`render_terminal`] | `tabled` summary table, ANSI colour only on request | stdout |
//! | [`render_markdown`] | header, summary, table, a section per claim | `REPORT.md` |
//! | [`render_json`] | the model itself, pretty JSON | `report.json` |
//! | [`render_html`] | the dashboard: tiles by area, figures to scale, mutation matrix | `report.html` |
//! | [`render_claim_page`] | one claim: checks, explanations, timeline, latency and rate plots | `claims/<id>.html` |
//!
//! [`write_dir`] writes `REPORT.md`, `report.json`, `report.html` and `claims/*.html` into a
//! directory. [`run_page`] renders the page of a single run (`report.html` in a run directory),
//! with pictures of anomalies from [`anomaly`].
//!
//! Contract shared by every renderer: a pure function of its input, byte-identical output for equal
//! input (no map iteration order, fixed number formatting, no clock reads). The only field that
//! differs between two runs of the same suite is [`Conformance::generated`], which renderers print
//! once in the header and snapshot tests redact. User-supplied text (wording, labels,
//! explanations) is escaped for each format; the HTML pages contain no script and no URL other
//! than relative links between the pages of one directory.
//!
//! ```
//! use report::{render_json, render_markdown, Conformance, Summary};
//! let c = Conformance::new("aurora-chaos conformance", "2026-01-01", report::sample::rows());
//! assert_eq!(c.summary, Summary::of(&c.rows));
//! assert_eq!(Conformance::from_json(&render_json(&c)).ok(), Some(c.clone()));
//! assert!(render_markdown(&c).contains("not yet covered"));
//! ```
//!
//! This crate depends on neither the harness nor the reference implementation: it only knows the
//! data model in [`model`]. With the `checkers` feature it also converts `checkers::Verdict` into
//! a [`CheckRow`] (`CheckRow::from_verdict`).

pub mod anomaly;
pub mod dashboard;
pub mod figures;
#[cfg(feature = "checkers")]
mod from_checkers;
pub mod html;
pub mod lag;
pub mod markdown;
pub mod metrics_plot;
pub mod model;
pub mod plots;
pub mod plots_f;
pub mod run_page;
pub mod sample;
pub mod terminal;
pub mod text;
pub mod timeline;

pub use html::{html_pages, render_claim_page, render_html};
pub use lag::LagSeries;
pub use markdown::render_markdown;
pub use model::{
    CheckRow, ClaimRow, Comparison, Conformance, FaultBand, Figure, MutationOutcome, MutationRow,
    OpCounts, OpKind, Overall, ScenarioResult, Status, Summary, Timeline, TimelineOp, Verdict,
};
pub use run_page::{render_run_page, RunPage};
pub use terminal::render_terminal;

/// Renders the model as pretty JSON (two-space indent, fields in declaration order, object keys
/// of `schedule` sorted), ending with a newline. [`Conformance::from_json`] reads it back.
///
/// Never panics: the model always serializes (non-finite floats become `null`); should serde_json
/// ever refuse, the output is a JSON object `{"error": …}` instead.
pub fn render_json(report: &Conformance) -> String {
    match serde_json::to_string_pretty(report) {
        Ok(mut s) => {
            s.push('\n');
            s
        }
        Err(e) => format!("{}\n", serde_json::json!({ "error": e.to_string() })),
    }
}

/// The top-level file names [`write_dir`] uses, in the order it writes them (the claim pages
/// under `claims/` follow).
pub const FILE_NAMES: [&str; 3] = ["REPORT.md", "report.json", "report.html"];

/// Writes `REPORT.md`, `report.json`, `report.html` and `claims/<id>.html` (one per row) into
/// `dir` (created if missing), replacing previous files and removing stale `claims/*.html`, and
/// returns the paths: [`FILE_NAMES`] order first, then the claim pages in row order. The only
/// I/O in this crate; the renderers themselves are pure.
pub fn write_dir(
    report: &Conformance,
    dir: &std::path::Path,
) -> std::io::Result<Vec<std::path::PathBuf>> {
    std::fs::create_dir_all(dir.join("claims"))?;
    let mut files = vec![
        ("REPORT.md".to_string(), render_markdown(report)),
        ("report.json".to_string(), render_json(report)),
    ];
    files.extend(html_pages(report));
    let keep: Vec<std::path::PathBuf> = files.iter().map(|(n, _)| dir.join(n)).collect();
    for entry in std::fs::read_dir(dir.join("claims"))? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "html") && !keep.contains(&path) {
            std::fs::remove_file(&path)?;
        }
    }
    let mut paths = Vec::new();
    for (name, body) in files {
        let path = dir.join(name);
        std::fs::write(&path, body)?;
        paths.push(path);
    }
    Ok(paths)
}
