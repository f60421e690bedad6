//! The findings of the `vsbx run` security review, each attacked the way it was found:
//! symlinked inputs, an unbounded --output, one host uid for every run, no default time
//! limit, raw escape sequences to the caller's terminal. (The state root's checks are in
//! tests/run_bundle.rs: they need a state root of the test's own.) Each attack that means
//! something for an ordinary user is made as root and as both test users; a uid per run is
//! root's alone (a user's runs are kept apart by user and pid namespaces instead: see
//! rootless_attacks.rs).

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{everyone, leftovers, temp_file, vsbx_bin, vsbx_run_as, who_name, Run};

const UID_BASE: u64 = 2_000_000_000;

fn assert_refused(run: &Run, mentions: &str, secret: &str) {
    assert_eq!(run.code, Some(2), "{}", run.context());
    assert!(run.stderr.lines().count() == 1, "{}", run.context());
    assert!(
        run.stderr.starts_with("vsbx: error: ") && run.stderr.contains(mentions),
        "{}",
        run.context()
    );
    assert!(!run.stdout_str().contains(secret), "{}", run.context());
}

/// A root-only file reached through an input symlink (an extra file, the script itself,
/// --stdin) never reaches the program, whoever runs `vsbx`.
#[test]
fn symlinked_inputs_are_refused() {
    for user in everyone() {
        symlinked_inputs_refused_for(user);
    }
}

fn symlinked_inputs_refused_for(user: Option<&crate::support::TestUser>) {
    let (dir, secret) = temp_file("secret.txt", "TOPSECRET-4711\n");
    fs::set_permissions(&secret, fs::Permissions::from_mode(0o600)).unwrap();
    let script = dir.path().join("show.sh");
    fs::write(&script, "cat /work/data.txt; cat\n").unwrap();
    let data = dir.path().join("data.txt");
    std::os::unix::fs::symlink(&secret, &data).unwrap();
    let run = vsbx_run_as(user, &[script.to_str().unwrap(), data.to_str().unwrap()]);
    assert_refused(&run, "is a symlink", "TOPSECRET");

    let script_link = dir.path().join("link.sh");
    std::os::unix::fs::symlink(&secret, &script_link).unwrap();
    let run = vsbx_run_as(user, &["--runner", "shell", script_link.to_str().unwrap()]);
    assert_refused(&run, "is a symlink", "TOPSECRET");

    let plain = dir.path().join("plain.sh");
    fs::write(&plain, "cat\n").unwrap();
    let stdin_link = dir.path().join("in.txt");
    std::os::unix::fs::symlink(&secret, &stdin_link).unwrap();
    let run = vsbx_run_as(
        user,
        &[
            "--stdin",
            stdin_link.to_str().unwrap(),
            plain.to_str().unwrap(),
        ],
    );
    assert_refused(&run, "is a symlink", "TOPSECRET");
}

fn tree_bytes(dir: &Path) -> u64 {
    let mut total = 0;
    for e in fs::read_dir(dir).unwrap().flatten() {
        let m = fs::symlink_metadata(e.path()).unwrap();
        total += if m.is_dir() {
            tree_bytes(&e.path())
        } else {
            m.len()
        };
    }
    total
}

/// Writing past --output-size fails inside (ENOSPC), DIR receives at most that much, the
/// report says the limit was reached, and a symlink the program left is not copied.
#[test]
fn output_is_bounded_by_its_size_and_copied_without_symlinks() {
    output_bounded_for(None);
}

/// The same for both users.
#[test]
fn output_is_bounded_by_its_size_and_copied_without_symlinks_as_users() {
    for user in [crate::support::sub_user(), crate::support::plain_user()] {
        output_bounded_for(Some(user));
    }
}

