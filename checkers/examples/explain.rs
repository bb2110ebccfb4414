//! Prints the linearizability verdict of a history file: `cargo run -p checkers --example explain -- FILE [porcupine]`.
use checkers::io::read_history_file;
use checkers::linear::{LinearChecker, LinearOptions, ModelKind};
use checkers::Checker;

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        eprintln!("usage: explain FILE [porcupine|mutex]");
        std::process::exit(2);
    };
    let h = match read_history_file(std::path::Path::new(&path)) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let o = match args.next().as_deref() {
        Some("porcupine") => LinearOptions::porcupine(),
        Some("mutex") => LinearOptions::knossos(ModelKind::Mutex),
        _ => LinearOptions::default(),
    };
    let v = LinearChecker::new(o).check(&h);
    println!("{:?}\n{}", v.valid, v.explanation);
}
