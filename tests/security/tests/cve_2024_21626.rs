//! CVE-2024-21626 ("Leaky Vessels"): a host directory fd leaked into the container process,
//! and a cwd outside the container's root.
//!
//! The published attacks, run by `exploits/cve_2024_21626.c` inside the container:
//! 1. `process.cwd = "/proc/self/fd/N"` for N in 3..10 (`run`), and `exec --cwd
//!    /proc/self/fd/N`: if the runtime still holds a host directory as fd N when it chdir()s,
//!    the process starts in the host's filesystem and `../../..` reaches the host's root.
//! 2. The container's program itself finds a leaked directory fd in /proc/self/fd and climbs from
//!    it (openat on the fd, or chdir("/proc/self/fd/N")).
//!
//! The harmless payload: read a marker file the test created on the host. It must never be
//! readable from inside.
//!
//! Upstream runc 1.1.5 was vulnerable (fixed in 1.1.12): it leaked an O_PATH fd of the host's
//! /sys/fs/cgroup into `runc init`. The runc installed here is Debian's 1.1.5+ds1-1+deb12u1,
//! which carries the fix (its changelog: "CVE-2024-21626: several container breakouts due to
//! internally leaked fds"; it refuses the cwd with "mkdir /proc/self/fd/N: not a directory"), so
//! the attack must fail on both runtimes. That the attack program does escape when a host
//! directory fd IS there is shown by the control test, which hands one in on purpose
//! (`--preserve-fds`).

use std::fs;
use std::path::PathBuf;

use vsbx_security::*;

/// The host marker: a file in a temp dir of the test's own, readable by anyone on the host.
struct Marker {
    _dir: TempDir,
    path: PathBuf,
    content: String,
}

impl Marker {
    fn new(name: &str) -> Marker {
        let dir = TempDir::new(&format!("21626-marker-{name}"));
        let path = dir.path().join("host-marker");
        let content = format!("cve-2024-21626 host marker {}", unique_id(name));
        fs::write(&path, format!("{content}\n")).expect("write the host marker");
        Marker {
            _dir: dir,
            path,
            content,
        }
    }

    fn arg(&self) -> String {
        self.path.display().to_string()
    }

    /// Whether the attack output shows the marker's content.
    fn read_in(&self, output: &str) -> bool {
        output
            .lines()
            .any(|l| l.starts_with("read-marker ") && l.contains(&self.content))
    }
}

fn attack_bundle(name: &str) -> Bundle {
    let b = Bundle::new(name);
    fs::copy(exploit("cve_2024_21626"), b.rootfs().join("attack")).expect("copy the attack");
    b
}

/// Judges the outputs of all attempts of one variant: the marker must never be read.
#[track_caller]
fn judge(variant: &str, marker: &Marker, outputs: &str) {
    assert!(
        !marker.read_in(outputs),
        "{variant}: the container read the host marker {}:\n{outputs}",
        marker.path.display()
    );
}

/// Control: the attack program does escape when a host directory fd is there. The test hands
/// the container a host directory on purpose (`--preserve-fds 1`, fd 3); the program finds it
/// in /proc/self/fd and climbs to the marker. This is what a leaked fd gives an attacker, and
/// proves that the denials above are the runtime's doing, not a broken attack.
#[test]
fn control_the_attack_escapes_through_a_host_dir_fd_it_is_given() {
    let marker = Marker::new("control");
    let rt = Runtime::new("21626-control");
    let mut b = attack_bundle("21626-control");
    b.args(&["/attack", "scan", &marker.arg()]);
    let id = unique_id("21626-control");
    rt.track(&id);
    b.save();
    let bundle = b.path().display().to_string();
    let mut cmd = rt.command(&["run", "--preserve-fds", "1", "--bundle", &bundle, &id]);
    let dir = fs::File::open(marker.path.parent().unwrap()).expect("open the marker's dir");
    pass_fd(&mut cmd, dir, 3);
    let out = rt.exec_command(&mut cmd);
    assert!(
        marker.read_in(&out.stdout),
        "the attack program did not read the marker through the fd it was given: {out}"
    );
    rt.delete_force(&id);
}

#[test]
fn run_with_cwd_in_proc_self_fd() {
    let marker = Marker::new("run-cwd");
    let rt = Runtime::new("21626-run-cwd");
    let mut b = attack_bundle("21626-run-cwd");
    let mut outputs = String::new();
    for n in 3..10 {
        b.args(&["/attack", "cwd", &marker.arg()]);
        b.config()["process"]["cwd"] = serde_json::json!(format!("/proc/self/fd/{n}"));
        let id = unique_id("21626-run-cwd");
        let out = rt.run(&id, &b, &[]);
        outputs.push_str(&format!("== cwd /proc/self/fd/{n}\n{out}\n"));
        rt.delete_force(&id);
    }
    judge("run with process.cwd=/proc/self/fd/N", &marker, &outputs);
}

#[test]
fn exec_with_cwd_in_proc_self_fd() {
    let marker = Marker::new("exec-cwd");
    let rt = Runtime::new("21626-exec-cwd");
    let mut b = attack_bundle("21626-exec-cwd");
    let id = unique_id("21626-exec-cwd");
    running(&rt, &id, &mut b, |_| {});
    let mut outputs = String::new();
    for n in 3..10 {
        let cwd = format!("/proc/self/fd/{n}");
        let out = exec_in(
            &rt,
            &id,
            &["--cwd", &cwd],
            &["/attack", "cwd", &marker.arg()],
        );
        outputs.push_str(&format!("== exec --cwd {cwd}\n{out}\n"));
    }
    judge("exec --cwd /proc/self/fd/N", &marker, &outputs);
    rt.delete_force(&id).assert_ok();
}

#[test]
fn init_climbs_from_its_own_leaked_fds() {
    let marker = Marker::new("run-scan");
    let rt = Runtime::new("21626-run-scan");
    let mut b = attack_bundle("21626-run-scan");
    b.args(&["/attack", "scan", &marker.arg()]);
    let id = unique_id("21626-run-scan");
    let out = rt.run(&id, &b, &[]);
    judge("the init's own fds", &marker, &out.to_string());
    rt.delete_force(&id);
}

#[test]
fn exec_process_climbs_from_its_own_leaked_fds() {
    let marker = Marker::new("exec-scan");
    let rt = Runtime::new("21626-exec-scan");
    let mut b = attack_bundle("21626-exec-scan");
    let id = unique_id("21626-exec-scan");
    running(&rt, &id, &mut b, |_| {});
    let out = exec_in(&rt, &id, &[], &["/attack", "scan", &marker.arg()]);
    judge("an exec'd process's own fds", &marker, &out.to_string());
    rt.delete_force(&id).assert_ok();
}
