//! Progress display for long commands (`soak`, `suite`, `check` of many files): a bar with the
//! rate and an ETA on a terminal (stderr), nothing at all when stderr is not a terminal, so
//! logs and pipes stay clean. Wall-clock time here is display only: it never reaches a result.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;

fn target() -> ProgressDrawTarget {
    if std::io::stderr().is_terminal() {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    }
}

/// A bar over `len` items named `unit`: position, rate, elapsed time, ETA and a message.
pub fn bar(len: u64, unit: &str) -> ProgressBar {
    let b = ProgressBar::with_draw_target(Some(len), target());
    let template = format!(
        "{{bar:30}} {{pos}}/{{len}} {unit}  {{per_sec}}  elapsed {{elapsed}}  ETA {{eta}}  {{msg}}"
    );
    if let Ok(style) = ProgressStyle::with_template(&template) {
        b.set_style(style);
    }
    b.enable_steady_tick(std::time::Duration::from_millis(500));
    b
}

/// A spinner for an open-ended count (e.g. `soak --wall-time`): count, rate and elapsed time.
pub fn spinner(unit: &str) -> ProgressBar {
    let b = ProgressBar::with_draw_target(None, target());
    let template = format!("{{spinner}} {{pos}} {unit}  {{per_sec}}  elapsed {{elapsed}}  {{msg}}");
    if let Ok(style) = ProgressStyle::with_template(&template) {
        b.set_style(style);
    }
    b.enable_steady_tick(std::time::Duration::from_millis(200));
    b
}

/// True when progress would be drawn (stderr is a terminal).
pub fn visible() -> bool {
    std::io::stderr().is_terminal()
}
