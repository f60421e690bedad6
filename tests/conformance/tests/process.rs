//! The `process` object and the flags that shape the container process: args, env, cwd, user,
//! umask, noNewPrivileges, oomScoreAdj, rlimits, capabilities, hostname/domainname, terminal and
//! console socket, --no-pivot, --preserve-fds.

use serde_json::json;
use std::fs::{self, File};
use std::io::Read;
use vsbx_conformance::*;

/// Runs `script` (with `edit` applied to the bundle first) attached and returns its stdout.
fn run_script(name: &str, script: &str, edit: impl FnOnce(&mut Bundle)) -> String {
    let rt = Runtime::new(name);
    let mut b = Bundle::new(name);
    b.sh(script);
    edit(&mut b);
    let id = unique_id(name);
    let out = rt.run_ok(&id, &b);
    rt.assert_gone(&id, &b, None);
    out
}

#[test]
fn args_env_and_cwd() {
    let rt = Runtime::new("args-env");
    let mut b = Bundle::new("args-env");
    b.args(&[
        "sh",
        "-c",
        "echo \"$0|$1|$2|$FOO|$EMPTY.\"; pwd",
        "zero",
        "a b",
        "c",
    ]);
    let env = b.config()["process"]["env"].as_array_mut().unwrap();
    env.push(json!("FOO=bar baz"));
    env.push(json!("EMPTY="));
    b.config()["process"]["cwd"] = json!("/etc");
    let id = unique_id("args-env");
    assert_eq!(rt.run_ok(&id, &b), "zero|a b|c|bar baz|.\n/etc\n");
}

#[test]
fn env_is_exactly_the_configured_one() {
    let out = run_script("env-exact", "env | sort", |b| {
        b.config()["process"]["env"] = json!(["PATH=/bin", "ONE=1"]);
    });
    // busybox sh adds PWD and SHLVL of its own; nothing of the host's environment leaks.
    // runc adds HOME from the user's /etc/passwd entry when the env has no HOME.
    let mut vars: Vec<&str> = out
        .lines()
        .filter(|l| !l.starts_with("PWD=") && !l.starts_with("SHLVL="))
        .collect();
    vars.sort();
    assert_eq!(vars, ["HOME=/root", "ONE=1", "PATH=/bin"], "{out}");
    // An explicit HOME is kept as is.
    let out = run_script("env-home", "echo $HOME", |b| {
        b.config()["process"]["env"] = json!(["PATH=/bin", "HOME=/elsewhere"]);
    });
    assert_eq!(out, "/elsewhere\n");
}

#[test]
fn missing_cwd_is_created() {
    // runc creates a missing cwd (before making the root read-only), as mkdir -p would.
    let out = run_script("cwd-create", "pwd; [ -d /new/dir ] && echo dir", |b| {
        b.config()["process"]["cwd"] = json!("/new/dir");
    });
    assert_eq!(out, "/new/dir\ndir\n");
}

#[test]
fn user_ids_and_additional_gids() {
    let out = run_script("user", "id -u; id -g; id -G", |b| {
        b.config()["process"]["user"] =
            json!({"uid": 1000, "gid": 1001, "additionalGids": [5, 10]});
    });
    // The primary gid is not added to the supplementary groups: exactly additionalGids.
    assert_eq!(out, "1000\n1001\n1001 5 10\n");
}

#[test]
fn umask() {
    // runc 1.1.5 supports process.user.umask; without it the umask is 0022.
    let out = run_script("umask", "umask", |b| {
        b.config()["process"]["user"]["umask"] = json!(0o077);
    });
    assert_eq!(out.trim(), "0077");
    assert_eq!(run_script("umask-default", "umask", |_| {}).trim(), "0022");
}

#[test]
fn no_new_privileges() {
    for (nnp, want) in [(true, "1"), (false, "0")] {
        let out = run_script("nnp", "cat /proc/self/status", |b| {
            b.config()["process"]["noNewPrivileges"] = json!(nnp);
        });
        assert_eq!(
            status_field(&out, "NoNewPrivs"),
            want,
            "noNewPrivileges={nnp}"
        );
    }
}

