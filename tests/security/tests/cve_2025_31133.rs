//! CVE-2025-31133 (GHSA-9493-h29p-rfm2): maskedPaths are made by bind-mounting the container's
//! own `/dev/null` over each path, by path. The published attack gives the container a
//! `/dev/null` that is not the null device: a symlink to a procfs file (in the image when the
//! config mounts no tmpfs on /dev, or swapped in during `create` by a second container that
//! shares the /dev volume and exchanges a real device and a symlink in a tight loop). The mask
//! then becomes a bind of `/proc/sys/kernel/core_pattern` (a writable kernel knob at a path
//! the container may write), or, with `/dev/null` missing, the path is left unmasked (the
//! detector that goes with the advisory shows the host's `/proc/keys` read from a container).
//!
//! The tests run that attack with `exploits/cve_2025_31133.c`: core_pattern is replaced by the
//! host-wide, harmless `kernel.hung_task_warnings` sysctl (saved and restored), and the victim probes
//! every masked file, reads it and tries to write a value into it; the host's sysctl is then
//! compared. The static image attack also checks the ordering of the protections: a runtime
//! that masks before it applies readonlyPaths binds a still-writable `/proc/sys` file.
//!
//! runc 1.1.5 is still vulnerable (fixed in 1.2.8, 1.3.3 and 1.4.0-rc.3): it binds whatever
//! `/dev/null` resolves to. Because it applies readonlyPaths first, a sysctl taken through the
//! read-only `/proc/sys` stays read-only, so the knob itself is safe there; but a masked path
//! shows the symlink's target instead of the null device. The tests expect that substitution
//! on runc and judge only the host's knob there.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;
use std::time::Duration;

use serde_json::json;
use vsbx_security::attack::{install, lines_with, run_logged, HostKnob, Rounds, HOST_KNOB};
use vsbx_security::*;

/// The maskedPaths of the default config that are files (masked with /dev/null).
const MASKED_FILES: &[&str] = &[
    "/proc/kcore",
    "/proc/keys",
    "/proc/timer_list",
    "/proc/sched_debug",
];

/// The config's mounts without the tmpfs on /dev: the image's /dev is the container's.
fn drop_dev_tmpfs(b: &mut Bundle) {
    b.config()["mounts"]
        .as_array_mut()
        .unwrap()
        .retain(|m| m["destination"] != "/dev");
}

/// Runs the victim: the probe over every masked file, trying to write `value` into each.
#[track_caller]
fn run_victim(rt: &Runtime, id: &str, b: &mut Bundle, value: &str) -> (Outcome, String) {
    let mut args = vec!["/cve_2025_31133", "probe", value];
    args.extend_from_slice(MASKED_FILES);
    run_logged(rt, id, b, &args)
}

/// The image's /dev/null is a symlink to a host-wide sysctl; the victim writes to its masked
/// paths. The sysctl must keep its value, and (outside runc 1.1.5, which binds the target
/// read-only) the masked paths must be the null device.
#[test]
fn image_devnull_symlink_to_a_sysctl_gives_no_writable_knob() {
    let knob = HostKnob::hold(HOST_KNOB);
    let rt = Runtime::new("cve-2025-31133-image");
    let mut b = Bundle::new("cve-2025-31133-image");
    drop_dev_tmpfs(&mut b);
    let dev = b.rootfs().join("dev");
    fs::create_dir_all(&dev).unwrap();
    symlink(HOST_KNOB, dev.join("null")).unwrap();
    install(&b.rootfs(), "cve_2025_31133");
    let value = knob.attack_value();
    let (out, log) = run_victim(&rt, &unique_id("cve31133"), &mut b, &value);
    assert_eq!(
        knob.now(),
        knob.saved(),
        "the container wrote the host's {HOST_KNOB} through a masked path (masking \
         before readonlyPaths, with the image's /dev/null symlink followed): {out}\n{log}"
    );
    if !out.ok() {
        assert!(
            !log.contains("masked"),
            "failed after running: {out}\n{log}"
        );
        return;
    }
    let unmasked: Vec<&str> = lines_with(&log, "unmasked ").collect();
    if is_runc() {
        // runc 1.1.5 is vulnerable: the masks are binds of the sysctl, read-only.
        assert!(
            !unmasked.is_empty(),
            "runc 1.1.5 was expected to bind the symlink's target over the masked paths: {out}\n{log}"
        );
        return;
    }
    assert!(
        unmasked.is_empty(),
        "masked paths are not the null device: {unmasked:?}\n{out}\n{log}"
    );
}

