//! Run pages and `serve`: every run's `report.html` shows its outcome, repro, checks, schedule,
//! timeline (invocation and completion values, a nemesis lane) and plots, with pictures of its
//! anomalies (Elle cycles, Porcupine-style linearizability views, bank totals); `serve` lists runs
//! and suite reports, sorts, filters, serves files inside its root only, and answers over TCP.

use harness::config::RunConfig;
use harness::nemesis::scenarios::isolated_writer_then_az_loss;
use harness::run;
use harness::Outcome;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use workloads::WorkloadKind;

fn cfg(kind: WorkloadKind, bug: Option<&str>) -> RunConfig {
    let mut c = RunConfig::default_for(kind);
    c.seed = 1;
    c.time_limit_s = 30;
    if let Some(b) = bug {
        c.bugs = vec![b.to_string()];
        c.schedule = Some(isolated_writer_then_az_loss(20_000));
    }
    c
}

/// Runs, writes the run directory and its page under `dir`, returns the page.
fn run_page(c: &RunConfig, dir: &Path) -> (run::RunReport, String) {
    let (report, out) = run::execute(c);
    run::write_run(dir, None, &report, &out).expect("run directory");
    run::write_page(dir, &report, &out).expect("page");
    let page = std::fs::read_to_string(dir.join("report.html")).expect("report.html");
    (report, page)
}

fn temp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("aurora-pages-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn assert_common(page: &str, report: &run::RunReport) {
    assert!(page.contains(&format!(
        "id=\"outcome\">{}",
        report.outcome.name().to_uppercase()
    )));
    assert!(
        page.contains(&report::text::escape_html(&report.repro)),
        "repro command"
    );
    assert!(
        page.contains("id=\"banner\">aurora-chaos run  seed=1"),
        "seed banner"
    );
    for c in &report.checks {
        assert!(
            page.contains(&report::text::escape_html(&c.name)),
            "check {}",
            c.name
        );
    }
    for id in [
        "fig-timeline",
        "fig-latency-raw",
        "fig-latency-quantiles",
        "fig-rate",
        "faults",
    ] {
        assert!(page.contains(&format!("id=\"{id}\"")), "{id}");
    }
    assert!(!page.contains("plot failed"));
    // Hover text has the invocation and the completion, and the nemesis has its lane.
    assert!(
        page.contains("invoke ") && page.contains(" → ok "),
        "op values on hover"
    );
    let faults = report
        .applied_faults
        .iter()
        .filter(|a| a["fault"]["fault"] != "heal")
        .count();
    assert!(faults > 0);
    assert_eq!(
        page.matches("<rect class=\"nem\"").count(),
        faults,
        "one nemesis bar per fault"
    );
    let lower = page.to_lowercase();
    for banned in ["<script", "http://", "https://", "url("] {
        assert!(!lower.contains(banned), "{banned}");
    }
}

#[test]
fn register_bug_page_has_a_porcupine_view_and_is_deterministic() {
    let dir = temp("reg");
    let c = cfg(WorkloadKind::Register, Some("ack-before-quorum"));
    let (report, page) = run_page(&c, &dir);
    assert_eq!(report.outcome, Outcome::Violation);
    assert_common(&page, &report);
    assert!(
        page.contains("<svg class=\"linear\""),
        "Porcupine-style view"
    );
    assert!(
        page.contains("<g class=\"blocked\">"),
        "the op that cannot be placed"
    );
    assert!(page.contains("<g class=\"prefix\">"), "the prefix");
    assert!(page.contains("possible states after the prefix: "));
    // Same config, same page, byte for byte; and rebuilding from the stored files agrees.
    let (_, again) = run_page(&c, &temp("reg2"));
    assert_eq!(page, again);
    assert_eq!(
        harness::run_page::page_for_dir(&dir).expect("rebuilt"),
        page
    );
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(temp("reg2"));
}

