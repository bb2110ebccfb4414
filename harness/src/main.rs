//! # aurora-chaos
//!
//! Deterministic chaos runs against the reference Aurora inside turmoil, and offline checks of stored
//! histories. `aurora-chaos` with no arguments does a default run (`run` with its defaults).
//!
//! Exit codes: 0 pass, 1 correctness violation, 2 bad input or usage, 3 unknown, 4 liveness (no
//! convergence after the heal), 5 harness crash.

mod check;
mod checks;
mod cli;
mod config;
mod nemesis;
mod outcome;
mod run;
mod sim;
mod soak;
mod sut;
mod terminal;

use clap::Parser;

fn main() {
    let cli = match cli::Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            std::process::exit(code);
        }
    };
    let outcome = cli::dispatch(cli);
    std::process::exit(outcome.exit_code());
}
