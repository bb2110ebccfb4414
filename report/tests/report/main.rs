//! Renderer tests on the fixed sample report: snapshots of Markdown and JSON, and properties of the
//! HTML page and the terminal table.

use report::{
    render_html, render_json, render_markdown, render_terminal, sample, ClaimRow, Comparison,
    Conformance, Figure, OpKind, Status, Summary,
};

/// The sample with a `generated` value that changes between runs, so the redaction is exercised.
fn sample_now() -> Conformance {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    Conformance::new(
        "aurora-chaos conformance (sample)",
        format!("run at unix-ns {secs}"),
        sample::rows(),
    )
}

fn timelines(c: &Conformance) -> usize {
    c.rows
        .iter()
        .filter(|r| r.scenario.as_ref().is_some_and(|s| s.timeline.is_some()))
        .count()
}

#[test]
fn markdown_snapshot() {
    let c = sample_now();
    let md = render_markdown(&c);
    assert_eq!(
        md.matches(&c.generated).count(),
        1,
        "generated printed once"
    );
    insta::assert_snapshot!(md.replace(&c.generated, "[generated]"));
}

#[test]
fn json_snapshot() {
    let c = sample_now();
    let value: serde_json::Value = serde_json::from_str(&render_json(&c)).expect("valid JSON");
    insta::assert_json_snapshot!(value, { ".generated" => "[generated]" });
}

#[test]
fn json_round_trips_and_is_stable() {
    let c = sample::report(20);
    let text = render_json(&c);
    assert!(
        text.starts_with("{\n  \"title\": "),
        "pretty, fields in order"
    );
    assert!(text.ends_with("}\n"));
    assert_eq!(Conformance::from_json(&text).ok(), Some(c.clone()));
    assert_eq!(render_json(&c.clone()), text);
}

#[test]
fn summary_counts_rows() {
    let c = sample_now();
    assert_eq!(
        (
            c.summary.claims,
            c.summary.pass,
            c.summary.fail,
            c.summary.not_covered
        ),
        (4, 2, 1, 1)
    );
    assert!(!c.summary.all_pass());
    assert_eq!(c.summary, Summary::of(&c.rows));
    let ops: u64 = c
        .rows
        .iter()
        .filter_map(|r| r.scenario.as_ref())
        .map(|s| s.ops.ok)
        .sum();
    assert_eq!(c.summary.ops.ok, ops);
}

#[test]
fn not_covered_claims_are_listed_everywhere() {
    let c = sample_now();
    let md = render_markdown(&c);
    assert!(md.contains("| C14 |") && md.contains("### C14:"));
    assert!(md.contains("the reference does not implement backtrack yet"));
    assert!(render_terminal(&c, false).contains("not yet covered"));
    assert!(render_html(&c).contains("href=\"claims/C14.html\""));
    let page = report::render_claim_page(&c, &c.rows[3]);
    assert!(page.contains("Not yet covered: the reference does not implement backtrack yet"));
}

#[test]
fn markdown_escapes_table_cells_and_fences_explanations() {
    let c = sample_now();
    let md = render_markdown(&c);
    // The nemesis "partition writer | failover" must not split a table cell.
    assert!(md.contains("partition writer \\| failover"));
    // The explanation with a backtick and <epoch 3> sits in a fenced block, verbatim.
    assert!(md.contains("```text\nStorage node seg-a1 accepted `write` with <epoch 3>"));
    let claim_lines = md
        .lines()
        .filter(|l| l.starts_with("| C") && l[3..].starts_with(|c: char| c.is_ascii_digit()));
    for line in claim_lines {
        assert_eq!(line.matches(" | ").count(), 6, "seven cells: {line}");
    }
}

/// The claim page of `claim` in the sample.
fn claim_page(c: &Conformance, claim: &str) -> String {
    let row = c
        .rows
        .iter()
        .find(|r| r.claim == claim)
        .expect("claim in sample");
    report::render_claim_page(c, row)
}

#[test]
fn html_is_deterministic() {
    let c = sample::report(40);
    let other = Conformance {
        generated: "another day".into(),
        ..c.clone()
    };
    for (name, a) in report::html_pages(&c) {
        let b = report::html_pages(&c.clone())
            .into_iter()
            .find(|(n, _)| *n == name)
            .expect("same pages")
            .1;
        assert_eq!(a, b, "{name}");
        let o = report::html_pages(&other)
            .into_iter()
            .find(|(n, _)| *n == name)
            .expect("same pages")
            .1;
        assert_eq!(
            o.replace("another day", &c.generated),
            a,
            "only the generated field differs in {name}"
        );
    }
}

