//! What a run leaves for its caller: the --report JSON, the --audit log, the --monitor
//! samples and their `vsbx plot`, the summary line, the exit status; and that the
//! leftover checks of support.rs see a live run (so their silence after a run means
//! something).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{audit_events, leftovers, program, vsbx_bin, vsbx_run, vsbx_with, Opts};

#[test]
fn report_has_every_field() {
    let run = vsbx_run(&["--memory", "64M", "--cpus", "0.5", &program("exit3.py")]);
    assert_eq!(
        run.code,
        Some(3),
        "vsbx exits with the program's status\n{}",
        run.context()
    );
    let r = run.report();
    assert_eq!(r["status"], "exit_nonzero", "{}", run.context());
    assert_eq!(r["exit_code"], 3);
    assert!(r.get("signal").is_none(), "{r}");
    let id = r["id"].as_str().unwrap();
    assert!(id.starts_with(&format!("vsbx-{}-", run.pid)), "{id}");
    for f in [
        "wall_ms",
        "cpu_user_ms",
        "cpu_system_ms",
        "peak_memory_bytes",
        "peak_pids",
    ] {
        assert!(r[f].is_u64(), "report.{f} missing: {r}");
    }
    assert!(run.u64("wall_ms") > 0 && run.u64("wall_ms") < 10_000, "{r}");
    // (cpu_*_ms of a ~20 ms run may be 0: cgroup v1's cpuacct.stat counts 10 ms ticks;
    // the CPU time itself is checked in limits::infinite_loop_ends_at_the_timeout.)
    let peak = run.u64("peak_memory_bytes");
    assert!(
        peak > 1 << 20 && peak <= 64 << 20,
        "peak_memory_bytes {peak}"
    );
    assert!(run.u64("peak_pids") >= 1);
    assert_eq!(r["stdout"]["bytes"], "to stdout\n".len());
    assert_eq!(r["stdout"]["truncated"], false);
    assert_eq!(r["stderr"]["bytes"], "to stderr\n".len());
    assert_eq!(run.stdout_str(), "to stdout\n");
    // The program's stderr, then the summary.
    assert_eq!(
        run.stderr.lines().next(),
        Some("to stderr"),
        "{}",
        run.context()
    );
    let s = run.summary_unthrottled();
    assert!(s.starts_with("vsbx: exit_nonzero (exit 3) wall "), "{s}");
    assert!(s.contains("stdout 10 B, stderr 10 B"), "{s}");
}

#[test]
fn quiet_drops_the_summary() {
    let run = vsbx_run(&["-q", &program("exit3.py")]);
    assert_eq!(run.code, Some(3));
    assert_eq!(run.stderr, "to stderr\n", "{}", run.context());
}

#[test]
fn audit_log_records_each_step_of_a_run() {
    let run = vsbx_run(&["--memory", "64M", "--timeout", "30s", &program("hello.py")]);
    assert_eq!(run.code, Some(0), "{}", run.context());
    let id = run.report()["id"].as_str().unwrap().to_owned();
    let events = audit_events(&run);
    let names: Vec<&str> = events.iter().map(|(e, _)| e.as_str()).collect();
    assert_eq!(
        names,
        ["created", "started", "exited", "deleted"],
        "{}",
        run.context()
    );
    assert!(events.iter().all(|(_, i)| *i == id), "{events:?} vs {id}");
    let created = &run.audit[0];
    assert_eq!(created["step"], "run");
    assert_eq!(created["context"]["runner"], "python");
    assert_eq!(created["context"]["profile"], "compute");
    assert_eq!(created["context"]["limits"]["memory"], "64M");
    assert_eq!(created["context"]["limits"]["timeout"], "30s");
    assert_eq!(run.audit[2]["result"]["status"], "ok");
    assert_eq!(
        &run.audit[2]["result"],
        run.report(),
        "audit result == report"
    );
    let mut last = String::new();
    for e in &run.audit {
        let t = e["time"]
            .as_str()
            .expect("every event has a time")
            .to_owned();
        assert!(t >= last, "times go backwards: {:?}", run.audit);
        last = t;
    }
}