#[test]
fn capabilities_from_spec_default() {
    // The spec's default sets (CAP_AUDIT_WRITE, CAP_KILL, CAP_NET_BIND_SERVICE) as bits.
    let want = format!("{:016x}", (1u64 << 29) | (1 << 5) | (1 << 10));
    let out = run_script("caps", "cat /proc/self/status", |_| {});
    for key in ["CapBnd", "CapEff", "CapPrm"] {
        assert_eq!(status_field(&out, key), want, "{key}");
    }
    let out = run_script("caps-empty", "cat /proc/self/status", |b| {
        b.config()["process"]["capabilities"] = json!({"bounding": ["CAP_CHOWN"]});
    });
    assert_eq!(status_field(&out, "CapBnd"), format!("{:016x}", 1u64));
    assert_eq!(status_field(&out, "CapEff"), format!("{:016x}", 0));
}

#[test]
fn oom_score_adj() {
    let out = run_script("oom", "cat /proc/self/oom_score_adj", |b| {
        b.config()["process"]["oomScoreAdj"] = json!(500);
    });
    assert_eq!(out.trim(), "500");
}

#[test]
fn rlimits() {
    let out = run_script("rlimits", "ulimit -Sn; ulimit -Hn", |b| {
        b.config()["process"]["rlimits"] =
            json!([{"type": "RLIMIT_NOFILE", "soft": 512, "hard": 1024}]);
    });
    assert_eq!(out, "512\n1024\n");
}

#[test]
fn hostname_and_domainname() {
    let out = run_script(
        "uts-names",
        "hostname; cat /proc/sys/kernel/domainname",
        |b| {
            b.config()["hostname"] = json!("vsbx-test");
            b.config()["domainname"] = json!("example.org");
        },
    );
    if is_runc() {
        // runc 1.1.5 silently ignores `domainname` (support came in runc 1.2): the new UTS
        // namespace keeps the kernel's "(none)". vsbx must set it (fail closed, never ignore).
        assert_eq!(out, "vsbx-test\n(none)\n");
    } else {
        assert_eq!(out, "vsbx-test\nexample.org\n");
    }
}

#[test]
fn terminal_via_console_socket() {
    let rt = Runtime::new("console");
    let mut b = Bundle::new("console");
    b.sh("tty; stty size; [ -t 0 ] && [ -t 1 ] && [ -t 2 ] && echo all-tty");
    b.config()["process"]["terminal"] = json!(true);
    b.config()["process"]["consoleSize"] = json!({"height": 30, "width": 100});
    let id = unique_id("console");
    let sock = ConsoleSocket::new(rt.scratch());
    rt.create_with(
        &id,
        &b,
        &["--console-socket", sock.path().to_str().unwrap()],
    )
    .assert_ok();
    let master = sock.master();
    rt.start(&id).assert_ok();
    let text = read_pty(master).replace('\r', "");
    rt.wait_status(&id, "stopped");
    assert_eq!(text, "/dev/pts/0\n30 100\nall-tty\n", "terminal output");
    rt.delete(&id).assert_ok();
    rt.assert_gone(&id, &b, None);
}

#[test]
fn terminal_without_console_socket_fails_detached() {
    // runc: "cannot allocate tty if runc will detach without setting console socket".
    let rt = Runtime::new("console-missing");
    let mut b = Bundle::new("console-missing");
    b.config()["process"]["terminal"] = json!(true);
    let id = unique_id("console-missing");
    rt.create(&id, &b).assert_error("console");
    rt.assert_gone(&id, &b, None);
}

#[test]
fn no_pivot_still_sees_rootfs() {
    let rt = Runtime::new("no-pivot");
    let mut b = Bundle::new("no-pivot");
    fs::write(b.rootfs().join("marker"), "inside\n").unwrap();
    b.sh("cat /marker; [ -x /bin/busybox ] && echo busybox");
    let id = unique_id("no-pivot");
    let out = rt.run(&id, &b, &["--no-pivot"]);
    out.assert_ok();
    assert_eq!(out.stdout, "inside\nbusybox\n");
    rt.assert_gone(&id, &b, None);
}

