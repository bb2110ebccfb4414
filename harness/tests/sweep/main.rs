//! Sharded sweeps, merging, shrinking and the committed shrink fixtures.

mod ledger_destroyed;

use std::path::{Path, PathBuf};
use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_aurora-chaos"))
}

fn temp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("aurora-sweep-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

const SWEEP: [&str; 10] = [
    "soak",
    "--seeds",
    "1..7",
    "--keep-going",
    "--time-limit",
    "4",
    "--workload",
    "all",
    "--interval-ms",
    "1500",
];

fn summary(dir: &Path) -> serde_json::Value {
    let p = dir.join("results/runs/soak-1-6.json");
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_json::from_str(&text).expect("summary is JSON")
}

fn code(c: &mut Command) -> i32 {
    let o = c.output().expect("the binary runs");
    o.status.code().unwrap_or(-1)
}

/// Three local shards (two through `--shard`, one through the Kubernetes Indexed Job variables),
/// merged, give exactly the unsharded sweep's summary; so does `--jobs 2`.
#[test]
fn sharded_sweep_merges_to_the_unsharded_one() {
    let whole = temp("whole");
    let c = code(
        bin()
            .current_dir(&whole)
            .args(SWEEP)
            .arg("--no-coverage-goals"),
    );
    let expected = summary(&whole);
    assert_eq!(expected["rows"].as_array().map(|r| r.len()), Some(6));

    let sharded = temp("sharded");
    let mut files = Vec::new();
    for k in 0..3 {
        let f = sharded.join(format!("shard-{k}.jsonl"));
        let mut cmd = bin();
        cmd.current_dir(&sharded).args(SWEEP).arg("--jsonl").arg(&f);
        if k == 2 {
            cmd.env("JOB_COMPLETION_INDEX", "2")
                .env("JOB_COMPLETIONS", "3");
        } else {
            cmd.arg("--shard").arg(format!("{k}/3"));
        }
        let sc = code(&mut cmd);
        assert!((0..=4).contains(&sc), "shard {k} exit {sc}");
        let lines = std::fs::read_to_string(&f).expect("shard output");
        assert_eq!(
            lines.lines().count(),
            2,
            "shard {k} runs seeds {k}+1, {k}+4"
        );
        files.push(f);
    }
    let mc = code(
        bin()
            .current_dir(&sharded)
            .args(["merge", "--no-coverage-goals", "--workload", "all"])
            .args(&files),
    );
    assert_eq!(mc, c, "merged exit code equals the unsharded one");
    assert_eq!(summary(&sharded), expected, "merged summary differs");

    let jobs = temp("jobs");
    let jc =
        code(
            bin()
                .current_dir(&jobs)
                .args(SWEEP)
                .args(["--no-coverage-goals", "--jobs", "2"]),
        );
    assert_eq!(jc, c);
    assert_eq!(summary(&jobs), expected, "--jobs 2 summary differs");

    // A seed in two shard files is bad input, naming the file and line.
    let o = bin()
        .current_dir(&sharded)
        .args(["merge", "--workload", "all"])
        .args([&files[0], &files[0]])
        .output()
        .expect("runs");
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("shard-0.jsonl: line 1") && err.contains("more than one shard"),
        "{err}"
    );
    for d in [whole, sharded, jobs] {
        let _ = std::fs::remove_dir_all(d);
    }
}

