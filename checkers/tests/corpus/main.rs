//! Runs every history of the labelled corpus (`shared/histories`, see its README) through the right
//! checker and compares with the manifest's `expected_valid` (and `expected_anomalies`, result-file
//! figures and Knossos's pinned failing ops where given). All disagreements are collected and
//! reported together. list-append and rw-register entries belong to `tests/corpus_elle`.
//!
//! The corpus stays outside the repository: `$AURORA_CHAOS_HISTORIES`, default
//! `<workspace>/../shared/histories`. Missing corpus: fails if `AURORA_CHAOS_REQUIRE_CORPUS=1`, else
//! says plainly that it was not checked.

use checkers::bank::{BankChecker, BankOptions};
use checkers::comments::CommentsChecker;
use checkers::counter::CounterChecker;
use checkers::io::json::from_json;
use checkers::io::read_history_file;
use checkers::linear::{LinearChecker, LinearOptions, ModelKind};
use checkers::long_fork::{LongForkChecker, LongForkOptions};
use checkers::set::{SetChecker, SetFullChecker};
use checkers::{Checker, History, Validity, Value, Verdict};
use serde_json::Value as J;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn corpus_dir() -> PathBuf {
    std::env::var_os("AURORA_CHAOS_HISTORIES")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../shared/histories"
            ))
        })
}

fn expected_validity(j: &J) -> Option<Validity> {
    match j {
        J::Bool(true) => Some(Validity::Valid),
        J::Bool(false) => Some(Validity::Invalid),
        J::String(s) if s == "unknown" => Some(Validity::Unknown),
        _ => None,
    }
}

/// The checker for a manifest entry, configured from it.
fn checker_for(e: &J) -> Option<Box<dyn Checker>> {
    let opts = &e["checker_options"];
    let linear = |model| {
        let mut o = if opts["semantics"] == "porcupine-etcd" {
            LinearOptions::porcupine()
        } else {
            LinearOptions::knossos(model)
        };
        o.model = model;
        if model != ModelKind::Mutex {
            o.initial_value = from_json(&e["initial_value"]);
        }
        Box::new(LinearChecker::new(o)) as Box<dyn Checker>
    };
    Some(match e["workload"].as_str()? {
        "cas-register" => linear(ModelKind::CasRegister),
        "mutex" => linear(ModelKind::Mutex),
        "multi-register" => linear(ModelKind::MultiRegister),
        "bank" => Box::new(BankChecker::new(BankOptions {
            negative_balances: opts["negative-balances?"].as_bool().unwrap_or(false),
            ..BankOptions::default()
        })),
        "counter" => Box::new(CounterChecker),
        "set" => Box::new(SetChecker),
        "set-full" => Box::new(SetFullChecker::default()),
        "long-fork" => Box::new(LongForkChecker {
            options: LongForkOptions {
                group_size: opts["group-size"].as_i64().unwrap_or(2),
            },
        }),
        "comments" => Box::new(CommentsChecker),
        _ => return None,
    })
}

