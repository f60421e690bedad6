//! The supplementary groups of the runtime must never reach the container's process.
//!
//! The init drops the caller's supplementary groups with setgroups(2) after pivot_root, when
//! `/proc` is whatever the container's image (or a container with CAP_SYS_ADMIN, for `exec`)
//! put there. A runtime that asks `/proc/self/setgroups` whether setgroups is allowed (runc does,
//! and vsbx did) can be told "deny" by a planted file and then skips the call: the process keeps
//! the runtime's groups, e.g. host gid 0 for a runtime started by root. The attack: an image with
//! no procfs mount and a `/proc/self/setgroups` that says `deny` (and a `/proc/self/uid_map` that
//! says "user namespace", for runtimes that ask that first). The runtime is started with the
//! supplementary group 4242; the container's process, uid 1000 with no additionalGids, prints
//! its groups.
//!
//! runc 1.1.5 reads both files after pivot_root too, but it cannot be attacked this way: its
//! init refuses to run when `/proc/self/fd` is not on procfs ("error closing exec fds"), so a
//! container without a procfs never starts. The test accepts that refusal from runc only.

use std::fs;
use std::os::unix::fs::PermissionsExt;

use vsbx_security::*;

const HOST_GROUP: &str = "4242";

/// A wrapper that starts the runtime under test with the supplementary group HOST_GROUP.
fn runtime_with_a_group(dir: &TempDir) -> std::path::PathBuf {
    let wrapper = dir.path().join("runtime-with-group");
    let real = Runtime::new("planted-setgroups-probe")
        .binary()
        .to_path_buf();
    let real = if real.is_absolute() {
        real
    } else {
        which(&real.display().to_string())
    };
    fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\nexec setpriv --groups {HOST_GROUP} -- '{}' \"$@\"\n",
            real.display()
        ),
    )
    .unwrap();
    fs::set_permissions(&wrapper, fs::Permissions::from_mode(0o755)).unwrap();
    wrapper
}

fn which(name: &str) -> std::path::PathBuf {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{name} not found in PATH"))
}

/// The groups the container's process reports, or the refused outcome.
fn groups_seen(plant: bool) -> Result<String, Box<Outcome>> {
    let dir = TempDir::new("planted-setgroups");
    let rt = Runtime::with_binary("planted-setgroups", &runtime_with_a_group(&dir));
    let mut b = Bundle::new("planted-setgroups");
    let proc_self = b.rootfs().join("proc/self");
    // runc's init lists /proc/self/fd before its execve: an empty directory satisfies it.
    fs::create_dir_all(proc_self.join("fd")).unwrap();
    if plant {
        fs::write(proc_self.join("setgroups"), "deny\n").unwrap();
        fs::write(
            proc_self.join("uid_map"),
            "         0          0        100\n",
        )
        .unwrap();
    }
    let mounts = b.config()["mounts"].as_array_mut().unwrap();
    mounts.retain(|m| m["destination"] != "/proc");
    b.config()["process"]["user"] = serde_json::json!({"uid": 1000, "gid": 1000});
    b.args(&["/bin/sh", "-c", "echo groups=$(id -G)"]);
    let id = unique_id("planted-setgroups");
    let out = rt.run(&id, &b, &[]);
    rt.delete_force(&id);
    if !out.status.success() {
        return Err(Box::new(out));
    }
    Ok(out
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("groups="))
        .unwrap_or_else(|| panic!("no groups line: {out}"))
        .to_string())
}

#[test]
fn the_runtimes_groups_do_not_reach_the_container() {
    // Control: without the planted files the group is dropped by every runtime.
    let clean = match groups_seen(false) {
        Err(out) if is_runc() && out.stderr.contains("is not on procfs") => {
            eprintln!("note: runc 1.1.5 refuses a container without procfs at /proc: {out}");
            return;
        }
        r => r.unwrap_or_else(|out| panic!("the container did not run: {out}")),
    };
    assert!(
        !clean.split_whitespace().any(|g| g == HOST_GROUP),
        "the runtime's group {HOST_GROUP} reached the container without any attack: {clean}"
    );
    let planted =
        groups_seen(true).unwrap_or_else(|out| panic!("the container did not run: {out}"));
    let leaked = planted.split_whitespace().any(|g| g == HOST_GROUP);
    assert!(
        !leaked,
        "a planted /proc/self/setgroups kept the runtime's group {HOST_GROUP} on the \
         container's process: groups {planted}"
    );
}
