//! Attacks that only mean something when an ordinary user runs `vsbx`: the program's
//! container root is the caller (subordinate ranges), or the sandbox user is the caller
//! itself on the host (no ranges), so what keeps the caller's files, identity, processes
//! and state out of reach is the user namespace, the read-only mounts, the pid namespace
//! and the mount namespace. Every attack is made for real, by root's run as well wherever it
//! means the same there, and each test asserts what the host keeps.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{
    check_probes, everyone, program, temp_file, vsbx_run_as, vsbx_with, who_name, Opts, TestUser,
};

/// Runs tests/programs/user_attacks.py under compute as `user`, with only `probes`.
fn user_attacks(user: Option<&TestUser>, probes: &[(&str, &[&str])]) {
    let names: Vec<&str> = probes.iter().map(|(n, _)| *n).collect();
    let env = format!("PROBES={}", names.join(" "));
    let run = vsbx_run_as(
        user,
        &[
            "--policy",
            "compute",
            "--env",
            &env,
            &program("user_attacks.py"),
        ],
    );
    check_probes(&run, probes);
}

/// The program's own copy in /work, /work itself, the root and /etc belong to the caller
/// (container root) or, without ranges, to the sandbox user itself: still no write, chmod,
/// chown, rename or removal gets through, and the host's file is as it was.
#[test]
fn a_run_cannot_write_or_chmod_the_callers_files() {
    let deny: &[&str] = &["EROFS", "EACCES", "EPERM"];
    let probes: Vec<(&str, &[&str])> = [
        "chmod_work_file",
        "append_work_file",
        "chown_work_file",
        "utime_work_file",
        "unlink_work_file",
        "rename_work_file",
        "create_work_file",
        "chmod_work",
        "chmod_root",
        "chmod_etc",
        "append_etc_passwd",
        "create_etc_file",
    ]
    .iter()
    .map(|n| (*n, deny))
    .collect();
    let host = program("user_attacks.py");
    let before = (fs::read(&host).unwrap(), fs::metadata(&host).unwrap());
    for user in everyone() {
        user_attacks(user, &probes);
    }
    let after = (fs::read(&host).unwrap(), fs::metadata(&host).unwrap());
    assert_eq!(before.0, after.0, "the host's program changed");
    assert_eq!(before.1.mode(), after.1.mode());
    assert_eq!(before.1.uid(), after.1.uid());
}

/// Neither container root nor any other identity can be had: no setuid/setgid/setgroups,
/// no writing of the id maps, a setuid copy runs as the sandbox user, the host's setuid
/// newuidmap maps nothing, no capability and no_new_privs; and no host descriptor is left
/// open in the sandbox.
#[test]
fn a_run_cannot_become_container_root_or_anyone_else() {
    let probes: &[(&str, &[&str])] = &[
        ("setresuid_0", &["EPERM"]),
        ("setgid_0", &["EPERM"]),
        ("setgroups_0", &["EPERM"]),
        ("write_uid_map", &["EPERM", "EACCES"]),
        ("write_setgroups", &["EPERM", "EACCES"]),
        ("setuid_copy", &["EPERM"]),
        ("newuidmap", &["EPERM", "ENOENT"]),
        ("privileged", &["EPERM"]),
        ("foreign_fds", &["ENOENT"]),
    ];
    for user in everyone() {
        user_attacks(user, probes);
    }
}

/// Pids of processes whose command line is exactly `argv`.
fn pids_running(argv: &[&str]) -> Vec<i32> {
    let want: Vec<u8> = argv
        .iter()
        .flat_map(|a| [a.as_bytes(), b"\0"].concat())
        .collect();
    fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|p| {
            let pid = p.file_name().to_string_lossy().parse().ok()?;
            (fs::read(p.path().join("cmdline")).ok()? == want).then_some(pid)
        })
        .collect()
}

/// A process of the caller's own (as `user`, or root), outside any sandbox.
fn callers_process(user: Option<&TestUser>, secs: &str) -> Child {
    let mut c = match user {
        Some(u) => {
            let mut c = Command::new("setpriv");
            c.args([
                &format!("--reuid={}", u.uid),
                &format!("--regid={}", u.gid),
                "--clear-groups",
                "sleep",
            ]);
            c
        }
        None => Command::new("sleep"),
    };
    c.arg(secs)
        .stdin(Stdio::null())
        .spawn()
        .expect("spawn sleep")
}

