//! `exec`: a new process in a running container, with runc's flags.

use serde_json::json;
use std::fs;
use std::time::{Duration, Instant};
use vsbx_conformance::*;

/// The exit code of a failed `exec` (the runtime's own error, not the process's): runc 1.1.5
/// uses `fatalWithCode(err, 255)` so that it cannot be confused with a process exiting 1, and
/// vsbx does the same.
fn exec_error_code() -> i32 {
    255
}

#[track_caller]
fn assert_exec_error(out: &Outcome, needle: &str) {
    assert_eq!(
        out.code(),
        Some(exec_error_code()),
        "exec error code: {out}"
    );
    out.assert_one_line_error();
    assert!(
        out.stderr.to_lowercase().contains(needle),
        "stderr should mention {needle:?}: {out}"
    );
}

#[test]
fn exec_output_and_exit_code() {
    let rt = Runtime::new("exec-out");
    let mut b = Bundle::new("exec-out");
    let id = unique_id("exec-out");
    let pid = running(&rt, &id, &mut b, |_| {});
    let out = exec_in(&rt, &id, &[], &["echo", "hello", "world"]);
    out.assert_ok();
    assert_eq!(out.stdout, "hello world\n");
    let out = exec_in(&rt, &id, &[], &["sh", "-c", "echo err >&2; exit 5"]);
    assert_eq!(
        out.code(),
        Some(5),
        "exit code of the exec'd process: {out}"
    );
    assert_eq!(out.stderr, "err\n", "the process's stderr passes through");
    // The container is unaffected by its exec'd processes.
    assert_eq!(rt.state_json(&id)["status"], "running");
    rt.delete_force(&id).assert_ok();
    rt.assert_gone(&id, &b, Some(pid));
}

#[test]
fn exec_joins_namespaces_mounts_and_cgroup() {
    let rt = Runtime::new("exec-ns");
    let mut b = Bundle::new("exec-ns");
    let id = unique_id("exec-ns");
    let pid = running(&rt, &id, &mut b, |b| {
        b.config()["hostname"] = json!("exec-ns-host");
    });
    let out = exec_in(
        &rt,
        &id,
        &[],
        &[
            "sh",
            "-c",
            "hostname; echo $$; cat /tmp/init-file; \
             for n in pid mnt uts ipc net; do readlink /proc/self/ns/$n; done",
        ],
    );
    out.assert_ok();
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 8, "{out}");
    assert_eq!(lines[0], "exec-ns-host", "the container's hostname");
    let own_pid: i32 = lines[1].parse().expect("a pid");
    assert!(own_pid > 1, "the exec'd shell is not pid 1: {own_pid}");
    assert_eq!(
        lines[2], "from-init",
        "sees the init's tmpfs: same mount namespace"
    );
    let init = pid.to_string();
    for (i, ns) in ["pid", "mnt", "uts", "ipc", "net"].iter().enumerate() {
        assert_eq!(
            lines[3 + i],
            ns_inode(&init, ns),
            "{ns} namespace of the init"
        );
    }

    // `ps` in the container shows the init as pid 1.
    let out = exec_in(&rt, &id, &[], &["ps", "-o", "pid,args"]);
    out.assert_ok();
    assert!(
        out.stdout
            .lines()
            .any(|l| l.trim_start().starts_with("1 ") && l.contains("sleep 1000")),
        "ps lists the init as pid 1: {out}"
    );

    // The same cgroups as the init, seen inside and from the host.
    let out = exec_in(
        &rt,
        &id,
        &[],
        &[
            "sh",
            "-c",
            "cat /proc/self/cgroup; echo --; cat /proc/1/cgroup",
        ],
    );
    out.assert_ok();
    let (own, init_inside) = out.stdout.split_once("--\n").expect("separator");
    assert_eq!(own, init_inside, "exec'd process in the init's cgroups");
    let on_host = fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    // runc 1.1.5 on cgroup v2 gives the container a cgroup namespace though the config
    // lists none (see namespaces.rs): inside, the paths are then relative to it.
    if !(is_runc() && unified_host()) {
        assert_eq!(own, on_host, "matches the init's cgroups read on the host");
    }
    rt.delete_force(&id).assert_ok();
    rt.assert_gone(&id, &b, Some(pid));
}

