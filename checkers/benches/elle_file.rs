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
    let (wall, rss) = (t0.elapsed().as_secs_f64(), status_mb("VmHWM:"));
    println!(
        "{ops} ops: {:?} {:?} in {wall:.2} s wall ({user:.2} s user, {sys:.2} s sys), peak RSS {rss:.0} MB",
        v.valid, v.anomaly_types,
    );
    // For the parent's ratios.
    println!("figures {wall} {} {rss}", user + sys);
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(String::from))
        .unwrap_or_else(|| "?".into())
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
    let mut figures: Vec<(usize, [f64; 3])> = Vec::new();
    for n in sizes {
        let path =
            std::env::temp_dir().join(format!("aurora-chaos-elle-bench-{n}-{anomalies}.edn"));
        if keep && path.exists() {
            let mb = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0) as f64 / 1e6;
            println!("reusing {} ({mb:.0} MB)", path.display());
            figures.extend(check(&path, n, mb).map(|f| (n, f)));
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
        figures.extend(check(&path, n, mb).map(|f| (n, f)));
        if !keep {
            let _ = std::fs::remove_file(&path);
        }
    }
    if let [(n1, a), (n2, b)] = figures[..] {
        println!(
            "{n2} vs {n1} txns: {:.1}x the wall time, {:.1}x the CPU time, {:.1}x the peak RSS (target: under 12x each)",
            b[0] / a[0],
            b[1] / a[1],
            b[2] / a[2]
        );
    }
}

/// Checks `path` in a child process (so its peak RSS is its own), prints the figures with the
/// load average at the start, and returns (wall s, CPU s, peak RSS MB).
fn check(path: &std::path::Path, n: usize, mb: f64) -> Option<[f64; 3]> {
    let load = load();
    let me = std::env::current_exe().expect("own path");
    let o = std::process::Command::new(me)
        .args(["--check", &path.display().to_string()])
        .output()
        .expect("run the check");
    let out = String::from_utf8_lossy(&o.stdout);
    let mut figures = None;
    for l in out.lines() {
        match l.strip_prefix("figures ") {
            Some(f) => {
                let f: Vec<f64> = f.split(' ').filter_map(|x| x.parse().ok()).collect();
                figures = f.try_into().ok();
            }
            None => println!("elle, {n} txns from {mb:.0} MB (load average {load}): {l}"),
        }
    }
    figures
}
