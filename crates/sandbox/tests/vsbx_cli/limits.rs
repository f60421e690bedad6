//! Limits are enforced and reported: memory (OOM kill), pids (fork), wall clock, output.

use crate::support::{audit_events, program, vsbx_run, Run};

/// The report's `limits_hit` names.
fn limits_hit(run: &Run) -> Vec<String> {
    run.report()["limits_hit"]
        .as_array()
        .unwrap_or_else(|| panic!("no limits_hit list\n{}", run.context()))
        .iter()
        .map(|v| v.as_str().unwrap_or_default().to_string())
        .collect()
}

/// A fork bomb whose parent survives EAGAIN and exits 0 is still reported as having hit
/// the pids limit, in the JSON and in the summary.
#[test]
fn fork_bomb_that_exits_0_reports_pids_hit() {
    let run = vsbx_run(&[
        "--pids",
        "16",
        "--timeout",
        "30s",
        &program("fork_until_fail.py"),
    ]);
    assert_eq!(run.status(), "ok", "{}", run.context());
    assert!(
        run.stdout_str().contains("fork failed: EAGAIN"),
        "{}",
        run.context()
    );
    assert!(
        limits_hit(&run).contains(&"pids".to_string()),
        "{}",
        run.context()
    );
    assert!(
        run.summary().starts_with("vsbx: ok (limits hit: pids"),
        "{}",
        run.context()
    );
}

/// Limits far above what the program needs: nothing is reported as hit.
#[test]
fn untouched_limits_report_none_hit() {
    let run = vsbx_run(&[
        "--pids",
        "64",
        "--memory",
        "512M",
        "--cpus",
        "2",
        "--timeout",
        "30s",
        &program("hello.py"),
    ]);
    assert_eq!(run.status(), "ok", "{}", run.context());
    assert!(limits_hit(&run).is_empty(), "{}", run.context());
    assert!(!run.summary().contains("limits hit"), "{}", run.context());
}

const MIB: u64 = 1 << 20;

#[test]
fn memory_hog_is_oom_killed_at_the_limit() {
    let run = vsbx_run(&[
        "--memory",
        "64M",
        "--timeout",
        "30s",
        &program("memory_hog.py"),
    ]);
    assert_eq!(run.status(), "oom_killed", "{}", run.context());
    assert_eq!(run.report()["signal"], 9, "{}", run.context());
    assert_eq!(
        run.code,
        Some(128 + 9),
        "vsbx exits 128+SIGKILL\n{}",
        run.context()
    );
    let out = run.stdout_str();
    assert!(out.contains("allocated 10 MB"), "{}", run.context());
    assert!(
        !out.contains("survived") && !out.contains("allocated 70 MB"),
        "{}",
        run.context()
    );
    let peak = run.u64("peak_memory_bytes");
    assert!(
        peak > 32 * MIB && peak <= 64 * MIB,
        "peak_memory_bytes {peak} should be near the 64 MiB limit\n{}",
        run.context()
    );
    assert!(
        run.summary()
            .starts_with("vsbx: oom_killed (limits hit: memory) (signal 9)"),
        "{}",
        run.context()
    );
    assert_eq!(limits_hit(&run), ["memory"], "{}", run.context());
    let events: Vec<String> = audit_events(&run).into_iter().map(|(e, _)| e).collect();
    assert_eq!(
        events,
        ["created", "started", "oom", "deleted"],
        "{}",
        run.context()
    );
}

/// fork() fails with EAGAIN at --pids 32, the program sees it and ends by itself.
#[test]
fn fork_fails_with_eagain_at_the_pids_limit() {
    let run = vsbx_run(&[
        "--pids",
        "32",
        "--timeout",
        "30s",
        &program("fork_until_fail.py"),
    ]);
    assert_eq!(run.code, Some(0), "{}", run.context());
    let out = run.stdout_str();
    let line = out
        .lines()
        .find(|l| l.starts_with("fork failed:"))
        .unwrap_or_else(|| panic!("fork never failed\n{}", run.context()));
    assert!(
        line.starts_with("fork failed: EAGAIN after "),
        "{}",
        run.context()
    );
    let n: u64 = line
        .trim_start_matches("fork failed: EAGAIN after ")
        .trim_end_matches(" children")
        .parse()
        .unwrap_or_else(|_| panic!("unexpected line {line:?}"));
    assert!(n < 32, "{n} children + the parent exceed --pids 32");
    assert!(n >= 16, "only {n} children before EAGAIN with --pids 32");
    let peak = run.u64("peak_pids");
    assert!(peak <= 32, "peak_pids {peak} > 32\n{}", run.context());
    assert_eq!(run.status(), "ok");
    assert!(run.u64("wall_ms") < 30_000, "{}", run.context());
}