#[test]
fn exec_env_cwd_user_and_additional_gids() {
    let rt = Runtime::new("exec-user");
    let mut b = Bundle::new("exec-user");
    let id = unique_id("exec-user");
    running(&rt, &id, &mut b, |_| {});
    let out = exec_in(
        &rt,
        &id,
        &[
            "--env",
            "K=some value",
            "--cwd",
            "/etc",
            "--user",
            "65534:65534",
            "--additional-gids",
            "5",
            "--additional-gids",
            "10",
        ],
        &["sh", "-c", "echo \"$K\"; pwd; id -u; id -g; id -G"],
    );
    out.assert_ok();
    assert_eq!(out.stdout, "some value\n/etc\n65534\n65534\n65534 5 10\n");
    // Without flags: root, cwd of the config ("/"), the config's env.
    let out = exec_in(
        &rt,
        &id,
        &[],
        &["sh", "-c", "echo \"[$K]\"; pwd; id -u; id -G"],
    );
    out.assert_ok();
    assert_eq!(out.stdout, "[]\n/\n0\n0\n");
}

#[test]
fn exec_cap_and_no_new_privs() {
    let rt = Runtime::new("exec-caps");
    let mut b = Bundle::new("exec-caps");
    let id = unique_id("exec-caps");
    running(&rt, &id, &mut b, |b| {
        b.config()["process"]["noNewPrivileges"] = json!(false);
    });
    const SYS_ADMIN: u64 = 1 << 21;
    let caps = |flags: &[&str]| {
        let out = exec_in(&rt, &id, flags, &["cat", "/proc/self/status"]);
        out.assert_ok();
        let eff = u64::from_str_radix(&status_field(&out.stdout, "CapEff"), 16).unwrap();
        (eff, status_field(&out.stdout, "NoNewPrivs"))
    };
    let (eff, nnp) = caps(&[]);
    assert_eq!(eff & SYS_ADMIN, 0, "no CAP_SYS_ADMIN by default: {eff:x}");
    assert_eq!(nnp, "0", "noNewPrivileges false in the config");
    let (eff, _) = caps(&["--cap", "CAP_SYS_ADMIN"]);
    assert_ne!(eff & SYS_ADMIN, 0, "--cap adds CAP_SYS_ADMIN: {eff:x}");
    // The config's caps stay (CAP_KILL is in the spec default).
    assert_ne!(eff & (1 << 5), 0, "CAP_KILL kept: {eff:x}");
    let (_, nnp) = caps(&["--no-new-privs"]);
    assert_eq!(nnp, "1", "--no-new-privs");
}

#[test]
fn exec_process_json() {
    let rt = Runtime::new("exec-process");
    let mut b = Bundle::new("exec-process");
    let id = unique_id("exec-process");
    running(&rt, &id, &mut b, |_| {});
    let process = json!({
        "terminal": false,
        "user": {"uid": 65534, "gid": 65534, "additionalGids": [7]},
        "args": ["sh", "-c", "echo \"$0 $A\"; pwd; id -u; id -G; exit 3", "arg0"],
        "env": ["PATH=/bin:/usr/bin", "A=from-json"],
        "cwd": "/usr",
    });
    let file = rt.scratch().join("process.json");
    fs::write(&file, process.to_string()).unwrap();
    let out = exec_in(&rt, &id, &["--process", file.to_str().unwrap()], &[]);
    assert_eq!(out.code(), Some(3), "{out}");
    assert_eq!(out.stdout, "arg0 from-json\n/usr\n65534\n65534 7\n");
}

