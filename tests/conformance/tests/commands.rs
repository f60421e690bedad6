//! runc-compatible commands on a running container besides exec: ps, pause/resume,
//! update, events.

use serde_json::{json, Value};
use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};
use vsbx_conformance::*;

#[test]
fn ps_table_and_json() {
    let rt = Runtime::new("ps");
    let mut b = Bundle::new("ps");
    let id = unique_id("ps");
    let pid = running(&rt, &id, &mut b, |_| {});
    let out = rt.exec(&["ps", &id]);
    out.assert_ok();
    let mut lines = out.stdout.lines();
    let header: Vec<&str> = lines.next().expect("header").split_whitespace().collect();
    let col = header
        .iter()
        .position(|h| *h == "PID")
        .unwrap_or_else(|| panic!("no PID column: {out}"));
    let pids: Vec<i32> = lines
        .filter_map(|l| l.split_whitespace().nth(col)?.parse().ok())
        .collect();
    assert!(pids.contains(&pid), "init pid {pid} listed: {out}");

    let out = rt.exec(&["ps", "-f", "json", &id]);
    out.assert_ok();
    let v: Value = serde_json::from_str(out.stdout.trim())
        .unwrap_or_else(|e| panic!("ps -f json is not JSON ({e}): {out}"));
    let list: Vec<i64> = v
        .as_array()
        .unwrap_or_else(|| panic!("an array: {out}"))
        .iter()
        .map(|p| p.as_i64().expect("pids are numbers"))
        .collect();
    assert!(list.contains(&(pid as i64)), "{list:?} has {pid}");

    // A detached exec shows up too.
    let pid_file = rt.scratch().join("exec.pid");
    exec_in(
        &rt,
        &id,
        &["--detach", "--pid-file", pid_file.to_str().unwrap()],
        &["sleep", "1000"],
    )
    .assert_ok();
    let exec_pid: i64 = fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let out = rt.exec(&["ps", "-f", "json", &id]);
    let v: Value = serde_json::from_str(out.stdout.trim()).unwrap();
    assert!(
        v.as_array().unwrap().contains(&json!(exec_pid)),
        "exec'd pid {exec_pid} in {v}"
    );
    rt.exec(&["ps", &unique_id("no-such")])
        .assert_failed()
        .assert_one_line_error();
}

#[test]
fn ps_options_after_the_id() {
    // runc's usage: `ps [command options] <container-id> [ps options]`. Everything after
    // the ID goes to ps(1), -f included (ps's full format, not --format).
    let rt = Runtime::new("ps-opts");
    let mut b = Bundle::new("ps-opts");
    let id = unique_id("ps-opts");
    let pid = running(&rt, &id, &mut b, |_| {});
    let rows = |out: &Outcome| -> Vec<Vec<String>> {
        out.stdout
            .lines()
            .map(|l| l.split_whitespace().map(str::to_string).collect())
            .collect()
    };
    for opts in [&["-ef"][..], &["-f"], &["-e", "-f"]] {
        let mut args = vec!["ps", id.as_str()];
        args.extend_from_slice(opts);
        let out = rt.exec(&args);
        out.assert_ok();
        let rows = rows(&out);
        assert_eq!(rows[0][..2], ["UID", "PID"], "ps {opts:?}: {out}");
        assert!(
            rows[1..].iter().any(|r| r[1] == pid.to_string()),
            "ps {opts:?} lists the init {pid}: {out}"
        );
    }
    let out = rt.exec(&["ps", &id, "-o", "pid,comm"]);
    out.assert_ok();
    assert_eq!(
        rows(&out),
        [
            vec!["PID".to_string(), "COMMAND".into()],
            vec![pid.to_string(), "sleep".into()]
        ],
        "{out}"
    );
    // `--` before the ID works in both. Right after the ID runc hands it on to ps, which
    // fails ("error: garbage option"); vsbx drops it, as it took ps options only after `--`.
    let out = rt.exec(&["ps", "--", &id, "-o", "pid"]);
    out.assert_ok();
    assert_eq!(rows(&out), [vec!["PID".to_string()], vec![pid.to_string()]]);
    let out = rt.exec(&["ps", &id, "--", "-o", "pid"]);
    if is_runc() {
        out.assert_error("garbage option");
    } else {
        out.assert_ok();
        assert_eq!(rows(&out), [vec!["PID".to_string()], vec![pid.to_string()]]);
    }
    // Options ps refuses: a one-line error naming them.
    rt.exec(&["ps", &id, "-o", "nosuchcolumn"])
        .assert_error("nosuchcolumn");
    rt.delete_force(&id).assert_ok();
    rt.assert_gone(&id, &b, Some(pid));
}

