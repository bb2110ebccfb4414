//! `aurora-chaos check FILE|DIR...`: runs the checkers on stored history files, offline.
//!
//! Exit codes: 0 valid, 1 invalid, 3 unknown, 2 bad input or usage (naming the file, the line and what
//! is wrong). With several files each is checked and the worst outcome is the exit code. A
//! directory argument is a Jepsen store directory (`store/<test>/<time>/`): its `history.edn` is
//! checked and, with `--write-results`, Elle's result map is written beside it as `results.edn`.
//!
//! Every checker of the `checkers` crate is reachable (`--workload`). A history the checker cannot
//! interpret (unpairable ops, malformed micro-ops, another workload's shape) is bad input.

use crate::outcome::Outcome;
use checkers::bank::{BankChecker, BankOptions};
use checkers::comments::CommentsChecker;
use checkers::counter::CounterChecker;
use checkers::elle::{ElleOptions, ListAppendChecker, RwRegisterChecker};
use checkers::linear::{FailSemantics, LinearChecker, LinearOptions, ModelKind};
use checkers::long_fork::{LongForkChecker, LongForkOptions};
use checkers::set::{SetChecker, SetFullChecker, SetFullOptions};
use checkers::{Checker, Validity, Value, Verdict};
use clap::{Args, ValueEnum};
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CheckWorkload {
    Register,
    CasRegister,
    Mutex,
    MultiRegister,
    ListAppend,
    RwRegister,
    Bank,
    Set,
    SetFull,
    Counter,
    LongFork,
    Comments,
}

/// How `check` prints its results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// A table, then each explanation.
    Table,
    /// One JSON object per file (as `--json`).
    Json,
    /// Elle's result map (`:valid?`, `:anomaly-types`, `:anomalies`, `:not`, `:also-not`) as EDN.
    ElleEdn,
    /// The same map as JSON (`"valid?"`, `"anomaly-types"`, …), one object per line.
    ElleJson,
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
    /// Elle: extra anomalies to prohibit, comma-separated (elle-cli's `--anomalies`).
    #[arg(long, value_name = "ANOMALIES")]
    pub anomalies: Option<String>,
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
    /// set-full: stale reads are errors too.
    #[arg(long)]
    pub linearizable: bool,
    /// long-fork: keys per group (Jepsen's `n`).
    #[arg(long, value_name = "N")]
    pub group_size: Option<i64>,
    /// Print one JSON object per file instead of the table and explanations.
    #[arg(long)]
    pub json: bool,
    /// Output format (`--json` is `--format json`).
    #[arg(long, value_enum)]
    pub format: Option<OutputFormat>,
    /// Deterministic work budget of each search (linearizability: per key; Elle: per strongly
    /// connected component). When it runs out the verdict is unknown, naming the budget.
    #[arg(long, value_name = "UNITS")]
    pub budget: Option<u64>,
    /// Also give up after this many seconds (an explicit choice: the verdict may then depend on
    /// machine speed; the work budget applies either way).
    #[arg(long, value_name = "SECS")]
    pub time_limit: Option<f64>,
    /// Write Elle's files for each history: `<type>.txt` explanations and `<type>/<i>.svg` /
    /// `.dot` cycle pictures (one subdirectory per history when several are given).
    #[arg(long, value_name = "DIR")]
    pub directory: Option<PathBuf>,
    /// For a store directory (or `history.edn`), write Elle's result map as `results.edn` beside it.
    #[arg(long)]
    pub write_results: bool,
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
    let transactional = matches!(
        a.workload,
        CheckWorkload::ListAppend | CheckWorkload::RwRegister
    );
    if !transactional && (a.model.is_some() || a.anomalies.is_some()) {
        return Err(format!(
            "--model/--anomalies name Elle consistency models and anomalies; they apply to list-append and rw-register, not {:?}",
            a.workload
        ));
    }
    let models =
        checkers::elle::options::parse_models(a.model.as_deref().unwrap_or("strict-serializable"))
            .map_err(|e| format!("--model: {e}"))?;
    let anomalies = checkers::elle::options::parse_anomalies(a.anomalies.as_deref().unwrap_or(""))
        .map_err(|e| format!("--anomalies: {e}"))?;
    let budget = a.budget;
    let linear = |model: ModelKind| -> Box<dyn Checker> {
        let c = LinearChecker::new(LinearOptions {
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
        });
        Box::new(match budget {
            Some(b) => c.with_budget(b),
            None => c,
        })
    };
    let elle = || -> ElleOptions {
        let mut o = ElleOptions::default();
        o.models = models.clone();
        o.anomalies = anomalies.clone();
        o.sequential_keys = a.sequential_keys;
        o.linearizable_keys = a.linearizable_keys;
        o.wfr_keys = a.wfr_keys;
        o.cycle_search_timeout = time_limit;
        if let Some(b) = budget {
            o.cycle_search_budget = b;
        }
        o
    };
    if let Some(n) = a.group_size {
        if n < 1 {
            return Err(format!("--group-size must be at least 1, got {n}"));
        }
    }
    Ok(match a.workload {
        CheckWorkload::Register => linear(ModelKind::Register),
        CheckWorkload::CasRegister => linear(ModelKind::CasRegister),
        CheckWorkload::Mutex => linear(ModelKind::Mutex),
        CheckWorkload::MultiRegister => linear(ModelKind::MultiRegister),
        CheckWorkload::ListAppend => Box::new(ListAppendChecker::new(elle())),
        CheckWorkload::RwRegister => Box::new(RwRegisterChecker::new(elle())),
        CheckWorkload::Bank => Box::new(BankChecker::new(BankOptions {
            accounts: None,
            total: a.total,
            negative_balances: a.negative_balances,
        })),
        CheckWorkload::Set => Box::new(SetChecker),
        CheckWorkload::SetFull => Box::new(SetFullChecker {
            options: SetFullOptions {
                linearizable: a.linearizable,
            },
        }),
        CheckWorkload::Counter => Box::new(CounterChecker),
        CheckWorkload::LongFork => Box::new(LongForkChecker {
            options: LongForkOptions {
                group_size: a
                    .group_size
                    .unwrap_or(LongForkOptions::default().group_size),
            },
        }),
        CheckWorkload::Comments => Box::new(CommentsChecker),
    })
}

