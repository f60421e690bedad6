//! CVE-2023-28642: runc 1.1.4 again let an image's `/proc` be a symlink (the CVE-2019-16884
//! check had been lost in a refactor), so procfs was mounted wherever the symlink pointed and
//! the AppArmor/SELinux label write through `/proc/self/attr` missed; the published images
//! pointed `/proc` at `/` or at another absolute path.
//!
//! The tests build those images: `/proc -> /`, and `/proc -> <an absolute host directory>`
//! (a path that exists on the host and not in the image, where a runtime that resolved the
//! destination against the host would mount procfs). The container runs the procfs probe of
//! `exploits/cve_2019_16884.c`, which reports where procfs is, every maskedPaths file it can
//! read, and tries to write a host-wide sysctl (kernel.hung_task_warnings, restored afterwards)
//! through every procfs it finds. Safe outcomes: refusal, or procfs on a real `/proc` directory
//! with everything masked, the host's sysctl unchanged, and nothing mounted or created on the
//! host directory.
//!
//! runc 1.1.5 (the fixed release) refuses both images: `filesystem "proc" must be mounted on
//! ordinary directory`.

use std::fs;
use std::os::unix::fs::symlink;

use vsbx_security::attack::{assert_refused_or_harmless, run_proc_probe, HostKnob, HOST_KNOB};
use vsbx_security::*;

#[test]
fn proc_symlink_to_slash_is_refused_or_harmless() {
    let knob = HostKnob::hold(HOST_KNOB);
    let rt = Runtime::new("cve-2023-28642-root");
    let mut b = Bundle::new("cve-2023-28642-root");
    fs::remove_dir_all(b.rootfs().join("proc")).unwrap();
    symlink("/", b.rootfs().join("proc")).unwrap();
    let value = knob.attack_value();
    let probe = run_proc_probe(&rt, &unique_id("cve28642"), &mut b, &value, &["/proc", "/"]);
    assert_refused_or_harmless(&knob, &probe);
}

#[test]
fn proc_symlink_to_a_host_path_is_refused_or_harmless() {
    let knob = HostKnob::hold(HOST_KNOB);
    let rt = Runtime::new("cve-2023-28642-host");
    let mut b = Bundle::new("cve-2023-28642-host");
    // A directory that exists on the host only, with a file the host wants to keep.
    let host_dir = TempDir::new("cve-2023-28642-hostdir");
    fs::write(host_dir.path().join("keep"), "host data\n").unwrap();
    let host_path = host_dir.path().to_str().unwrap().to_string();
    fs::remove_dir_all(b.rootfs().join("proc")).unwrap();
    symlink(&host_path, b.rootfs().join("proc")).unwrap();
    let value = knob.attack_value();
    let probe = run_proc_probe(
        &rt,
        &unique_id("cve28642"),
        &mut b,
        &value,
        &["/proc", &host_path],
    );
    let entries: Vec<_> = fs::read_dir(host_dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(entries, ["keep"], "the host directory was changed");
    assert_eq!(
        fs::read_to_string(host_dir.path().join("keep")).unwrap(),
        "host data\n"
    );
    assert!(
        mounts_under(host_dir.path()).is_empty(),
        "something is mounted on the host directory"
    );
    assert_refused_or_harmless(&knob, &probe);
}
