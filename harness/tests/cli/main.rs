//! The `aurora-chaos` binary's contract: exit codes, `--json` output, errors naming file and line.

mod checkers_cli;

use std::path::PathBuf;
use std::process::{Command, Output};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_aurora-chaos"))
}

/// The labelled corpus, or `None` (with a plain message) when it is absent and not required.
fn corpus() -> Option<PathBuf> {
    let dir = std::env::var_os("AURORA_CHAOS_HISTORIES")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../shared/histories"
            ))
        });
    if dir.join("manifest.json").exists() {
        return Some(dir);
    }
    if std::env::var("AURORA_CHAOS_REQUIRE_CORPUS").as_deref() == Ok("1") {
        panic!("corpus required but missing at {}", dir.display());
    }
    eprintln!("corpus NOT checked: {} missing", dir.display());
    None
}

fn run(cmd: &mut Command) -> (i32, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = cmd.output().expect("the binary runs");
    (
        status.code().unwrap_or(-1),
        String::from_utf8_lossy(&stdout).into(),
        String::from_utf8_lossy(&stderr).into(),
    )
}

#[test]
fn check_exit_codes_follow_the_verdict() {
    let Some(c) = corpus() else { return };
    let (code, out, _) = run(bin()
        .args(["check", "--workload", "cas-register"])
        .arg(c.join("etcd/etcd_002.edn")));
    assert_eq!(code, 0, "{out}");
    let (code, out, _) = run(bin()
        .args(["check", "--workload", "cas-register"])
        .arg(c.join("etcd/etcd_000.edn")));
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("nonlinearizable"), "{out}");
    // Several files: the worst outcome wins, one JSON object per file.
    let (code, out, _) = run(bin()
        .args(["check", "--json", "--workload", "cas-register"])
        .arg(c.join("etcd/etcd_002.edn"))
        .arg(c.join("etcd/etcd_000.edn")));
    assert_eq!(code, 1);
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["valid"], serde_json::json!(true));
    assert_eq!(lines[1]["valid"], serde_json::json!(false));
}

#[test]
fn check_json_names_elle_and_bank_anomalies() {
    let Some(c) = corpus() else { return };
    let f =
        c.join("elle/elle-cli/test-data/list-append-anomaly-g1c-circular-information-flow.json");
    let (code, out, err) = run(bin()
        .args(["check", "--json", "--workload", "list-append"])
        .arg(&f));
    assert_eq!(code, 1, "{out}{err}");
    let j: serde_json::Value = serde_json::from_str(out.trim()).expect("json");
    assert!(
        j["anomaly_types"]
            .as_array()
            .expect("array")
            .iter()
            .any(|a| a == "G1c"),
        "{j}"
    );
    assert!(j["not"].as_array().is_some());
    let f = c.join("elle/elle-cli/histories/jepsen/bank-tidb.edn");
    let (code, out, _) = run(bin()
        .args(["check", "--json", "--workload", "bank"])
        .arg(&f));
    assert_eq!(code, 1);
    let j: serde_json::Value = serde_json::from_str(out.trim()).expect("json");
    assert_eq!(j["anomaly_types"], serde_json::json!(["wrong-total"]));
}