/// A real fork bomb (every process forks forever) stays under --pids and ends at the
/// timeout, with every process gone (checked by vsbx_run).
#[test]
fn fork_bomb_is_contained_by_pids_and_ended_by_timeout() {
    let run = vsbx_run(&[
        "--pids",
        "32",
        "--cpus",
        "0.5",
        "--timeout",
        "3s",
        &program("fork_bomb.py"),
    ]);
    assert_eq!(run.status(), "timeout", "{}", run.context());
    let peak = run.u64("peak_pids");
    assert!(peak <= 32, "peak_pids {peak} > 32\n{}", run.context());
    assert!(
        peak >= 8,
        "peak_pids {peak}: the bomb never got going?\n{}",
        run.context()
    );
    let wall = run.u64("wall_ms");
    assert!(
        (3000..3500).contains(&wall),
        "wall_ms {wall}\n{}",
        run.context()
    );
    assert!(run.wall.as_secs() < 10, "vsbx took {:?}", run.wall);
}

#[test]
fn infinite_loop_ends_at_the_timeout() {
    let run = vsbx_run(&["--timeout", "1s", &program("spin.py")]);
    assert_eq!(run.status(), "timeout", "{}", run.context());
    assert_eq!(run.report()["signal"], 9, "{}", run.context());
    assert_eq!(run.code, Some(137), "{}", run.context());
    assert_eq!(run.stdout_str(), "spinning\n", "{}", run.context());
    let wall = run.u64("wall_ms");
    assert!(
        (1000..1200).contains(&wall),
        "wall_ms {wall} not in [1000, 1200)\n{}",
        run.context()
    );
    assert!(
        run.u64("cpu_user_ms") > 300,
        "the loop was spinning\n{}",
        run.context()
    );
    assert!(
        run.summary()
            .starts_with("vsbx: timeout (limits hit: timeout"),
        "{}",
        run.context()
    );
    assert!(
        limits_hit(&run).contains(&"timeout".to_string()),
        "{}",
        run.context()
    );
    let events: Vec<String> = audit_events(&run).into_iter().map(|(e, _)| e).collect();
    assert_eq!(
        events,
        ["created", "started", "timeout", "deleted"],
        "{}",
        run.context()
    );
}

#[test]
fn output_flood_is_counted_capped_and_the_run_ends() {
    let run = vsbx_run(&[
        "--output-cap",
        "1M",
        "--timeout",
        "60s",
        &program("flood.py"),
    ]);
    assert_eq!(run.status(), "ok", "{}", run.context());
    assert_eq!(run.code, Some(0));
    let r = run.report();
    assert_eq!(r["stdout"]["bytes"], 10 * MIB, "{}", run.context());
    assert_eq!(r["stdout"]["truncated"], true, "{}", run.context());
    assert!(
        limits_hit(&run).contains(&"stdout_cap".to_string()),
        "{}",
        run.context()
    );
    assert_eq!(
        r["stderr"]["bytes"],
        "flood: done\n".len(),
        "{}",
        run.context()
    );
    assert_eq!(r["stderr"]["truncated"], false, "{}", run.context());
    assert_eq!(run.stdout.len() as u64, MIB, "kept bytes on vsbx's stdout");
    let line = [&[b'x'; 1023][..], b"\n"].concat();
    assert!(
        run.stdout.chunks(1024).all(|c| c == line.as_slice()),
        "the kept bytes are the stream's first 1 MiB"
    );
    assert!(run.stderr.starts_with("flood: done\n"), "{}", run.stderr);
    assert!(
        run.summary().contains("stdout 10485760 B (truncated)"),
        "{}",
        run.summary()
    );
}

#[test]
fn output_cap_keeps_exactly_that_many_bytes() {
    let run = vsbx_run(&["--output-cap", "4K", &program("flood.py")]);
    assert_eq!(run.status(), "ok", "{}", run.context());
    assert_eq!(run.stdout.len(), 4096);
    assert_eq!(run.report()["stdout"]["bytes"], 10 * MIB);
    assert_eq!(run.report()["stdout"]["truncated"], true);
}

/// --mount SRC:DST:ro is visible and read-only, --env reaches the program, --tmp-size
/// bounds /tmp (ENOSPC).
#[test]
fn mount_env_and_tmp_size_reach_the_program() {
    let (keep, input) = crate::support::temp_file("in.txt", "from the host\n");
    let data = keep.path().to_str().unwrap().to_owned();
    let run = vsbx_run(&[
        "--mount",
        &format!("{data}:/data:ro"),
        "--env",
        "VSBX_TEST_VALUE=forty two",
        "--tmp-size",
        "2M",
        &program("mount_env.py"),
    ]);
    assert_eq!(run.code, Some(0), "{}", run.context());
    assert_eq!(
        run.stdout_str(),
        "data: from the host\nwrite /data: EROFS\nenv: forty two\nfill /tmp: ENOSPC\n",
        "{}",
        run.context()
    );
    assert!(!input.with_file_name("new.txt").exists());
}