/// Figures of an elle-cli result file that our verdict must reproduce.
fn check_result_file(root: &Path, e: &J, v: &Verdict, problems: &mut Vec<String>) {
    let Some(rf) = e["expected_result_file"].as_str() else {
        return;
    };
    let Ok(text) = std::fs::read_to_string(root.join(rf)) else {
        return problems.push(format!("cannot read {rf}"));
    };
    let Ok(r) = serde_json::from_str::<J>(&text) else {
        return problems.push(format!("cannot parse {rf}"));
    };
    let mut want = |what: &str, ours: J, theirs: &J| {
        if !theirs.is_null() && ours != *theirs {
            problems.push(format!("{what}: ours {ours}, {rf} says {theirs}"));
        }
    };
    match e["workload"].as_str().unwrap_or("") {
        "bank" => {
            want(
                "read-count",
                v.stats["read-count"].clone(),
                &r["read-count"],
            );
            want(
                "error-count",
                v.stats["error-count"].clone(),
                &r["error-count"],
            );
            if let Some(errs) = r["errors"].as_object() {
                for (kind, d) in errs {
                    want(
                        &format!("{kind} count"),
                        v.anomalies
                            .get(kind)
                            .map(|a| a["count"].clone())
                            .unwrap_or(J::Null),
                        &d["count"],
                    );
                    for which in ["first", "worst", "last", "lowest", "highest"] {
                        let ours = v
                            .anomalies
                            .get(kind)
                            .map(|a| a[which]["op"]["index"].clone())
                            .unwrap_or(J::Null);
                        want(
                            &format!("{kind} {which} op"),
                            ours,
                            &d[which]["op"]["index"],
                        );
                    }
                }
            }
        }
        "set-full" => want(
            "lost-count",
            v.anomalies
                .get("lost")
                .map(|a| a["count"].clone())
                .unwrap_or(0.into()),
            &r["lost-count"],
        ),
        "long-fork" => {
            want(
                "reads-count",
                v.stats["reads-count"].clone(),
                &r["reads-count"],
            );
            want(
                "forks",
                v.anomalies
                    .get("long-fork")
                    .map(|a| J::from(a.as_array().map_or(0, Vec::len)))
                    .unwrap_or(0.into()),
                &J::from(r["forks"].as_array().map_or(0, Vec::len)),
            );
        }
        "comments" => {
            let ours: Vec<J> = v
                .anomalies
                .get("missing")
                .and_then(|a| a.as_array().cloned())
                .unwrap_or_default()
                .iter()
                .map(|x| x["missing"].clone())
                .collect();
            let theirs: Vec<J> = r["errors"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .iter()
                .map(|x| {
                    J::from(
                        x["missing"]
                            .as_array()
                            .cloned()
                            .unwrap_or_default()
                            .iter()
                            .map(|m| m.to_string())
                            .collect::<Vec<_>>(),
                    )
                })
                .collect();
            want("missing", J::from(ours), &J::from(theirs));
        }
        "counter" => want("reads", v.stats["reads"].clone(), &r["reads"]),
        _ => {}
    }
}

/// Canonical form for comparing two encodings of one history: keywords compared as strings, integer
/// map keys as their text (elle-cli JSON turns `{0 100}` into `{:0 100}`); sources lines ignored.
fn canon(v: &Value) -> Value {
    match v {
        Value::Keyword(s) | Value::Symbol(s) => Value::Str(s.clone()),
        Value::Vector(xs) => Value::Vector(xs.iter().map(canon).collect()),
        Value::Set(xs) => Value::Set(xs.iter().map(canon).collect()),
        Value::Map(m) => Value::Map(
            m.iter()
                .map(|(k, v)| {
                    (
                        if let Value::Int(i) = k {
                            Value::Str(i.to_string())
                        } else {
                            canon(k)
                        },
                        canon(v),
                    )
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

fn same_ops(a: &History, b: &History) -> Result<(), String> {
    if a.len() != b.len() {
        return Err(format!("{} ops vs {}", a.len(), b.len()));
    }
    for (x, y) in a.ops.iter().zip(&b.ops) {
        let fx = (
            x.index,
            x.time,
            x.kind,
            x.process.clone(),
            x.f.clone(),
            canon(&x.value),
            x.error.as_ref().map(canon),
        );
        let fy = (
            y.index,
            y.time,
            y.kind,
            y.process.clone(),
            y.f.clone(),
            canon(&y.value),
            y.error.as_ref().map(canon),
        );
        if fx != fy {
            return Err(format!(
                "op {} (line {} vs {}) differs: {fx:?} vs {fy:?}",
                x.index, x.line, y.line
            ));
        }
    }
    Ok(())
}

#[test]
fn corpus_verdicts_agree() {
    let root = corpus_dir();
    if !root.join("manifest.json").exists() {
        if std::env::var("AURORA_CHAOS_REQUIRE_CORPUS").as_deref() == Ok("1") {
            panic!(
                "corpus required (AURORA_CHAOS_REQUIRE_CORPUS=1) but {} is missing",
                root.display()
            );
        }
        println!("corpus NOT checked: {} missing", root.display());
        return;
    }
    let manifest: J = serde_json::from_str(
        &std::fs::read_to_string(root.join("manifest.json")).expect("read manifest"),
    )
    .expect("parse manifest");
    let entries = manifest["entries"].as_array().expect("entries");
    let mut disagreements: Vec<String> = Vec::new();
    let mut agree: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut elle_left = 0usize;
    let mut parsed: BTreeMap<String, History> = BTreeMap::new();
    for e in entries {
        let path = e["path"].as_str().expect("path");
        let workload = e["workload"].as_str().unwrap_or("?");
        let h = match read_history_file(&root.join(path)) {
            Ok(h) => h,
            Err(err) => {
                disagreements.push(format!("{path}: cannot read: {err}"));
                continue;
            }
        };
        if let Some(n) = e["ops"].as_u64() {
            if n as usize != h.len() {
                disagreements.push(format!("{path}: read {} ops, manifest says {n}", h.len()));
            }
        }
        parsed.insert(path.to_string(), h);
        let h = &parsed[path];
        if matches!(workload, "list-append" | "rw-register") {
            elle_left += 1;
            continue;
        }
        let Some(checker) = checker_for(e) else {
            disagreements.push(format!("{path}: no checker for workload {workload}"));
            continue;
        };
        let v = checker.check(h);
        let mut problems = Vec::new();
        let expected = expected_validity(&e["expected_valid"]);
        if Some(v.valid) != expected {
            problems.push(format!(
                "valid {:?}, expected {}",
                v.valid, e["expected_valid"]
            ));
        }
        if let Some(exp) = e["expected_anomalies"].as_array() {
            let mut exp: Vec<String> = exp
                .iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect();
            exp.sort();
            if exp != v.anomaly_types {
                problems.push(format!(
                    "anomalies {:?}, expected {:?}",
                    v.anomaly_types, exp
                ));
            }
        }
        check_result_file(&root, e, &v, &mut problems);
        if let Some(idx) = e["expected_failure"]["failing_op"]["index"].as_u64() {
            let ours = v
                .anomalies
                .get("nonlinearizable")
                .map(|a| a[0]["op"]["completion-index"].clone());
            if ours != Some(J::from(idx)) {
                problems.push(format!("failing op {ours:?}, Knossos pins op {idx}"));
            }
        }
        let slot = agree.entry(workload.to_string()).or_default();
        slot.1 += 1;
        if problems.is_empty() {
            slot.0 += 1;
        } else {
            disagreements.push(format!(
                "{path}: {}\n    {}",
                problems.join("; "),
                v.explanation.lines().next().unwrap_or("")
            ));
        }
    }
    let mut pairs = 0usize;
    let pinned = entries
        .iter()
        .filter(|e| e["expected_failure"]["failing_op"]["index"].is_u64())
        .count();
    let result_files = entries
        .iter()
        .filter(|e| {
            e["expected_result_file"].is_string()
                && e["workload"] != "list-append"
                && e["workload"] != "rw-register"
        })
        .count();
    println!("{pinned} Knossos failing ops and {result_files} elle-cli result files compared");
    for e in entries {
        let (Some(a), Some(b)) = (e["path"].as_str(), e["same_history_as"].as_str()) else {
            continue;
        };
        pairs += 1;
        match (parsed.get(a), parsed.get(b)) {
            (Some(x), Some(y)) => {
                if let Err(d) = same_ops(x, y) {
                    disagreements.push(format!("{a} vs {b} (same_history_as): {d}"));
                }
            }
            _ => disagreements.push(format!("{a} vs {b}: one side unreadable")),
        }
    }
    for (w, (ok, n)) in &agree {
        println!("{w:>15}: {ok}/{n} agree");
    }
    println!("{pairs} same_history_as pairs compared");
    println!("{elle_left} list-append/rw-register entries left to tests/corpus_elle");
    assert!(
        disagreements.is_empty(),
        "{} disagreement(s):\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
}