/// A second run appends to the same audit log.
#[test]
fn audit_log_is_appended_to() {
    let dir = tempfile::Builder::new()
        .prefix("vsbx-clitest-audit-")
        .tempdir()
        .unwrap();
    let log = dir.path().join("audit.jsonl");
    for _ in 0..2 {
        let run = vsbx_with(
            &["run"],
            &["--audit", log.to_str().unwrap(), &program("hello.py")],
            Opts {
                bare: true,
                ..Opts::default()
            },
        );
        assert_eq!(run.code, Some(0), "{}", run.context());
    }
    let text = std::fs::read_to_string(&log).unwrap();
    assert_eq!(text.lines().count(), 8, "{text}");
}

#[test]
fn monitor_samples_and_plot_draws_them() {
    let dir = tempfile::Builder::new()
        .prefix("vsbx-clitest-mon-")
        .tempdir()
        .unwrap();
    let monitor = dir.path().join("usage.json");
    let run = vsbx_run(&[
        "--monitor",
        monitor.to_str().unwrap(),
        "--monitor-interval",
        "50ms",
        &program("ramp.py"),
    ]);
    assert_eq!(run.code, Some(0), "{}", run.context());
    let m: serde_json::Value = serde_json::from_slice(&std::fs::read(&monitor).unwrap()).unwrap();
    assert_eq!(m["id"], run.report()["id"]);
    assert_eq!(m["interval_ms"], 50);
    let samples = m["samples"].as_array().expect("samples");
    assert!(
        samples.len() >= 8,
        "{} samples in ~0.8 s at 50 ms",
        samples.len()
    );
    let max_mem = samples
        .iter()
        .filter_map(|s| s["memory_bytes"].as_u64())
        .max()
        .unwrap();
    assert!(
        max_mem > 30 << 20,
        "the ramp to 40 MB is not in the samples: {max_mem}"
    );
    for s in samples {
        for f in [
            "t_ms",
            "memory_bytes",
            "cpu_user_ms",
            "cpu_system_ms",
            "pids",
        ] {
            assert!(s[f].is_u64(), "sample without {f}: {s}");
        }
    }
    let svg = dir.path().join("usage.svg");
    let plot = vsbx_with(
        &["plot", monitor.to_str().unwrap(), "-o"],
        &[svg.to_str().unwrap()],
        Opts::default(),
    );
    assert_eq!(plot.code, Some(0), "{}", plot.context());
    let text = std::fs::read_to_string(&svg).expect("usage.svg written");
    assert!(
        text.contains("<svg"),
        "not an SVG: {}",
        &text[..text.len().min(200)]
    );
}

