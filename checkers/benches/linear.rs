use checkers::io::read_history_file;
use checkers::linear::*;
use checkers::Checker;
use std::path::PathBuf;
use std::time::Instant;

fn main() {
    let root = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/histories/etcd"
    ));
    let mut total = std::time::Duration::ZERO;
    let mut slow = vec![];
    for i in 0..=102 {
        let p = root.join(format!("etcd_{i:03}.edn"));
        let Ok(h) = read_history_file(&p) else {
            continue;
        };
        let c = LinearChecker::new(LinearOptions::porcupine());
        let t = Instant::now();
        let v = c.check(&h);
        let d = t.elapsed();
        total += d;
        slow.push((d, i, v.stats["configs-explored"].clone(), v.valid));
    }
    slow.sort_by(|a, b| b.0.cmp(&a.0));
    println!("etcd total {:?}", total);
    for s in &slow[..5] {
        println!("{:?}", s);
    }
}