/// How many lines the counter loop has appended (each a single write(2) of "N\n", so a line
/// is either complete or absent, even when the container is frozen mid-loop).
fn counter(path: &Path) -> usize {
    fs::read_to_string(path)
        .map(|t| t.matches('\n').count())
        .unwrap_or(0)
}

#[test]
fn pause_freezes_and_resume_continues() {
    let rt = Runtime::new("pause");
    let mut b = Bundle::new("pause");
    let out = b.out_dir();
    b.sh("i=0; while true; do i=$((i+1)); echo $i >> /out/counter; sleep 0.02; done");
    let id = unique_id("pause");
    let pid = rt.create_and_start(&id, &b);
    let file = out.join("counter");
    let first = counter(&file);
    assert!(
        wait_until(|| counter(&file) > first),
        "the loop makes progress"
    );

    rt.exec(&["pause", &id]).assert_ok();
    assert_eq!(rt.state_json(&id)["status"], "paused");
    let freezer = cgroup_dir_of(pid, "freezer").expect("freezer cgroup");
    assert_eq!(
        cgroup_value(&freezer, "freezer.state").unwrap(),
        "FROZEN",
        "{}",
        freezer.display()
    );
    let frozen = counter(&file);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(counter(&file), frozen, "no progress while paused");
    assert!(process_alive(pid), "paused, not dead");

    rt.exec(&["resume", &id]).assert_ok();
    assert_eq!(rt.state_json(&id)["status"], "running");
    assert!(
        wait_until(|| counter(&file) > frozen),
        "the loop continues after resume"
    );
    rt.delete_force(&id).assert_ok();
    rt.assert_gone(&id, &b, Some(pid));
}

#[test]
fn pause_and_resume_in_the_wrong_state_fail() {
    let rt = Runtime::new("pause-wrong");
    let mut b = Bundle::new("pause-wrong");
    let id = unique_id("pause-wrong");
    running(&rt, &id, &mut b, |_| {});
    // runc: "container not paused".
    rt.exec(&["resume", &id]).assert_error("not paused");
    assert_eq!(rt.state_json(&id)["status"], "running");
    rt.exec(&["pause", &id]).assert_ok();
    // runc: "container not running" (vsbx words it "already paused"): exit 1, one line.
    let again = rt.exec(&["pause", &id]);
    assert_eq!(again.code(), Some(1), "{again}");
    again.assert_one_line_error();
    assert_eq!(rt.state_json(&id)["status"], "paused");
    rt.exec(&["resume", &id]).assert_ok();

    let stopped = Bundle::new("pause-stopped");
    let id2 = unique_id("pause-stopped");
    rt.create_and_start(&id2, &stopped);
    rt.wait_status(&id2, "stopped");
    rt.exec(&["pause", &id2]).assert_error("not running");
    rt.exec(&["resume", &id2]).assert_error("not paused");
    assert_eq!(rt.state_json(&id2)["status"], "stopped");
    rt.exec(&["pause", &unique_id("no-such")])
        .assert_error("does not exist");
}

/// A cgroup file of the container, read on the host.
/// On a cgroup v2 host the file is the v2 one of the same setting (`cgroup_value`).
fn host_cgroup_file(pid: i32, controller: &str, file: &str) -> String {
    let dir = cgroup_dir_of(pid, controller)
        .unwrap_or_else(|| panic!("no {controller} cgroup for {pid}"));
    cgroup_value(&dir, file).unwrap_or_else(|e| panic!("read {}/{file}: {e}", dir.display()))
}

