//! What putting a container's device rules in force costs: the v1 writes to
//! devices.allow/deny against the v2 path (replay, compile, BPF_PROG_LOAD, attach), each
//! on a fresh cgroup as `create` does. Needs root and both a v1 devices hierarchy and a
//! cgroup2 mount (a hybrid host such as the one docs/BENCHMARKS.md describes).
//!
//! cargo run --release -p vsbx-runtime --example device_rules [ROUNDS]

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use oci_spec::runtime::LinuxDeviceCgroup;
use vsbx_runtime::fuzz_api::devices;
use vsbx_runtime::fuzz_api::find_mount;

/// Median time of `rounds` runs of mkdir + apply, rmdir excluded.
fn measure(root: &Path, v2: bool, rules: &[devices::Rule], rounds: usize) -> Duration {
    let mut times = Vec::with_capacity(rounds);
    for i in 0..rounds {
        let dir = root.join(format!("vsbx-devbench-{}-{i}", std::process::id()));
        let t = Instant::now();
        fs::create_dir(&dir).expect("mkdir cgroup");
        devices::apply(&dir, v2, rules).expect("apply device rules");
        times.push(t.elapsed());
        fs::remove_dir(&dir).expect("rmdir cgroup");
    }
    times.sort();
    times[rounds / 2]
}

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse().expect("ROUNDS: a number"))
        .unwrap_or(500);
    let v1 = find_mount("cgroup", Some("devices")).expect("no v1 devices hierarchy");
    let v2 = find_mount("cgroup2", None).expect("no cgroup2 mount");
    // runc's default spec: deny everything, then the defaults.
    let deny_all: LinuxDeviceCgroup =
        serde_json::from_str(r#"{"allow":false,"access":"rwm"}"#).expect("rule");
    let rules = devices::container_rules(&[deny_all]).expect("rules");
    let program = devices::program(&devices::State::from_rules(&rules));
    println!(
        "{} rules -> {} eBPF instructions; median of {rounds} (mkdir + apply):",
        rules.len(),
        program.len()
    );
    // Interleave to share any drift between the two.
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for _ in 0..5 {
        a.push(measure(&v1, false, &rules, rounds / 5));
        b.push(measure(&v2, true, &rules, rounds / 5));
    }
    a.sort();
    b.sort();
    println!(
        "  v1 devices.allow/deny writes: {:>8.1} us",
        a[2].as_secs_f64() * 1e6
    );
    println!(
        "  v2 eBPF load + attach:        {:>8.1} us",
        b[2].as_secs_f64() * 1e6
    );
}