fn output_bounded_for(user: Option<&crate::support::TestUser>) {
    let out = tempfile::Builder::new()
        .prefix("vsbx-clitest-out-")
        .tempdir()
        .unwrap();
    // Writable by anyone: the limit, not the permissions, must stop the program.
    fs::set_permissions(out.path(), fs::Permissions::from_mode(0o1777)).unwrap();
    let (_k, script) = temp_file(
        "fill.sh",
        "echo kept > /output/small.txt\nmkdir /output/sub && echo deep > /output/sub/f\n\
         ln -s /etc/shadow /output/shadow\n\
         if dd if=/dev/zero of=/output/big bs=64k count=64 2>/dev/null; then echo dd: ok; \
         else echo dd: failed; fi\n",
    );
    let run = vsbx_run_as(
        user,
        &[
            "--output",
            out.path().to_str().unwrap(),
            "--output-size",
            "1M",
            script.to_str().unwrap(),
        ],
    );
    assert_eq!(
        run.code,
        Some(0),
        "as {}: {}",
        who_name(user),
        run.context()
    );
    assert_eq!(run.stdout_str(), "dd: failed\n", "{}", run.context());
    let copied = tree_bytes(out.path());
    assert!(
        copied <= 1 << 20,
        "{copied} bytes in DIR\n{}",
        run.context()
    );
    assert_eq!(
        fs::read_to_string(out.path().join("sub/f")).unwrap(),
        "deep\n"
    );
    assert!(fs::symlink_metadata(out.path().join("shadow")).is_err());
    let o = &run.report()["output"];
    assert_eq!(o["limit_bytes"], 1 << 20, "{}", run.context());
    assert_eq!(o["limit_reached"], true, "{}", run.context());
    assert_eq!(o["skipped"], 1, "{}", run.context());
    assert_eq!(o["bytes"].as_u64(), Some(copied), "{}", run.context());
    assert!(
        run.summary().contains("limit 1.0 MiB reached"),
        "{}",
        run.summary()
    );
}

/// Processes (pid, host uid) in the cgroups of the vsbx process `vsbx_pid`.
fn sandbox_processes(vsbx_pid: u32) -> Vec<(i32, u64)> {
    let ids = format!("/vsbx-{vsbx_pid}-");
    let mut found = Vec::new();
    for p in fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = p.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        if !fs::read_to_string(p.path().join("cgroup"))
            .unwrap_or_default()
            .contains(&ids)
        {
            continue;
        }
        let status = fs::read_to_string(p.path().join("status")).unwrap_or_default();
        if let Some(uid) = status
            .lines()
            .find_map(|l| l.strip_prefix("Uid:"))
            .and_then(|l| l.split_whitespace().next())
            .and_then(|u| u.parse().ok())
        {
            found.push((pid, uid));
        }
    }
    found
}

/// `kill -0 pid` as host uid `uid` (setpriv): may that identity signal the process?
fn can_signal_as(uid: u64, pid: i32) -> bool {
    Command::new("setpriv")
        .args([
            &format!("--reuid={uid}"),
            &format!("--regid={uid}"),
            "--clear-groups",
            "kill",
            "-0",
            &pid.to_string(),
        ])
        .stderr(Stdio::null())
        .status()
        .expect("run setpriv")
        .success()
}