/// A cgroup file as the container sees it under its /sys/fs/cgroup.
fn inside_cgroup_file(rt: &Runtime, id: &str, controller: &str, file: &str) -> String {
    // v2: one hierarchy, the container's own cgroup at /sys/fs/cgroup.
    let (path, v2) = if unified_host() {
        let name = match file {
            "memory.limit_in_bytes" => "memory.max",
            "cpu.cfs_quota_us" => "cpu.max",
            f => f,
        };
        (format!("/sys/fs/cgroup/{name}"), true)
    } else {
        (format!("/sys/fs/cgroup/{controller}/{file}"), false)
    };
    let out = exec_in(rt, id, &[], &["cat", &path]);
    out.assert_ok();
    let value = out.stdout.trim().to_string();
    match (v2, file) {
        (true, "cpu.cfs_quota_us") => value.split(' ').next().unwrap_or("").to_string(),
        _ => value,
    }
}

#[test]
fn update_memory_pids_and_cpu() {
    let rt = Runtime::new("update");
    let mut b = Bundle::new("update");
    let id = unique_id("update");
    // Created with limits, so the container's own /sys/fs/cgroup has these hierarchies
    // under both runtimes (vsbx mounts only the v1 hierarchies it joined at create).
    let pid = running(&rt, &id, &mut b, |b| {
        b.config()["linux"]["resources"]["memory"] = json!({"limit": 268435456});
        b.config()["linux"]["resources"]["pids"] = json!({"limit": 1000});
        b.config()["linux"]["resources"]["cpu"] = json!({"shares": 1024});
    });
    rt.exec(&["update", "--memory", "64m", &id]).assert_ok();
    assert_eq!(
        host_cgroup_file(pid, "memory", "memory.limit_in_bytes"),
        "67108864"
    );
    assert_eq!(
        inside_cgroup_file(&rt, &id, "memory", "memory.limit_in_bytes"),
        "67108864"
    );
    rt.exec(&["update", "--pids-limit", "20", &id]).assert_ok();
    assert_eq!(host_cgroup_file(pid, "pids", "pids.max"), "20");
    assert_eq!(inside_cgroup_file(&rt, &id, "pids", "pids.max"), "20");
    rt.exec(&[
        "update",
        "--cpu-quota",
        "50000",
        "--cpu-period",
        "100000",
        &id,
    ])
    .assert_ok();
    assert_eq!(host_cgroup_file(pid, "cpu", "cpu.cfs_quota_us"), "50000");
    assert_eq!(host_cgroup_file(pid, "cpu", "cpu.cfs_period_us"), "100000");
    assert_eq!(
        inside_cgroup_file(&rt, &id, "cpu", "cpu.cfs_quota_us"),
        "50000"
    );
    // Earlier updates are kept.
    assert_eq!(
        host_cgroup_file(pid, "memory", "memory.limit_in_bytes"),
        "67108864"
    );
    assert_eq!(host_cgroup_file(pid, "pids", "pids.max"), "20");
    assert_eq!(rt.state_json(&id)["status"], "running");
    rt.delete_force(&id).assert_ok();
    rt.assert_gone(&id, &b, Some(pid));
}

#[test]
fn update_from_resources_json() {
    let rt = Runtime::new("update-r");
    let mut b = Bundle::new("update-r");
    let id = unique_id("update-r");
    let pid = running(&rt, &id, &mut b, |_| {});
    let file = rt.scratch().join("resources.json");
    fs::write(
        &file,
        json!({
            "memory": {"limit": 33554432},
            "pids": {"limit": 30},
            "cpu": {"shares": 512},
        })
        .to_string(),
    )
    .unwrap();
    rt.exec(&["update", "-r", file.to_str().unwrap(), &id])
        .assert_ok();
    assert_eq!(
        host_cgroup_file(pid, "memory", "memory.limit_in_bytes"),
        "33554432"
    );
    assert_eq!(host_cgroup_file(pid, "pids", "pids.max"), "30");
    // v2 has cpu.weight, which both runtimes compute from the shares as runc does:
    // 1 + (512 - 2) * 9999 / 262142 = 20.
    if unified_host() {
        assert_eq!(host_cgroup_file(pid, "cpu", "cpu.weight"), "20");
    } else {
        assert_eq!(host_cgroup_file(pid, "cpu", "cpu.shares"), "512");
    }
    // Limits on a container created without any: both runtimes apply them on the host.
    // Inside, runc (which joins every v1 hierarchy at create) shows them; vsbx moves the
    // container into the hierarchies at update time, after its /sys/fs/cgroup was
    // mounted, so the container does not see them there.
    if is_runc() {
        assert_eq!(inside_cgroup_file(&rt, &id, "pids", "pids.max"), "30");
    }
    // The container is still whole: every process moved, and it still runs.
    assert_eq!(rt.state_json(&id)["status"], "running");
    let procs =
        fs::read_to_string(cgroup_dir_of(pid, "pids").unwrap().join("cgroup.procs")).unwrap();
    assert!(
        procs.lines().any(|l| l.trim() == pid.to_string()),
        "init in the pids cgroup: {procs}"
    );
}

