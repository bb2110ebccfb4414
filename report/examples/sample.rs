//! Prints the sample report in one format: `cargo run -p report --example sample [html|md|json|term] [ops-per-process]`.
//! Defaults: `html`, 300 ops per process (1,500 ops per timeline).
use std::io::IsTerminal;

fn main() {
    let mut args = std::env::args().skip(1);
    let format = args.next().unwrap_or_else(|| "html".to_string());
    let per_process = match args.next().map(|n| n.parse::<usize>()) {
        None => 300,
        Some(Ok(n)) => n,
        Some(Err(e)) => {
            eprintln!("ops-per-process must be a number: {e}");
            std::process::exit(2);
        }
    };
    let c = report::sample::report(per_process);
    let out = match format.as_str() {
        "html" => report::render_html(&c),
        "md" => report::render_markdown(&c),
        "json" => report::render_json(&c),
        "term" => report::render_terminal(&c, std::io::stdout().is_terminal()),
        other => {
            eprintln!("unknown format {other:?}: use html, md, json or term");
            std::process::exit(2);
        }
    };
    print!("{out}");
}