/// The history file a command-line argument names: the file itself, or `history.edn` inside a
/// Jepsen store directory.
pub fn history_path(arg: &Path) -> Result<PathBuf, String> {
    if arg.is_dir() {
        let h = arg.join("history.edn");
        if h.is_file() {
            Ok(h)
        } else {
            Err(format!(
                "{}: a directory, but it has no history.edn (expected a Jepsen store directory store/<test>/<time>/)",
                arg.display()
            ))
        }
    } else {
        Ok(arg.to_path_buf())
    }
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
    let format = match (a.format, a.json) {
        (Some(f), _) => f,
        (None, true) => OutputFormat::Json,
        (None, false) => OutputFormat::Table,
    };
    let mut worst = Outcome::Pass;
    let mut rows = Vec::new();
    // Files, with ops as the message; on a terminal only (see crate::progress).
    let bar = crate::progress::bar(a.files.len() as u64, "files");
    for arg in &a.files {
        let file = match history_path(arg) {
            Ok(f) => f,
            Err(e) => {
                eprintln!("error: {e}");
                worst = worst.merge(Outcome::BadInput);
                bar.inc(1);
                continue;
            }
        };
        let file = &file;
        bar.set_message(format!("checking {}", file.display()));
        // The checker reads the file itself: Elle's checkers stream it into their compact form.
        // A history with backtracks is checked lineage by lineage instead.
        let checked = match has_backtracks(file) {
            true => checkers::io::read_history_file(file)
                .map(|h| (h.len(), across_backtracks(checker.as_ref(), &h))),
            false => checker.check_file(file),
        };
        bar.inc(1);
        let (ops, verdict) = match checked {
            Ok(x) => x,
            Err(e) => {
                eprintln!("error: {e}");
                if format == OutputFormat::Json {
                    println!(
                        "{}",
                        serde_json::json!({"file": file.display().to_string(), "valid": "error", "error": e.to_string()})
                    );
                }
                worst = worst.merge(Outcome::BadInput);
                continue;
            }
        };
        // A history the checker cannot interpret (unpaired ops, wrong value shapes) is bad input.
        if verdict.is_malformed() {
            eprintln!("error: {}: {}", file.display(), verdict.explanation.trim());
            if format == OutputFormat::Json {
                let mut j = verdict.to_json();
                j["file"] = serde_json::Value::String(file.display().to_string());
                j["valid"] = serde_json::Value::String("error".into());
                println!("{j}");
            }
            worst = worst.merge(Outcome::BadInput);
            continue;
        }
        if let Err(e) = write_files(a, file, &verdict) {
            eprintln!("error: {e}");
            worst = worst.merge(Outcome::BadInput);
        }
        worst = worst.merge(Outcome::from(verdict.valid));
        match format {
            OutputFormat::Json => {
                let mut j = verdict.to_json();
                j["file"] = serde_json::Value::String(file.display().to_string());
                println!("{j}");
            }
            OutputFormat::ElleJson => println!("{}", verdict.to_elle_json()),
            OutputFormat::ElleEdn => println!("{}", verdict.to_elle_edn()),
            OutputFormat::Table => rows.push((file.display().to_string(), ops, verdict)),
        }
    }
    bar.finish_and_clear();
    if !rows.is_empty() {
        print_table(&rows);
    }
    worst
}

