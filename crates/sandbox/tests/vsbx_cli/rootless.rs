//! `vsbx run` as an ordinary user: users the tests make run it through setpriv, with and
//! without subordinate ranges, with and without a cgroup subtree delegated to them. The
//! program runs in a user namespace; limits go to the
//! delegated cgroup, or to rlimits, and the report says which.

use serde_json::Value;

use crate::support::{
    plain_user, program, sub_user, vsbx_with, Delegated, Opts, Run, TestUser, SUB_START,
};

fn run_as(user: &TestUser, cgroup: Option<&Delegated>, args: &[&str]) -> Run {
    vsbx_with(
        &["run"],
        args,
        Opts {
            user: Some(user),
            cgroup,
            ..Opts::default()
        },
    )
}

/// The report's `enforcement` as (limit, by) pairs.
fn enforcement(run: &Run) -> Vec<(String, String)> {
    run.report()["enforcement"]
        .as_array()
        .unwrap_or_else(|| panic!("no enforcement list\n{}", run.context()))
        .iter()
        .map(|e| {
            let s = |v: &Value| v.as_str().unwrap_or_default().to_string();
            (s(&e["limit"]), s(&e["by"]))
        })
        .collect()
}

fn all_by(run: &Run, by: &str) {
    let got = enforcement(run);
    let want: Vec<(String, String)> = ["memory", "pids", "cpu"]
        .iter()
        .map(|l| (l.to_string(), by.to_string()))
        .collect();
    assert_eq!(got, want, "{}", run.context());
}

/// Lines `uid gid` and the uid map, as the program sees them.
const WHO: &str = "id -u; id -g; cat /proc/self/uid_map; touch /work/x 2>/dev/null && echo wrote-work || echo work-read-only";

fn who(user: &TestUser, cgroup: Option<&Delegated>) -> (Run, Vec<String>) {
    let (_keep, script) = crate::support::temp_file("who.sh", WHO);
    let run = run_as(
        user,
        cgroup,
        &["--runner", "shell", script.to_str().unwrap()],
    );
    assert_eq!(run.status(), "ok", "{}", run.context());
    let lines = run
        .stdout_str()
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    (run, lines)
}

#[test]
fn a_user_with_subordinate_ranges_runs_as_a_host_uid_of_neither_the_caller_nor_root() {
    let user = sub_user();
    let (run, lines) = who(user, None);
    // The sandbox user is 65534 inside, container root is the caller, and 1..65537 are the
    // subordinate range: 65534 is the range's 65533rd id on the host.
    assert_eq!(
        lines,
        [
            "65534".to_string(),
            "65534".to_string(),
            format!("0 {} 1", user.uid),
            format!("1 {SUB_START} 65536"),
            "work-read-only".to_string(),
        ],
        "{}",
        run.context()
    );
    assert_eq!(run.u64("host_uid"), u64::from(SUB_START + 65533));
    // This machine delegates no cgroup to the user: every limit is an rlimit.
    all_by(&run, "rlimit");
    assert!(
        run.summary()
            .contains("no cgroup: memory by rlimit, pids by rlimit, cpu by rlimit"),
        "{}",
        run.context()
    );
}

#[test]
fn a_user_without_subordinate_ranges_maps_only_itself_as_the_sandbox_user() {
    let user = plain_user();
    let (run, lines) = who(user, None);
    assert_eq!(
        lines,
        [
            "65534".to_string(),
            "65534".to_string(),
            format!("65534 {} 1", user.uid),
            "work-read-only".to_string(),
        ],
        "{}",
        run.context()
    );
    assert_eq!(run.u64("host_uid"), u64::from(user.uid));
}

#[test]
fn without_a_cgroup_rlimits_hold_pids_and_memory() {
    let user = sub_user();
    let run = run_as(
        user,
        None,
        &[
            "--pids",
            "16",
            "--timeout",
            "30s",
            &program("fork_until_fail.py"),
        ],
    );
    assert_eq!(run.status(), "ok", "{}", run.context());
    assert!(
        run.stdout_str().contains("fork failed: EAGAIN"),
        "{}",
        run.context()
    );
    let forked: u32 = run
        .stdout_str()
        .split_whitespace()
        .skip_while(|w| *w != "after")
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(u32::MAX);
    assert!(
        forked < 16,
        "RLIMIT_NPROC 16 let {forked} children through\n{}",
        run.context()
    );

    // 200 MB against 64M of RLIMIT_DATA: the allocation fails (no OOM kill without a cgroup).
    let run = run_as(user, None, &["--memory", "64M", &program("memory_hog.py")]);
    assert_eq!(run.status(), "exit_nonzero", "{}", run.context());
    assert!(run.stderr.contains("MemoryError"), "{}", run.context());
    assert!(!run.stdout_str().contains("survived"), "{}", run.context());
    assert!(
        run.u64("peak_memory_bytes") > 8 << 20,
        "peak from rusage\n{}",
        run.context()
    );
    assert!(
        run.u64("cpu_user_ms") + run.u64("cpu_system_ms") > 0,
        "{}",
        run.context()
    );
}

#[test]
fn a_delegated_cgroup_holds_the_limits_as_for_root() {
    let user = sub_user();
    let cgroup = Delegated::new(user, "oom");
    let run = run_as(
        user,
        Some(&cgroup),
        &["--memory", "64M", &program("memory_hog.py")],
    );
    assert_eq!(run.status(), "oom_killed", "{}", run.context());
    all_by(&run, "cgroup");
    let hits = run.report()["limits_hit"].to_string();
    assert!(hits.contains("memory"), "{}", run.context());
    assert!(!run.summary().contains("no cgroup"), "{}", run.context());

    let run = run_as(
        user,
        Some(&cgroup),
        &["--pids", "16", &program("fork_until_fail.py")],
    );
    assert_eq!(run.status(), "ok", "{}", run.context());
    assert!(
        run.report()["limits_hit"].to_string().contains("pids"),
        "{}",
        run.context()
    );
}
