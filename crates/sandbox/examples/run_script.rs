//! Runs a script in a sandbox from Rust and prints what happened.
//!
//! `cargo run -p vsbx-sandbox --example run_script -- examples/scripts/hello.py` (as root).

use std::time::Duration;

fn main() {
    // First thing: the sandbox refuses to start from a binary a sandboxed program could
    // overwrite, so run from a protected copy (re-executes once).
    if let Err(e) = vsbx_sandbox::protect_binary() {
        eprintln!("run_script: {e}");
        std::process::exit(2);
    }
    let file = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "examples/scripts/hello.py".into());
    let result = vsbx_sandbox::Sandbox::builder()
        .policy("compute")
        .memory("64M")
        .pids(64)
        .timeout(Duration::from_secs(5))
        .run_file(&file);
    match result {
        Ok(r) => {
            print!("{}", String::from_utf8_lossy(&r.stdout));
            eprintln!("{}", r.report.summary());
            std::process::exit(r.report.exit_code_for_shell());
        }
        Err(e) => {
            eprintln!("run_script: {e}");
            std::process::exit(2);
        }
    }
}
