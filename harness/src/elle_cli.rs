//! `aurora-chaos elle-cli …`: a drop-in for ligurio/elle-cli. It takes elle-cli's flags as elle-cli
//! does (`-m/--model` is the checker name; `-c/--consistency-models`, `-a/--anomalies`,
//! `-s/--cycle-search-timeout`, `-d/--directory`, `-p/--plot-format`, `-t/--plot-timeout`,
//! `-b/--max-plot-bytes`, `-g/--group-size`, `-n/--allow-negative-balances`, `--max-transfer`,
//! `-o/--total-amount`, `-f/--format`, `-v/--verbose`) and prints what it prints: one line per file,
//! `<file> \t <valid?>` (Clojure's `println` separates its arguments with spaces), or with
//! `--verbose` the analysis as pretty-printed JSON with Elle's keys.
//!
//! Exit codes as elle-cli's: 1 when some file is invalid (`false`), else 0 — an `unknown` verdict
//! exits 0, as in elle-cli. The one deliberate difference: where elle-cli prints a Java stack trace
//! and exits 255 (a missing or unreadable file, a history it cannot interpret) or exits 1 on a bad
//! option, we print an error naming the file, line and problem and exit 2, as every command of this
//! binary does for bad input. `-m sequential` (elle-cli's experimental custom checker) is not
//! provided and is such an error; `register` and `multi-register` (Knossos models elle-cli lacks)
//! are accepted in addition.
//!
//! Option semantics carried over: `-c` defaults to `strict-serializable` and `-a` to `G0`;
//! `-s` is elle-cli's per-SCC cycle-search timeout in ms; given explicitly it is a wall-clock limit
//! on top of the deterministic work budget, and without it (elle-cli's default of 1000 ms) only the
//! budget applies, so that verdicts never depend on machine speed; `-g 0` (elle-cli's default) means the long-fork
//! checker's default group size; `-p png` is accepted but pictures are always SVG (rendered in
//! Rust) plus DOT; `-t` and `-b` are accepted and have no effect (rendering never times out);
//! `--max-transfer` is accepted (Jepsen's bank checker only uses it for plots).

use crate::check::{build_checker, history_path, CheckArgs, CheckWorkload};
use crate::outcome::Outcome;
use checkers::{Checker, Validity};
use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Args)]
#[command(disable_version_flag = true)]
pub struct ElleCliArgs {
    /// (General) A name of consistency model for checking (the checker: list-append, rw-register,
    /// bank, counter, set, set-full, long-fork, cas-register, mutex, comments; also register,
    /// multi-register).
    #[arg(short = 'm', long = "model", value_name = "MODEL")]
    pub model: Option<String>,
    /// (General) Format of file with history. Either 'edn' or 'json'.
    #[arg(short = 'f', long = "format", value_name = "FORMAT")]
    pub format: Option<String>,
    /// (General) Enable verbose mode.
    #[arg(short = 'v', long = "verbose")]
    pub verbose: bool,
    /// (Elle) A collection of consistency models we expect this history to obey.
    #[arg(
        short = 'c',
        long = "consistency-models",
        value_name = "CONSISTENCY-MODELS",
        default_value = "strict-serializable"
    )]
    pub consistency_models: String,
    /// (Elle) A collection of specific anomalies you'd like to look for.
    #[arg(
        short = 'a',
        long = "anomalies",
        value_name = "ANOMALIES",
        default_value = "G0"
    )]
    pub anomalies: String,
    /// (Elle) Number of ms for searching a single SCC for a cycle. Only when given: by default the
    /// search is bounded by its deterministic work budget alone.
    #[arg(
        short = 's',
        long = "cycle-search-timeout",
        value_name = "CYCLE-SEARCH-TIMEOUT"
    )]
    pub cycle_search_timeout: Option<u64>,
    /// (Elle) Where to output files, if desired.
    #[arg(short = 'd', long = "directory", value_name = "DIRECTORY")]
    pub directory: Option<PathBuf>,
    /// (Elle) Either 'png' or 'svg'.
    #[arg(
        short = 'p',
        long = "plot-format",
        value_name = "PLOT-FORMAT",
        default_value = "svg"
    )]
    pub plot_format: String,
    /// (Elle) How many milliseconds will we wait to render a SCC plot?
    #[arg(
        short = 't',
        long = "plot-timeout",
        value_name = "PLOT-TIMEOUT",
        default_value_t = 5000
    )]
    pub plot_timeout: u64,
    /// (Elle) Maximum size of a cycle graph (in bytes of DOT).
    #[arg(
        short = 'b',
        long = "max-plot-bytes",
        value_name = "MAX-PLOT-BYTES",
        default_value_t = 65536
    )]
    pub max_plot_bytes: u64,
    /// (Jepsen) A group size.
    #[arg(
        short = 'g',
        long = "group-size",
        value_name = "GROUP-SIZE",
        default_value_t = 0
    )]
    pub group_size: i64,
    /// (Bank) Allow negative balances in a bank model.
    #[arg(short = 'n', long = "allow-negative-balances")]
    pub allow_negative_balances: bool,
    /// (Bank) The largest transfer we'll try to execute.
    #[arg(long = "max-transfer", value_name = "MAX-TRANSFER")]
    pub max_transfer: Option<i64>,
    /// (Bank) Total amount to allocate.
    #[arg(short = 'o', long = "total-amount", value_name = "TOTAL-AMOUNT")]
    pub total_amount: Option<i64>,
    /// History files (or Jepsen store directories).
    pub files: Vec<PathBuf>,
}