/// A run kills everything it can name (kill -1, the pid of another process of the caller,
/// the host pids of another run of the same caller that runs meanwhile, which for a user
/// without ranges is the same host uid): all of them live on, and the other run ends as
/// it would have.
fn signals_stay_inside(user: Option<&'static TestUser>) {
    let who = who_name(user);
    // Distinct lengths per caller, so each test finds its own processes.
    let (a_secs, own_secs) = match user.map(|u| u.name) {
        None => ("3.1", "30.1"),
        Some(n) if n.contains("sub") => ("3.2", "30.2"),
        Some(_) => ("3.3", "30.3"),
    };
    let mut own = callers_process(user, own_secs);
    let (_ka, a_script) = temp_file("a.sh", &format!("sleep {a_secs}\necho A-alive\n"));
    let a_path = a_script.to_str().unwrap().to_string();
    let other = std::thread::spawn(move || vsbx_run_as(user, &["--timeout", "20s", &a_path]));
    let started = Instant::now();
    let a_pids = loop {
        let found = pids_running(&["sleep", a_secs]);
        if !found.is_empty() {
            break found;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "as {who}: run A was not seen running"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let targets: Vec<String> = a_pids
        .iter()
        .chain(std::iter::once(&(own.id() as i32)))
        .map(|p| p.to_string())
        .collect();
    let script = format!(
        "for p in {t}; do kill -KILL $p 2>/dev/null && echo killed $p; \
         kill -0 $p 2>/dev/null && echo sees $p; done\n\
         kill -KILL -1 2>/dev/null\n\
         echo B-done\n",
        t = targets.join(" ")
    );
    let (_kb, b_script) = temp_file("b.sh", &script);
    let b = vsbx_run_as(user, &[b_script.to_str().unwrap()]);
    let own_alive = own.try_wait().unwrap().is_none();
    let _ = own.kill();
    let _ = own.wait();
    let a = other.join().expect("run A");
    assert_eq!(b.status(), "ok", "as {who}: {}", b.context());
    let b_out = b.stdout_str();
    assert!(b_out.ends_with("B-done\n"), "as {who}: {}", b.context());
    assert!(
        !b_out.contains("killed") && !b_out.contains("sees"),
        "as {who}: run B reached a host pid\n{}",
        b.context()
    );
    assert!(own_alive, "as {who}: the caller's own process was killed");
    assert_eq!(
        a.status(),
        "ok",
        "as {who}: run A was hurt\n{}",
        a.context()
    );
    assert_eq!(a.stdout_str(), "A-alive\n", "as {who}: {}", a.context());
}

#[test]
fn a_run_cannot_signal_the_callers_processes_or_another_run() {
    signals_stay_inside(None);
}

#[test]
fn a_run_cannot_signal_the_callers_processes_or_another_run_as_sub_user() {
    signals_stay_inside(Some(crate::support::sub_user()));
}

#[test]
fn a_run_cannot_signal_the_callers_processes_or_another_run_as_plain_user() {
    signals_stay_inside(Some(crate::support::plain_user()));
}

/// The caller's XDG_RUNTIME_DIR (where a user's runs keep their state) and the state
/// roots in the shared scratch directory are not in the sandbox: a secret file there is
/// not found, no `vsbx-sandbox` directory is seen anywhere, the variable is not passed on;
/// and the run leaves nothing in the state root.
#[test]
fn a_run_cannot_reach_the_callers_runtime_dir_or_state_root() {
    for user in [crate::support::sub_user(), crate::support::plain_user()] {
        let xdg = tempfile::Builder::new()
            .prefix("vsbx-clitest-xdg-")
            .tempdir()
            .unwrap();
        fs::write(xdg.path().join("secret"), "XDG-SECRET-93\n").unwrap();
        for p in [xdg.path().to_path_buf(), xdg.path().join("secret")] {
            std::os::unix::fs::chown(&p, Some(user.uid), Some(user.gid)).unwrap();
        }
        fs::set_permissions(xdg.path(), fs::Permissions::from_mode(0o700)).unwrap();
        let dir = xdg.path().display().to_string();
        let script = format!(
            "cat {dir}/secret /proc/1/root{dir}/secret /proc/self/cwd/../{dir}/secret 2>&1\n\
             ls -a {dir} /run/user /dev/shm /tmp 2>&1\n\
             find / -xdev -name 'vsbx-sandbox*' 2>/dev/null\n\
             env | grep XDG\n\
             echo scanned\n"
        );
        let (_k, file) = temp_file("xdg.sh", &script);
        let run = vsbx_with(
            &["run"],
            &[file.to_str().unwrap()],
            Opts {
                user: Some(user),
                runtime_dir: Some(xdg.path()),
                ..Opts::default()
            },
        );
        let out = run.stdout_str();
        assert_eq!(run.status(), "ok", "{}", run.context());
        assert!(out.ends_with("scanned\n"), "{}", run.context());
        for leak in ["XDG-SECRET", "vsbx-sandbox", "XDG_RUNTIME_DIR"] {
            assert!(
                !out.contains(leak),
                "as {}: {leak} seen inside\n{}",
                user.name,
                run.context()
            );
        }
        // The state of the run was kept in the runtime dir, and is gone.
        let state = xdg.path().join("vsbx-sandbox");
        assert!(state.is_dir(), "{}", run.context());
        let prefix = crate::support::id_prefix(run.pid);
        let left: Vec<_> = fs::read_dir(&state)
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
            .map(|e| e.path())
            .collect();
        assert!(left.is_empty(), "state left behind: {left:?}");
    }
}

/// Threads are tasks: without a cgroup RLIMIT_NPROC holds them as it holds forks (and
/// the cgroup's pids.max for root). `--pids 16` lets fewer than 16 threads start.
#[test]
fn threads_count_against_the_pids_limit() {
    for user in everyone() {
        let run = vsbx_run_as(
            user,
            &[
                "--policy",
                "compute",
                "--pids",
                "16",
                &program("threads_until_fail.py"),
            ],
        );
        assert_eq!(run.status(), "ok", "{}", run.context());
        let out = run.stdout_str();
        let started: u32 = out
            .strip_prefix("threads: failed after ")
            .and_then(|r| r.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| {
                panic!("as {}: no thread failed\n{}", who_name(user), run.context())
            });
        assert!(
            started < 16,
            "as {}: --pids 16 let {started} threads start\n{}",
            who_name(user),
            run.context()
        );
    }
}

/// With subordinate ranges the runtime may call setgroups, and the program keeps none of
/// the caller's supplementary groups (here `users` and `sudo`'s ids), as for root.
/// (Without ranges the kernel forbids an unprivileged caller to drop them: the map of
/// the caller's own gid needs setgroups "deny", so the program keeps them, unmapped.)
#[test]
fn a_run_with_ranges_drops_the_callers_supplementary_groups() {
    let (_k, file) = temp_file("groups.sh", "grep '^Groups:' /proc/self/status\n");
    let run = vsbx_with(
        &["run"],
        &[file.to_str().unwrap()],
        Opts {
            user: Some(crate::support::sub_user()),
            groups: Some("100,27"),
            ..Opts::default()
        },
    );
    assert_eq!(run.status(), "ok", "{}", run.context());
    assert_eq!(
        run.stdout_str().split_whitespace().collect::<Vec<_>>(),
        ["Groups:"],
        "{}",
        run.context()
    );
}

/// Pids of `sleep MARKER` processes.
fn marked_sleeps(marker: &str) -> Vec<i32> {
    pids_running(&["sleep", marker])
}

/// What the program leaves running (in the background, ignoring SIGTERM, in a session of
/// its own) ends with the run, also on a timeout, though without a cgroup no leftover
/// check of support.rs can see a user's processes.
#[test]
fn a_users_run_leaves_no_process_behind() {
    for (user, tag) in [
        (crate::support::sub_user(), "1"),
        (crate::support::plain_user(), "2"),
    ] {
        let marks: Vec<String> = (0..4).map(|i| format!("47.{tag}{i}")).collect();
        let script = format!(
            "sleep {} &\n(trap '' TERM HUP; exec sleep {}) &\nsetsid sleep {} &\n\
             echo started\n",
            marks[0], marks[1], marks[2]
        );
        let (_k, file) = temp_file("bg.sh", &script);
        let run = vsbx_run_as(Some(user), &[file.to_str().unwrap()]);
        assert_eq!(run.stdout_str(), "started\n", "{}", run.context());
        let (_k2, file) = temp_file("bg2.sh", &format!("sleep {} &\nexec sleep 60\n", marks[3]));
        let run = vsbx_run_as(Some(user), &["--timeout", "1s", file.to_str().unwrap()]);
        assert_eq!(run.status(), "timeout", "{}", run.context());
        std::thread::sleep(Duration::from_millis(100));
        for m in &marks {
            let left = marked_sleeps(m);
            for p in &left {
                // SAFETY: kill has no memory arguments.
                unsafe { libc::kill(*p, libc::SIGKILL) };
            }
            assert!(left.is_empty(), "as {}: sleep {m} left running", user.name);
        }
    }
}

/// The --stdin file belongs to the caller. Reopening stdin through /proc/self/fd/0 for
/// writing, truncating it, chmod through it: the host's file keeps its bytes and mode.
/// (Without subordinate ranges the sandbox user is the owner of the file on the host: this
/// held only once the program got a copy of the file instead of the file.)
#[test]
fn a_run_cannot_change_the_callers_stdin_file() {
    for user in everyone() {
        let (_k, input) = temp_file("in.txt", "caller's data\n");
        if let Some(u) = user {
            std::os::unix::fs::chown(&input, Some(u.uid), Some(u.gid)).unwrap();
        }
        fs::set_permissions(&input, fs::Permissions::from_mode(0o644)).unwrap();
        let (_k2, script) = temp_file(
            "w.sh",
            "echo rewritten 2>/dev/null > /proc/self/fd/0 && echo wrote\n\
             true 2>/dev/null > /proc/self/fd/0 && echo truncated\n\
             chmod 666 /proc/self/fd/0 2>/dev/null && echo chmodded\n\
             echo tried\n",
        );
        let run = vsbx_run_as(
            user,
            &["--stdin", input.to_str().unwrap(), script.to_str().unwrap()],
        );
        assert_eq!(run.status(), "ok", "{}", run.context());
        assert_eq!(
            fs::read_to_string(&input).unwrap(),
            "caller's data\n",
            "as {}: the host's --stdin file was changed\n{}",
            who_name(user),
            run.context()
        );
        let mode = fs::metadata(&input).unwrap().mode() & 0o7777;
        assert_eq!(mode, 0o644, "as {}: {}", who_name(user), run.context());
    }
}

/// The program cannot create files in /dev (the container's own tmpfs, filled by the
/// runtime): true for root's runs and with subordinate ranges, where /dev belongs to
/// (container) root.
fn dev_not_writable(user: Option<&TestUser>) {
    let (_k, file) = temp_file(
        "dev.sh",
        "touch /dev/x 2>/dev/null && echo created\nmkdir /dev/d 2>/dev/null && echo made\n\
         echo x > /dev/null && echo null-works\n",
    );
    let run = vsbx_run_as(user, &["--policy", "compute", file.to_str().unwrap()]);
    assert_eq!(run.status(), "ok", "{}", run.context());
    assert_eq!(
        run.stdout_str(),
        "null-works\n",
        "as {}: {}",
        who_name(user),
        run.context()
    );
}

#[test]
fn dev_is_not_writable_by_the_program() {
    dev_not_writable(None);
    dev_not_writable(Some(crate::support::sub_user()));
}

/// Without subordinate ranges the only id in the user namespace is the caller's, so the
/// /dev tmpfs the runtime mounts belongs to the sandbox user. It was writable for it until
/// the bundle asked for a read-only /dev, which the runtime remounts once it has filled it
/// (the tmpfs alone: /dev/shm and /dev/pts stay as they are).
#[test]
fn dev_is_not_writable_by_the_program_as_plain_user() {
    dev_not_writable(Some(crate::support::plain_user()));
}