#[test]
fn dashboard_groups_claims_by_area_and_never_passes_while_uncovered() {
    let c = sample::report(10);
    let html = render_html(&c);
    // Tiles: one per claim, linking to its page, inside its area's block.
    assert_eq!(html.matches("<a class=\"tile ").count(), c.rows.len());
    for (area, claim) in [
        ("storage and quorums", "C1"),
        ("recovery", "C7"),
        ("failover", "C13"),
        ("time travel", "C14"),
    ] {
        let at = html
            .find(&format!("<h3>{area} "))
            .unwrap_or_else(|| panic!("area {area}"));
        let tile = html
            .find(&format!("href=\"claims/{claim}.html\" title="))
            .expect("tile");
        assert!(tile > at, "{claim} tile after the {area} heading");
    }
    // The gauges are the only SVG on the dashboard: one per claim with a figure.
    let figures = c
        .rows
        .iter()
        .filter(|r| r.scenario.as_ref().is_some_and(|s| s.figure.is_some()))
        .count();
    assert_eq!(html.matches("<svg").count(), figures);
    assert!(html.contains("FAIL: 3 of 4 claims shown, 1 not covered; 2 pass, 1 fail, 0 vacuous"));

    // Without the failure the headline is INCOMPLETE, never PASS, while a claim is uncovered.
    let mut rows = sample::rows();
    rows[1].status = Status::Pass;
    let ok = Conformance::new("t", "g", rows.clone());
    assert_eq!(ok.overall(), report::Overall::Incomplete);
    let html = render_html(&ok);
    assert!(
        html.contains("INCOMPLETE: 3 of 4 claims shown, 1 not covered"),
        "{html}"
    );
    assert!(!html.contains(">PASS:"));
    assert!(render_markdown(&ok).contains("**INCOMPLETE**: 3 of 4 claims shown"));
    assert!(render_terminal(&ok, false).contains("INCOMPLETE: 3 of 4 claims shown"));
    // A vacuous claim counts as not passing: the headline says FAIL.
    rows[0].status = Status::Vacuous {
        reason: "passes under ack-before-quorum".into(),
    };
    let vac = Conformance::new("t", "g", rows.clone());
    assert_eq!((vac.summary.vacuous, vac.summary.pass), (1, 2));
    assert_eq!(vac.overall(), report::Overall::Fail);
    assert!(render_html(&vac).contains("badge vac"));
    // Everything covered and passing: PASS.
    rows.truncate(3);
    rows[0].status = Status::Pass;
    let all = Conformance::new("t", "g", rows);
    assert_eq!(all.overall(), report::Overall::Pass);
    assert!(render_html(&all).contains(">PASS: 3 of 3 claims shown, 0 not covered"));
}

#[test]
fn mutation_matrix_renders_in_every_format() {
    use report::{MutationOutcome, MutationRow};
    let mut c = sample::report(5);
    let row = |claim: &str, bug: &str, outcome| MutationRow {
        claim: claim.into(),
        bug: bug.into(),
        bug_description: format!("{bug} <does> things"),
        outcome,
        figure: None,
        seeds: vec![1, 2],
    };
    c.mutations = vec![
        row("C1", "ack-before-quorum", MutationOutcome::Caught),
        row("C7", "no-epoch-fencing", MutationOutcome::Vacuous),
        row("C1", "read-above-vdl", MutationOutcome::NotRun),
    ];
    assert_eq!(
        c.overall(),
        report::Overall::Fail,
        "a vacuous mutation fails the report"
    );
    let html = render_html(&c);
    assert!(html.contains("<table class=\"matrix\">"));
    assert_eq!(html.matches("<td class=\"caught\"").count(), 1);
    assert_eq!(html.matches("<td class=\"vac\"").count(), 1);
    assert_eq!(
        html.matches("<td class=\"empty\">").count(),
        3,
        "pairs never run are empty cells"
    );
    assert!(html.contains("&lt;does&gt;"));
    assert!(claim_page(&c, "C7").contains("no-epoch-fencing"));
    let md = render_markdown(&c);
    assert!(md.contains("## Mutations (claim × bug)"));
    assert!(md.contains("| C7 | `no-epoch-fencing` |") && md.contains("**VACUOUS**"));
    assert!(render_terminal(&c, false).contains("mutations: 1 caught, 1 vacuous, 1 not run"));
    let json = render_json(&c);
    assert!(json.contains("\"outcome\": \"vacuous\""));
    assert_eq!(Conformance::from_json(&json).ok(), Some(c.clone()));
    // Without mutations the key is absent, so older reports stay valid and unchanged.
    assert!(!render_json(&sample::report(5)).contains("mutations"));
}

