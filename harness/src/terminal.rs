//! Terminal output of a run: the banner (seed and every drawn parameter), the summary table of checks,
//! and, on failure, the exact command that reproduces the run.

use crate::checks::validity_word;
use crate::config::RunConfig;
use crate::nemesis::Schedule;
use crate::run::RunReport;
use std::io::IsTerminal;

pub fn banner(cfg: &RunConfig, schedule: &Schedule) -> String {
    let w = &cfg.workload;
    let mut s = format!(
        "aurora-chaos run  seed={}  workload={}  nemesis={}  mode={:?}\n  time-limit={}s rate={}/s concurrency={} client-hosts={} tick={}ms latency={}-{}ms interval={}ms\n  keys={} reader-fraction={} bugs={}\n  schedule ({} entries):",
        cfg.seed,
        w.kind.name(),
        cfg.nemesis_label(),
        cfg.mode,
        cfg.time_limit_s,
        cfg.rate,
        cfg.concurrency,
        cfg.client_hosts,
        cfg.tick_ms,
        cfg.min_latency_ms,
        cfg.max_latency_ms,
        cfg.nemesis_interval_ms,
        w.keys,
        w.reader_fraction,
        if cfg.bugs.is_empty() { "none".into() } else { cfg.bugs.join(",") },
        schedule.entries.len(),
    );
    for e in &schedule.entries {
        s.push_str(&format!(
            "\n    {:>8.3}s  {}",
            e.at_ms as f64 / 1000.0,
            serde_json::to_string(&e.fault).unwrap_or_default()
        ));
    }
    s
}

fn paint(text: &str, code: &str) -> String {
    if std::io::stdout().is_terminal() {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

pub fn summary(r: &RunReport) -> String {
    let mut b = tabled::builder::Builder::default();
    b.push_record(["check", "claims", "verdict", "figure", "details"]);
    for c in &r.checks {
        let verdict = match (c.valid, c.advisory) {
            (checkers::Validity::Valid, _) => paint("pass", "32"),
            (checkers::Validity::Invalid, true) => paint("over bound", "33"),
            (checkers::Validity::Invalid, false) => paint("FAIL", "31"),
            (v, _) => paint(validity_word(v), "33"),
        };
        let fig = match (c.figure, c.bound, &c.unit) {
            (Some(f), Some(b), Some(u)) => format!("{f:.2} {u} (bound {b})"),
            _ => String::new(),
        };
        b.push_record([
            c.name.clone(),
            c.claims.join(" "),
            verdict,
            fig,
            c.summary.clone(),
        ]);
    }
    let mut t = b.build();
    t.with(tabled::settings::Style::rounded());
    let mut s = format!(
        "ops: {} ok, {} fail, {} info over {:.1} simulated s\n{t}\noutcome: {} (exit {})",
        r.ops.ok,
        r.ops.fail,
        r.ops.info,
        r.sim_ms as f64 / 1000.0,
        r.outcome.name(),
        r.outcome.exit_code()
    );
    if let Some(e) = &r.sim_error {
        s.push_str(&format!("\nsimulation error: {e}"));
    }
    for c in r
        .checks
        .iter()
        .filter(|c| c.valid != checkers::Validity::Valid && !c.advisory)
    {
        if let Some(v) = &c.verdict {
            if !v.explanation.trim().is_empty() {
                s.push_str(&format!(
                    "\n\n== {} ==\n{}",
                    c.name,
                    truncate(v.explanation.trim_end(), 4000)
                ));
            }
        }
    }
    if r.outcome != crate::outcome::Outcome::Pass {
        s.push_str(&format!("\n\nreproduce with:\n  {}", r.repro));
    }
    s
}

fn truncate(s: &str, n: usize) -> String {
    if s.len() <= n {
        return s.to_string();
    }
    let mut end = n;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!(
        "{}\n… ({} more bytes; see results.json)",
        &s[..end],
        s.len() - end
    )
}
