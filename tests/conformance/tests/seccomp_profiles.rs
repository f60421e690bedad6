//! Real engine seccomp profiles with real workloads: podman's default profile
//! (fixtures/podman-seccomp.json, converted to OCI form here) and Docker's
//! (fixtures/docker-seccomp.json, already the OCI `linux.seccomp` dockerd 20.10 generated for a
//! container with Docker's default capabilities; see scripts/capture-docker-seccomp.sh).
//!
//! Each profile is applied to a container holding Docker's default capability set whose rootfs
//! is the busybox rootfs plus read-only binds of the host's /usr, /lib, /lib64 and
//! /etc/alternatives, so that the host's python3 and node run inside. The container checks that
//! busybox sh, a threaded python3 and node work, then probes syscalls that a container must not
//! get: unshare(CLONE_NEWUSER), mount, keyctl, bpf and ptrace, through python ctypes raw
//! syscalls (x86_64 numbers).
//!
//! Every probe passes arguments for which the kernel itself, with no filter, fails with an
//! errno other than EPERM (ENOENT, EOPNOTSUPP, EINVAL, ESRCH) — the `no_seccomp_control` test
//! checks that — so an EPERM under a profile can only come from the filter. Where a profile lets
//! a syscall through, the test asserts the kernel's answer instead and says so.

use serde_json::{json, Value};
use std::path::Path;
use vsbx_conformance::*;

/// Docker's (and podman's) default capability set.
const DOCKER_CAPS: &[&str] = &[
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
];

/// Raw syscalls through ctypes; each prints `name=ok` or `name=ERRNO_NAME`. unshare comes last:
/// when it succeeds the process is in a new user namespace.
const PROBE_PY: &str = r#"
import ctypes, errno
libc = ctypes.CDLL(None, use_errno=True)
L = ctypes.c_long
def probe(name, nr, *args):
    ctypes.set_errno(0)
    r = libc.syscall(L(nr), *args)
    e = ctypes.get_errno()
    print("%s=%s" % (name, "ok" if r >= 0 else errno.errorcode.get(e, str(e))), flush=True)
# mount("none", "/nonexistent", "tmpfs", 0, NULL): the kernel looks the target up first: ENOENT.
probe("mount", 165, ctypes.c_char_p(b"none"), ctypes.c_char_p(b"/nonexistent"),
      ctypes.c_char_p(b"tmpfs"), L(0), ctypes.c_void_p(None))
# The real thing, mount("none", "/tmp", "tmpfs", 0, NULL): without CAP_SYS_ADMIN the kernel
# refuses it too (EPERM), filter or not.
probe("mount-tmpfs", 165, ctypes.c_char_p(b"none"), ctypes.c_char_p(b"/tmp"),
      ctypes.c_char_p(b"tmpfs"), L(0), ctypes.c_void_p(None))
# keyctl(0x7fff, ...): no such operation: EOPNOTSUPP (python names errno 95 ENOTSUP).
probe("keyctl", 250, L(0x7fff), L(0), L(0), L(0), L(0))
# bpf(0x7fff, NULL, 0): no such command: EINVAL.
probe("bpf", 321, L(0x7fff), ctypes.c_void_p(None), L(0))
# ptrace(PTRACE_ATTACH, 999999, 0, 0): no such pid in the container's pid namespace: ESRCH.
probe("ptrace", 101, L(16), L(999999), L(0), L(0))
# unshare(CLONE_NEWUSER): a root process that is not chrooted may create a user namespace.
probe("unshare", 272, L(0x10000000))
"#;

/// The workload: busybox sh, python3 with a thread, node, the seccomp mode, then the probes.
const SCRIPT: &str = "echo ok; \
    grep '^Seccomp:' /proc/self/status; \
    python3 -c 'import threading,os\n\
r=[]\n\
t=threading.Thread(target=lambda: r.append(os.getpid()))\n\
t.start(); t.join()\n\
assert r==[os.getpid()], r\n\
print(\"py ok\")' 2>&1; \
    node -e 'console.log(\"node ok\")' 2>&1; \
    python3 /probe.py 2>&1; \
    unshare -U true 2>/dev/null; echo \"bb-unshare=$?\"; \
    echo end";

fn fixture(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name);
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name} is not JSON: {e}"))
}

