fn main() {
    println!("aurora-chaos: under construction");
}
