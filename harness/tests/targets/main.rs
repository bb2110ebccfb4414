//! Real engines as targets, end to end through the binary: short runs against PostgreSQL and MariaDB
//! clusters the harness starts (one isolation level per run, the four workloads spread over them,
//! a kill-and-promote in every run), the DSN mode against a locally started PostgreSQL, and bad input.
//!
//! An engine that is not installed fails the test when `AURORA_CHAOS_REQUIRE_ENGINES=1` (CI sets
//! it in `.ci/run`); otherwise the test prints why it did not run and passes.

use std::path::{Path, PathBuf};
use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_aurora-chaos"))
}

fn engine_present(engine: &str) -> bool {
    let present = match engine {
        "postgres" => targets::pg::find_bin().is_ok(),
        _ => ["/usr/sbin/mariadbd", "/usr/bin/mariadbd"]
            .iter()
            .any(|p| Path::new(p).exists()),
    };
    if present {
        return true;
    }
    if std::env::var("AURORA_CHAOS_REQUIRE_ENGINES").as_deref() == Ok("1") {
        panic!("{engine} is required (AURORA_CHAOS_REQUIRE_ENGINES=1) but not installed; run ci/install-engines.sh");
    }
    eprintln!("{engine} NOT tested: not installed (run ci/install-engines.sh)");
    false
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("aurora-chaos-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

fn schedule(dir: &Path, fault: &str) -> PathBuf {
    let p = dir.join("schedule-in.json");
    let s = format!(
        r#"{{"entries":[{{"at_ms":1200,"fault":{fault}}},{{"at_ms":2400,"fault":{{"fault":"heal"}}}}]}}"#
    );
    std::fs::write(&p, s).expect("schedule");
    p
}

fn results(dir: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(dir.join("results.json")).expect("results.json written");
    serde_json::from_str(&text).expect("results.json parses")
}

fn check(r: &serde_json::Value, name_prefix: &str) -> serde_json::Value {
    r["checks"]
        .as_array()
        .and_then(|cs| {
            cs.iter().find(|c| {
                c["name"]
                    .as_str()
                    .is_some_and(|n| n.starts_with(name_prefix))
            })
        })
        .cloned()
        .unwrap_or_else(|| panic!("no check `{name_prefix}` in {}", r["checks"]))
}

/// No directory or process of the cluster survives the run.
fn nothing_left(config: &serde_json::Value) {
    let dir = config["cluster"]["at_start"]["dir"]
        .as_str()
        .expect("cluster dir recorded");
    assert!(!Path::new(dir).exists(), "{dir} left behind");
    for e in std::fs::read_dir("/proc").expect("/proc").flatten() {
        if let Ok(cmd) = std::fs::read(e.path().join("cmdline")) {
            let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
            assert!(
                !cmd.contains(dir),
                "process {} still runs in {dir}: {cmd}",
                e.file_name().to_string_lossy()
            );
        }
    }
}

/// One short run with a kill-and-promote; returns results.json.
fn short_run(engine: &str, isolation: &str, workload: &str) -> serde_json::Value {
    let dir = tmp(&format!("{engine}-{isolation}-{workload}"));
    let sched = schedule(&dir, r#"{"fault":"kill-promote"}"#);
    let out = bin()
        .args([
            "run",
            "--target",
            engine,
            "--replicas",
            "1",
            "--isolation",
            isolation,
            "--workload",
            workload,
        ])
        .args([
            "--time-limit",
            "4",
            "--rate",
            "40",
            "--concurrency",
            "4",
            "--schedule",
        ])
        .arg(&sched)
        .arg("--out")
        .arg(dir.join("run"))
        .output()
        .expect("binary runs");
    let code = out.status.code().unwrap_or(-1);
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        code == 0 || code == 1,
        "{engine} {isolation} {workload}: exit {code}\n{text}"
    );
    let run = dir.join("run");
    for f in [
        "history.edn",
        "history.jsonl",
        "schedule.json",
        "config.json",
        "results.json",
        "REPORT.md",
    ] {
        assert!(run.join(f).exists(), "{f} missing");
    }
    let r = results(&run);
    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("config.json")).unwrap()).unwrap();
    assert_eq!(config["replayable"], false);
    let first = &r["applied_faults"][0];
    assert_eq!(
        first["fault"]["fault"], "kill-promote",
        "{}",
        r["applied_faults"]
    );
    assert!(
        first["result"]["promoted"].is_string(),
        "a replica was promoted: {first}\n{text}"
    );
    assert_eq!(check(&r, "liveness")["valid"], true, "{text}");
    assert!(
        r["ops"]["ok"].as_u64().unwrap_or(0) > 10,
        "ops: {}",
        r["ops"]
    );
    // A write succeeded on the new primary after the kill: the RTO was measured.
    let rto = check(&r, "RTO");
    assert!(rto["figure"].as_f64().is_some_and(|s| s < 30.0), "{rto}");
    assert!(
        r["applied_faults"][1]["result"]["healed"][0]
            .as_str()
            .is_some_and(|s| s.contains("replica")),
        "the old primary rejoined: {}",
        r["applied_faults"]
    );
    nothing_left(&config);
    let _ = std::fs::remove_dir_all(&dir);
    r
}

