//! CVE-2023-25809 (GHSA-m8cg-xc2p-r3fc): rootless runc, with a user namespace and no cgroup
//! namespace, left the host's `/sys/fs/cgroup` bind-mounted writable in the container. The
//! container's root is the unprivileged host user who owns a delegated cgroup (systemd's
//! `user.slice/user-UID.slice`), so the container could write that host cgroup's files.
//!
//! This test builds the rootless layout: a user namespace mapping container root to host uid
//! 100000, no network namespace (so sysfs is the host's /sys, bind-mounted `rbind,ro` as in
//! `runc spec --rootless`), no cgroup namespace, and the spec's read-only cgroup mount. On the
//! host, a cgroup in the pids hierarchy and one in the cgroup2 hierarchy are delegated to uid
//! 100000 (chowned, as systemd does). The container runs `exploits/cve_2023_25809.c`, which
//! writes `pids.max` and its own pid to `cgroup.procs` of those host cgroups through
//! `/sys/fs/cgroup`. The host's files must be unchanged.
//!
//! runc 1.1.5 has the fix: denied.

use std::ffi::CString;
use std::fs;
use std::path::PathBuf;

use serde_json::json;
use vsbx_security::attack::{install, lines_with};
use vsbx_security::*;

const HOST_UID: u32 = 100000;

/// Host cgroups delegated to HOST_UID; removed on drop.
struct Delegated {
    dirs: Vec<PathBuf>,
}

impl Delegated {
    fn new(name: &str) -> Delegated {
        let mut dirs = Vec::new();
        for m in mountinfo() {
            let wanted = m.fstype == "cgroup2"
                || (m.fstype == "cgroup" && m.super_options.split(',').any(|o| o == "pids"));
            if !wanted {
                continue;
            }
            let d = PathBuf::from(&m.mount_point).join(name);
            fs::create_dir(&d).unwrap_or_else(|e| panic!("mkdir {}: {e}", d.display()));
            for f in std::iter::once(d.clone()).chain(
                fs::read_dir(&d)
                    .unwrap()
                    .map(|e| e.unwrap().path())
                    .filter(|p| {
                        let n = p.file_name().unwrap().to_string_lossy();
                        n == "cgroup.procs" || n == "tasks" || n == "pids.max"
                    }),
            ) {
                let c = CString::new(f.to_str().unwrap()).unwrap();
                // SAFETY: chown with a valid C string.
                assert_eq!(unsafe { libc::chown(c.as_ptr(), HOST_UID, HOST_UID) }, 0);
            }
            dirs.push(d);
        }
        Delegated { dirs }
    }
}

impl Drop for Delegated {
    fn drop(&mut self) {
        for d in &self.dirs {
            let _ = fs::remove_dir(d);
        }
    }
}

#[test]
fn userns_container_without_cgroupns_cannot_write_host_cgroups() {
    let rel = format!("vsbx-sec-25809-{}", std::process::id());
    let delegated = Delegated::new(&rel);
    assert!(!delegated.dirs.is_empty(), "no pids or cgroup2 hierarchy");
    let rt = Runtime::new("cve-2023-25809");
    let mut b = Bundle::new("cve-2023-25809");
    install(&b.rootfs(), "cve_2023_25809");
    let chown = std::process::Command::new("chown")
        .args(["-R", &format!("{HOST_UID}:{HOST_UID}")])
        .arg(b.rootfs())
        .status()
        .unwrap();
    assert!(chown.success());
    b.set_namespace(json!({"type": "user"}));
    b.remove_namespace("network");
    b.remove_namespace("cgroup");
    let map = json!([{"containerID": 0, "hostID": HOST_UID, "size": 65536}]);
    b.config()["linux"]["uidMappings"] = map.clone();
    b.config()["linux"]["gidMappings"] = map;
    // The rootless spec's /sys: the host's, rbind, read-only.
    for m in b.config()["mounts"].as_array_mut().unwrap() {
        if m["destination"] == "/sys" {
            *m = json!({"destination": "/sys", "type": "none", "source": "/sys",
                        "options": ["rbind", "nosuid", "noexec", "nodev", "ro"]});
        }
    }
    b.args(&["/cve_2023_25809", &rel, "4242"]);
    let out = rt.run(&unique_id("cve25809"), &b, &[]);
    eprintln!("attack program: {}", out.stdout);
    let wrote: Vec<&str> = lines_with(&out.stdout, "wrote ").collect();
    for d in &delegated.dirs {
        let procs = fs::read_to_string(d.join("cgroup.procs")).unwrap_or_default();
        assert!(
            procs.trim().is_empty(),
            "the container moved a process into the host cgroup {}: {procs}\n{out}",
            d.display()
        );
        if let Ok(max) = fs::read_to_string(d.join("pids.max")) {
            assert_eq!(
                max.trim(),
                "max",
                "the container set the host's pids.max: {out}"
            );
        }
    }
    assert!(
        wrote.is_empty(),
        "the container wrote host cgroup files: {wrote:?}\n{out}"
    );
    assert!(
        out.stdout.contains("denied "),
        "the attack program did not run: {out}"
    );
}
