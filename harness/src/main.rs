//! `aurora-chaos`: deterministic chaos runs against the reference Aurora, and offline checks of stored
//! histories. With no arguments it does a default run (`run` with its defaults).
//!
//! Exit codes: 0 pass, 1 correctness violation, 2 bad input or usage, 3 unknown, 4 liveness (no
//! convergence after the heal), 5 harness crash.

use clap::Parser;
use harness::cli;

fn main() {
    let parsed = match cli::Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            std::process::exit(code);
        }
    };
    // A panic anywhere in the harness is outcome 5 (harness crash), not Rust's 101.
    let outcome =
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| cli::dispatch(parsed))) {
            Ok(o) => o,
            Err(_) => {
                eprintln!("aurora-chaos: harness crash (panic); see the message above");
                harness::Outcome::HarnessCrash
            }
        };
    std::process::exit(outcome.exit_code());
}
