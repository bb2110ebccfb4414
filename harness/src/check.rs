//! `aurora-chaos check FILE...`: runs the checkers on stored history files, offline.
//!
//! Exit codes: 0 valid, 1 invalid, 3 unknown, 2 bad input or usage (naming the file, the line and what
//! is wrong). With several files each is checked and the worst outcome is the exit code.

use crate::outcome::Outcome;
use checkers::bank::{BankChecker, BankOptions};
use checkers::elle::{ElleOptions, ListAppendChecker, RwRegisterChecker};
use checkers::linear::{FailSemantics, LinearChecker, LinearOptions, ModelKind};
use checkers::{Checker, Validity, Value, Verdict};
use clap::{Args, ValueEnum};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CheckWorkload {
    Register,
    CasRegister,
    Mutex,
    ListAppend,
    RwRegister,
    Bank,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// History files: Jepsen EDN (op stream, vector or list), JSON Lines, elle-cli JSON, or Jepsen log text.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    #[arg(long, value_enum)]
    pub workload: CheckWorkload,
    /// Registers: every `:value` is `[key v]`; each key is checked on its own.
    #[arg(long)]
    pub independent: bool,
    /// Registers: the initial value, as EDN (default nil).
    #[arg(long, value_name = "EDN")]
    pub initial_value: Option<String>,
    /// Registers: an ok read of nil requires nil (Porcupine) instead of matching anything (Knossos).
    #[arg(long)]
    pub strict_nil_reads: bool,
    /// Registers: a `:fail` cas observed a mismatch (Porcupine) instead of never happening (Knossos).
    #[arg(long)]
    pub fail_observed: bool,
    /// Elle: consistency model(s) to check, comma-separated (default strict-serializable).
    #[arg(long, value_name = "MODEL")]
    pub model: Option<String>,
    /// rw-register: infer version orders assuming sequential keys.
    #[arg(long)]
    pub sequential_keys: bool,
    /// rw-register: infer version orders assuming linearizable keys.
    #[arg(long)]
    pub linearizable_keys: bool,
    /// rw-register: infer version orders from write-follows-read.
    #[arg(long)]
    pub wfr_keys: bool,
    /// Bank: the expected total (default: the sum of the first ok read).
    #[arg(long)]
    pub total: Option<i64>,
    /// Bank: negative balances are allowed.
    #[arg(long)]
    pub negative_balances: bool,
    /// Print one JSON object per file instead of the table and explanations.
    #[arg(long)]
    pub json: bool,
    /// Give up after this many seconds per file (the verdict is unknown).
    #[arg(long, value_name = "SECS")]
    pub time_limit: Option<f64>,
    /// Write a Graphviz DOT file of each anomaly cycle next to ... this directory.
    #[arg(long, value_name = "DIR")]
    pub dot: Option<PathBuf>,
}

/// Builds the checker the flags describe, or a usage error.
pub fn build_checker(a: &CheckArgs) -> Result<Box<dyn Checker>, String> {
    let time_limit = match a.time_limit {
        Some(s) if !(s.is_finite() && s > 0.0) => {
            return Err(format!("--time-limit must be positive, got {s}"))
        }
        Some(s) => Some(Duration::from_secs_f64(s)),
        None => None,
    };
    let initial_value = match &a.initial_value {
        None => Value::Nil,
        Some(t) => checkers::io::edn::parse_one(t).map_err(|e| format!("--initial-value: {e}"))?,
    };
    let models: Vec<String> = a
        .model
        .as_deref()
        .unwrap_or("strict-serializable")
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    let linear = |model: ModelKind| -> Box<dyn Checker> {
        Box::new(LinearChecker::new(LinearOptions {
            model,
            initial_value: initial_value.clone(),
            independent: a.independent,
            nil_read_wildcard: !a.strict_nil_reads,
            fail_semantics: if a.fail_observed {
                FailSemantics::ObservedFailure
            } else {
                FailSemantics::Drop
            },
            time_limit,
        }))
    };
    let elle = || -> Result<ElleOptions, String> {
        let mut o = ElleOptions::default();
        o.models = models.clone();
        o.sequential_keys = a.sequential_keys;
        o.linearizable_keys = a.linearizable_keys;
        o.wfr_keys = a.wfr_keys;
        if let Some(t) = time_limit {
            o.cycle_search_timeout = t;
        }
        if let Some(m) = o
            .models
            .iter()
            .find(|m| !checkers::elle::model::is_known_model(m))
        {
            return Err(format!("--model: unknown consistency model `{m}`"));
        }
        Ok(o)
    };
    Ok(match a.workload {
        CheckWorkload::Register => linear(ModelKind::Register),
        CheckWorkload::CasRegister => linear(ModelKind::CasRegister),
        CheckWorkload::Mutex => linear(ModelKind::Mutex),
        CheckWorkload::ListAppend => Box::new(ListAppendChecker::new(elle()?)),
        CheckWorkload::RwRegister => Box::new(RwRegisterChecker::new(elle()?)),
        CheckWorkload::Bank => Box::new(BankChecker::new(BankOptions {
            accounts: None,
            total: a.total,
            negative_balances: a.negative_balances,
        })),
    })
}