/// The image's /dev/null dangles: a runtime that ignores the failed bind leaves the masked
/// paths readable. (runc 1.1.5 replaces the dangling link with a real node here; its exposure
/// is the raced variant below.)
#[test]
fn image_with_a_dangling_devnull_leaves_nothing_unmasked() {
    let rt = Runtime::new("cve-2025-31133-dangling");
    let mut b = Bundle::new("cve-2025-31133-dangling");
    drop_dev_tmpfs(&mut b);
    let dev = b.rootfs().join("dev");
    fs::create_dir_all(&dev).unwrap();
    symlink("/nonexistent/null", dev.join("null")).unwrap();
    install(&b.rootfs(), "cve_2025_31133");
    let (out, log) = run_victim(&rt, &unique_id("cve31133"), &mut b, "1");
    let unmasked: Vec<&str> = lines_with(&log, "unmasked ").collect();
    if out.ok() {
        assert!(
            unmasked.is_empty(),
            "masked paths left readable: {unmasked:?}\n{out}\n{log}"
        );
    } else {
        assert!(
            !log.contains("masked"),
            "failed after running: {out}\n{log}"
        );
    }
}

/// The race: an attacker container shares the victim's /dev volume and exchanges the real
/// null device with a symlink to the sysctl in a tight loop while the victim is created again
/// and again.
#[test]
fn devnull_raced_through_a_shared_dev_volume() {
    let knob = HostKnob::hold(HOST_KNOB);
    let rt = Runtime::new("cve-2025-31133-race");
    let volume = TempDir::new("cve-2025-31133-devvol");
    let dev_vol = volume.path().join("dev");
    fs::create_dir(&dev_vol).unwrap();
    // The volume comes with a real null device, as a populated /dev would.
    let null = std::ffi::CString::new(dev_vol.join("null").to_str().unwrap()).unwrap();
    // SAFETY: mknod with a valid C string.
    let rc = unsafe { libc::mknod(null.as_ptr(), libc::S_IFCHR | 0o666, libc::makedev(1, 3)) };
    assert_eq!(rc, 0, "mknod the volume's null device");

    // The attacker: the shared /dev volume at /d, swapping for up to 90 s.
    let mut attacker = Bundle::new("cve-2025-31133-attacker");
    attacker.add_mount(json!({
        "destination": "/d", "type": "bind", "source": dev_vol, "options": ["rbind", "rw"],
    }));
    install(&attacker.rootfs(), "cve_2025_31133");
    attacker.args(&["/cve_2025_31133", "race", "/d", "90", HOST_KNOB]);
    let aid = unique_id("cve31133-attacker");
    rt.create_and_start(&aid, &attacker);
    assert!(
        wait_until(|| Path::new(&dev_vol).join(".null-evil").exists()),
        "the attacker never started swapping"
    );

    // The victim: /dev is the shared volume.
    let mut victim = Bundle::new("cve-2025-31133-victim");
    let mounts = victim.config()["mounts"].as_array_mut().unwrap();
    let at = mounts
        .iter()
        .position(|m| m["destination"] == "/dev")
        .unwrap();
    mounts[at] = json!({
        "destination": "/dev", "type": "bind", "source": dev_vol, "options": ["rbind", "rw"],
    });
    install(&victim.rootfs(), "cve_2025_31133");
    let value = knob.attack_value();

    let mut ran = 0;
    let mut breaches = Vec::new();
    for _ in Rounds::new(40, Duration::from_secs(60)) {
        let id = unique_id("cve31133-victim");
        let (_, log) = run_victim(&rt, &id, &mut victim, &value);
        rt.delete_force(&id);
        if log.contains("masked ") {
            ran += 1;
        }
        breaches.extend(
            log.lines()
                .filter(|l| l.starts_with("unmasked ") || l.starts_with("wrote "))
                .map(str::to_string),
        );
        if knob.now() != knob.saved() {
            break;
        }
    }
    eprintln!("{ran} victims ran; what they saw: {breaches:?}");
    fs::write(dev_vol.join(".stop"), "").unwrap();
    let st = rt.wait_status(&aid, "stopped");
    assert_eq!(st["status"], "stopped");
    rt.delete(&aid).assert_ok();

    assert_eq!(
        knob.now(),
        knob.saved(),
        "a victim wrote the host's {HOST_KNOB} through a masked path: {breaches:?}"
    );
    if is_runc() {
        // runc 1.1.5 is vulnerable: it binds the raced symlink's target (read-only, since its
        // readonlyPaths came first) over the masked paths. Whether it loses within the bounded
        // rounds depends on the machine's load, so that is reported, not asserted.
        eprintln!(
            "note: runc 1.1.5 (vulnerable) lost the race {} times in {ran} runs",
            breaches.len()
        );
    } else {
        assert!(
            ran > 0,
            "no victim ever ran: the race only produced failures"
        );
        assert!(
            breaches.is_empty(),
            "victims saw masked paths that were not the null device: {breaches:?}"
        );
    }
}
