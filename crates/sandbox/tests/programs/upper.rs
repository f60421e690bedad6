// The minimal profile's workload: a static binary that reads stdin and writes stdout.
use std::io::{Read, Write};

fn main() {
    let mut input = String::new();
    std::io::stdin().read_to_string(&mut input).unwrap();
    let words = input.split_whitespace().count();
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", input.trim().to_uppercase()).unwrap();
    writeln!(out, "words: {words}").unwrap();
}