/// `shrink` reduces a failing run of one catalog bug, the minimal run replays byte for byte and
/// still fails the same check, and its fixture says so.
#[test]
fn shrink_reduces_a_failing_run_and_the_result_replays() {
    let dir = temp("shrink");
    let run = dir.join("run");
    let c = code(bin().current_dir(&dir).args([
        "run",
        "--workload",
        "list-append",
        "--seed",
        "1",
        "--time-limit",
        "10",
        "--interval-ms",
        "3000",
        "--inject-bug",
        "commit-before-vdl",
        "--out",
        run.to_str().unwrap(),
    ]));
    assert_eq!(c, 1, "the bug is caught on this seed");
    let small = dir.join("small");
    let o = bin()
        .current_dir(&dir)
        .args(["shrink", run.to_str().unwrap(), "--max-runs", "30", "--out"])
        .arg(&small)
        .output()
        .expect("runs");
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let f: harness::shrink::Fixture =
        serde_json::from_str(&std::fs::read_to_string(small.join("fixture.json")).unwrap())
            .expect("fixture");
    assert!(
        f.entries_after < f.entries_before || f.ops_after < f.ops_before,
        "nothing was shrunk: {f:?}"
    );
    let r = bin().arg("replay").arg(&small).output().expect("runs");
    assert_eq!(
        r.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&r.stdout)
    );
    let (report, _) = harness::run::execute(&f.config);
    assert!(harness::hunt::failing_checks(&report).contains(&f.check));
    // A passing run has nothing to shrink: bad input.
    let ok = dir.join("ok");
    code(bin().current_dir(&dir).args([
        "run",
        "--workload",
        "register",
        "--nemesis",
        "none",
        "--time-limit",
        "3",
        "--out",
        ok.to_str().unwrap(),
    ]));
    assert_eq!(code(bin().arg("shrink").arg(&ok)), 2);
    let _ = std::fs::remove_dir_all(dir);
}

/// Every committed shrink fixture (results/hunt/fixtures) still fails its check when replayed.
#[test]
fn committed_shrink_fixtures_still_fail() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../results/hunt/fixtures");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).expect("results/hunt/fixtures exists") {
        let p = e.unwrap().path();
        let f: harness::shrink::Fixture =
            serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).expect("fixture");
        let (report, _) = harness::run::execute(&f.config);
        assert!(
            harness::hunt::failing_checks(&report).contains(&f.check),
            "{}: `{}` no longer fails",
            p.display(),
            f.check
        );
        n += 1;
    }
    assert!(n >= 5, "only {n} fixtures");
}