#[test]
fn update_unknown_container_fails() {
    let rt = Runtime::new("update-unknown");
    rt.exec(&["update", "--pids-limit", "20", &unique_id("no-such")])
        .assert_error("does not exist");
}

#[test]
fn events_stats_once() {
    let rt = Runtime::new("events-stats");
    let mut b = Bundle::new("events-stats");
    let id = unique_id("events-stats");
    // Memory and pids limits so both runtimes have those hierarchies (vsbx joins only the
    // v1 hierarchies the spec's resources use; runc joins them all).
    running(&rt, &id, &mut b, |b| {
        b.config()["linux"]["resources"]["memory"] = json!({"limit": 268435456});
        b.config()["linux"]["resources"]["pids"] = json!({"limit": 1000});
    });
    let out = rt.exec(&["events", "--stats", &id]);
    out.assert_ok();
    let lines: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .collect();
    assert_eq!(lines.len(), 1, "one JSON line: {out}");
    let v: Value =
        serde_json::from_str(lines[0]).unwrap_or_else(|e| panic!("not JSON ({e}): {out}"));
    assert_eq!(v["type"], "stats", "{v}");
    assert_eq!(v["id"], id.as_str(), "{v}");
    let usage = v["data"]["memory"]["usage"]["usage"].as_u64();
    assert!(usage.is_some_and(|u| u > 0), "memory usage > 0: {v}");
    let pids = v["data"]["pids"]["current"].as_u64();
    assert!(pids.is_some_and(|p| p >= 1), "pids.current >= 1: {v}");
    rt.exec(&["events", "--stats", &unique_id("no-such")])
        .assert_failed()
        .assert_one_line_error();
}

/// Kills a background runtime command (events streams until killed) and collects it.
fn stop(spawned: Spawned) -> Outcome {
    // SAFETY: kill(2) on the pid of our own child, which is not yet reaped.
    unsafe { libc::kill(spawned.pid() as i32, libc::SIGKILL) };
    spawned.wait(TIMEOUT)
}

fn json_lines(text: &str) -> Vec<Value> {
    text.lines()
        .filter_map(|l| serde_json::from_str(l.trim()).ok())
        .collect()
}

/// The JSON lines printed so far by this test's background commands (their stdout files are
/// `io/bg-*.out` in the runtime's private scratch dir; each test here spawns only `events`).
fn background_json(rt: &Runtime) -> Vec<Value> {
    let mut all = Vec::new();
    for e in fs::read_dir(rt.scratch().join("io")).unwrap().flatten() {
        let n = e.file_name().to_string_lossy().into_owned();
        if n.starts_with("bg-") && n.ends_with(".out") {
            all.extend(json_lines(
                &fs::read_to_string(e.path()).unwrap_or_default(),
            ));
        }
    }
    all
}

