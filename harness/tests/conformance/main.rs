//! The conformance suite, end to end: it runs every scenario, snapshot-tests the JSON and Markdown
//! reports (insta; the run date redacted), and requires the committed `results/conformance/` to be
//! exactly what the suite produces now.
//!
//! After an intended change in behaviour, regenerate both:
//! `cargo run --release -- suite --mutations` and `INSTA_UPDATE=always cargo test --release -p harness --test conformance`,
//! or in one pass (the suite runs once): `AURORA_CHAOS_UPDATE_RESULTS=1 INSTA_UPDATE=always cargo
//! test --release -p harness --test conformance`, which writes `results/conformance/` with today's
//! date before comparing.

use std::path::PathBuf;

fn committed_dir() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../results/conformance"
    ))
}

#[test]
fn suite_report_matches_snapshots_and_committed_results() {
    let dir = committed_dir();
    // Reuse the committed run date so that the three files can be compared byte for byte.
    let committed_json = std::fs::read_to_string(dir.join("report.json")).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run `cargo run --release -- suite --mutations` and commit results/conformance)",
            dir.display()
        )
    });
    let committed =
        report::Conformance::from_json(&committed_json).expect("committed report.json parses");
    // With the mutation runs: the committed matrix must be reproduced too.
    let update = std::env::var_os("AURORA_CHAOS_UPDATE_RESULTS").is_some();
    let generated = if update {
        harness::suite::today()
    } else {
        committed.generated.clone()
    };
    let c = harness::suite::run_suite(&[], &generated, true, |_| {});
    if update {
        harness::suite::write_reports(&dir, &c).expect("write results/conformance");
    }

    insta::assert_snapshot!(
        "REPORT.md",
        report::render_markdown(&c).replace(&c.generated, "[date]")
    );
    let mut json: serde_json::Value = serde_json::from_str(&report::render_json(&c)).expect("json");
    for row in json["rows"].as_array_mut().expect("rows") {
        if let Some(s) = row.get_mut("scenario").and_then(|s| s.as_object_mut()) {
            s.insert(
                "timeline".into(),
                serde_json::json!("[timeline: see report.json]"),
            );
        }
    }
    insta::assert_json_snapshot!("report.json", json, {".generated" => "[date]"});

    let mut stale = Vec::new();
    for (name, fresh) in [
        ("REPORT.md", report::render_markdown(&c)),
        ("report.json", report::render_json(&c)),
        ("report.html", report::render_html(&c)),
    ] {
        let old = std::fs::read_to_string(dir.join(name)).unwrap_or_default();
        if old != fresh {
            stale.push(name);
        }
    }
    assert!(
        stale.is_empty(),
        "results/conformance/{{{}}} differ from what the suite produces now; regenerate with `cargo run --release -- suite --mutations` and commit",
        stale.join(",")
    );
    assert_eq!(c.summary.fail, 0, "{}", report::render_terminal(&c, false));
}
