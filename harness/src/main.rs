//! `aurora-chaos`: deterministic chaos runs against the reference Aurora, and offline checks of stored
//! histories.
mod nemesis;
mod outcome;

fn main() {
    println!("aurora-chaos: under construction");
}
