//! Each profile runs its intended workload, and denies what it must, with the errno the
//! program sees (EPERM from the seccomp filter's default action, EROFS from the read-only
//! root, ENOENT for host files that are not in the container at all).
//!
//! What an ordinary user's run must deny is the same: the tests with python, node and
//! shell programs also run as the two test users (`_as_sub_user`: subordinate ranges;
//! `_as_plain_user`: only the caller's own uid mapped). The rust runner (the raw probes,
//! the minimal profile) needs the host's toolchain under /root, which no ordinary user can
//! read, so those run as root only.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use crate::support::{
    check_probes, plain_user, program, sub_user, temp_file, vsbx_run, vsbx_run_as, who_name,
    TestUser,
};

/// Every probe of tests/programs/probe.rs, one a line (its stdin).
const RAW_PROBES: &str = "connect\nconnect_external\ncreate_root\ncreate_etc\nwrite_etc_passwd\n\
create_tmp\nread_etc_shadow\nread_root_home\nmount\nptrace\nunshare\nunshare_net\nkeyctl\nbpf\nsetuid\n";

/// Denied in every profile, whatever the runner.
const ALWAYS_DENIED: &[(&str, &[&str])] = &[
    ("mount", &["EPERM"]),
    ("ptrace", &["EPERM"]),
    ("unshare", &["EPERM"]),
    ("unshare_net", &["EPERM"]),
    ("keyctl", &["EPERM"]),
    ("bpf", &["EPERM"]),
    ("setuid", &["EPERM"]),
    // The host's /etc/shadow and root's home are not in the container (or not readable).
    ("read_etc_shadow", &["ENOENT", "EACCES"]),
    ("read_root_home", &["ENOENT", "EACCES"]),
    // An existing root-owned file on the read-only root.
    ("write_etc_passwd", &["EACCES", "EROFS"]),
];

/// The host really has what the probes look for, so ENOENT in the sandbox means something.
fn host_has_probed_files() {
    assert!(
        Path::new("/etc/shadow").is_file(),
        "host /etc/shadow missing"
    );
    assert!(Path::new("/root").is_dir(), "host /root missing");
}

/// Builds tests/programs/probe.rs with the rust runner and runs it under `profile`.
fn raw_probes(profile: &str, expected: &[(&str, &[&str])]) {
    host_has_probed_files();
    let (_keep, stdin) = temp_file("probes.txt", RAW_PROBES);
    let run = vsbx_run(&[
        "--policy",
        profile,
        "--stdin",
        stdin.to_str().unwrap(),
        &program("probe.rs"),
    ]);
    let mut all: Vec<(&str, &[&str])> = ALWAYS_DENIED.to_vec();
    all.extend_from_slice(expected);
    check_probes(&run, &all);
    assert_eq!(run.status(), "ok", "{}", run.context());
}

/// Runs tests/programs/probe.py (CPython + ctypes) under `profile`, as `user` (None: root).
fn python_probes(user: Option<&TestUser>, profile: &str, expected: &[(&str, &[&str])]) {
    host_has_probed_files();
    let run = vsbx_run_as(user, &["--policy", profile, &program("probe.py")]);
    let mut all: Vec<(&str, &[&str])> = ALWAYS_DENIED.to_vec();
    all.push(("os_unshare_ns", &["EPERM"]));
    all.push(("create_usr", &["EROFS"]));
    all.extend_from_slice(expected);
    check_probes(&run, &all);
}

// ---- minimal: a static binary, stdin -> stdout ----

#[test]
fn minimal_runs_a_static_binary_from_stdin_to_stdout() {
    let (_keep, stdin) = temp_file("in.txt", "hello small world\n");
    let run = vsbx_run(&[
        "--policy",
        "minimal",
        "--stdin",
        stdin.to_str().unwrap(),
        &program("upper.rs"),
    ]);
    assert_eq!(run.code, Some(0), "{}", run.context());
    assert_eq!(
        run.stdout_str(),
        "HELLO SMALL WORLD\nwords: 3\n",
        "{}",
        run.context()
    );
    assert_eq!(run.status(), "ok");
}

#[test]
fn minimal_denies_sockets_files_and_privileged_syscalls() {
    raw_probes(
        "minimal",
        &[
            // no socket syscalls at all
            ("connect", &["EPERM"]),
            ("connect_external", &["EPERM"]),
            // no O_CREAT anywhere: minimal opens no files
            ("create_root", &["EPERM"]),
            ("create_etc", &["EPERM"]),
            ("create_tmp", &["EPERM"]),
        ],
    );
}