/// `hunt` is deterministic and `--jobs 2` (child processes) writes the same matrix as one process.
#[test]
fn hunt_matrix_is_the_same_with_jobs() {
    let dir = temp("hunt");
    let args = [
        "hunt",
        "--bugs",
        "commit-before-vdl,read-above-vdl",
        "--workloads",
        "bank,list-append",
        "--max-seeds",
        "2",
        "--detections",
        "1",
        "--time-limit",
        "4",
    ];
    let one = dir.join("one");
    let two = dir.join("two");
    assert_eq!(code(bin().args(args).arg("--out").arg(&one)), 0);
    assert_eq!(
        code(bin().args(args).args(["--jobs", "2", "--out"]).arg(&two)),
        0
    );
    let a = std::fs::read(one.join("matrix.json")).expect("matrix");
    assert_eq!(a, std::fs::read(two.join("matrix.json")).expect("matrix"));
    // The dashboard is written beside the matrix, from it alone (and the missing coverage is said).
    let page = std::fs::read_to_string(one.join("index.html")).expect("dashboard");
    assert_eq!(
        page,
        std::fs::read_to_string(two.join("index.html")).expect("dashboard")
    );
    assert!(page.contains("Detection matrix") && page.contains("<code>commit-before-vdl</code>"));
    assert!(
        page.contains("No coverage summary at"),
        "no sweep summary in a temp dir"
    );
    // `--page` re-renders it from a given sweep summary without running anything.
    let summary =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../results/sweeps/fp-1000/summary.json");
    assert_eq!(
        code(
            bin()
                .args(["hunt", "--page", "--coverage"])
                .arg(&summary)
                .arg("--out")
                .arg(&one)
        ),
        0
    );
    let page = std::fs::read_to_string(one.join("index.html")).expect("dashboard");
    assert!(page.contains("membership-change-reverted") && !page.contains("No coverage summary"));
    assert_eq!(
        code(
            bin()
                .args(["hunt", "--page", "--out"])
                .arg(dir.join("nothing-here"))
        ),
        2,
        "no matrix.json: bad input"
    );
    let doc: serde_json::Value = serde_json::from_slice(&a).unwrap();
    // `read-above-vdl` is caught on the first seed of both workloads (its white-box assertion
    // fires on any read above VDL); `commit-before-vdl` needs longer runs than these 4 s ones.
    let rav = doc["bugs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["bug"] == "read-above-vdl")
        .expect("in the matrix");
    assert_eq!(rav["best_median"], 1, "{doc}");
    assert_eq!(doc["summary"]["bugs"], 2, "{doc}");
    let _ = std::fs::remove_dir_all(dir);
}

/// (bug, workload, seed, a check that fails) from the committed matrix (`results/hunt`).
const NEW_BUG_SEEDS: &[(&str, &str, u64, &str)] = &[
    (
        "gc-below-read-point",
        "list-append",
        2,
        "white-box invariants",
    ),
    (
        "client-retries-indeterminate",
        "list-append",
        3,
        "elle serializable (incl. reader endpoint)",
    ),
    // Round 7: three of the five bugs no round-6 sweep caught (their first hunt detections).
    (
        "scrub-trusts-corrupt",
        "bank",
        1,
        "storage scrubbed (checksums)",
    ),
    ("no-lal", "register", 5, "white-box invariants"),
    // Round 8: its family gained `partition-writer-az` and its probes a one-page cache.
    (
        "read-below-read-point",
        "list-append",
        2,
        "elle serializable (incl. reader endpoint)",
    ),
];

/// Catalog bugs are caught on seeds of their hunt sweep: the GC one by the white-box GC
/// assertion, the client's retry by Elle on list-append (a black-box check), and round 7's
/// three by the scrub check and the LAL and read-SCL assertions; the correct reference passes
/// each of those checks in the same configuration.
#[test]
fn new_catalog_bugs_are_caught_on_hunt_seeds() {
    use clap::Parser;
    use harness::hunt::{failing_checks, probe_config, HuntArgs};
    #[derive(Parser)]
    struct Wrap {
        #[command(flatten)]
        h: HuntArgs,
    }
    let args = Wrap::parse_from(["x", "--time-limit", "10", "--interval-ms", "2000"]).h;
    for (bug, wl, seed, check) in NEW_BUG_SEEDS {
        let bug = reference::Bug::from_name(bug).expect("in the catalog");
        let wl = workloads::WorkloadKind::from_name(wl).expect("a workload");
        let mut cfg = probe_config(bug, wl, *seed, &args);
        let (report, _) = harness::run::execute(&cfg);
        let failing = failing_checks(&report);
        assert!(
            failing.iter().any(|c| c == check),
            "{bug} on {wl:?} seed {seed}: {failing:?}"
        );
        // The same configuration on the correct reference passes that check: the bug is what
        // the check sees, not the configuration.
        cfg.bugs.clear();
        let (report, _) = harness::run::execute(&cfg);
        let failing = failing_checks(&report);
        assert!(
            !failing.iter().any(|c| c == check),
            "correct reference, {bug}'s configuration on {wl:?} seed {seed}: {failing:?}"
        );
    }
}

/// `recovery-read-quorum-2` is visible once its state occurs: with slow gossip (1 s), a one-page
/// cache and drawn (not scheduled) partitions, crashes and failovers at a 1 s interval, seed 2's
/// recovery decides from two segments that lack the last commit, and both the black-box check
/// (an acknowledged append lost) and the white-box one (a recovery VDL below an acknowledged
/// commit) fail; the correct reference passes the same run. The hunt's swarm rarely reaches this
/// state (README, "Round 7"); it catches the bug through the read-quorum watch instead (below).
#[test]
fn recovery_read_quorum_2_is_caught_when_reached() {
    let dir = temp("rq2");
    let args = [
        "run",
        "--workload",
        "list-append",
        "--seed",
        "2",
        "--time-limit",
        "10",
        "--gossip-ms",
        "1000",
        "--cache-pages",
        "1",
        "--reader-fraction",
        "0.75",
        "--mode",
        "beyond-model",
        "--nemesis",
        "partition-az,partition-one,kill-storage,crash-writer,failover",
        "--interval-ms",
        "1000",
    ];
    let bad = dir.join("bad");
    let run = |out: &Path, bug: bool| {
        let mut c = bin();
        c.args(args).arg("--out").arg(out);
        if bug {
            c.args(["--inject-bug", "recovery-read-quorum-2"]);
        }
        code(&mut c)
    };
    assert_eq!(run(&bad, true), 1, "the bug is caught");
    let results = std::fs::read_to_string(bad.join("results.json")).expect("results");
    assert!(results.contains("acknowledged appends missing from the final reads; first"));
    // The white-box invariants fail too; their summary names the first violation, which is now
    // the read-quorum watch's (every recovery of the run, the first open included, decides from
    // 2 answers), earlier than the lost commit's "chose VDL" assertion.
    assert!(
        results.contains("a read quorum is 3"),
        "the white-box recovery read-quorum watch"
    );
    assert_eq!(
        run(&dir.join("good"), false),
        0,
        "the correct reference passes"
    );
    let _ = std::fs::remove_dir_all(dir);
}

/// `no-truncation` on its first hunt seed (bank, seed 1 of `hunt --time-limit 10 --interval-ms
/// 2000`): the recoveries' truncation ranges never reach storage, so the white-box truncation
/// check (storage's adoption events against the ranges recoveries decided, C4) fails; the correct
/// reference passes every check of the same configuration, that one included, with at least one
/// range checked (the check is not vacuous there).
#[test]
fn no_truncation_is_caught_on_its_first_hunt_seed() {
    use clap::Parser;
    use harness::hunt::{failing_checks, probe_config, HuntArgs};
    #[derive(Parser)]
    struct Wrap {
        #[command(flatten)]
        h: HuntArgs,
    }
    let args = Wrap::parse_from(["x", "--time-limit", "10", "--interval-ms", "2000"]).h;
    let bug = reference::Bug::from_name("no-truncation").expect("in the catalog");
    let check = "storage adopted truncations (recovery)";
    let mut cfg = probe_config(bug, workloads::WorkloadKind::Bank, 1, &args);
    let (report, _) = harness::run::execute(&cfg);
    assert!(
        failing_checks(&report).iter().any(|c| c == check),
        "{:?}",
        failing_checks(&report)
    );
    cfg.bugs.clear();
    let (report, out) = harness::run::execute(&cfg);
    assert_eq!(
        report.outcome,
        harness::outcome::Outcome::Pass,
        "{:?}",
        failing_checks(&report)
    );
    assert!(report.checks.iter().any(|c| c.name == check));
    assert!(out.white_box.truncations_checked >= 1);
}

/// `no-truncation`'s consequence, once its state occurs: with the writer's AZ partitioned off for
/// longer than the failover timeout (drawn, not scheduled: `partition-az` at an 8 s interval, seed
/// 1), the old writer's last records are synced only by the two segments of its AZ, the new
/// writer's recovery (answered by the other four) chooses a VDL below them, and without a
/// truncation range they stay on those disks after the heal: the disk check and the durability
/// ledger (storage's syncs: records below a write quorum under later acknowledged commits) fail.
/// The correct reference passes the same run with every truncation adopted.
#[test]
fn no_truncation_leaves_records_when_its_state_occurs() {
    let dir = temp("notrunc");
    let args = [
        "run",
        "--workload",
        "list-append",
        "--seed",
        "1",
        "--time-limit",
        "10",
        "--nemesis",
        "partition-az",
        "--interval-ms",
        "8000",
        "--check-replication",
    ];
    let run = |out: &Path, bug: bool| {
        let mut c = bin();
        c.args(args).arg("--out").arg(out);
        if bug {
            c.args(["--inject-bug", "no-truncation"]);
        }
        code(&mut c)
    };
    let bad = dir.join("bad");
    assert_eq!(run(&bad, true), 1, "the bug is caught");
    let results = std::fs::read_to_string(bad.join("results.json")).expect("results");
    assert!(
        results.contains("records of an older epoch left inside a recovery's truncation range"),
        "the disk check"
    );
    assert!(results.contains("commits acknowledged below 4 synced segments"));
    let good = dir.join("good");
    assert_eq!(run(&good, false), 0, "the correct reference passes");
    let results = std::fs::read_to_string(good.join("results.json")).expect("results");
    assert!(results.contains("each adopted by a write quorum of every PG"));
    let _ = std::fs::remove_dir_all(dir);
}

/// `read-below-read-point` needs a segment that lags the writer while a replica still reaches it:
/// `partition-writer-az` cuts only the writer's links to one AZ's storage, so those segments
/// keep answering the replicas' page reads (a one-page cache sends every read to storage).
#[test]
fn read_below_read_point_is_caught_through_a_writer_az_cut() {
    let dir = temp("rbrp");
    let args = [
        "run",
        "--workload",
        "list-append",
        "--seed",
        "1",
        "--time-limit",
        "10",
        "--nemesis",
        "partition-writer-az",
        "--interval-ms",
        "1000",
        "--reader-fraction",
        "0.75",
        "--cache-pages",
        "1",
    ];
    let bad = dir.join("bad");
    let run = |out: &Path, bug: bool| {
        let mut c = bin();
        c.args(args).arg("--out").arg(out);
        if bug {
            c.args(["--inject-bug", "read-below-read-point"]);
        }
        code(&mut c)
    };
    assert_eq!(run(&bad, true), 1, "the bug is caught");
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(bad.join("results.json")).unwrap()).unwrap();
    let failed: Vec<&str> = results["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["valid"] == false)
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert!(
        failed.contains(&"elle serializable (incl. reader endpoint)"),
        "a black-box check sees the stale replica read: {failed:?}"
    );
    assert!(
        failed.contains(&"white-box invariants"),
        "storage's own event: a read served below its SCL: {failed:?}"
    );
    assert_eq!(
        run(&dir.join("good"), false),
        0,
        "the correct reference passes"
    );
    let _ = std::fs::remove_dir_all(dir);
}

/// `recovery-read-quorum-2` on a hunt seed: the white-box recovery read-quorum watch
/// (`reference::recovery_watch`: no recovery decision for a PG leaves a host before answers from
/// 3 of its segments were delivered to it) fails on register seed 1 of its hunt sweep, and the
/// correct reference passes every check of the same configuration, with no invariant violation.
#[test]
fn recovery_read_quorum_2_is_caught_on_a_hunt_seed() {
    use clap::Parser;
    use harness::hunt::{failing_checks, probe_config, HuntArgs};
    #[derive(Parser)]
    struct Wrap {
        #[command(flatten)]
        h: HuntArgs,
    }
    let args = Wrap::parse_from(["x", "--time-limit", "10", "--interval-ms", "2000"]).h;
    let bug = reference::Bug::from_name("recovery-read-quorum-2").expect("in the catalog");
    let mut cfg = probe_config(bug, workloads::WorkloadKind::Register, 1, &args);
    let (report, out) = harness::run::execute(&cfg);
    let failing = failing_checks(&report);
    assert!(
        failing.iter().any(|c| c == "white-box invariants"),
        "{failing:?}"
    );
    assert!(
        out.invariant_violations
            .iter()
            .any(|v| v.contains("a read quorum is 3")),
        "{:?}",
        out.invariant_violations
    );
    cfg.bugs.clear();
    let (report, out) = harness::run::execute(&cfg);
    assert_eq!(
        report.outcome,
        harness::outcome::Outcome::Pass,
        "{:?}",
        failing_checks(&report)
    );
    assert!(
        out.invariant_violations.is_empty(),
        "{:?}",
        out.invariant_violations
    );
}