#[test]
fn exec_detach_with_pid_file() {
    let rt = Runtime::new("exec-detach");
    let mut b = Bundle::new("exec-detach");
    let id = unique_id("exec-detach");
    let init = running(&rt, &id, &mut b, |_| {});
    let pid_file = rt.scratch().join("exec.pid");
    let started = Instant::now();
    let out = exec_in(
        &rt,
        &id,
        &["--detach", "--pid-file", pid_file.to_str().unwrap()],
        &["sh", "-c", "echo $$ > /out/exec-pid; exec sleep 1000"],
    );
    out.assert_ok();
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "--detach returns while the process runs"
    );
    let text = fs::read_to_string(&pid_file).expect("pid file written");
    let pid: i32 = text
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("pid file: {text:?}"));
    assert!(
        process_alive(pid),
        "the detached process runs (host pid {pid})"
    );
    assert_eq!(
        ns_inode(&pid.to_string(), "pid"),
        ns_inode(&init.to_string(), "pid"),
        "in the container's pid namespace"
    );
    let inner = b.path().join("out/exec-pid");
    // The shell creates the file before it writes the number: wait for a whole line.
    let read = || {
        fs::read_to_string(&inner)
            .ok()
            .filter(|s| s.ends_with('\n'))
            .and_then(|s| s.trim().parse::<i32>().ok())
    };
    assert!(
        wait_until(|| read().is_some()),
        "no pid in {}",
        inner.display()
    );
    let inner = read().unwrap();
    assert_ne!(
        inner, pid,
        "the pid file holds the host pid, not the container's"
    );
    // The detached process is part of the container: delete --force ends it.
    rt.delete_force(&id).assert_ok();
    assert!(
        wait_until(|| !process_alive(pid)),
        "detached exec process {pid} outlived the container"
    );
    rt.assert_gone(&id, &b, Some(init));
}

#[test]
fn exec_tty_with_console_socket() {
    // runc 1.1.5 takes --console-socket only with --detach ("cannot use console socket if runc
    // will not detach or allocate tty"), so the process is detached and its output comes
    // through the pty master the runtime sent.
    let rt = Runtime::new("exec-tty");
    let mut b = Bundle::new("exec-tty");
    let id = unique_id("exec-tty");
    running(&rt, &id, &mut b, |_| {});
    let sock = ConsoleSocket::new(rt.scratch());
    let pid_file = rt.scratch().join("exec.pid");
    let out = rt.exec(&[
        "exec",
        "--tty",
        "--detach",
        "--console-socket",
        sock.path().to_str().unwrap(),
        "--pid-file",
        pid_file.to_str().unwrap(),
        &id,
        "sh",
        "-c",
        "[ -t 0 ] && [ -t 1 ] && [ -t 2 ] && echo all-tty; tty; stty size",
    ]);
    out.assert_ok();
    let text = read_pty(sock.master()).replace('\r', "");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.first(), Some(&"all-tty"), "{text:?}");
    assert!(
        lines.get(1).is_some_and(|l| l.starts_with("/dev/pts/")),
        "a pty of the container's devpts: {text:?}"
    );
    assert_eq!(lines.len(), 3, "{text:?}");
    let pid: i32 = fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(wait_until(|| !process_alive(pid)), "the tty process ended");
}

#[test]
fn exec_into_stopped_container_fails() {
    let rt = Runtime::new("exec-stopped");
    let b = Bundle::new("exec-stopped"); // runs `true`
    let id = unique_id("exec-stopped");
    rt.create_and_start(&id, &b);
    rt.wait_status(&id, "stopped");
    let out = exec_in(&rt, &id, &[], &["true"]);
    // runc: "cannot exec in a stopped container".
    assert_exec_error(&out, "stopped");
    assert_eq!(rt.state_json(&id)["status"], "stopped");
    // An unknown container.
    let out = exec_in(&rt, &unique_id("no-such"), &[], &["true"]);
    assert_ne!(out.code(), Some(0), "{out}");
    out.assert_one_line_error();
}

#[test]
fn exec_missing_binary_fails_with_one_line() {
    let rt = Runtime::new("exec-missing");
    let mut b = Bundle::new("exec-missing");
    let id = unique_id("exec-missing");
    let pid = running(&rt, &id, &mut b, |_| {});
    let out = exec_in(&rt, &id, &[], &["/no/such/binary"]);
    assert_exec_error(&out, "/no/such/binary");
    let out = exec_in(&rt, &id, &[], &["no-such-command"]);
    assert_exec_error(&out, "no-such-command");
    assert_eq!(rt.state_json(&id)["status"], "running");
    assert!(process_alive(pid), "the init is unaffected");
}

#[test]
fn exec_into_paused_container_fails() {
    let rt = Runtime::new("exec-paused");
    let mut b = Bundle::new("exec-paused");
    let id = unique_id("exec-paused");
    running(&rt, &id, &mut b, |_| {});
    rt.exec(&["pause", &id]).assert_ok();
    let out = exec_in(&rt, &id, &[], &["true"]);
    // runc: "cannot exec in a paused container (use --ignore-paused to override)".
    assert_exec_error(&out, "paused");
    assert_eq!(rt.state_json(&id)["status"], "paused");
    rt.exec(&["resume", &id]).assert_ok();
    exec_in(&rt, &id, &[], &["true"]).assert_ok();
}