/// The optional outputs of one checked file: DOT files (`--dot`), Elle's directory
/// (`--directory`), `results.edn` (`--write-results`).
fn write_files(a: &CheckArgs, file: &Path, verdict: &Verdict) -> Result<(), String> {
    if let Some(dir) = &a.dot {
        write_dots(dir, file, verdict)
            .map_err(|e| format!("writing DOT files to {}: {e}", dir.display()))?;
    }
    if let Some(dir) = &a.directory {
        let dir = if a.files.len() > 1 {
            dir.join(file_stem(file))
        } else {
            dir.clone()
        };
        checkers::elle::svg::write_directory(&dir, verdict)
            .map_err(|e| format!("writing to {}: {e}", dir.display()))?;
    }
    if a.write_results {
        let out = file.with_file_name("results.edn");
        std::fs::write(&out, verdict.to_elle_edn() + "\n")
            .map_err(|e| format!("writing {}: {e}", out.display()))?;
    }
    Ok(())
}

fn file_stem(file: &Path) -> String {
    file.file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_else(|| "history".into())
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

fn write_dots(dir: &Path, file: &Path, v: &Verdict) -> std::io::Result<()> {
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

/// Does the file (if small enough to scan cheaply, ≤ 256 MB) record completed backtracks or clones
/// (`:backtrack` nemesis ops with a `to_prime_ms`, as the harness's admin host writes them)?
fn has_backtracks(file: &Path) -> bool {
    use std::io::BufRead;
    let small = std::fs::metadata(file).is_ok_and(|m| m.len() <= 256 << 20);
    let Ok(f) = std::fs::File::open(file) else {
        return false;
    };
    small
        && std::io::BufReader::new(f)
            .lines()
            .map_while(Result::ok)
            .any(|l| {
                (l.contains("backtrack") && l.contains("to_prime_ms"))
                    || (l.contains("clone") && l.contains("t_prime_ms"))
            })
}

/// Elle and linearizability do not apply across a deliberate rewind: check each lineage of the
/// history (`workloads::checks::timeline`) and report the worst, naming the lineage.
fn across_backtracks(checker: &dyn Checker, h: &checkers::History) -> Verdict {
    let lineages = workloads::checks::fork::lineages(h);
    if lineages.is_empty() {
        return checker.check(h);
    }
    let rank = |v: Validity| match v {
        Validity::Valid => 0,
        Validity::Unknown => 1,
        Validity::Invalid => 2,
    };
    let verdicts: Vec<(String, Verdict)> = lineages
        .iter()
        .map(|(l, h)| (l.clone(), checker.check(h)))
        .collect();
    let n = verdicts.len();
    let (label, mut v) = verdicts
        .into_iter()
        .rev()
        .max_by_key(|(_, v)| rank(v.valid))
        .expect("at least one lineage");
    v.explanation = format!(
        "checked in {n} lineages split at the history's backtracks and clones; {label}: {}",
        v.explanation
    );
    v
}
