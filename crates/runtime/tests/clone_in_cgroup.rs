//! clone3 with CLONE_INTO_CGROUP: the child is in the cgroup v2 directory from its first
//! instruction (the parent writes no cgroup.procs), and a directory the kernel refuses
//! (a v1 hierarchy's) gives a child where the parent is, with the flag saying so.
//!
//! Needs root and a cgroup2 mount (this host has one at /sys/fs/cgroup/unified, without
//! controllers, beside the v1 hierarchies; a v2 host has it at /sys/fs/cgroup).

use std::fs;
use std::os::fd::AsFd;
use std::path::Path;

use vsbx_runtime::fuzz_api::{clone_in_cgroup, find_mount, Forked};

/// Clones a child that waits for a signal, reads the parent's view of its cgroups, then
/// kills it. The child only pauses: no allocation and no descriptors of its own in a copy
/// of this multi-threaded test process (a pipe would be inherited by the other test's
/// child and keep it open).
fn child_cgroups(dir: Option<&Path>) -> (bool, String, String) {
    use nix::sys::signal::{kill, Signal};
    use nix::sys::wait::{waitpid, WaitStatus};
    let dir_fd = dir.map(|d| fs::File::open(d).expect("open the cgroup directory"));
    let (forked, born) = clone_in_cgroup(0, dir_fd.as_ref().map(|f| f.as_fd())).unwrap();
    match forked {
        Forked::Child => loop {
            nix::unistd::pause();
        },
        Forked::Parent { pid, .. } => {
            let cgroup = fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
            let procs = dir
                .map(|d| fs::read_to_string(d.join("cgroup.procs")).unwrap_or_default())
                .unwrap_or_default();
            let child = nix::unistd::Pid::from_raw(pid);
            kill(child, Signal::SIGKILL).unwrap();
            assert_eq!(
                waitpid(child, None).unwrap(),
                WaitStatus::Signaled(child, Signal::SIGKILL, false)
            );
            let listed = procs.lines().any(|l| l == pid.to_string());
            (born, cgroup, if listed { "listed".into() } else { procs })
        }
    }
}

#[test]
fn the_child_is_born_in_the_cgroup_v2_directory() {
    let root = find_mount("cgroup2", None).expect("this test needs a cgroup2 mount");
    let name = format!("vsbx-clone-test-{}", std::process::id());
    let dir = root.join(&name);
    fs::create_dir(&dir).expect("mkdir in the cgroup2 hierarchy (needs root)");
    let (born, cgroup, procs) = child_cgroups(Some(&dir));
    let _ = fs::remove_dir(&dir);
    assert!(born, "clone3 refused CLONE_INTO_CGROUP");
    // The parent wrote no cgroup.procs, yet the child is in the directory.
    let v2_line = cgroup.lines().find(|l| l.starts_with("0::")).unwrap_or("");
    assert!(
        v2_line.ends_with(&format!("/{name}")),
        "child's cgroups: {cgroup}"
    );
    assert_eq!(procs, "listed", "cgroup.procs of {}", dir.display());
}

#[test]
fn a_directory_the_kernel_refuses_gives_a_child_where_the_parent_is() {
    let ours = fs::read_to_string("/proc/self/cgroup").unwrap();
    let ours_v2 = ours
        .lines()
        .find(|l| l.starts_with("0::"))
        .map(str::to_owned);
    // A v1 hierarchy's directory where there is one, else a plain directory.
    let dir = find_mount("cgroup", Some("pids")).unwrap_or_else(std::env::temp_dir);
    let (born, cgroup, _) = child_cgroups(Some(&dir));
    assert!(
        !born,
        "CLONE_INTO_CGROUP into {} was accepted",
        dir.display()
    );
    assert_eq!(
        cgroup
            .lines()
            .find(|l| l.starts_with("0::"))
            .map(str::to_owned),
        ours_v2,
        "the child's v2 cgroup is not the parent's: {cgroup}"
    );
}
