//! Runs our Elle list-append checker and `adya` (an independent Elle port, crates.io) side by side.
//!
//! ```sh
//! cd bench/adya-compare && cargo build --release
//! target/release/adya-compare files /tmp/la-1m.edn ...   # each checker in its own process
//! target/release/adya-compare random 500                  # generated histories, in process
//! ```
//!
//! `files`: for each file, each checker runs in a child process (this binary, `one ours|adya
//! FILE`) so that its wall time and peak RSS (VmHWM) are its own; both check strict
//! serializability with their defaults (ours: the streaming reader and the deterministic budget;
//! adya: its own reader and its 1 s per-SCC timeout). Prints one line per checker and whether the
//! verdicts agree.
//!
//! `random N`: N small histories, half from `checkers::gen` (strictly serializable, some with
//! injected stale reads), half from `adya::sim` (stores at serializable, snapshot isolation, read
//! committed, read uncommitted and lost-update isolation); both checkers check each for strict
//! serializability and for serializability. Prints the agreement counts and the first
//! disagreements with the seed that reproduces them.

use checkers::elle::{ElleOptions, ListAppendChecker};
use checkers::{Checker, Validity};
use std::path::Path;
use std::process::Command;
use std::time::Instant;

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

fn ours_name(v: Validity) -> &'static str {
    match v {
        Validity::Valid => "true",
        Validity::Invalid => "false",
        Validity::Unknown => "unknown",
    }
}

fn adya_name(v: &adya::Valid) -> &'static str {
    match v {
        adya::Valid::True => "true",
        adya::Valid::False => "false",
        adya::Valid::Unknown => "unknown",
    }
}

/// Child: check one file with one checker; print `valid anomaly-types wall_s rss_mb`.
fn one(which: &str, file: &Path) {
    let t0 = Instant::now();
    let (valid, types) = match which {
        "ours" => {
            let c = ListAppendChecker::new(ElleOptions::default());
            match c.check_file(file) {
                Ok((_, v)) => (ours_name(v.valid).to_string(), v.anomaly_types.join(",")),
                Err(e) => ("error".into(), e.to_string()),
            }
        }
        _ => {
            let text = std::fs::read_to_string(file).expect("read file");
            match adya::History::parse(&text) {
                Ok(h) => {
                    drop(text);
                    let r = adya::check(&h, adya::Workload::ListAppend, &adya::Opts::default());
                    (adya_name(&r.valid).to_string(), r.anomaly_types.join(","))
                }
                Err(e) => ("error".into(), e.to_string()),
            }
        }
    };
    println!(
        "{valid}\t{}\t{:.2}\t{:.0}",
        if types.is_empty() { "-" } else { &types },
        t0.elapsed().as_secs_f64(),
        peak_rss_mb()
    );
}

fn files(paths: &[String]) {
    let me = std::env::current_exe().expect("own path");
    println!("file\tMB\tchecker\tvalid?\tanomalies\twall_s\tpeak_rss_mb");
    for p in paths {
        let mb = std::fs::metadata(p).map(|m| m.len() as f64 / 1e6).unwrap_or(0.0);
        let mut verdicts = Vec::new();
        for which in ["ours", "adya"] {
            let out = Command::new(&me).args(["one", which, p]).output().expect("run child");
            let line = String::from_utf8_lossy(&out.stdout).trim().to_string();
            println!("{p}\t{mb:.0}\t{which}\t{line}");
            verdicts.push(line.split('\t').next().unwrap_or("").to_string());
        }
        let agree = if verdicts[0] == verdicts[1] { "agree" } else { "DISAGREE" };
        println!("{p}\tverdicts {agree}");
    }
}

/// One generated history as text, and a description that reproduces it.
fn history(i: u64) -> (String, String) {
    if i % 2 == 0 {
        let g = checkers::gen::AppendGen {
            txns: 50 + (i as usize % 7) * 40,
            seed: i,
            processes: 2 + (i as usize % 9),
            mops_min: 1,
            mops_max: 4,
            active_keys: 3 + (i as usize % 4),
            max_appends_per_key: 8,
            fail_per_mille: 30,
            info_per_mille: 30,
            anomalies: if i % 4 == 0 { 0 } else { 1 + (i as usize % 5) },
        };
        let mut out = Vec::new();
        checkers::gen::write_list_append(&g, &mut out).expect("gen");
        (String::from_utf8(out).expect("utf8"), format!("checkers::gen {g:?}"))
    } else {
        let isolation = ["serializable", "si", "rc", "ru", "lost-update"][(i as usize / 2) % 5];
        let o = adya::sim::SimOpts {
            isolation: adya::sim::Isolation::parse(isolation).expect("isolation"),
            processes: 2 + (i as usize % 6),
            txns: 50 + (i as usize % 7) * 40,
            seed: i,
            ..Default::default()
        };
        (adya::sim::run(&o), format!("adya::sim {isolation} seed {i} processes {} txns {}", o.processes, o.txns))
    }
}

fn random(n: u64) {
    let mut agree = 0;
    let mut total = 0;
    let mut shown = 0;
    let (mut ours_s, mut adya_s) = (0.0, 0.0);
    let mut counts: std::collections::BTreeMap<String, usize> = Default::default();
    for i in 0..n {
        let (text, what) = history(i);
        for model in ["strict-serializable", "serializable"] {
            let t0 = Instant::now();
            let ours = match checkers::io::read_history_str(&text, "gen") {
                Ok(h) => ours_name(
                    ListAppendChecker::new(ElleOptions::with_models(&[model])).check(&h).valid,
                ),
                Err(_) => "error",
            };
            ours_s += t0.elapsed().as_secs_f64();
            let t0 = Instant::now();
            let theirs = match adya::History::parse(&text) {
                Ok(h) => {
                    let o = adya::Opts { models: vec![model.into()], ..Default::default() };
                    adya_name(&adya::check(&h, adya::Workload::ListAppend, &o).valid)
                }
                Err(_) => "error",
            };
            adya_s += t0.elapsed().as_secs_f64();
            total += 1;
            *counts.entry(format!("ours {ours} / adya {theirs}")).or_default() += 1;
            if ours == theirs {
                agree += 1;
            } else if shown < 10 {
                shown += 1;
                println!("DISAGREE ({model}): ours {ours}, adya {theirs}: {what}");
            }
        }
    }
    for (k, c) in &counts {
        println!("{c:6}  {k}");
    }
    println!(
        "random: {agree}/{total} verdicts agree over {n} histories x 2 models; checking time ours {ours_s:.2} s, adya {adya_s:.2} s"
    );
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("one") if args.len() == 3 => one(&args[1], Path::new(&args[2])),
        Some("files") => files(&args[1..]),
        Some("random") => random(args.get(1).and_then(|s| s.parse().ok()).unwrap_or(200)),
        _ => {
            eprintln!("usage: adya-compare files FILE... | random [N]");
            std::process::exit(2);
        }
    }
}