#[test]
fn postgres_every_isolation_level_survives_kill_and_promote() {
    if !engine_present("postgres") {
        return;
    }
    // Whether PostgreSQL keeps serializability across a kill -9 and promotion is the engine's
    // business, not this test's: with async replication acknowledged commits can be lost, and even
    // with sync replication a commit waiting for its standby is already visible locally. The
    // verdict is reported; only the harness's own behaviour is asserted here.
    let r = short_run("postgres", "serializable", "list-append");
    let elle = check(&r, "elle serializable (writer");
    let lost = check(&r, "acknowledged appends lost");
    assert!(
        elle["valid"].is_boolean() && lost["valid"].is_boolean(),
        "{}",
        r["checks"]
    );
    short_run("postgres", "repeatable-read", "rw-register");
    short_run("postgres", "read-committed", "bank");
}

/// Without faults PostgreSQL's SERIALIZABLE is serializable: Elle must find nothing in a
/// fault-free list-append run (no false positives from the client or the checker on a real engine).
#[test]
fn postgres_serializable_without_faults_checks_out() {
    if !engine_present("postgres") {
        return;
    }
    let dir = tmp("postgres-no-faults");
    let out = bin()
        .args(["run", "--target", "postgres", "--replicas", "1"])
        .args(["--isolation", "serializable", "--workload", "list-append"])
        .args(["--time-limit", "3", "--rate", "40", "--concurrency", "4"])
        .args(["--nemesis", "none", "--out"])
        .arg(dir.join("run"))
        .output()
        .expect("binary runs");
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(0), "{text}");
    let r = results(&dir.join("run"));
    let faults = r["applied_faults"].as_array().cloned().unwrap_or_default();
    assert!(
        faults.iter().all(|f| f["fault"]["fault"] == "heal"),
        "only the final heal: {faults:?}"
    );
    for name in [
        "elle serializable (writer",
        "elle serializable (incl. reader",
        "acknowledged appends lost",
    ] {
        assert_eq!(check(&r, name)["valid"], true, "{name}: {}", r["checks"]);
    }
    assert!(
        r["ops"]["ok"].as_u64().unwrap_or(0) > 10,
        "ops: {}",
        r["ops"]
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn mysql_every_isolation_level_survives_kill_and_promote() {
    if !engine_present("mysql") {
        return;
    }
    short_run("mysql", "serializable", "list-append");
    short_run("mysql", "repeatable-read", "register");
    short_run("mysql", "read-committed", "rw-register");
}

/// `--writer-dsn/--reader-dsn` against a PostgreSQL cluster the test starts itself: nothing is
/// started by the binary, the failover command runs on the schedule, and the history checks out.
#[test]
fn dsn_mode_runs_against_an_existing_postgres() {
    if !engine_present("postgres") {
        return;
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let cluster = rt
        .block_on(targets::pg::PgCluster::start(
            1,
            targets::Replication::Async,
        ))
        .expect("cluster starts");
    let writer = cluster.nodes[0].dsn();
    let reader = cluster.nodes[1].dsn();
    let dir = tmp("dsn");
    let marker = dir.join("failover-ran");
    let cmd = format!("touch {}", marker.display());
    let sched = schedule(
        &dir,
        &format!(r#"{{"fault":"failover-command","command":"{cmd}"}}"#),
    );
    let out = bin()
        .args([
            "run",
            "--workload",
            "list-append",
            "--isolation",
            "serializable",
            "--time-limit",
            "3",
            "--nemesis",
            "failover-command",
        ])
        .args([
            "--writer-dsn",
            &writer,
            "--reader-dsn",
            &reader,
            "--failover-command",
            &cmd,
            "--schedule",
        ])
        .arg(&sched)
        .arg("--out")
        .arg(dir.join("run"))
        .output()
        .expect("binary runs");
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    rt.block_on(cluster.shutdown());
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(marker.exists(), "the failover command ran");
    let r = results(&dir.join("run"));
    assert!(r["ops"]["ok"].as_u64().unwrap_or(0) > 10, "{}", r["ops"]);
    let reader_ops = std::fs::read_to_string(dir.join("run/history.jsonl"))
        .unwrap()
        .matches("\"endpoint\":\"reader\"")
        .count();
    assert!(reader_ops > 0, "some transactions went to the reader DSN");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_target_input_exits_2_naming_the_problem() {
    let dir = tmp("bad");
    let bad = dir.join("bad.json");
    std::fs::write(
        &bad,
        "{\"entries\": [\n  {\"at_ms\": 1, \"fault\": {\"fault\": \"explode\"}}\n]}\n",
    )
    .unwrap();
    let out = bin()
        .args(["run", "--target", "postgres", "--schedule"])
        .arg(&bad)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("bad.json") && err.contains("line 2"), "{err}");
    for args in [
        vec!["run", "--target", "oracle"],
        vec!["run", "--target", "postgres", "--isolation", "snapshot"],
        vec!["run", "--target", "mysql", "--replication", "quorum"],
        vec![
            "run",
            "--writer-dsn",
            "host=127.0.0.1",
            "--nemesis",
            "kill-promote",
        ],
        vec!["run", "--target", "postgres", "--workload", "queue"],
    ] {
        let out = bin().args(&args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.starts_with("error: --"), "{args:?}: {err}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