#[test]
fn preserve_fds_passes_fd_3() {
    let rt = Runtime::new("preserve-fds");
    let mut b = Bundle::new("preserve-fds");
    b.sh("echo via-fd3 >&3");
    let id = unique_id("preserve-fds");
    let path = rt.scratch().join("fd3");
    let file = File::create(&path).unwrap();
    b.save();
    rt.track(&id);
    let mut cmd = rt.command(&[
        "run",
        "--preserve-fds",
        "1",
        "--bundle",
        b.path().to_str().unwrap(),
        &id,
    ]);
    pass_fd(&mut cmd, file, 3);
    rt.exec_command(&mut cmd).assert_ok();
    let mut got = String::new();
    File::open(&path).unwrap().read_to_string(&mut got).unwrap();
    assert_eq!(got, "via-fd3\n");
    rt.assert_gone(&id, &b, None);
}

#[test]
fn extra_fds_are_closed_without_preserve_fds() {
    // The runtime is given an fd 3 but no --preserve-fds: the container must not see it.
    let rt = Runtime::new("no-preserve");
    let mut b = Bundle::new("no-preserve");
    // `[` is a shell builtin, so the shell opens nothing of its own while testing.
    b.sh("if [ -e /proc/$$/fd/3 ]; then readlink /proc/$$/fd/3; else echo closed; fi");
    let id = unique_id("no-preserve");
    let file = File::create(rt.scratch().join("fd3")).unwrap();
    b.save();
    rt.track(&id);
    let mut cmd = rt.command(&["run", "--bundle", b.path().to_str().unwrap(), &id]);
    pass_fd(&mut cmd, file, 3);
    let out = rt.exec_command(&mut cmd);
    out.assert_ok();
    assert_eq!(out.stdout, "closed\n", "fd 3 must not reach the container");
}

#[test]
fn preserve_fds_beyond_what_was_passed_is_refused() {
    // `--preserve-fds 6` with only fd 3 passed: fds 4..8 would be whatever the runtime opens
    // next (its state directory, the sync socket, namespace fds) and reach the container.
    // runc refuses ("unable to stat preserved-fd 4 (of 8)"); so must vsbx, for run and exec.
    let rt = Runtime::new("preserve-missing");
    let mut b = Bundle::new("preserve-missing");
    let out = b.out_dir();
    b.sh("ls -l /proc/self/fd > /out/fds; exec sleep 1000");
    let id = unique_id("preserve-missing");
    b.save();
    rt.track(&id);
    let mut cmd = rt.command(&[
        "run",
        "--detach",
        "--preserve-fds",
        "6",
        "--bundle",
        b.path().to_str().unwrap(),
        &id,
    ]);
    pass_fd(&mut cmd, File::create(rt.scratch().join("fd3")).unwrap(), 3);
    let o = rt.exec_command(&mut cmd);
    o.assert_failed().assert_one_line_error();
    assert!(
        !out.join("fds").exists(),
        "the container ran with fds it was never given: {}",
        b.read_out("fds")
    );
    rt.assert_gone(&id, &b, None);

    // exec into a running container, same shape.
    let mut b2 = Bundle::new("preserve-missing-exec");
    b2.args(&["sleep", "1000"]);
    let id2 = unique_id("preserve-missing-exec");
    let pid = rt.create_and_start(&id2, &b2);
    let mut cmd = rt.command(&["exec", "--preserve-fds", "6", &id2, "ls", "/proc/self/fd"]);
    pass_fd(
        &mut cmd,
        File::create(rt.scratch().join("fd3-exec")).unwrap(),
        3,
    );
    let o = rt.exec_command(&mut cmd);
    assert!(!o.ok(), "exec with missing preserved fds must fail: {o}");
    assert!(o.stdout.is_empty(), "the exec'd process ran: {o}");
    rt.delete_force(&id2).assert_ok();
    rt.assert_gone(&id2, &b2, Some(pid));
}

