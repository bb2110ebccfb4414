use checkers::io::json::from_json;
use checkers::io::read_history_file;
use checkers::linear::*;
use checkers::{Checker, Validity};
use std::path::PathBuf;

#[test]
fn parse_all() {
    let root = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/histories"
    ));
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("manifest.json")).unwrap())
            .unwrap();
    let mut bad = vec![];
    let mut n = 0;
    for e in m["entries"].as_array().unwrap() {
        let p = root.join(e["path"].as_str().unwrap());
        let w = e["workload"].as_str().unwrap();
        let h = read_history_file(&p).unwrap();
        let model = match w {
            "cas-register" => ModelKind::CasRegister,
            "mutex" => ModelKind::Mutex,
            "multi-register" => ModelKind::MultiRegister,
            _ => continue,
        };
        let mut o = LinearOptions::knossos(model);
        if model != ModelKind::Mutex {
            o.initial_value = from_json(&e["initial_value"]);
        }
        if e["checker_options"]["semantics"] == "porcupine-etcd" {
            o = LinearOptions::porcupine();
        }
        let t = std::time::Instant::now();
        let v = LinearChecker::new(o).check(&h);
        n += 1;
        let exp = match &e["expected_valid"] {
            serde_json::Value::Bool(true) => Validity::Valid,
            serde_json::Value::Bool(false) => Validity::Invalid,
            _ => Validity::Unknown,
        };
        if v.valid != exp {
            bad.push(format!(
                "{} expected {:?} got {:?} {}",
                p.display(),
                exp,
                v.valid,
                v.explanation
            ));
        }
        if t.elapsed().as_millis() > 100 {
            println!("{} {:?}", p.display(), t.elapsed());
        }
    }
    println!("{n} checked");
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}
