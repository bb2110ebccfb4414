//! `check` and `elle-cli` on the labelled corpus and on bad input: every checker reachable, every
//! elle-cli `test.sh` case with its exit code, and malformed histories as exit 2 naming the line.

use super::{bin, corpus, run};
use serde_json::Value as Json;
use std::path::{Path, PathBuf};

fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("aurora-chaos-ck-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

fn manifest(c: &Path) -> Vec<Json> {
    let m: Json =
        serde_json::from_str(&std::fs::read_to_string(c.join("manifest.json")).expect("manifest"))
            .expect("manifest json");
    m["entries"].as_array().expect("entries").clone()
}

/// Every workload checker of the crate answers through `check --workload`, with the manifest's
/// verdict as the exit code (0 valid, 1 invalid).
#[test]
fn every_checker_is_reachable_from_check() {
    let Some(c) = corpus() else { return };
    let mut seen = std::collections::BTreeSet::new();
    for e in manifest(&c) {
        let w = e["workload"].as_str().unwrap_or("");
        let mut args: Vec<String> = vec!["check".into(), "--workload".into(), w.into()];
        match w {
            "set" | "set-full" | "counter" | "long-fork" | "comments" | "bank" | "mutex" => {}
            "multi-register" => args.extend(["--initial-value".into(), "{:x 0 :y 0}".into()]),
            _ => continue,
        }
        if let Some(n) = e["checker_options"]["group-size"].as_i64() {
            args.extend(["--group-size".into(), n.to_string()]);
        }
        let expected = match e["expected_valid"] {
            Json::Bool(true) => 0,
            Json::Bool(false) => 1,
            _ => continue,
        };
        let path = c.join(e["path"].as_str().expect("path"));
        let (code, out, err) = run(bin().args(&args).arg(&path));
        assert_eq!(code, expected, "{args:?} {}: {out}{err}", path.display());
        seen.insert(w.to_string());
    }
    for w in [
        "set",
        "set-full",
        "counter",
        "long-fork",
        "comments",
        "bank",
        "mutex",
        "multi-register",
    ] {
        assert!(seen.contains(w), "no corpus entry exercised {w}");
    }
}

/// elle-cli's own `test.sh` cases (recorded in the manifest with their exit codes) run unchanged
/// through the drop-in; `... FLAG V` repeats the entry's first command with one more flag.
#[test]
fn elle_cli_test_sh_cases_give_elle_cli_exit_codes() {
    let Some(c) = corpus() else { return };
    let mut n = 0;
    for e in manifest(&c) {
        let o = &e["checker_options"];
        let Some(expected) = o["expected_exit_code"].as_i64() else {
            continue;
        };
        let cmds: Vec<String> = match &o["elle-cli test.sh"] {
            Json::String(s) => vec![s.clone()],
            Json::Array(xs) => xs
                .iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect(),
            _ => continue,
        };
        let path = c.join(e["path"].as_str().expect("path"));
        let first: Vec<String> = cmds[0].split_whitespace().map(str::to_string).collect();
        for cmd in &cmds {
            let words: Vec<String> = cmd.split_whitespace().map(str::to_string).collect();
            let mut args = if words[0] == "..." {
                let mut a = first.clone();
                a.extend(words[1..].iter().cloned());
                a
            } else {
                words
            };
            args.retain(|a| !a.starts_with("histories/"));
            let (code, out, err) = run(bin().arg("elle-cli").args(&args).arg(&path));
            assert_eq!(
                code as i64,
                expected,
                "elle-cli {cmd} on {}: {out}{err}",
                path.display()
            );
            let valid = if expected == 1 { "false" } else { "true" };
            assert_eq!(
                out,
                format!("{} \t {valid}\n", path.display()),
                "elle-cli prints `file \\t valid?`"
            );
            n += 1;
        }
    }
    assert!(n >= 15, "only {n} test.sh cases found");
}

/// elle-cli's verbose output and `check --format elle-edn|elle-json` carry Elle's keys.
#[test]
fn elle_keys_in_edn_and_json() {
    let Some(c) = corpus() else { return };
    let f = c.join("elle/elle-cli/histories/elle/paper-example.edn");
    let (code, out, err) = run(bin().args(["elle-cli", "-v", "-m", "list-append"]).arg(&f));
    assert_eq!(code, 1, "{err}");
    let j: Json = serde_json::from_str(&out).expect("pretty JSON");
    assert_eq!(j["valid?"], Json::Bool(false));
    assert_eq!(j["anomaly-types"], serde_json::json!(["G-single-item"]));
    assert!(j["not"].is_array() && j["also-not"].is_array(), "{j}");
    let (code, out, _) = run(bin()
        .args(["check", "--workload", "list-append", "--format", "elle-edn"])
        .arg(&f));
    assert_eq!(code, 1);
    assert!(out.starts_with("{:valid? false,"), "{out}");
    assert!(out.contains(":anomaly-types [:G-single-item]"), "{out}");
    assert!(out.contains(":not #{"), "{out}");
    assert!(out.contains(":also-not #{"), "{out}");
}

/// `--directory` writes Elle's text explanation and an SVG (and DOT) picture per cycle; a store
/// directory is read through its history.edn and gets results.edn beside it.
#[test]
fn directory_and_store_outputs() {
    let Some(c) = corpus() else { return };
    let d = temp_dir("dir");
    let store = d.join("store/test/20260101T000000");
    std::fs::create_dir_all(&store).expect("store");
    std::fs::copy(
        c.join("elle/elle-cli/histories/elle/paper-example.edn"),
        store.join("history.edn"),
    )
    .expect("copy");
    let out_dir = d.join("elle");
    let (code, _, err) = run(bin()
        .args([
            "check",
            "--workload",
            "list-append",
            "--write-results",
            "--directory",
        ])
        .arg(&out_dir)
        .arg(&store));
    assert_eq!(code, 1, "{err}");
    let results = std::fs::read_to_string(store.join("results.edn")).expect("results.edn");
    assert!(results.starts_with("{:valid? false"), "{results}");
    let txt = std::fs::read_to_string(out_dir.join("G-single-item.txt")).expect("txt");
    assert!(txt.starts_with("G-single-item #0\nLet:\n"), "{txt}");
    assert!(txt.contains("a contradiction!"), "{txt}");
    let svg = std::fs::read_to_string(out_dir.join("G-single-item/0.svg")).expect("svg");
    assert!(
        svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""),
        "{svg}"
    );
    assert_eq!(
        svg.matches("<rect x=").count(),
        3,
        "one box per transaction"
    );
    assert!(out_dir.join("G-single-item/0.dot").exists());
    // elle-cli's -d writes the same files.
    let d2 = d.join("elle2");
    let (code, _, _) = run(bin()
        .args(["elle-cli", "-m", "list-append", "-d"])
        .arg(&d2)
        .arg(store.join("history.edn")));
    assert_eq!(code, 1);
    assert_eq!(
        std::fs::read_to_string(d2.join("G-single-item/0.svg")).expect("svg"),
        svg
    );
    // A directory without history.edn is bad input.
    let (code, _, err) = run(bin().args(["check", "--workload", "list-append"]).arg(&d));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("history.edn"), "{err}");
    let _ = std::fs::remove_dir_all(&d);
}