#[test]
fn exec_into_created_container_runs_inside_it() {
    // runc 1.1.5 refuses exec only in stopped and paused containers: a created container's
    // init waits for `start` inside its namespaces and cgroups, and an exec joins them.
    let rt = Runtime::new("exec-created");
    let mut b = Bundle::new("exec-created");
    b.out_dir();
    b.config()["hostname"] = json!("exec-created-host");
    b.sh("echo ran > /out/ran; exec sleep 1000");
    let id = unique_id("exec-created");
    rt.create(&id, &b).assert_ok();
    let init = rt.pid(&id);

    let out = exec_in(
        &rt,
        &id,
        &[],
        &[
            "sh",
            "-c",
            "hostname; test -d /out && echo in-rootfs; exit 7",
        ],
    );
    assert_eq!(
        out.code(),
        Some(7),
        "exit code of the exec'd process: {out}"
    );
    assert_eq!(out.stdout, "exec-created-host\nin-rootfs\n", "{out}");
    // The exec'd process shares the init's namespaces.
    let out = exec_in(
        &rt,
        &id,
        &[],
        &[
            "sh",
            "-c",
            "readlink /proc/self/ns/pid; readlink /proc/self/ns/mnt",
        ],
    );
    out.assert_ok();
    let want = format!(
        "{}\n{}\n",
        ns_inode(&init.to_string(), "pid"),
        ns_inode(&init.to_string(), "mnt")
    );
    assert_eq!(
        out.stdout, want,
        "joined the init's pid and mount namespaces"
    );
    // The container stays created and its program has not run.
    assert_eq!(rt.state_json(&id)["status"], "created");
    assert!(!b.path().join("out/ran").exists(), "the init's program ran");

    // A detached exec with a pid file works too.
    let pid_file = rt.scratch().join("exec.pid");
    let pf = pid_file.display().to_string();
    exec_in(
        &rt,
        &id,
        &["--detach", "--pid-file", &pf],
        &["sleep", "1000"],
    )
    .assert_ok();
    let exec_pid: i32 = fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(process_alive(exec_pid), "the detached process runs");

    // And `start` still starts the init's program.
    rt.start(&id).assert_ok();
    let ran = b.path().join("out/ran");
    assert!(
        wait_until(|| ran.exists()),
        "the init's program ran after start"
    );
    assert_eq!(rt.state_json(&id)["status"], "running");
    rt.delete_force(&id).assert_ok();
    rt.assert_gone(&id, &b, Some(init));
    assert!(
        wait_until(|| !process_alive(exec_pid)),
        "the exec'd process is gone"
    );
}

#[test]
fn exec_uses_the_config_of_create_not_the_bundle_as_it_is_now() {
    // vsbx keeps the config.json create used in the container's state directory: a bundle
    // edited, or broken, after create changes nothing for exec. Deliberately different from
    // runc 1.1.5, which keeps the config in its state but takes exec's process defaults (env,
    // cwd, user, ...) from the bundle's config.json as it is at exec time, and fails once it
    // is broken.
    let rt = Runtime::new("exec-kept-cfg");
    let mut b = Bundle::new("exec-kept-cfg");
    let id = unique_id("exec-kept-cfg");
    let pid = running(&rt, &id, &mut b, |b| {
        b.config()["process"]["env"] = json!(["PATH=/bin:/usr/bin", "WHICH=at-create"]);
        b.config()["process"]["cwd"] = json!("/tmp");
    });
    let cfg = b.path().join("config.json");
    let mut changed: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&cfg).unwrap()).unwrap();
    changed["process"]["env"] = json!(["PATH=/bin:/usr/bin", "WHICH=edited"]);
    changed["process"]["cwd"] = json!("/");
    fs::write(&cfg, changed.to_string()).unwrap();
    let out = exec_in(&rt, &id, &[], &["sh", "-c", "echo $WHICH; pwd"]);
    out.assert_ok();
    if is_runc() {
        assert_eq!(out.stdout, "edited\n/\n", "runc rereads the bundle: {out}");
    } else {
        assert_eq!(out.stdout, "at-create\n/tmp\n", "{out}");
    }
    fs::write(&cfg, "{ not json").unwrap();
    let out = exec_in(&rt, &id, &[], &["sh", "-c", "echo $WHICH"]);
    if is_runc() {
        assert_ne!(out.code(), Some(0), "runc reads the broken config: {out}");
    } else {
        out.assert_ok();
        assert_eq!(out.stdout, "at-create\n", "{out}");
        fs::remove_file(&cfg).unwrap();
        exec_in(&rt, &id, &[], &["true"]).assert_ok();
    }
    rt.delete_force(&id).assert_ok();
    rt.assert_gone(&id, &b, Some(pid));
}

