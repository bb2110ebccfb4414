//! Elle from a file: Jepsen-format list-append `history.edn`s written by `checkers::gen` (30
//! processes, 4-6 micro-ops, invoke/complete pairs, 1% `:fail`, 0.5% `:info`), checked for strict
//! serializability through `Checker::check_file` (the streaming reader), as `aurora-chaos check`
//! does. Each check runs in a child process, so its peak RSS is its own.
//!
//! Run: `cargo bench -p checkers --bench elle_file` (1M transactions, about 420 MB in the temp
//! directory, deleted afterwards); `ELLE_BENCH_10M=1` adds 10M transactions (about 4.4 GB);
//! `ELLE_BENCH_ANOMALIES=N` injects N stale reads; `ELLE_BENCH_KEEP=1` keeps the generated files
//! and reuses them on the next run (for repeated measurements).

use checkers::elle::{ElleOptions, ListAppendChecker};
use checkers::gen::{write_list_append, AppendGen};
use checkers::Checker;
use std::io::Write;
use std::time::Instant;

fn status_mb(field: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

/// User and system CPU seconds of this process (clock ticks of 10 ms).
fn cpu_secs() -> (f64, f64) {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map(|x| x.1).unwrap_or("");
    let f: Vec<f64> = after
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0.0))
        .collect();
    (
        f.get(11).copied().unwrap_or(0.0) / 100.0,
        f.get(12).copied().unwrap_or(0.0) / 100.0,
    )
}

fn child(path: &str) {
    let t0 = Instant::now();
    let c = ListAppendChecker::new(ElleOptions::default());
    let (ops, v) = c
        .check_file(std::path::Path::new(path))
        .expect("readable history");
    let (user, sys) = cpu_secs();
    println!(
        "{ops} ops: {:?} {:?} in {:.2} s wall ({user:.2} s user, {sys:.2} s sys), peak RSS {:.0} MB",
        v.valid,
        v.anomaly_types,
        t0.elapsed().as_secs_f64(),
        status_mb("VmHWM:")
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--check") {
        return child(&args[i + 1]);
    }
    let mut sizes = vec![1_000_000usize];
    if std::env::var_os("ELLE_BENCH_10M").is_some() {
        sizes.push(10_000_000);
    }
    let anomalies = std::env::var("ELLE_BENCH_ANOMALIES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let keep = std::env::var_os("ELLE_BENCH_KEEP").is_some();
    for n in sizes {
        let path = std::env::temp_dir().join(format!("aurora-chaos-elle-bench-{n}-{anomalies}.edn"));
        if keep && path.exists() {
            let mb = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0) as f64 / 1e6;
            println!("reusing {} ({mb:.0} MB)", path.display());
            check(&path, n, mb);
            continue;
        }
        let g = AppendGen {
            txns: n,
            seed: 1,
            anomalies,
            ..AppendGen::default()
        };
        let t0 = Instant::now();
        let mut out = std::io::BufWriter::with_capacity(
            1 << 20,
            std::fs::File::create(&path).expect("create history file"),
        );
        let st = write_list_append(&g, &mut out).expect("write history");
        out.flush().expect("flush");
        drop(out);
        let mb = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0) as f64 / 1e6;
        println!(
            "generated {n} txns ({} ops, {} stale reads, {mb:.0} MB) in {:.1} s",
            st.ops,
            st.injected,
            t0.elapsed().as_secs_f64()
        );
        check(&path, n, mb);
        if !keep {
            let _ = std::fs::remove_file(&path);
        }
    }
}

/// Checks `path` in a child process (so its peak RSS is its own) and prints the figures.
fn check(path: &std::path::Path, n: usize, mb: f64) {
    let me = std::env::current_exe().expect("own path");
    let o = std::process::Command::new(me)
        .args(["--check", &path.display().to_string()])
        .output()
        .expect("run the check");
    print!(
        "elle, {n} txns from {mb:.0} MB: {}",
        String::from_utf8_lossy(&o.stdout)
    );
}