/// Two runs at the same time have different host uids in the reserved range (seen from
/// the host in /proc/PID/status, and in their reports), and one run's identity cannot
/// signal the other's processes.
#[test]
fn concurrent_runs_have_distinct_host_uids() {
    crate::support::ensure_shell_rootfs();
    let (_k, script) = temp_file("wait.sh", "id -u\nsleep 3\n");
    let spawn = || {
        Command::new(vsbx_bin())
            .args([
                "run",
                "--quiet",
                "--timeout",
                "20s",
                script.to_str().unwrap(),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn vsbx")
    };
    let (a, b) = (spawn(), spawn());
    let (pa, pb) = (a.id(), b.id());
    let started = Instant::now();
    let (procs_a, procs_b) = loop {
        let (x, y) = (sandbox_processes(pa), sandbox_processes(pb));
        // Until the program's execve the container init is still root.
        let running = |v: &[(i32, u64)]| !v.is_empty() && v.iter().all(|(_, uid)| *uid != 0);
        if running(&x) && running(&y) {
            break (x, y);
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the two runs were not seen running together"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let (pid_a, uid_a) = procs_a[0];
    let (_, uid_b) = procs_b[0];
    let signal_b_to_a = can_signal_as(uid_b, pid_a);
    let signal_a_to_a = can_signal_as(uid_a, pid_a);
    let (oa, ob) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    assert!(leftovers(pa).is_empty() && leftovers(pb).is_empty());
    assert_ne!(uid_a, uid_b, "two concurrent runs share host uid {uid_a}");
    for uid in [uid_a, uid_b] {
        assert!(
            uid >= UID_BASE,
            "host uid {uid} is outside the reserved range"
        );
    }
    assert_eq!(String::from_utf8_lossy(&oa.stdout), format!("{uid_a}\n"));
    assert_eq!(String::from_utf8_lossy(&ob.stdout), format!("{uid_b}\n"));
    assert!(signal_a_to_a, "control: a run's own uid may signal it");
    assert!(
        !signal_b_to_a,
        "run B's uid {uid_b} may signal run A's pid {pid_a}"
    );
    for uid in [uid_a, uid_b] {
        assert!(procs_a.iter().chain(&procs_b).any(|(_, u)| *u == uid));
    }
}

/// Without --timeout a run has the default limit, and the report says which.
/// (For a user too; only root's runs have a host uid from the reserved range.)
#[test]
fn a_run_without_timeout_gets_the_default_and_reports_it() {
    let (_k, script) = temp_file("quick.sh", "echo hi\n");
    for user in everyone() {
        let run = vsbx_run_as(user, &[script.to_str().unwrap()]);
        assert_eq!(run.code, Some(0), "{}", run.context());
        assert_eq!(run.u64("timeout_ms"), 30_000, "{}", run.context());
        if user.is_none() {
            assert!(run.u64("host_uid") >= UID_BASE, "{}", run.context());
        }
        let run = vsbx_run_as(user, &["--timeout", "7s", script.to_str().unwrap()]);
        assert_eq!(run.u64("timeout_ms"), 7_000, "{}", run.context());
    }
}

/// On a terminal (a pty from `script`), escape sequences of the program are shown, not
/// sent; --raw-output sends them; the report counts the exact bytes either way; whether
/// root or a user runs `vsbx`.
#[test]
fn escape_sequences_are_neutralised_on_a_terminal() {
    for user in everyone() {
        escapes_neutralised_for(user);
    }
}

fn escapes_neutralised_for(user: Option<&crate::support::TestUser>) {
    crate::support::ensure_shell_rootfs();
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("skipped: script (util-linux) is missing");
        return;
    }
    let (dir, prog) = temp_file("esc.sh", "printf 'a\\033]0;pwned\\007b\\033[31mred\\n'\n");
    // A user writes its reports there.
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o777)).unwrap();
    let setpriv = user.map_or(String::new(), |u| {
        format!(
            "setpriv --reuid={} --regid={} --clear-groups ",
            u.uid, u.gid
        )
    });
    let on_tty = |extra: &str| -> (String, u64) {
        let report = dir.path().join(format!("r{}.json", extra.len()));
        let cmd = format!(
            "{setpriv}{} run --quiet {extra} --report {} {}",
            vsbx_bin().display(),
            report.display(),
            prog.display()
        );
        let out = Command::new("script")
            .args(["-qec", &cmd, "/dev/null"])
            .stdin(Stdio::null())
            .output()
            .expect("run script");
        let r: serde_json::Value = serde_json::from_slice(&fs::read(&report).unwrap()).unwrap();
        (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            r["stdout"]["bytes"].as_u64().unwrap_or(0),
        )
    };
    let (shown, bytes) = on_tty("");
    assert!(
        !shown.contains('\x1b') && !shown.contains('\x07'),
        "{shown:?}"
    );
    assert!(
        shown.contains("a\\x1b]0;pwned\\x07b\\x1b[31mred"),
        "{shown:?}"
    );
    let exact = b"a\x1b]0;pwned\x07b\x1b[31mred\n".len() as u64;
    assert_eq!(bytes, exact);
    let (raw, bytes) = on_tty("--raw-output");
    assert!(raw.contains("a\x1b]0;pwned\x07b\x1b[31mred"), "{raw:?}");
    assert_eq!(bytes, exact);
}
