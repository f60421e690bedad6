//! Container lifecycle through the CLI: create, start, state, kill, delete, run, list.

use serde_json::Value;
use std::fs;
use std::path::Path;
use vsbx_conformance::*;

/// A bundle whose process runs until killed.
fn sleeper(name: &str) -> Bundle {
    let mut b = Bundle::new(name);
    b.args(&["sleep", "1000"]);
    b
}

/// Shell snippet: block until the test creates /out/go.
const WAIT_FOR_GO: &str = "while [ ! -e /out/go ]; do sleep 0.05; done";

/// Host pids whose parent is `pid`.
fn children_of(pid: i32) -> Vec<i32> {
    let mut kids = Vec::new();
    for entry in fs::read_dir("/proc").expect("read /proc").flatten() {
        let Ok(child) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(stat) = fs::read_to_string(format!("/proc/{child}/stat")) else {
            continue;
        };
        let Some((_, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        // Fields after the command: state ppid ...
        let ppid = rest
            .split_whitespace()
            .nth(1)
            .and_then(|p| p.parse::<i32>().ok());
        if ppid == Some(pid) {
            kids.push(child);
        }
    }
    kids
}

#[test]
fn create_start_exit_delete() {
    let rt = Runtime::new("lifecycle");
    let mut b = Bundle::new("lifecycle");
    let out = b.out_dir();
    b.sh(&format!(
        "echo started > /out/started; {WAIT_FOR_GO}; exit 0"
    ));
    let id = unique_id("lifecycle");

    rt.create(&id, &b).assert_ok();
    let st = rt.state_json(&id);
    assert_eq!(st["status"], "created", "{st}");
    assert_eq!(st["id"], id.as_str(), "{st}");
    let pid = st["pid"].as_i64().expect("pid is a number") as i32;
    assert!(pid > 0, "created container has a pid: {st}");
    assert!(
        process_alive(pid),
        "the init of a created container is alive"
    );
    assert_eq!(
        Path::new(st["bundle"].as_str().expect("bundle")),
        b.path(),
        "{st}"
    );
    assert!(Path::new(st["bundle"].as_str().unwrap()).is_absolute());
    assert!(
        !st["ociVersion"].as_str().unwrap_or("").is_empty(),
        "ociVersion set: {st}"
    );
    // runc's state also carries rootfs and created (containerd's go-runc reads them).
    assert_eq!(
        Path::new(st["rootfs"].as_str().expect("rootfs")),
        b.rootfs(),
        "{st}"
    );
    assert!(
        st["created"].as_str().expect("created").contains('T'),
        "RFC 3339 created: {st}"
    );
    assert!(
        !out.join("started").exists(),
        "the user process must not run before start"
    );

    rt.start(&id).assert_ok();
    assert!(
        wait_until(|| out.join("started").exists()),
        "process ran after start"
    );
    let st = rt.state_json(&id);
    assert_eq!(st["status"], "running", "{st}");
    assert_eq!(
        st["pid"].as_i64(),
        Some(pid as i64),
        "pid unchanged by start"
    );
    assert!(rt.list_ids().contains(&id));

    fs::write(out.join("go"), "").unwrap();
    rt.wait_status(&id, "stopped");
    rt.delete(&id).assert_ok();
    rt.state(&id).assert_error("does not exist");
    rt.assert_gone(&id, &b, Some(pid));
}

#[test]
fn start_fails_unless_created() {
    let rt = Runtime::new("start-twice");
    let mut b = Bundle::new("start-twice");
    b.out_dir();
    b.sh(WAIT_FOR_GO);
    let id = unique_id("start-twice");
    rt.create_and_start(&id, &b);
    rt.wait_status(&id, "running");
    rt.start(&id).assert_failed().assert_one_line_error();
    assert_eq!(
        rt.state_json(&id)["status"],
        "running",
        "failed start changes nothing"
    );

    fs::write(b.path().join("out/go"), "").unwrap();
    rt.wait_status(&id, "stopped");
    // runc: "cannot start a container that has stopped".
    rt.start(&id).assert_error("stopped");

    rt.start(&unique_id("no-such"))
        .assert_error("does not exist");
}

#[test]
fn delete_running_needs_force() {
    let rt = Runtime::new("delete-running");
    let b = sleeper("delete-running");
    let id = unique_id("delete-running");
    let pid = rt.create_and_start(&id, &b);
    // runc: "cannot delete container ID that is not stopped: running".
    rt.delete(&id).assert_error("not stopped");
    assert_eq!(rt.state_json(&id)["status"], "running");
    assert!(process_alive(pid));

    rt.delete_force(&id).assert_ok();
    rt.assert_gone(&id, &b, Some(pid));
    rt.delete(&unique_id("no-such"))
        .assert_error("does not exist");
}

#[test]
fn delete_force_of_created_container() {
    let rt = Runtime::new("delete-created");
    let mut b = Bundle::new("delete-created");
    let out = b.out_dir();
    b.sh("echo ran > /out/ran");
    let id = unique_id("delete-created");
    rt.create(&id, &b).assert_ok();
    let pid = rt.pid(&id);
    rt.delete_force(&id).assert_ok();
    rt.assert_gone(&id, &b, Some(pid));
    assert!(
        !out.join("ran").exists(),
        "the process of a never-started container never runs"
    );
}

#[test]
fn duplicate_create_fails_and_keeps_first() {
    let rt = Runtime::new("dup");
    let b = sleeper("dup");
    let b2 = sleeper("dup2");
    let id = unique_id("dup");
    rt.create(&id, &b).assert_ok();
    let pid = rt.pid(&id);
    // runc: "container with id exists: ID".
    rt.create(&id, &b2).assert_error("exists");
    let st = rt.state_json(&id);
    assert_eq!(st["status"], "created");
    assert_eq!(st["pid"].as_i64(), Some(pid as i64));
    assert_eq!(
        Path::new(st["bundle"].as_str().unwrap()),
        b.path(),
        "first bundle kept"
    );
    assert!(process_alive(pid));
    rt.start(&id).assert_ok();
    assert_eq!(rt.state_json(&id)["status"], "running");
}

#[test]
fn kill_signal_spellings() {
    let rt = Runtime::new("kill-forms");
    let mut b = Bundle::new("kill-forms");
    let out = b.out_dir();
    // The init (pid 1 in its pid namespace) gets SIGTERM only because it handles it: the kernel
    // drops signals without a handler sent to a namespace's init, even from the host.
    b.sh(
        "trap 'echo TERM >> /out/sig' TERM; echo ready > /out/ready; \
          while true; do sleep 0.05; done",
    );
    let id = unique_id("kill-forms");
    let pid = rt.create_and_start(&id, &b);
    assert!(wait_until(|| out.join("ready").exists()), "trap installed");

    let count = || {
        fs::read_to_string(out.join("sig"))
            .unwrap_or_default()
            .lines()
            .count()
    };
    // No signal argument means SIGTERM.
    let forms: [&[&str]; 4] = [&["TERM"], &["SIGTERM"], &["15"], &[]];
    for (i, form) in forms.iter().enumerate() {
        let mut args = vec!["kill", id.as_str()];
        args.extend_from_slice(form);
        rt.exec(&args).assert_ok();
        assert!(
            wait_until(|| count() == i + 1),
            "signal {form:?} delivered as SIGTERM"
        );
    }
    assert_eq!(rt.state_json(&id)["status"], "running", "TERM was handled");

    rt.kill(&id, "KILL").assert_ok();
    rt.wait_status(&id, "stopped");
    assert!(wait_until(|| !process_alive(pid)));
    // runc: "container not running".
    rt.kill(&id, "KILL").assert_error("not running");
    rt.kill(&unique_id("no-such"), "KILL")
        .assert_error("does not exist");
    rt.kill(&id, "NOSUCHSIGNAL").assert_failed();
}

#[test]
fn kill_numeric_9_stops_running_container() {
    let rt = Runtime::new("kill-9");
    let b = sleeper("kill-9");
    let id = unique_id("kill-9");
    let pid = rt.create_and_start(&id, &b);
    rt.kill(&id, "9").assert_ok();
    rt.wait_status(&id, "stopped");
    assert!(wait_until(|| !process_alive(pid)));
    rt.delete(&id).assert_ok();
    rt.assert_gone(&id, &b, Some(pid));
}

#[test]
fn kill_created_container() {
    // runc lets a created (not yet started) container be signalled; SIGKILL stops it and its
    // process never runs.
    let rt = Runtime::new("kill-created");
    let mut b = Bundle::new("kill-created");
    let out = b.out_dir();
    b.sh("echo ran > /out/ran");
    let id = unique_id("kill-created");
    rt.create(&id, &b).assert_ok();
    let pid = rt.pid(&id);
    rt.kill(&id, "KILL").assert_ok();
    rt.wait_status(&id, "stopped");
    rt.start(&id).assert_failed();
    assert!(!out.join("ran").exists());
    rt.delete(&id).assert_ok();
    rt.assert_gone(&id, &b, Some(pid));
}

#[test]
fn kill_all_reaches_every_process() {
    let rt = Runtime::new("kill-all");
    let mut b = Bundle::new("kill-all");
    let out = b.out_dir();
    b.sh("sleep 1000 & sleep 1000 & echo ready > /out/ready; wait");
    let id = unique_id("kill-all");
    let pid = rt.create_and_start(&id, &b);
    assert!(wait_until(
        || out.join("ready").exists() && children_of(pid).len() >= 2
    ));
    let kids = children_of(pid);
    rt.exec(&["kill", "--all", id.as_str(), "KILL"]).assert_ok();
    rt.wait_status(&id, "stopped");
    for k in kids.iter().chain([&pid]) {
        assert!(
            wait_until(|| !process_alive(*k)),
            "process {k} survived kill --all"
        );
    }
    rt.delete(&id).assert_ok();
    rt.assert_gone(&id, &b, Some(pid));
}

#[test]
fn dead_init_is_reported_stopped() {
    let rt = Runtime::new("dead-init");
    let b = sleeper("dead-init");
    let id = unique_id("dead-init");
    let pid = rt.create_and_start(&id, &b);
    // SAFETY: signalling the container's init, whose pid the runtime reported.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGKILL) }, 0);
    rt.wait_status(&id, "stopped");
    // A stopped container needs no --force.
    rt.delete(&id).assert_ok();
    rt.assert_gone(&id, &b, Some(pid));
}

#[test]
fn run_exit_codes() {
    let rt = Runtime::new("run-codes");
    for (script, code) in [("true", 0), ("exit 3", 3), ("echo hello; exit 0", 0)] {
        let mut b = Bundle::new("run-codes");
        b.sh(script);
        let id = unique_id("run-codes");
        let out = rt.run(&id, &b, &[]);
        assert_eq!(out.code(), Some(code), "exit code of `{script}`: {out}");
        if script.starts_with("echo") {
            assert_eq!(
                out.stdout, "hello\n",
                "attached run passes the container's stdout"
            );
        }
        // An attached run deletes the container when it exits.
        rt.assert_gone(&id, &b, None);
    }
}

#[test]
fn run_exit_code_on_signal_is_128_plus_n() {
    let rt = Runtime::new("run-signal");
    let b = sleeper("run-signal");
    let id = unique_id("run-signal");
    let run = rt.spawn_run(&id, &b, &[]);
    let st = rt.wait_status(&id, "running");
    rt.kill(&id, "KILL").assert_ok();
    let out = run.wait(TIMEOUT);
    assert_eq!(out.code(), Some(128 + 9), "{out}");
    rt.assert_gone(&id, &b, st["pid"].as_i64().map(|p| p as i32));
}

#[test]
fn run_self_signal_without_pid_namespace() {
    // `kill -9 $$` from the container's own pid 1 is ignored by the kernel (a namespace init
    // cannot be sent SIGKILL from inside), so the exit code would be 0 with a pid namespace;
    // without one the shell is an ordinary process and dies.
    let rt = Runtime::new("run-selfkill");
    let mut b = Bundle::new("run-selfkill");
    b.remove_namespace("pid");
    b.sh("kill -9 $$");
    let id = unique_id("run-selfkill");
    let out = rt.run(&id, &b, &[]);
    assert_eq!(out.code(), Some(137), "{out}");
    rt.assert_gone(&id, &b, None);
}

#[test]
fn run_detach_returns_while_running() {
    let rt = Runtime::new("run-detach");
    let b = sleeper("run-detach");
    let id = unique_id("run-detach");
    rt.run(&id, &b, &["--detach"]).assert_ok();
    let st = rt.state_json(&id);
    assert_eq!(st["status"], "running", "{st}");
    let pid = st["pid"].as_i64().unwrap() as i32;
    assert!(process_alive(pid));
    rt.delete_force(&id).assert_ok();
    rt.assert_gone(&id, &b, Some(pid));
}

#[test]
fn pid_file_holds_host_pid() {
    let rt = Runtime::new("pid-file");
    let b = sleeper("pid-file");
    let id = unique_id("pid-file");
    let pid_file = rt.scratch().join("container.pid");
    rt.create_with(&id, &b, &["--pid-file", pid_file.to_str().unwrap()])
        .assert_ok();
    let text = fs::read_to_string(&pid_file).expect("pid file written");
    let from_file: i32 = text
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("pid file {text:?}"));
    assert_eq!(from_file, rt.pid(&id));
    assert!(process_alive(from_file));
}

#[test]
fn list_formats() {
    let rt = Runtime::new("list");
    // runc prints `null` for an empty JSON list (a nil Go slice), not `[]`.
    let empty = rt.exec(&["list", "--format", "json"]);
    empty.assert_ok();
    assert_eq!(empty.stdout.trim(), "null", "{empty}");

    let b = sleeper("list");
    let id = unique_id("list");
    rt.create(&id, &b).assert_ok();
    let pid = rt.pid(&id);

    assert_eq!(rt.list_ids(), vec![id.clone()]);

    let json = rt.exec(&["list", "-f", "json"]);
    json.assert_ok();
    let v: Value = serde_json::from_str(&json.stdout).expect("list -f json is JSON");
    let arr = v.as_array().expect("an array");
    assert_eq!(arr.len(), 1, "{v}");
    assert_eq!(arr[0]["id"], id.as_str());
    assert_eq!(arr[0]["pid"].as_i64(), Some(pid as i64));
    assert_eq!(arr[0]["status"], "created");
    assert_eq!(Path::new(arr[0]["bundle"].as_str().unwrap()), b.path());

    let table = rt.exec(&["list"]);
    table.assert_ok();
    let mut lines = table.stdout.lines();
    let header: Vec<&str> = lines.next().expect("header").split_whitespace().collect();
    assert_eq!(
        header,
        ["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]
    );
    let row: Vec<&str> = lines.next().expect("one row").split_whitespace().collect();
    assert_eq!(row[0], id);
    assert_eq!(row[1], pid.to_string());
    assert_eq!(row[2], "created");
    assert_eq!(Path::new(row[3]), b.path());
    assert_eq!(row[5], "root", "owner of a container created by root");
}

#[test]
fn explicit_cgroups_path_is_used_and_removed() {
    let rt = Runtime::new("cgpath");
    let mut b = sleeper("cgpath");
    let id = unique_id("cgpath");
    let cg = format!("/{id}-cg");
    b.config()["linux"]["cgroupsPath"] = cg.clone().into();
    b.config()["linux"]["resources"]["pids"] = serde_json::json!({ "limit": 42 });
    let pid = rt.create_and_start(&id, &b);
    let hierarchy = if unified_host() { "" } else { "pids" };
    let pids_dir = Path::new("/sys/fs/cgroup")
        .join(hierarchy)
        .join(cg.trim_start_matches('/'));
    let procs = fs::read_to_string(pids_dir.join("cgroup.procs")).expect("pids cgroup exists");
    assert!(
        procs.lines().any(|l| l.trim() == pid.to_string()),
        "init in {}",
        pids_dir.display()
    );
    let max = fs::read_to_string(pids_dir.join("pids.max")).unwrap();
    assert_eq!(max.trim(), "42");
    rt.delete_force(&id).assert_ok();
    rt.assert_gone(&id, &b, Some(pid));
    let left = cgroup_leftovers(&id, Some(&cg));
    assert!(left.is_empty(), "cgroup dirs left: {left:?}");
}