#[test]
fn a_seccomp_profile_without_close_range_still_runs() {
    // Docker's profile before 2021, many hand-written ones and runtime-tools' default do not
    // list close_range. Without noNewPrivileges the filter is loaded while the runtime still
    // holds CAP_SYS_ADMIN, before the user and capabilities change, so the runtime's own fd
    // sweep must not come after it. The preserved fd must still reach the program.
    let rt = Runtime::new("no-close-range");
    let mut b = Bundle::new("no-close-range");
    b.config()["process"]["noNewPrivileges"] = serde_json::json!(false);
    b.config()["linux"]["seccomp"] = serde_json::json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64"],
        "syscalls": [{"names": ["close_range"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]
    });
    b.sh("echo via-fd3 >&3; ls /proc/self/fd | tr '\\n' ' '");
    let id = unique_id("no-close-range");
    let path = rt.scratch().join("fd3");
    b.save();
    rt.track(&id);
    let mut cmd = rt.command(&[
        "run",
        "--preserve-fds",
        "1",
        "--bundle",
        b.path().to_str().unwrap(),
        &id,
    ]);
    pass_fd(&mut cmd, File::create(&path).unwrap(), 3);
    let out = rt.exec_command(&mut cmd);
    out.assert_ok();
    // ls lists 0, 1, 2, the preserved 3 and the directory it reads.
    assert_eq!(out.stdout, "0 1 2 3 4 ", "{out}");
    let mut got = String::new();
    File::open(&path).unwrap().read_to_string(&mut got).unwrap();
    assert_eq!(got, "via-fd3\n");
    rt.assert_gone(&id, &b, None);
}

#[test]
fn memory_policy_is_the_processs_numa_policy() {
    // runtime-spec 1.2 linux.memoryPolicy: set_mempolicy(2) for the container process,
    // visible per mapping in /proc/self/numa_maps. runc 1.1.5 predates the field and ignores
    // it (its JSON decoder drops unknown fields), so its process keeps the default policy.
    if !std::path::Path::new("/sys/devices/system/node/node0").exists() {
        eprintln!("skipped: this kernel has no NUMA node 0");
        return;
    }
    for (policy, vsbx_sees) in [
        (json!({"mode": "MPOL_BIND", "nodes": "0"}), "bind:0"),
        (
            json!({"mode": "MPOL_INTERLEAVE", "nodes": "0"}),
            "interleave:0",
        ),
        (json!({"mode": "MPOL_LOCAL"}), "local"),
    ] {
        let out = run_script(
            "mempolicy",
            "awk 'NR==1 {print $2}' /proc/self/numa_maps",
            |b| {
                b.config()["linux"]["memoryPolicy"] = policy.clone();
            },
        );
        let want = if is_runc() { "default" } else { vsbx_sees };
        assert_eq!(out.trim(), want, "{policy}");
    }
}

#[test]
fn bad_memory_policy_is_one_line_and_leaves_nothing() {
    if is_runc() {
        eprintln!("vsbx only: runc 1.1.5 ignores linux.memoryPolicy");
        return;
    }
    for policy in [
        json!({"mode": "MPOL_BIND"}),
        json!({"mode": "MPOL_BIND", "nodes": "zero"}),
        json!({"mode": "MPOL_DEFAULT", "nodes": "0"}),
        json!({"mode": "MPOL_NOPE"}),
        // A node the machine does not have: the kernel refuses it in the init.
        json!({"mode": "MPOL_BIND", "nodes": "1000"}),
    ] {
        let rt = Runtime::new("bad-mempolicy");
        let mut b = Bundle::new("bad-mempolicy");
        b.config()["linux"]["memoryPolicy"] = policy.clone();
        let id = unique_id("bad-mempolicy");
        let out = rt.run(&id, &b, &[]);
        assert_ne!(out.code(), Some(0), "{policy}: {out}");
        out.assert_one_line_error();
        assert!(out.stderr.contains("memoryPolicy"), "{policy}: {out}");
        rt.assert_gone(&id, &b, None);
    }
}
