//! CVE-2019-19921, and its regression CVE-2023-27561 (runc 1.0.0-rc95 to 1.1.4): the mount
//! destination `/proc` raced through a shared volume. The published attack runs two
//! containers: the victim's rootfs (or a volume holding one of its mount destinations) is
//! writable by the attacker, who exchanges the `/proc` directory with a symlink in a tight loop
//! while the victim is created again and again. When the runtime follows the symlink, procfs is
//! mounted where the attacker chose, and the protections the runtime then applies by path
//! (maskedPaths, readonlyPaths, the LSM label) miss it: the victim gets a writable `/proc/sys`
//! and unmasked files.
//!
//! Here the attacker container has the victim's rootfs directory mounted (a shared volume) and
//! runs `exploits/cve_2019_19921.c`, exchanging `proc` (a directory) with `plink` (a symlink to
//! the empty directory `/evil`) with renameat2(RENAME_EXCHANGE). The victim is run up to 30
//! times; each time it runs the procfs probe of `exploits/cve_2019_16884.c` over `/proc`,
//! `/plink` and `/evil`, which reports every procfs it finds with an unmasked maskedPaths file
//! and tries to write a host-wide sysctl (kernel.hung_task_warnings, saved and restored)
//! through each. The host's sysctl must keep its value and no victim may see an unmasked
//! procfs. Victims that fail to start are fine.
//!
//! runc 1.1.5 has the CVE-2023-27561 fix (it checks the resolved destination against the
//! one it meant before mounting, so procfs lands on the directory), but it applies
//! maskedPaths and readonlyPaths by path after pivot_root, and the attacker can still rename
//! the directory that procfs is mounted on (a mount point in another mount namespace is not
//! busy for the attacker's rename): when the masks are applied while `/proc` is the symlink,
//! they fail with ENOENT, which runc ignores, and the victim finds its procfs unmasked and
//! writable under `/plink`. Measured here: runc 1.1.5 wrote the host's sysctl within 15
//! victims. That is the CVE-2025-31133/52881 class (procfs operations by path, raced through
//! shared mounts), fixed in runc 1.2.8/1.3.3/1.4.0-rc.3; the test expects the attack to
//! succeed on runc 1.1.5.

use std::fs;
use std::os::unix::fs::symlink;
use std::time::Duration;

use serde_json::json;
use vsbx_security::attack::{install, run_proc_probe, HostKnob, Rounds, HOST_KNOB};
use vsbx_security::*;

#[test]
fn proc_destination_raced_through_a_shared_volume() {
    let knob = HostKnob::hold(HOST_KNOB);
    let rt = Runtime::new("cve-2019-19921");
    let mut victim = Bundle::new("cve-2019-19921-victim");
    let vroot = victim.rootfs();
    fs::create_dir(vroot.join("evil")).unwrap();
    symlink("/evil", vroot.join("plink")).unwrap();
    // The probe and /out go in before the race starts.
    install(&vroot, "cve_2019_16884");
    victim.out_dir();

    let mut attacker = Bundle::new("cve-2019-19921-attacker");
    attacker.add_mount(json!({
        "destination": "/victim", "type": "bind", "source": vroot, "options": ["rbind", "rw"],
    }));
    install(&attacker.rootfs(), "cve_2019_19921");
    attacker.args(&["/cve_2019_19921", "/victim", "120", "proc", "plink"]);
    let aid = unique_id("cve19921-attacker");
    rt.create_and_start(&aid, &attacker);

    let value = knob.attack_value();
    let (mut ran, mut refused) = (0, 0);
    let mut breaches = Vec::new();
    for _ in Rounds::new(30, Duration::from_secs(90)) {
        let id = unique_id("cve19921-victim");
        let probe = run_proc_probe(&rt, &id, &mut victim, &value, &["/proc", "/plink", "/evil"]);
        rt.delete_force(&id);
        if probe.stdout.contains("path ") {
            ran += 1;
        } else {
            refused += 1;
            eprintln!("victim failed: {}", probe.out.stderr.trim());
        }
        breaches.extend(probe.breaches);
        if knob.now() != knob.saved() {
            break;
        }
    }
    fs::write(vroot.join(".stop"), "").unwrap();
    rt.wait_status(&aid, "stopped");
    rt.delete(&aid).assert_ok();
    eprintln!("{ran} victims ran, {refused} failed; breaches: {breaches:?}");

    if is_runc() {
        // runc 1.1.5 is vulnerable, but whether it loses a race in a bounded number of rounds
        // depends on the machine's load (seen: most rounds lost when idle, 1 victim of 30
        // even started under a loaded CI run). Report, do not assert on a race's outcome.
        eprintln!(
            "note: runc 1.1.5 (vulnerable) {} this race: {ran} victims ran, breaches {breaches:?}",
            if knob.now() != knob.saved() || !breaches.is_empty() {
                "lost"
            } else {
                "did not lose"
            }
        );
        return;
    }
    assert_eq!(
        knob.now(),
        knob.saved(),
        "a victim wrote the host's {HOST_KNOB} through a procfs its runtime left writable: \
         {breaches:?}"
    );
    assert!(
        breaches.is_empty(),
        "victims saw procfs with masked files readable: {breaches:?}"
    );
    assert!(ran > 0, "no victim ever ran ({refused} failed)");
}