/// elle-cli's usage text (printed when no `-m` is given, as elle-cli does, exit 0).
pub const USAGE: &str = "elle-cli - command-line transactional safety checker.

Usage: elle-cli -m model [options] files

Supported models:
  rw-register - an checker for write-read registers.
  list-append - an checker for append and read histories.
  bank - a checker for bank histories.
  counter - a checker for counter histories.
  set - a checker for a set histories.
  set-full - a checker for a set histories.
  long-fork - a checker for an anomaly in parallel snapshot isolation.
  cas-register - a checker for CAS (Compare-And-Set) registers.
  mutex - a checker for a mutex histories.
  comments - a custom checker for a comments histories (experimental).

Run `aurora-chaos elle-cli --help` for the options.
";

fn workload(name: &str) -> Result<CheckWorkload, String> {
    Ok(match name {
        "list-append" => CheckWorkload::ListAppend,
        "rw-register" => CheckWorkload::RwRegister,
        "bank" => CheckWorkload::Bank,
        "counter" => CheckWorkload::Counter,
        "set" => CheckWorkload::Set,
        "set-full" => CheckWorkload::SetFull,
        "long-fork" => CheckWorkload::LongFork,
        "cas-register" => CheckWorkload::CasRegister,
        "mutex" => CheckWorkload::Mutex,
        "comments" => CheckWorkload::Comments,
        "register" => CheckWorkload::Register,
        "multi-register" => CheckWorkload::MultiRegister,
        "sequential" => {
            return Err(
                "--model sequential (elle-cli's experimental custom checker) is not provided".into(),
            )
        }
        m => {
            return Err(format!(
                "--model: Must be one of bank, cas-register, comments, counter, list-append, long-fork, mutex, rw-register, set, set-full (got `{m}`)"
            ))
        }
    })
}