/// Runs `check`; returns the worst outcome over all files.
pub fn run(a: &CheckArgs) -> Outcome {
    let checker = match build_checker(a) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return Outcome::BadInput;
        }
    };
    let mut worst = Outcome::Pass;
    let mut rows = Vec::new();
    // Files, with ops as the message; on a terminal only (see crate::progress).
    let bar = crate::progress::bar(a.files.len() as u64, "files");
    for file in &a.files {
        bar.set_message(format!("reading {}", file.display()));
        let history = checkers::io::read_history_file(file);
        if let Ok(h) = &history {
            bar.set_message(format!("checking {} ({} ops)", file.display(), h.len()));
        }
        bar.inc(1);
        let history = match history {
            Ok(h) => h,
            Err(e) => {
                eprintln!("error: {e}");
                if a.json {
                    println!(
                        "{}",
                        serde_json::json!({"file": file.display().to_string(), "valid": "error", "error": e.to_string()})
                    );
                }
                worst = worst.merge(Outcome::BadInput);
                continue;
            }
        };
        let verdict = checker.check(&history);
        // A history the checker cannot interpret (unpaired ops, wrong value shapes) is bad input.
        if verdict
            .anomaly_types
            .iter()
            .any(|a| a == "malformed-history")
        {
            eprintln!("error: {}: {}", file.display(), verdict.explanation.trim());
            if a.json {
                let mut j = verdict.to_json();
                j["file"] = serde_json::Value::String(file.display().to_string());
                j["valid"] = serde_json::Value::String("error".into());
                println!("{j}");
            }
            worst = worst.merge(Outcome::BadInput);
            continue;
        }
        if let Some(dir) = &a.dot {
            if let Err(e) = write_dots(dir, file, &verdict) {
                eprintln!("error: writing DOT files to {}: {e}", dir.display());
                worst = worst.merge(Outcome::BadInput);
            }
        }
        worst = worst.merge(Outcome::from(verdict.valid));
        if a.json {
            let mut j = verdict.to_json();
            j["file"] = serde_json::Value::String(file.display().to_string());
            println!("{j}");
        } else {
            rows.push((file.display().to_string(), history.len(), verdict));
        }
    }
    bar.finish_and_clear();
    if !a.json && !rows.is_empty() {
        print_table(&rows);
    }
    worst
}

fn validity_name(v: Validity) -> &'static str {
    match v {
        Validity::Valid => "valid",
        Validity::Invalid => "INVALID",
        Validity::Unknown => "unknown",
    }
}

fn print_table(rows: &[(String, usize, Verdict)]) {
    let mut b = tabled::builder::Builder::default();
    b.push_record(["file", "ops", "valid?", "anomalies", "not"]);
    for (file, ops, v) in rows {
        b.push_record([
            file.clone(),
            ops.to_string(),
            validity_name(v.valid).to_string(),
            v.anomaly_types.join(", "),
            v.not.join(", "),
        ]);
    }
    let mut table = b.build();
    table.with(tabled::settings::Style::rounded());
    println!("{table}");
    for (file, _, v) in rows {
        if !v.explanation.trim().is_empty() {
            println!("\n== {file} ==\n{}", v.explanation.trim_end());
        }
    }
}

fn write_dots(dir: &std::path::Path, file: &std::path::Path, v: &Verdict) -> std::io::Result<()> {
    let dots = checkers::elle::cycle_dots(v);
    if dots.is_empty() {
        return Ok(());
    }
    std::fs::create_dir_all(dir)?;
    let stem = file
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_else(|| "history".into());
    for (i, (kind, dot)) in dots.iter().enumerate() {
        std::fs::write(dir.join(format!("{stem}-{i}-{kind}.dot")), dot)?;
    }
    Ok(())
}