// ---- io: files under /tmp and /output ----

/// The io workload as `user`; DIR belongs to `owner`, and so must the copies in it.
fn io_shell_writes(user: Option<&TestUser>, owner: u32) {
    let out = tempfile::Builder::new()
        .prefix("vsbx-clitest-out-")
        .tempdir()
        .unwrap();
    std::os::unix::fs::chown(out.path(), Some(owner), Some(owner)).unwrap();
    let run = vsbx_run_as(
        user,
        &[
            "--policy",
            "io",
            "--output",
            out.path().to_str().unwrap(),
            &program("io_work.sh"),
        ],
    );
    assert_eq!(run.code, Some(0), "{}", run.context());
    assert_eq!(
        run.stdout_str(),
        "tmp: scratch data\noutput: result: 42\nio: done\n",
        "{}",
        run.context()
    );
    let result = out.path().join("result.txt");
    assert_eq!(std::fs::read_to_string(&result).unwrap(), "result: 42\n");
    assert_eq!(
        std::fs::metadata(&result).unwrap().uid(),
        owner,
        "the copies in DIR belong to DIR's owner"
    );
}

#[test]
fn io_shell_writes_under_tmp_and_output() {
    io_shell_writes(None, 65534);
}

/// As an ordinary user. This once failed before the program ran (`opening the sandbox's
/// /output: Permission denied`): the supervisor opened the /output tmpfs through
/// /proc/PID/root of the container's init, which is not dumpable until its execve, and only
/// root may do that for a non-dumpable process. The init now opens it and hands it over.
#[test]
fn io_shell_writes_under_tmp_and_output_as_sub_user() {
    io_shell_writes(Some(sub_user()), sub_user().uid);
}

#[test]
fn io_shell_writes_under_tmp_and_output_as_plain_user() {
    io_shell_writes(Some(plain_user()), plain_user().uid);
}

#[test]
fn io_denies_sockets_root_writes_and_privileged_syscalls() {
    raw_probes(
        "io",
        &[
            ("connect", &["EPERM"]),
            ("connect_external", &["EPERM"]),
            ("create_root", &["EROFS"]),
            ("create_etc", &["EROFS"]),
            ("create_tmp", &["ok"]),
        ],
    );
}

