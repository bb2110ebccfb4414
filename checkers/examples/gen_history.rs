//! Writes a deterministic Jepsen-format list-append `history.edn` (see `checkers::gen`).
//!
//! ```sh
//! cargo run --release -p checkers --example gen_history -- --txns 1000000 --seed 1 \
//!     [--anomalies 10] [--processes 30] [--out /tmp/history.edn]
//! ```
//! Without `--out` the history goes to stdout. Prints what it wrote to stderr.

use checkers::gen::{write_list_append, AppendGen};
use std::io::Write;

fn main() {
    let mut g = AppendGen::default();
    let mut out_path: Option<String> = None;
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut num = || -> u64 {
            it.next()
                .and_then(|v| v.replace('_', "").parse().ok())
                .unwrap_or_else(|| usage(&format!("{flag} needs a number")))
        };
        match flag.as_str() {
            "--txns" => g.txns = num() as usize,
            "--seed" => g.seed = num(),
            "--anomalies" => g.anomalies = num() as usize,
            "--processes" => g.processes = num() as usize,
            "--max-appends-per-key" => g.max_appends_per_key = num() as i64,
            "--out" => out_path = it.next().cloned(),
            other => usage(&format!("unknown flag {other}")),
        }
    }
    let mut out: Box<dyn Write> = match &out_path {
        Some(p) => {
            Box::new(std::fs::File::create(p).unwrap_or_else(|e| usage(&format!("{p}: {e}"))))
        }
        None => Box::new(std::io::stdout().lock()),
    };
    let mut buf = std::io::BufWriter::with_capacity(1 << 20, &mut out);
    let st = write_list_append(&g, &mut buf).expect("write history");
    buf.flush().expect("flush");
    eprintln!(
        "gen_history: {} txns, {} ops, {} stale reads injected, seed {}, {} processes{}",
        st.txns,
        st.ops,
        st.injected,
        g.seed,
        g.processes,
        out_path.map(|p| format!(" -> {p}")).unwrap_or_default()
    );
}

fn usage(msg: &str) -> ! {
    eprintln!("gen_history: {msg}\nusage: gen_history --txns N [--seed S] [--anomalies K] [--processes P] [--max-appends-per-key M] [--out FILE]");
    std::process::exit(2)
}
