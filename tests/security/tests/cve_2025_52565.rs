//! CVE-2025-52565 (GHSA-qw9x-cqr3-wc7r): with `process.terminal`, the runtime bind-mounts the
//! container's pty, named by the path `/dev/pts/N`, onto `/dev/console`. Both paths belong to
//! the container: with a `/dev/pts/N` that is a symlink (from a malicious image and config, or
//! swapped in through a shared /dev), the bind takes an attacker-chosen procfs file, such as
//! `/proc/sys/kernel/core_pattern`, and puts it at `/dev/console`, where the container may
//! write; runc did it before applying readonlyPaths, so the copy was writable.
//!
//! The test runs the malicious image and config: no tmpfs on /dev (the image's /dev is used),
//! the config's devpts mounted at `/dev/pts2`, the image's `/dev/ptmx` a symlink to
//! `pts2/ptmx` and its `/dev/pts/` a directory of symlinks `0`..`63` to a host-wide sysctl
//! (kernel.hung_task_warnings stands in for core_pattern; saved and restored). The container,
//! on its terminal, runs `exploits/cve_2025_52565.c`, which reports what `/dev/console` is and
//! tries to write into it. The host's sysctl must keep its value, and a container that runs
//! must have its pty (or nothing) at `/dev/console`.
//!
//! runc 1.1.5 is vulnerable (fixed in 1.2.8, 1.3.3 and 1.4.0-rc.3), but in this static form
//! its own next step opens the same `/dev/pts/N` path as the container's stdio and fails to
//! make the sysctl file a controlling terminal, so the container never starts; the published
//! exploit races the symlink in between. The test expects runc's failure here.

use std::fs;
use std::os::unix::fs::symlink;
use std::time::Duration;

use vsbx_security::attack::{install, HostKnob, HOST_KNOB};
use vsbx_security::*;

#[test]
fn console_bind_source_symlink_gives_no_writable_knob() {
    let knob = HostKnob::hold(HOST_KNOB);
    let rt = Runtime::new("cve-2025-52565");
    let mut b = Bundle::new("cve-2025-52565");
    let mounts = b.config()["mounts"].as_array_mut().unwrap();
    mounts.retain(|m| m["destination"] != "/dev");
    for m in mounts.iter_mut() {
        if m["destination"] == "/dev/pts" {
            m["destination"] = "/dev/pts2".into();
        }
    }
    let dev = b.rootfs().join("dev");
    fs::create_dir_all(dev.join("pts")).unwrap();
    fs::create_dir_all(dev.join("pts2")).unwrap();
    symlink("pts2/ptmx", dev.join("ptmx")).unwrap();
    for n in 0..64 {
        symlink(HOST_KNOB, dev.join(format!("pts/{n}"))).unwrap();
    }
    fs::write(dev.join("console"), "").unwrap();
    install(&b.rootfs(), "cve_2025_52565");
    let value = knob.attack_value();
    b.args(&["/cve_2025_52565", &value]);
    b.config()["process"]["terminal"] = true.into();

    let sock = ConsoleSocket::new(rt.scratch());
    let sock_path = sock.path().to_str().unwrap().to_string();
    let id = unique_id("cve52565");
    let run = rt.spawn_run(&id, &b, &["--console-socket", &sock_path]);
    let out = run.wait(TIMEOUT + Duration::from_secs(5));
    let term = if out.ok() {
        read_pty(sock.master())
    } else {
        String::new()
    };
    assert_eq!(
        knob.now(),
        knob.saved(),
        "the container wrote the host's {HOST_KNOB} through /dev/console: {out}\n{term}"
    );
    if is_runc() {
        // See above: runc 1.1.5 fails the static form at its setctty.
        assert!(
            !out.ok(),
            "runc 1.1.5 was expected to fail at setctty: {out}\n{term}"
        );
        return;
    }
    if out.ok() {
        assert!(
            term.contains("console chr 136:"),
            "/dev/console is not the container's pty (the runtime bound the image's \
             /dev/pts/N symlink target there): {out}\n{term}"
        );
    }
}