#[test]
fn events_stream_with_interval() {
    let rt = Runtime::new("events-stream");
    let mut b = Bundle::new("events-stream");
    let id = unique_id("events-stream");
    running(&rt, &id, &mut b, |_| {});
    let spawned = rt.spawn(&["events", "--interval", "200ms", &id]);
    let started = Instant::now();
    let read = || background_json(&rt);
    let mut stats = 0;
    assert!(
        wait_until(|| {
            stats = read().iter().filter(|v| v["type"] == "stats").count();
            stats >= 2
        }),
        "events never printed two stats lines"
    );
    let elapsed = started.elapsed();
    let out = stop(spawned);
    // The default interval is 5s: two lines well before that show --interval is honoured.
    assert!(
        elapsed < Duration::from_millis(4000),
        "two stats lines took {elapsed:?} with --interval 200ms"
    );
    for v in json_lines(&out.stdout) {
        assert_eq!(v["id"], id.as_str(), "{v}");
    }
}

#[test]
fn events_report_oom() {
    // runc 1.1.5 on cgroup v1 registers on memory.oom_control through cgroup.event_control and
    // prints {"type":"oom","id":ID} (no data) for each OOM kill in the container's cgroup.
    let rt = Runtime::new("events-oom");
    let mut b = Bundle::new("events-oom");
    let out = b.out_dir();
    b.config()["linux"]["resources"]["memory"] =
        json!({"limit": 16 * 1024 * 1024, "swap": 16 * 1024 * 1024});
    // Keeps triggering OOM kills of a child (tail buffers /dev/zero without bound) once the
    // test says go, so an OOM cannot slip past before `events` has registered for them.
    b.sh("while true; do if [ -e /out/go ]; then tail /dev/zero; fi; sleep 0.1; done");
    let id = unique_id("events-oom");
    let pid = rt.create_and_start(&id, &b);
    let spawned = rt.spawn(&["events", "--interval", "200ms", &id]);
    let read = || background_json(&rt);
    // A first stats line: events is up (it registers for OOM before its first tick).
    assert!(
        wait_until(|| read().iter().any(|v| v["type"] == "stats")),
        "events never started"
    );
    fs::write(out.join("go"), "").unwrap();
    let seen = wait_until(|| read().iter().any(|v| v["type"] == "oom"));
    let out = stop(spawned);
    assert!(seen, "no oom event: {out}");
    let oom = json_lines(&out.stdout)
        .into_iter()
        .find(|v| v["type"] == "oom")
        .unwrap();
    assert_eq!(oom["id"], id.as_str(), "{oom}");
    let control = host_cgroup_file(pid, "memory", "memory.oom_control");
    let kills: u64 = control
        .lines()
        .find_map(|l| l.strip_prefix("oom_kill "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no oom_kill in {control}"));
    assert!(
        kills >= 1,
        "the host's cgroup counted the OOM kill: {control}"
    );
    assert!(
        process_alive(pid),
        "the init survives: only the hog was killed"
    );
    rt.delete_force(&id).assert_ok();
    rt.assert_gone(&id, &b, Some(pid));
}

#[test]
fn update_refuses_intel_rdt_schemas() {
    // This host has no resctrl, and vsbx has no Intel RDT support at all: both refuse the
    // schema flags, and the other limits given with them are not applied either.
    let rt = Runtime::new("update-rdt");
    let mut b = Bundle::new("update-rdt");
    let id = unique_id("update-rdt");
    let pid = running(&rt, &id, &mut b, |b| {
        b.config()["linux"]["resources"]["pids"] = json!({"limit": 1000});
    });
    for (flag, runc_says) in [
        ("--l3-cache-schema", "l3 cache schema is not enabled"),
        ("--mem-bw-schema", "memory bandwidth schema is not enabled"),
    ] {
        let out = rt.exec(&["update", "--pids-limit", "20", flag, "L3:0=ff", &id]);
        // runc names the feature ("Intel RDT/CAT: l3 cache schema is not enabled"); vsbx
        // names the flag.
        if is_runc() {
            out.assert_error(runc_says);
        } else {
            out.assert_error(&format!(
                "update {flag}: Intel RDT is not supported by this vsbx-runtime build"
            ));
        }
        assert_eq!(host_cgroup_file(pid, "pids", "pids.max"), "1000", "{out}");
    }
    assert_eq!(rt.state_json(&id)["status"], "running");
    rt.delete_force(&id).assert_ok();
    rt.assert_gone(&id, &b, Some(pid));
}