/// The leftover checks are not vacuous: during a run they find its cgroups (one per v1
/// controller, or the one v2 directory), its state, its bundle and its processes; after the
/// run ends (here by SIGTERM, which `vsbx` answers by removing the run) nothing.
#[test]
fn leftover_checks_see_a_live_run() {
    let mut child = Command::new(vsbx_bin())
        .args(["run", "-q", "--timeout", "30s", &program("spin.py")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    let v2 = crate::support::cgroup_v2_only();
    let has_cgroups = |seen: &[String]| {
        let cgroups: Vec<&String> = seen
            .iter()
            .filter(|l| l.starts_with("cgroup /sys/fs/cgroup/"))
            .collect();
        if v2 {
            !cgroups.is_empty()
        } else {
            ["memory", "pids", "freezer"]
                .iter()
                .all(|ctrl| cgroups.iter().any(|l| l.contains(&format!("/{ctrl}/"))))
        }
    };
    // Generous for the slow emulated guest: spin.py runs until it is stopped.
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut seen = Vec::new();
    while Instant::now() < deadline {
        seen = leftovers(pid);
        if seen.iter().any(|l| l.starts_with("state "))
            && has_cgroups(&seen)
            && seen.iter().any(|l| l.starts_with("process "))
            && seen.iter().any(|l| l.starts_with("temp dir "))
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let _ = child.wait();
    assert!(
        seen.iter().any(|l| l.starts_with("state ")),
        "no state dir seen: {seen:?}"
    );
    assert!(
        has_cgroups(&seen),
        "not every cgroup seen (v2: {v2}): {seen:?}"
    );
    assert!(
        seen.iter().any(|l| l.starts_with("process ")),
        "no process seen: {seen:?}"
    );
    assert!(
        seen.iter().any(|l| l.starts_with("temp dir ")),
        "no bundle temp dir seen: {seen:?}"
    );
    std::thread::sleep(Duration::from_millis(100));
    let after = leftovers(pid);
    crate::support::force_cleanup(pid);
    assert!(after.is_empty(), "left behind: {after:?}");
}

/// `vsbx run` interrupted (Ctrl-C, or a supervisor's SIGTERM) ends promptly and takes its
/// sandbox with it: no process, cgroup, state or temp dir survives it.
fn interrupted_run_leaves_nothing(signal: i32) {
    let mut child = Command::new(vsbx_bin())
        .args(["run", "-q", "--timeout", "20s", &program("sleeper.py")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    let deadline = Instant::now() + Duration::from_secs(10);
    while leftovers(pid).iter().all(|l| !l.starts_with("process ")) {
        assert!(
            Instant::now() < deadline,
            "the sandboxed program never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(200));
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::try_from(signal).unwrap(),
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(3);
    let ended = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break Some(st);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    std::thread::sleep(Duration::from_millis(100));
    let left = leftovers(pid);
    crate::support::force_cleanup(pid);
    assert!(
        ended.is_some(),
        "vsbx still running 3 s after signal {signal}"
    );
    assert!(
        left.is_empty(),
        "vsbx ended by signal {signal} ({:?}) left behind:\n  {}",
        ended,
        left.join("\n  ")
    );
}

#[test]
fn sigterm_of_vsbx_leaves_nothing_behind() {
    interrupted_run_leaves_nothing(libc::SIGTERM);
}

#[test]
fn sigint_of_vsbx_leaves_nothing_behind() {
    interrupted_run_leaves_nothing(libc::SIGINT);
}

/// `--report -` prints the report on stdout after the program's output, also when stdout is
/// a file (`make demo > log`): nothing truncates it, so the program's output stays.
#[test]
fn report_dash_goes_to_stdout_after_the_output() {
    crate::support::ensure_shell_rootfs();
    let dir = tempfile::Builder::new()
        .prefix("vsbx-clitest-")
        .tempdir()
        .unwrap();
    let log = dir.path().join("log");
    let out = std::fs::File::create(&log).unwrap();
    let child = Command::new(vsbx_bin())
        .args(["run", "-q", "--report", "-", &program("hello.sh")])
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let done = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&done.stderr);
    assert_eq!(done.status.code(), Some(0), "{stderr}");
    assert!(leftovers(pid).is_empty(), "{:?}", leftovers(pid));
    assert!(
        !dir.path().join("-").exists(),
        "no file named - was written"
    );
    let text = std::fs::read_to_string(&log).unwrap();
    let report = text
        .strip_prefix("hello from sh\n")
        .unwrap_or_else(|| panic!("the program's output first, then the report: {text:?}"));
    let report: serde_json::Value = serde_json::from_str(report)
        .unwrap_or_else(|e| panic!("the rest is the report as JSON ({e}): {text:?}"));
    assert_eq!(report["exit_code"], 0, "{report}");
    assert!(
        report["id"]
            .as_str()
            .is_some_and(|id| id.starts_with(&format!("vsbx-{pid}-"))),
        "{report}"
    );
}
