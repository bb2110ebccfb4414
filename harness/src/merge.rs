//! `aurora-chaos merge`: combine the JSON-lines outputs of `soak --shard K/N` into one summary, as
//! if the sweep had run unsharded: rows sorted by seed (a seed seen twice is an error), the same
//! table, coverage totals, `soak-A-B.json` and exit code.

use crate::cli::{run_config, RunArgs};
use crate::outcome::Outcome;
use crate::soak::{finish, SeedLine};
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct MergeArgs {
    /// Shard outputs (JSON lines, one object per seed).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Do not fail (exit 3) when a required coverage goal was never reached.
    #[arg(long)]
    pub no_coverage_goals: bool,
    /// The sweep's run flags (workload, nemesis, ...), for the summary's parameters.
    #[command(flatten)]
    pub run: RunArgs,
}

/// Reads shard files; errors name the file and line.
pub fn read_lines(files: &[PathBuf]) -> Result<Vec<SeedLine>, String> {
    let mut all: Vec<SeedLine> = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(f).map_err(|e| format!("{}: {e}", f.display()))?;
        for (i, l) in text.lines().enumerate() {
            if l.trim().is_empty() {
                continue;
            }
            let line: SeedLine = serde_json::from_str(l)
                .map_err(|e| format!("{}: line {}: {e}", f.display(), i + 1))?;
            if all.iter().any(|x| x.seed == line.seed) {
                return Err(format!(
                    "{}: line {}: seed {} appears in more than one shard",
                    f.display(),
                    i + 1,
                    line.seed
                ));
            }
            all.push(line);
        }
    }
    all.sort_by_key(|l| l.seed);
    Ok(all)
}

pub fn merge(a: &MergeArgs) -> Outcome {
    let all = a.run.workload == "all";
    let mut args = a.run.clone();
    if all {
        args.workload = "bank".into();
    }
    let base = match run_config(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return Outcome::BadInput;
        }
    };
    let lines = match read_lines(&a.files) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: {e}");
            return Outcome::BadInput;
        }
    };
    let Some(first) = lines.first().map(|l| l.seed) else {
        eprintln!("error: the shard files hold no seeds");
        return Outcome::BadInput;
    };
    finish(&base, first, &lines, !a.no_coverage_goals, true, all)
}
