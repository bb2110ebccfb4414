use checkers::io::read_history_file;
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
    for e in m["entries"].as_array().unwrap() {
        let p = root.join(e["path"].as_str().unwrap());
        match read_history_file(&p) {
            Ok(h) => {
                if h.len() as u64 != e["ops"].as_u64().unwrap_or(0) {
                    bad.push(format!("{} ops {} vs {}", p.display(), h.len(), e["ops"]));
                }
            }
            Err(err) => bad.push(err.to_string()),
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}