#[test]
fn bad_input_exits_2_naming_file_and_line() {
    let dir = std::env::temp_dir().join(format!("aurora-chaos-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let f = dir.join("broken.edn");
    std::fs::write(
        &f,
        "{:type :invoke, :process 0, :f :read, :value nil}\n{:type :ok, :process 0 :f\n",
    )
    .expect("write");
    let (code, _, err) = run(bin().args(["check", "--workload", "register"]).arg(&f));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("broken.edn"), "names the file: {err}");
    assert!(err.contains("broken.edn:2:"), "names the line: {err}");
    let (code, _, err) = run(bin()
        .args(["check", "--workload", "register"])
        .arg(dir.join("missing.edn")));
    assert_eq!(code, 2, "{err}");
    let (code, _, _) = run(bin().args(["check", "--workload", "nonsense"]).arg(&f));
    assert_eq!(code, 2);
    let (code, _, err) = run(bin().args(["run", "--nemesis", "bogus"]));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("bogus"));
    let (code, _, err) = run(bin().args(["run", "--inject-bug", "nope"]));
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = run(bin().args(["soak", "--seeds", "5..2"]));
    assert_eq!(code, 2, "{err}");
    // A schedule naming a host the topology does not have: exit 2 before any simulation.
    let sched = dir.join("schedule.json");
    std::fs::write(
        &sched,
        r#"{"entries":[{"at_ms":1000,"fault":{"fault":"kill","host":"s-az9-0"}}]}"#,
    )
    .expect("write");
    let (code, _, err) = run(bin().args(["run", "--schedule"]).arg(&sched));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("schedule.json") && err.contains("s-az9-0"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn help_lists_nemeses_and_bugs() {
    let (code, out, _) = run(bin().args(["run", "--nemesis", "help"]));
    assert_eq!(code, 0);
    for k in [
        "partition-az",
        "az-plus-one",
        "pause-writer",
        "replace-segment",
    ] {
        assert!(out.contains(k), "{out}");
    }
    let (code, out, _) = run(bin().args(["run", "--inject-bug", "help"]));
    assert_eq!(code, 0);
    for b in [
        "ack-before-quorum",
        "read-above-vdl",
        "no-epoch-fencing",
        "replica-partial-mtr",
    ] {
        assert!(out.contains(b), "{out}");
    }
}

/// `soak` into a pipe: no progress drawing at all (no carriage return, no ANSI escape); a summary
/// file for `serve`; a page for each failing seed and none for passing ones.
#[test]
fn soak_is_quiet_in_a_pipe_and_pages_failing_seeds() {
    let dir = std::env::temp_dir().join(format!("aurora-cli-soak-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    // bank seed 1 with no faults serves a read above VDL (harness/tests/chaos pins it).
    let (code, out, err) = run(bin().current_dir(&dir).args([
        "soak",
        "--seeds",
        "1..3",
        "--keep-going",
        "--workload",
        "bank",
        "--nemesis",
        "none",
        "--time-limit",
        "30",
        "--inject-bug",
        "read-above-vdl",
    ]));
    assert_eq!(code, 1, "{out}\n{err}");
    for (name, text) in [("stdout", &out), ("stderr", &err)] {
        assert!(
            !text.contains('\r') && !text.contains('\x1b'),
            "{name} has progress drawing: {text:?}"
        );
    }
    let summary = dir.join("results/runs/soak-1-2.json");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&summary).expect("summary")).expect("json");
    let rows = v["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().any(|r| r["outcome"] != "pass"), "seed 1 fails");
    for r in rows {
        let page = dir
            .join("results/runs")
            .join(r["dir"].as_str().expect("dir"))
            .join("report.html");
        assert_eq!(page.exists(), r["outcome"] != "pass", "{r}");
    }
    let page = harness::serve::soak_page("runs/soak-1-2.json", &v);
    assert!(page.contains("<table id=\"seeds\">") && page.contains("<table id=\"coverage\">"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// A run with backtracks, stored and re-checked offline: `check` splits the history into its
/// lineages (a correct run is valid), and a run with a backtrack bug is invalid offline too.
#[test]
fn stored_histories_with_backtracks_recheck_offline() {
    let dir = std::env::temp_dir().join(format!("aurora-chaos-bt-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let sched = dir.join("schedule.json");
    std::fs::write(
        &sched,
        r#"{"entries":[{"at_ms":12000,"fault":{"fault":"backtrack","to_ms":5000}},{"at_ms":20000,"fault":{"fault":"backtrack","to_ms":9000}},{"at_ms":26000,"fault":{"fault":"backtrack","to_ms":2000}}]}"#,
    )
    .unwrap();
    for (bug, want) in [(None, 0), (Some("backtrack-skips-pg"), 1)] {
        let out = dir.join(format!("run-{}", bug.unwrap_or("none")));
        let mut cmd = bin();
        cmd.args(["run", "--workload", "list-append", "--time-limit", "30"])
            .args(["--backtrack-window-s", "15", "--schedule"])
            .arg(&sched)
            .arg("--out")
            .arg(&out);
        if let Some(b) = bug {
            cmd.args(["--inject-bug", b]);
        }
        let (code, stdout, stderr) = run(&mut cmd);
        assert_eq!(code, want, "run {bug:?}\n{stdout}\n{stderr}");
        let (code, stdout, stderr) = run(bin()
            .args(["check", "--workload", "list-append"])
            .arg(out.join("history.edn")));
        assert_eq!(code, want, "offline check {bug:?}\n{stdout}\n{stderr}");
        assert!(
            stdout.contains("lineages split at the history's backtracks"),
            "{stdout}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A run with a clone, stored and re-checked offline: `check` splits the history into the
/// source's and the clone's (a correct run is valid); with a clone bug it is invalid offline too.
#[test]
fn stored_histories_with_clones_recheck_offline() {
    let dir = std::env::temp_dir().join(format!("aurora-chaos-clone-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let sched = dir.join("schedule.json");
    std::fs::write(
        &sched,
        r#"{"entries":[{"at_ms":4000,"fault":{"fault":"clone"}},{"at_ms":9000,"fault":{"fault":"failover"}}]}"#,
    )
    .unwrap();
    for (bug, want) in [(None, 0), (Some("clone-reads-past-branch"), 1)] {
        let out = dir.join(format!("run-{}", bug.unwrap_or("none")));
        let mut cmd = bin();
        cmd.args([
            "run",
            "--workload",
            "list-append",
            "--time-limit",
            "15",
            "--schedule",
        ])
        .arg(&sched)
        .arg("--out")
        .arg(&out);
        if let Some(b) = bug {
            cmd.args(["--inject-bug", b]);
        }
        let (code, stdout, stderr) = run(&mut cmd);
        assert_eq!(code, want, "run {bug:?}\n{stdout}\n{stderr}");
        let (code, stdout, stderr) = run(bin()
            .args(["check", "--workload", "list-append"])
            .arg(out.join("history.edn")));
        assert_eq!(code, want, "offline check {bug:?}\n{stdout}\n{stderr}");
        assert!(
            stdout.contains("2 lineages split at the history's backtracks and clones"),
            "{stdout}"
        );
        let page = std::fs::read_to_string(out.join("report.html")).unwrap();
        assert!(
            page.contains("clone 1 branched at T′"),
            "the run page shows the clone"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Issue 11's global flags: bad `--regions` / `--global-rpo-s` values, global faults without a
/// global database, and a bad `global.rpo_ms` in a replayed `config.json` exit 2 with a message
/// naming the flag (or the file and line).
#[test]
fn autoscale_flags_reject_bad_values_with_exit_2() {
    for (args, names) in [
        (&["run", "--autoscale", "0"][..], "--autoscale"),
        (&["run", "--autoscale", "1"], "--autoscale"),
        (&["run", "--autoscale", "5000"], "--autoscale"),
        (&["run", "--autoscale", "many"], "--autoscale"),
        (
            &["run", "--autoscale", "16", "--regions", "3"],
            "--autoscale",
        ),
        (
            &["run", "--autoscale", "16", "--nemesis", "clone"],
            "--autoscale",
        ),
        (&["run", "--ops-per-key", "0"], "--ops-per-key"),
    ] {
        let (code, _, err) = run(bin().args(args));
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains(names), "{args:?}: {err}");
    }
}

#[test]
fn global_flags_reject_bad_values_with_exit_2() {
    for args in [
        &["run", "--regions", "0"][..],
        &["run", "--regions", "7"],
        &["run", "--regions", "3", "--global-rpo-s", "0"],
        &["run", "--global-rpo-s", "20"],
        &["run", "--regions", "3", "--global-rpo-s=soon"],
        &["run", "--nemesis", "partition-region"],
        &["run", "--global-rejoin"],
    ] {
        let (code, _, err) = run(bin().args(args));
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(
            err.contains("regions") || err.contains("rpo") || err.contains("global"),
            "{args:?}: {err}"
        );
    }
    let (code, out, _) = run(bin().args(["run", "--nemesis", "help"]));
    assert_eq!(code, 0);
    for k in [
        "partition-region",
        "lose-region",
        "slow-region",
        "global-switchover",
        "global-failover",
    ] {
        assert!(out.contains(k), "{out}");
    }
    let dir = std::env::temp_dir().join(format!("aurora-chaos-cli-g-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mut cfg = serde_json::to_value(harness::RunConfig::default_for(
        workloads::WorkloadKind::Register,
    ))
    .unwrap();
    cfg["cluster"]["global"] = serde_json::json!({"secondaries": 2, "rpo_ms": 0});
    std::fs::write(
        dir.join("config.json"),
        serde_json::to_string_pretty(&cfg).unwrap(),
    )
    .unwrap();
    std::fs::write(dir.join("history.edn"), "").unwrap();
    let (code, _, err) = run(bin().arg("replay").arg(&dir));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("config.json: line ") && err.contains("rpo_ms"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
