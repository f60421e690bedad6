//! CVE-2019-16884: a malicious image puts something other than a directory at `/proc`, so that
//! the procfs the runtime mounts (and every protection it then applies through `/proc`: the LSM
//! label written to `/proc/self/attr/exec`, maskedPaths, readonlyPaths, sysctls) ends up
//! somewhere the image chose. The published image replaced `/proc` with a symlink to a directory
//! of its own holding fake `self/attr/*` files, so that runc's AppArmor write landed in a plain
//! file and the container ran unconfined.
//!
//! This host has no LSM, so the test judges the other protections that go through `/proc`: the
//! image's `/proc` is a symlink to `/fakeproc`, a directory of the image pre-filled with fake
//! files, and the container runs a static probe (`exploits/cve_2019_16884.c`) that looks for
//! procfs at both places, reports every maskedPaths file it can read and tries to write a
//! host-wide sysctl (kernel.hung_task_warnings, restored afterwards) through each procfs it finds.
//! Safe outcomes: the runtime refuses the rootfs, or the container has its procfs on a real
//! `/proc` directory with nothing unmasked and the host's sysctl unchanged.
//!
//! runc 1.1.5 refuses (`filesystem "proc" must be mounted on ordinary directory`, the
//! CVE-2023-28642 fix, which also closes this one for good).

use std::fs;
use std::os::unix::fs::symlink;

use vsbx_security::attack::{assert_refused_or_harmless, run_proc_probe, HostKnob, HOST_KNOB};
use vsbx_security::*;

#[test]
fn proc_symlink_to_an_image_directory_is_refused_or_harmless() {
    let knob = HostKnob::hold(HOST_KNOB);
    let rt = Runtime::new("cve-2019-16884");
    let mut b = Bundle::new("cve-2019-16884");
    let root = b.rootfs();
    // The malicious image: /proc is a symlink to a directory of fake procfs files.
    fs::remove_dir_all(root.join("proc")).expect("remove the image's /proc");
    fs::create_dir_all(root.join("fakeproc/self/attr")).unwrap();
    fs::create_dir_all(root.join("fakeproc/sys/fs")).unwrap();
    fs::write(root.join("fakeproc/self/attr/exec"), "").unwrap();
    fs::write(root.join("fakeproc/kcore"), "fake\n").unwrap();
    symlink("/fakeproc", root.join("proc")).unwrap();

    let value = knob.attack_value();
    let id = unique_id("cve16884");
    let probe = run_proc_probe(&rt, &id, &mut b, &value, &["/proc", "/fakeproc"]);
    assert_refused_or_harmless(&knob, &probe);
}