/// The `check` arguments equivalent to elle-cli's flags.
fn to_check_args(a: &ElleCliArgs, model: &str) -> Result<CheckArgs, String> {
    let w = workload(model)?;
    if let Some(f) = &a.format {
        if f != "edn" && f != "json" {
            return Err(format!("--format: Must be one of edn, json (got `{f}`)"));
        }
    }
    if a.plot_format != "svg" && a.plot_format != "png" {
        return Err(format!(
            "--plot-format: Must be one of png, svg (got `{}`)",
            a.plot_format
        ));
    }
    if a.cycle_search_timeout == Some(0) {
        return Err("--cycle-search-timeout must be positive".into());
    }
    let elle = matches!(w, CheckWorkload::ListAppend | CheckWorkload::RwRegister);
    Ok(CheckArgs {
        files: a.files.clone(),
        workload: w,
        independent: false,
        initial_value: None,
        strict_nil_reads: false,
        fail_observed: false,
        model: elle.then(|| a.consistency_models.clone()),
        anomalies: elle.then(|| a.anomalies.clone()),
        sequential_keys: false,
        linearizable_keys: false,
        wfr_keys: false,
        total: a.total_amount,
        negative_balances: a.allow_negative_balances,
        linearizable: false,
        group_size: (a.group_size > 0).then_some(a.group_size),
        json: false,
        format: None,
        budget: None,
        time_limit: a
            .cycle_search_timeout
            .filter(|_| elle)
            .map(|ms| ms as f64 / 1000.0),
        directory: None,
        write_results: false,
        dot: None,
    })
}

/// Runs the drop-in; returns elle-cli's exit code as an [`Outcome`] (0 `Pass`, 1 `Violation`,
/// 2 `BadInput`).
pub fn run(a: &ElleCliArgs) -> Outcome {
    let Some(model) = a.model.as_deref() else {
        print!("{USAGE}");
        return Outcome::Pass;
    };
    let ca = match to_check_args(a, model) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return Outcome::BadInput;
        }
    };
    let checker: Box<dyn Checker> = match build_checker(&ca) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return Outcome::BadInput;
        }
    };
    let mut any_false = false;
    for arg in &a.files {
        let file = match history_path(arg) {
            Ok(f) => f,
            Err(e) => {
                eprintln!("error: {e}");
                return Outcome::BadInput;
            }
        };
        // Without -f the checker reads the file itself (Elle's checkers stream it).
        let read = match a.format.as_deref() {
            None => checker.check_file(&file).map(|(_, v)| v),
            Some(f) => read_as(&file, f).map(|h| checker.check(&h)),
        };
        let v = match read {
            Ok(v) => v,
            Err(e) => {
                eprintln!("error: {e}");
                return Outcome::BadInput;
            }
        };
        if v.is_malformed() {
            eprintln!("error: {}: {}", file.display(), v.explanation.trim());
            return Outcome::BadInput;
        }
        if let Some(dir) = &a.directory {
            if let Err(e) = checkers::elle::svg::write_directory(dir, &v) {
                eprintln!("error: writing to {}: {e}", dir.display());
                return Outcome::BadInput;
            }
        }
        any_false |= v.valid == Validity::Invalid;
        if a.verbose {
            println!(
                "{}",
                serde_json::to_string_pretty(&v.to_elle_json()).unwrap_or_default()
            );
        } else {
            let valid = match v.valid {
                Validity::Valid => "true",
                Validity::Invalid => "false",
                Validity::Unknown => "unknown",
            };
            println!("{} \t {valid}", arg.display());
        }
    }
    if any_false {
        Outcome::Violation
    } else {
        Outcome::Pass
    }
}

/// Reads `file` as `-f edn` or `-f json` says, whatever its extension.
fn read_as(
    file: &std::path::Path,
    format: &str,
) -> Result<checkers::History, checkers::io::ReadError> {
    use checkers::io::{detect_format, read_history_as, Format, ReadError, ReadErrorKind};
    let name = file.display().to_string();
    let text = std::fs::read_to_string(file)
        .map_err(|e| ReadError::new(&name, 0, ReadErrorKind::Io(e.to_string())))?;
    let detected = detect_format(&text);
    let f = match (format, detected) {
        ("json", Format::JsonArray | Format::JsonLines) => detected,
        ("json", _) => Format::JsonLines,
        (_, Format::EdnStream | Format::EdnCollection) => detected,
        _ => Format::EdnStream,
    };
    read_history_as(&text, &name, f)
}