/// The same denials seen through busybox applets under io (exec: io cannot fork).
fn io_busybox_denials(user: Option<&TestUser>) {
    let cases: &[(&str, &str)] = &[
        (
            "exec unshare -n echo inside",
            "unshare(0x40000000): Operation not permitted",
        ),
        (
            "exec unshare -U echo inside",
            "unshare(0x10000000): Operation not permitted",
        ),
        // busybox mount's message for EPERM
        (
            "exec mount -t tmpfs none /tmp",
            "mount: permission denied (are you root?)",
        ),
        (
            "exec nsenter -t 1 -n echo inside",
            "Operation not permitted",
        ),
        ("exec chroot / echo inside", "Operation not permitted"),
        ("exec nc 127.0.0.1 9", "nc: socket: Operation not permitted"),
        (
            "echo x > /etc/x",
            "can't create /etc/x: Read-only file system",
        ),
        (
            "echo x > /bin/x",
            "can't create /bin/x: Read-only file system",
        ),
        ("echo x > /work/x", "can't create /work/x:"),
        (
            "exec cat /etc/shadow",
            "can't open '/etc/shadow': No such file or directory",
        ),
        // io is one process: a pipeline needs pipe2 and fork, neither of which io allows
        ("echo inside | cat", "can't create pipe"),
    ];
    let mut wrong = Vec::new();
    for (script, expected) in cases {
        let (_keep, file) = temp_file("case.sh", &format!("{script}\n"));
        let run = vsbx_run_as(user, &["--policy", "io", "-q", file.to_str().unwrap()]);
        if run.code == Some(0)
            || !run.stderr.contains(expected)
            || run.stdout_str().contains("inside")
        {
            wrong.push(format!(
                "as {}: `{script}`: expected `{expected}`\n{}",
                who_name(user),
                run.context()
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n\n"));
}

#[test]
fn io_denies_busybox_namespace_mount_and_network_tools() {
    io_busybox_denials(None);
}

#[test]
fn io_denies_busybox_namespace_mount_and_network_tools_as_sub_user() {
    io_busybox_denials(Some(sub_user()));
}

#[test]
fn io_denies_busybox_namespace_mount_and_network_tools_as_plain_user() {
    io_busybox_denials(Some(plain_user()));
}

/// The host's /root is not the container's, for root and for both users.
#[test]
fn io_sees_its_own_root_not_the_hosts() {
    let (_keep, file) = temp_file("ls.sh", "exec ls -A /root\n");
    for user in crate::support::everyone() {
        let run = vsbx_run_as(user, &["--policy", "io", file.to_str().unwrap()]);
        assert_eq!(run.code, Some(0), "{}", run.context());
        assert_eq!(
            run.stdout_str(),
            "",
            "host /root is visible to {}'s run: {}",
            who_name(user),
            run.context()
        );
    }
}

// ---- compute: CPython and Node with threads and processes ----

#[test]
fn compute_python_threads_mmap_subprocess_socketpair() {
    let run = vsbx_run(&["--policy", "compute", &program("compute_work.py")]);
    assert_eq!(run.code, Some(0), "{}", run.context());
    assert_eq!(
        run.stdout_str(),
        "threads: 7998000\nmmap anon: hello\nmmap file: mapped\nsubprocess: 42\n\
         socketpair: ping\ncompute: done\n",
        "{}",
        run.context()
    );
    assert!(run.u64("peak_pids") >= 2, "{}", run.context());
}

#[test]
fn compute_node_worker_thread_and_child_process() {
    let run = vsbx_run(&["--policy", "compute", &program("compute_work.js")]);
    assert_eq!(run.code, Some(0), "{}", run.context());
    assert_eq!(
        run.stdout_str(),
        "child: 42\nworker: 42\ncompute: done\n",
        "{}",
        run.context()
    );
}

/// compute: no IP sockets, a read-only root, a writable /tmp (python and raw probes alike).
const COMPUTE_EXPECTED: &[(&str, &[&str])] = &[
    ("connect", &["EPERM"]),
    ("connect_external", &["EPERM"]),
    ("create_root", &["EROFS"]),
    ("create_etc", &["EROFS"]),
    ("create_tmp", &["ok"]),
];

/// network: sockets work, nothing listens on 127.0.0.1:9, and there is no route out.
const NETWORK_EXPECTED: &[(&str, &[&str])] = &[
    ("connect", &["ECONNREFUSED"]),
    ("connect_external", &["ENETUNREACH"]),
    ("create_root", &["EROFS"]),
    ("create_etc", &["EROFS"]),
    ("create_tmp", &["ok"]),
];

#[test]
fn compute_denies_ip_sockets_root_writes_and_privileged_syscalls_python() {
    python_probes(None, "compute", COMPUTE_EXPECTED);
}

#[test]
fn compute_denies_ip_sockets_root_writes_and_privileged_syscalls_python_as_sub_user() {
    python_probes(Some(sub_user()), "compute", COMPUTE_EXPECTED);
}

#[test]
fn compute_denies_ip_sockets_root_writes_and_privileged_syscalls_python_as_plain_user() {
    python_probes(Some(plain_user()), "compute", COMPUTE_EXPECTED);
}

#[test]
fn compute_denies_ip_sockets_root_writes_and_privileged_syscalls_raw() {
    raw_probes("compute", COMPUTE_EXPECTED);
}

// ---- network: IP sockets on loopback ----

#[test]
fn network_python_tcp_and_udp_on_loopback() {
    let run = vsbx_run(&["--policy", "network", &program("loopback.py")]);
    assert_eq!(run.code, Some(0), "{}", run.context());
    assert_eq!(
        run.stdout_str(),
        "tcp: echo:hello\nudp: datagram\nnetwork: done\n",
        "{}",
        run.context()
    );
}

#[test]
fn network_reaches_only_loopback_and_denies_the_rest_python() {
    python_probes(None, "network", NETWORK_EXPECTED);
}

#[test]
fn network_reaches_only_loopback_and_denies_the_rest_python_as_sub_user() {
    python_probes(Some(sub_user()), "network", NETWORK_EXPECTED);
}

#[test]
fn network_reaches_only_loopback_and_denies_the_rest_python_as_plain_user() {
    python_probes(Some(plain_user()), "network", NETWORK_EXPECTED);
}

#[test]
fn network_reaches_only_loopback_and_denies_the_rest_raw() {
    raw_probes("network", NETWORK_EXPECTED);
}