#[test]
fn claim_pages_have_four_plots_each() {
    let c = sample::report(40);
    assert_eq!(timelines(&c), 2);
    for claim in ["C1", "C7"] {
        let page = claim_page(&c, claim);
        // The gauge, then timeline, latency-raw, quantiles and rate.
        assert_eq!(page.matches("<svg").count(), 5, "{claim}");
        assert_eq!(page.matches("</svg>").count(), 5, "{claim}");
        for id in [
            "fig-timeline",
            "fig-latency-raw",
            "fig-latency-quantiles",
            "fig-rate",
        ] {
            assert!(page.contains(&format!("id=\"{id}\"")), "{claim} {id}");
        }
        assert!(!page.contains("plot failed"));
    }
    let page = claim_page(&c, "C1");
    assert_eq!(
        page.matches(">lose-az</text>").count(),
        1,
        "timeline band label"
    );
    assert_eq!(
        page.matches(">\nlose-az\n</text>").count(),
        3,
        "plot band labels"
    );
    // Quantile lines per :f are labelled in the legend.
    assert!(page.contains("p99"), "quantile legend");
}

#[test]
fn html_escapes_labels_and_is_self_contained() {
    let mut c = sample::report(10);
    c.rows[0].wording = "<img src=x onerror=alert(1)> & \"q\"".into();
    let mut all = String::new();
    for (_, body) in report::html_pages(&c) {
        all.push_str(&body);
    }
    assert!(all.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"));
    assert!(all.contains("&lt;img src=x onerror=alert(1)&gt; &amp; &quot;q&quot;"));
    let lower = all.to_lowercase();
    for banned in [
        "<script", "<img", "http://", "https://", "<link", "@import", "url(", "src=\"",
    ] {
        assert!(!lower.contains(banned), "page contains {banned:?}");
    }
    // Links are relative, between the report's own pages.
    for href in lower.split("href=\"").skip(1) {
        let target = href.split('"').next().unwrap_or_default();
        assert!(
            target.starts_with("claims/") || target == "../report.html" || target.starts_with('#'),
            "link {target}"
        );
    }
}

#[test]
fn html_thins_large_timelines_deterministically() {
    let c = sample::report(4000); // 20,000 ops per timeline
    let page = claim_page(&c, "C1");
    assert_eq!(page, claim_page(&c, "C1"));
    let bars = page.matches("<title>process ").count();
    assert!(bars <= report::plots::MAX_POINTS, "{bars} bars drawn");
    assert!(page.contains("the timeline and latency plots show"));
    assert!(page.len() < 1_500_000, "claim page is {} bytes", page.len());
    let dash = render_html(&c);
    assert!(
        dash.len() < 50_000,
        "dashboard is {} bytes whatever the timelines",
        dash.len()
    );
}

#[test]
fn terminal_without_color_has_no_ansi() {
    let mut c = sample_now();
    c.rows[0].wording.push_str(" \x1b[31mred\x1b[0m");
    let plain = render_terminal(&c, false);
    assert!(!plain.contains('\x1b'), "{plain}");
    for row in &c.rows {
        assert!(
            plain.contains(&format!("│ {} ", row.claim)),
            "row {}",
            row.claim
        );
    }
    assert!(plain.contains("FAIL: 3 of 4 claims shown, 1 not covered; 2 pass, 1 fail, 0 vacuous"));
    assert!(plain.contains("reproduce: aurora-chaos suite --filter C7 --seed 7"));
    let colored = render_terminal(&c, true);
    assert!(
        colored.contains("\x1b[32m"),
        "PASS is green when colour is on"
    );
}

#[test]
fn figures_compare_exactly() {
    let fig = |value, comparison| Figure {
        name: "x".into(),
        value,
        bound: 30.0,
        unit: "s".into(),
        comparison,
    };
    assert!(fig(30.0, Comparison::Le).holds());
    assert!(!fig(30.5, Comparison::Le).holds());
    assert!(fig(31.0, Comparison::Ge).holds());
    assert!(!fig(29.0, Comparison::Eq).holds());
    assert!(!fig(f64::NAN, Comparison::Le).holds());
}

#[test]
fn uncovered_row_without_scenario_renders_in_all_formats() {
    let row = ClaimRow {
        claim: "C20".into(),
        wording: "Global failover RTO".into(),
        status: Status::NotCovered {
            reason: "no global database".into(),
        },
        scenario: None,
    };
    let c = Conformance::new("t", "g", vec![row]);
    assert!(c.summary.all_pass());
    for out in [
        render_markdown(&c),
        render_terminal(&c, false),
        render_html(&c),
        render_json(&c),
    ] {
        assert!(out.contains("C20"));
    }
    assert!(!render_html(&c).contains("<svg"));
    let _ = OpKind::ALL;
}

/// Drops `ESC [ … letter` sequences.
fn strip_ansi(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for n in chars.by_ref() {
                if n.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[test]
fn colour_changes_nothing_but_escapes() {
    let c = sample_now();
    let colored = render_terminal(&c, true);
    assert_ne!(colored, render_terminal(&c, false));
    assert_eq!(strip_ansi(&colored), render_terminal(&c, false));
}

#[test]
fn hostile_timelines_render_without_panicking() {
    use report::{FaultBand, Timeline, TimelineOp};
    let op = |process, start_ms, end_ms, kind| TimelineOp {
        process,
        start_ms,
        end_ms,
        kind,
        f: "f".into(),
        label: "l".into(),
    };
    let cases = vec![
        Timeline {
            lags: Vec::new(),
            ops: vec![],
            faults: vec![],
            end_ms: 0.0,
        },
        Timeline {
            lags: Vec::new(),
            ops: vec![
                op(i64::MIN, f64::NAN, 5.0, OpKind::Ok),
                op(i64::MAX, -50.0, -60.0, OpKind::Fail),
                op(-1, 0.0, f64::INFINITY, OpKind::Info),
                op(3, 1e300, 1e300, OpKind::Ok),
            ],
            faults: vec![
                FaultBand {
                    start_ms: f64::NAN,
                    end_ms: 3.0,
                    name: "<b>nan</b>".into(),
                },
                FaultBand {
                    start_ms: 10.0,
                    end_ms: 5.0,
                    name: "backwards".into(),
                },
            ],
            end_ms: f64::NEG_INFINITY,
        },
    ];
    for tl in cases {
        let mut c = sample::report(2);
        if let Some(sc) = c.rows[0].scenario.as_mut() {
            sc.timeline = Some(tl);
        }
        let html = claim_page(&c, "C1");
        assert_eq!(html, claim_page(&c, "C1"));
        assert!(!html.contains("plot failed"), "a plot failed");
        assert_eq!(html.matches("<svg").count(), 5);
        assert!(!html.contains("<b>nan"));
        assert!(html.len() < 1_000_000);
    }
}

#[test]
fn write_dir_writes_the_three_files() -> std::io::Result<()> {
    let dir = std::env::temp_dir().join(format!("report-test-{}", std::process::id()));
    let c = sample::report(5);
    // A stale claim page from an earlier report is removed.
    std::fs::create_dir_all(dir.join("conformance/claims"))?;
    std::fs::write(dir.join("conformance/claims/C99.html"), "old")?;
    let paths = report::write_dir(&c, &dir.join("conformance"))?;
    assert_eq!(paths.len(), 3 + c.rows.len());
    assert_eq!(std::fs::read_to_string(&paths[0])?, render_markdown(&c));
    assert_eq!(std::fs::read_to_string(&paths[1])?, render_json(&c));
    assert_eq!(std::fs::read_to_string(&paths[2])?, render_html(&c));
    assert_eq!(std::fs::read_to_string(&paths[3])?, claim_page(&c, "C1"));
    assert!(!dir.join("conformance/claims/C99.html").exists());
    std::fs::remove_dir_all(&dir)
}

/// The committed conformance pages are exactly what the committed `report.json` renders to, and
/// the dashboard stays under the size bound (1.5 MB; it holds no plot).
#[test]
fn committed_conformance_pages_match_committed_json() {
    let dir = std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../results/conformance"
    ));
    let Ok(json) = std::fs::read_to_string(dir.join("report.json")) else {
        panic!(
            "{}: missing (run `cargo run --release -- suite`)",
            dir.display()
        );
    };
    let c = Conformance::from_json(&json).expect("committed report.json parses");
    let mut stale = Vec::new();
    for (name, body) in report::html_pages(&c) {
        if std::fs::read_to_string(dir.join(&name)).ok().as_deref() != Some(body.as_str()) {
            stale.push(name);
        }
    }
    assert!(
        stale.is_empty(),
        "stale pages (regenerate with `cargo run --release -- suite`): {stale:?}"
    );
    let size = std::fs::metadata(dir.join("report.html"))
        .expect("report.html")
        .len();
    assert!(size < 1_500_000, "report.html is {size} bytes");
}
