//! The durability ledger under an AZ+1 destroyed for good (beyond-model `destroy-az-plus-one`):
//! seeds of the 1,000-seed false-positive sweep that the ledger used to flag on the correct
//! reference.

use super::{bin, code, temp};
use std::path::Path;

/// register seed 154: record 1063 is synced by 3 segments, two of them are destroyed with their
/// AZ+1, and after the heal two more sync it, so 5 distinct segments synced it and the writer's
/// 4 acks are honest, though only the 3 survivors hold it. bank seed 366: an operator's
/// replacement of a live survivor commits while 3 members are destroyed, so no acknowledged
/// record can be held by 4 members of the new set; each had been synced by 6 of them. The
/// ledger judges syncs ever made (reference/src/ledger.rs) and passes both runs; the same runs
/// with a commit acknowledged below a write quorum, or a replacement committed before it caught
/// up, still fail it.
#[test]
fn ledger_passes_an_az_plus_one_destroyed_for_good_and_still_catches_its_bugs() {
    let dir = temp("ledger-destroyed");
    let runs: [(&str, &[&str], &str, &str); 2] = [
        (
            "register-154",
            &[
                "--workload",
                "register",
                "--seed",
                "154",
                "--concurrency",
                "24",
                "--nemesis",
                "az-plus-one,failover,destroy-node,destroy-az-plus-one",
                "--interval-ms",
                "1500",
                "--keys",
                "2",
            ],
            "ack-before-quorum",
            "commits acknowledged below 4 synced segments",
        ),
        (
            "bank-366",
            &[
                "--workload",
                "bank",
                "--seed",
                "366",
                "--concurrency",
                "6",
                "--nemesis",
                "partition-halves,kill-storage,corrupt-disk,replace-segment,destroy-az,destroy-az-plus-one",
                "--interval-ms",
                "750",
            ],
            "membership-commit-early",
            "acknowledged records below 4 of a committed member set",
        ),
    ];
    let check = "durability ledger (storage's syncs)";
    for (name, args, bug, figure) in runs {
        let run = |out: &Path, bug: Option<&str>| {
            let mut c = bin();
            c.arg("run")
                .args(args)
                .args([
                    "--time-limit",
                    "6",
                    "--rate",
                    "50",
                    "--mode",
                    "beyond-model",
                ])
                .args(["--reader-fraction", "0.5", "--check-replication", "--out"])
                .arg(out);
            if let Some(b) = bug {
                c.args(["--inject-bug", b]);
            }
            code(&mut c);
            let text = std::fs::read_to_string(out.join("results.json")).expect("results");
            let doc: serde_json::Value = serde_json::from_str(&text).expect("JSON");
            let ledger = doc["checks"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["name"] == check)
                .cloned()
                .expect("the ledger check ran");
            (doc, ledger)
        };
        let (doc, ledger) = run(&dir.join(format!("{name}-good")), None);
        let destroyed = doc["applied_faults"]
            .to_string()
            .contains("\"destroy-az-plus-one\"");
        assert!(destroyed, "{name}: the AZ+1 loss was applied");
        assert_eq!(ledger["valid"], true, "{name}: {ledger}");
        assert!(
            ledger.to_string().contains("segment replacements checked"),
            "{name}: {ledger}"
        );
        let (_, ledger) = run(&dir.join(format!("{name}-bad")), Some(bug));
        assert_eq!(ledger["valid"], false, "{name} with {bug}: {ledger}");
        assert!(ledger.to_string().contains(figure), "{name}: {ledger}");
    }
    let _ = std::fs::remove_dir_all(dir);
}