/// Snapshot isolation lets write skew through (G2-item cycles), which Elle must draw. (The
/// reference's bugs lose data rather than reorder it: Elle reports them as incompatible orders,
/// and no cycle rests on an arbitrary choice between incompatible reads.)
#[test]
fn list_append_bug_page_draws_elle_cycles() {
    let dir = temp("la");
    let mut c = cfg(WorkloadKind::ListAppend, None);
    c.cluster.snapshot_isolation = true;
    let (report, page) = run_page(&c, &dir);
    assert_eq!(report.outcome, Outcome::Violation);
    assert_common(&page, &report);
    assert!(page.contains("<svg class=\"cycle\""), "cycle picture");
    assert!(page.contains("<g class=\"edge\">") && page.contains("<g class=\"txn\">"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bank_pages_plot_reads_against_the_total() {
    let dir = temp("bank");
    let c = cfg(WorkloadKind::Bank, Some("ack-before-quorum"));
    let (report, page) = run_page(&c, &dir);
    assert_eq!(report.outcome, Outcome::Violation);
    assert_common(&page, &report);
    assert!(page.contains("id=\"bank\""));
    let total = c.workload.bank_initial_balance * c.workload.keys.max(2) as i64;
    let reads = report.ops.by_f.get("read").map_or(0, |n| n[0]);
    assert!(reads > 0);
    assert!(
        page.contains(&format!(
            " of {reads} reads with a wrong total (expected {total})"
        )),
        "caption counts every ok read"
    );
    let ok = temp("bank-ok");
    let (report, page) = run_page(&cfg(WorkloadKind::Bank, None), &ok);
    assert_eq!(report.outcome, Outcome::Pass);
    assert!(page.contains("id=\"outcome\">PASS"));
    assert!(page.contains("0 of "), "no wrong total on a passing run");
    assert!(!page.contains("What went wrong"));
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&ok);
}

/// A results tree: two runs (one with a page, one without) and a conformance report.
fn results_tree(name: &str) -> PathBuf {
    let root = temp(name);
    let runs = root.join("runs");
    let mut c = cfg(WorkloadKind::Register, None);
    c.time_limit_s = 5;
    let (r, out) = run::execute(&c);
    run::write_run(&runs.join("register-all/1-0"), Some(&runs), &r, &out).expect("run");
    run::write_page(&runs.join("register-all/1-0"), &r, &out).expect("page");
    c.seed = 7;
    c.workload = RunConfig::default_for(WorkloadKind::Bank).workload;
    let (r, out) = run::execute(&c);
    run::write_run(&runs.join("bank-all/7-0"), Some(&runs), &r, &out).expect("run");
    report::write_dir(&report::sample::report(5), &root.join("conformance")).expect("suite");
    std::fs::write(root.join("secret.txt"), "inside").expect("file");
    root
}

#[test]
fn serve_lists_sorts_filters_and_stays_inside_its_root() {
    use harness::serve::{respond, scan, select};
    let root = results_tree("serve");
    let all = scan(&root);
    let kinds: Vec<(&str, &str)> = all.iter().map(|e| (e.kind, e.path.as_str())).collect();
    assert_eq!(
        kinds,
        [
            ("suite", "conformance"),
            ("run", "runs/bank-all/7-0"),
            ("run", "runs/register-all/1-0")
        ],
        "`latest` (a symlink) is not listed twice"
    );
    let q = |pairs: &[(&str, &str)]| {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect::<Vec<_>>()
    };
    let by_seed = select(all.clone(), &q(&[("sort", "seed")]));
    assert_eq!(
        by_seed.iter().map(|e| e.seed.as_str()).collect::<Vec<_>>(),
        ["1", "7", "1, 2, 3, 7, 42"]
    );
    let desc = select(all.clone(), &q(&[("sort", "seed"), ("desc", "1")]));
    assert_eq!(desc[0].seed, "1, 2, 3, 7, 42");
    let bank = select(all.clone(), &q(&[("q", "bank")]));
    assert_eq!(bank.len(), 1);
    assert_eq!(
        bank[0].href, "/page/runs/bank-all/7-0",
        "no page written: built on the fly"
    );

    let (status, _, body) = respond(&root, "/?sort=workload&q=register");
    let body = String::from_utf8(body).expect("utf-8");
    assert_eq!(status, 200);
    assert!(body.contains("href=\"/files/runs/register-all/1-0/report.html\""));
    assert!(!body.contains("bank-all"));
    assert!(body.contains("seed</a>"), "sortable headers");

    let (status, ctype, body) = respond(&root, "/page/runs/bank-all/7-0");
    assert_eq!((status, ctype), (200, "text/html; charset=utf-8"));
    assert!(String::from_utf8(body)
        .expect("utf-8")
        .contains("id=\"fig-timeline\""));
    let (status, _, body) = respond(&root, "/files/conformance/report.html");
    assert_eq!(status, 200);
    assert!(String::from_utf8(body)
        .expect("utf-8")
        .contains("id=\"dashboard\""));
    assert_eq!(respond(&root, "/files/secret.txt").0, 200);
    for bad in [
        "/files/../secret.txt",
        "/files/%2e%2e/etc/passwd",
        "/files//etc/passwd",
        "/page/..",
        "/nope",
    ] {
        assert_eq!(respond(&root, bad).0, 404, "{bad}");
    }
    assert_eq!(respond(&root, "/files/%zz").0, 400);
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn serve_answers_over_tcp_on_loopback() {
    let root = results_tree("tcp");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let r = root.clone();
    std::thread::spawn(move || harness::serve::serve_on(&r, listener));
    let get = |path: &str| {
        let mut s = std::net::TcpStream::connect(addr).expect("connect");
        write!(s, "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").expect("send");
        let mut out = String::new();
        s.read_to_string(&mut out).expect("read");
        out
    };
    let index = get("/");
    assert!(index.starts_with("HTTP/1.1 200 OK\r\n"), "{index}");
    assert!(index.contains("runs/register-all/1-0"));
    assert!(get("/files/runs/register-all/1-0/results.json").contains("\"outcome\": \"pass\""));
    assert!(get("/files/../../etc/passwd").starts_with("HTTP/1.1 404"));
    let _ = std::fs::remove_dir_all(&root);
}