/// Malformed or mismatched input: exit 2 with the file and line named, for `check` and the drop-in.
#[test]
fn malformed_histories_exit_2_naming_the_line() {
    let d = temp_dir("bad");
    let cases: &[(&str, &str, &str, &str)] = &[
        // (workload, history, text expected in stderr, why)
        ("bank", "{:type :invoke, :process 0, :f :txn, :value [[:append 1 2]]}\n{:type :ok, :process 0, :f :txn, :value [[:append 1 2]]}\n", "line 1", "another workload's history"),
        ("list-append", "{:type :invoke, :process 0, :f :txn, :value [[:append 1 2]]}\n{:type :ok, :process 0, :f :txn, :value [[:frob 1 2]]}\n", "line 2", "malformed micro-op"),
        ("list-append", "{:type :invoke, :f :txn, :value [[:append 1 2]]}\n{:type :invoke, :f :txn, :value [[:r 1 nil]]}\n{:type :ok, :f :txn, :value [[:r 1 [2]]]}\n{:type :ok, :f :txn, :value [[:append 1 2]]}\n", "line 2", "no :process, overlapping"),
        ("list-append", "{:type :invoke, :process 0, :f :txn, :value [[:append 1 2]]}\n{:type :ok, :f :txn, :value [[:append 1 2]]}\n", "line 2", "one op without :process"),
        ("rw-register", "{:type :invoke, :process 0, :f :txn, :value [[:w 1 2]]}\n{:type :invoke, :process 0, :f :txn, :value [[:w 1 3]]}\n", "line 2", "double invocation"),
        ("register", "{:type :invoke, :process 0, :f :read, :value nil}\n{:type :ok, :process 0, :f :read, :value 'x}\n", "2", "Clojure reader syntax"),
        ("register", "{:type :invoke, :f :read, :value nil}\n{:type :ok, :f :read, :value 1}\n", "line 1", "register history without :process"),
        ("counter", "{:type :invoke, :process 0, :f :add, :value 1}\n{:type :ok, :process 0, :f :add, :value \"one\"}\n", "line 2", "non-integer add"),
        ("bank", "{:type :invoke, :process 0, :f :read, :value nil}\n{:type :ok, :process 0, :f :read, :value {:a 9223372036854775807, :b 9223372036854775807}}\n", "line 2", "total beyond i64"),
    ];
    for (i, (w, text, needle, why)) in cases.iter().enumerate() {
        let f = d.join(format!("h{i}.edn"));
        std::fs::write(&f, text).expect("write");
        let (code, out, err) = run(bin().args(["check", "--workload", w]).arg(&f));
        assert_eq!(code, 2, "{why}: {out}{err}");
        assert!(
            err.contains(&format!("h{i}.edn")) && err.contains(needle),
            "{why}: {err}"
        );
        let elle_cli_model = if *w == "register" { "register" } else { w };
        let (code, _, err) = run(bin().args(["elle-cli", "-m", elle_cli_model]).arg(&f));
        assert_eq!(code, 2, "elle-cli, {why}: {err}");
    }
    // Usage errors of the model lists.
    let f = d.join("h0.edn");
    for (args, needle) in [
        (
            vec!["check", "--workload", "list-append", "--model", ","],
            "no consistency model",
        ),
        (
            vec![
                "check",
                "--workload",
                "list-append",
                "--model",
                "linearizable",
            ],
            "single-object",
        ),
        (
            vec!["elle-cli", "-m", "list-append", "-c", "sequential"],
            "single-object",
        ),
        (
            vec!["elle-cli", "-m", "list-append", "-a", "G-bogus"],
            "unknown anomaly",
        ),
        (vec!["elle-cli", "-m", "sequential"], "not provided"),
        (
            vec!["check", "--workload", "bank", "--model", "serializable"],
            "list-append and rw-register",
        ),
    ] {
        let (code, _, err) = run(bin().args(&args).arg(&f));
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
    }
    let _ = std::fs::remove_dir_all(&d);
}