#[test]
fn exec_ignore_paused_runs_once_resumed() {
    // runc 1.1: --ignore-paused lets exec into a paused container; the process is frozen
    // with the rest of the container and runs once it is resumed.
    let rt = Runtime::new("exec-ign-paused");
    let mut b = Bundle::new("exec-ign-paused");
    let id = unique_id("exec-ign-paused");
    running(&rt, &id, &mut b, |_| {});
    rt.exec(&["pause", &id]).assert_ok();
    let exec = rt.spawn(&[
        "exec",
        "--ignore-paused",
        "--detach",
        &id,
        "sh",
        "-c",
        "echo ran > /out/exec-ran",
    ]);
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        !b.path().join("out/exec-ran").exists(),
        "the exec'd process ran in a paused container"
    );
    rt.exec(&["resume", &id]).assert_ok();
    exec.wait(Duration::from_secs(10)).assert_ok();
    let ran = b.path().join("out/exec-ran");
    assert!(
        wait_until(|| ran.exists()),
        "the process never ran after resume"
    );
    assert_eq!(b.read_out("exec-ran"), "ran\n");
    rt.delete_force(&id).assert_ok();
}

#[test]
fn exec_cgroup_runs_the_process_in_a_sub_cgroup() {
    let rt = Runtime::new("exec-subcg");
    let mut b = Bundle::new("exec-subcg");
    let id = unique_id("exec-subcg");
    let pid = running(&rt, &id, &mut b, |_| {});
    let unified = std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists();
    // v2: the container's one cgroup; v1: the freezer hierarchy (both runtimes join it).
    let (dir, flag) = if unified {
        let text = fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
        let rel = text
            .lines()
            .find_map(|l| l.strip_prefix("0::"))
            .unwrap()
            .to_string();
        (
            std::path::Path::new("/sys/fs/cgroup").join(rel.trim_start_matches('/')),
            "sub",
        )
    } else {
        (
            cgroup_dir_of(pid, "freezer").expect("the init's freezer cgroup"),
            "freezer:sub",
        )
    };
    let sub = dir.join("sub");
    let out = exec_in(&rt, &id, &["--cgroup", flag], &["true"]);
    assert_ne!(
        out.code(),
        Some(0),
        "a sub-cgroup that does not exist: {out}"
    );
    out.assert_one_line_error();
    fs::create_dir(&sub).unwrap();
    let out = exec_in(
        &rt,
        &id,
        &["--cgroup", flag],
        &["sh", "-c", "cat /proc/self/cgroup; sleep 0.2"],
    );
    out.assert_ok();
    let line = out
        .stdout
        .lines()
        .find(|l| {
            if unified {
                l.starts_with("0::")
            } else {
                l.split(':')
                    .nth(1)
                    .is_some_and(|c| c.split(',').any(|c| c == "freezer"))
            }
        })
        .unwrap_or_else(|| panic!("no cgroup line: {out}"))
        .to_string();
    assert!(
        line.ends_with("/sub"),
        "the process ran in {line}, not in the sub-cgroup: {out}"
    );
    for bad in ["../escape", "/abs"] {
        let out = exec_in(&rt, &id, &["--cgroup", bad], &["true"]);
        assert_ne!(out.code(), Some(0), "--cgroup {bad}: {out}");
        out.assert_one_line_error();
    }
    rt.delete_force(&id).assert_ok();
    let _ = fs::remove_dir(&sub);
    rt.assert_gone(&id, &b, Some(pid));
}