/// Runs [`SCRIPT`] under busybox sh in a container with Docker's capabilities, the host's /usr,
/// /lib, /lib64, /etc/alternatives bound read-only, and `seccomp` (None: no filter). Returns
/// stdout.
fn run_workload(name: &str, seccomp: Option<Value>) -> String {
    let rt = Runtime::new(name);
    let mut b = Bundle::new(name);
    std::fs::write(b.rootfs().join("probe.py"), PROBE_PY).expect("write probe.py");
    // busybox's sh explicitly: with the host's /usr bound, `sh` on PATH could be the host's.
    b.args(&["/bin/busybox", "sh", "-c", SCRIPT]);
    let c = b.config();
    c["process"]["env"] = json!(["PATH=/bin:/sbin:/usr/bin:/usr/sbin", "HOME=/root"]);
    let caps = c["process"]["capabilities"]
        .as_object_mut()
        .expect("process.capabilities");
    caps.clear();
    for set in ["bounding", "effective", "permitted"] {
        caps.insert(set.into(), json!(DOCKER_CAPS));
    }
    let mounts = c["mounts"].as_array_mut().expect("mounts");
    for dir in ["/usr", "/lib", "/lib64", "/etc/alternatives"] {
        // On a merged-/usr host /lib and /lib64 are symlinks into /usr: bind their targets.
        let Ok(source) = std::fs::canonicalize(dir) else {
            continue;
        };
        mounts.push(json!({
            "destination": dir,
            "type": "bind",
            "source": source,
            "options": ["bind", "ro", "nosuid", "nodev"],
        }));
    }
    if let Some(s) = seccomp {
        c["linux"]["seccomp"] = s;
    }
    let id = unique_id(name);
    let out = rt.run(&id, &b, &[]);
    rt.assert_gone(&id, &b, None);
    out.assert_ok();
    out.stdout
}

/// The lines every profile must leave working, then the Seccomp mode.
fn assert_workload_runs(out: &str, seccomp_mode: &str) -> Vec<String> {
    let lines: Vec<String> = out.lines().map(str::to_string).collect();
    assert_eq!(
        lines.get(..4).unwrap_or(&[]),
        [
            "ok".to_string(),
            format!("Seccomp:\t{seccomp_mode}"),
            "py ok".into(),
            "node ok".into()
        ],
        "{out}"
    );
    assert_eq!(lines.last().map(String::as_str), Some("end"), "{out}");
    lines[4..lines.len() - 1].to_vec()
}

#[test]
fn no_seccomp_control() {
    // Without a filter the probes reach the kernel and fail (or succeed) for reasons other than
    // EPERM: the EPERMs in the profile tests below come from the filters.
    let out = run_workload("scp-none", None);
    let probes = assert_workload_runs(&out, "0");
    assert_eq!(
        probes,
        [
            "mount=ENOENT",
            "mount-tmpfs=EPERM",
            "keyctl=ENOTSUP",
            "bpf=EINVAL",
            "ptrace=ESRCH",
            "unshare=ok",
            "bb-unshare=0"
        ],
        "{out}"
    );
}

#[test]
fn docker_profile() {
    // The fixture is what dockerd generated for its default capabilities, the set given here.
    let out = run_workload("scp-docker", Some(fixture("docker-seccomp.json")));
    let probes = assert_workload_runs(&out, "2");
    // Docker's profile has no `defaultErrnoRet`: its default action ERRNO returns EPERM.
    // None of mount, keyctl, bpf, unshare is in the profile generated for these capabilities
    // (Docker's default.json allows mount, bpf and unshare only with CAP_SYS_ADMIN, and keyctl
    // never: the kernel keyring is not namespaced), so they hit the default. ptrace is allowed outright (Docker >= 19.03 allows it on kernels >= 4.8,
    // where seccomp can no longer be bypassed through it): the kernel answers ESRCH.
    assert_eq!(
        probes,
        [
            "mount=EPERM",
            "mount-tmpfs=EPERM",
            "keyctl=EPERM",
            "bpf=EPERM",
            "ptrace=ESRCH",
            "unshare=EPERM",
            "bb-unshare=1"
        ],
        "{out}"
    );
}

#[test]
fn podman_profile_with_docker_caps() {
    let out = run_workload("scp-podman", Some(podman_profile(DOCKER_CAPS)));
    let probes = assert_workload_runs(&out, "2");
    // podman's profile leaves mount, keyctl, ptrace and unshare to the kernel (its allow-list
    // holds them unconditionally, since the capabilities decide), so those give the kernel's
    // answer. bpf without CAP_SYS_ADMIN is an explicit ERRNO rule with errnoRet 1: EPERM.
    assert_eq!(
        probes,
        [
            "mount=ENOENT",
            "mount-tmpfs=EPERM",
            "keyctl=ENOTSUP",
            "bpf=EPERM",
            "ptrace=ESRCH",
            "unshare=ok",
            "bb-unshare=0"
        ],
        "{out}"
    );
}
