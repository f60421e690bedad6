//! Linux security modules: `process.apparmorProfile` (and `exec --apparmor`).
//!
//! Where AppArmor is enabled the profile is applied to the container's process, and a profile
//! that is not loaded fails create. Where AppArmor is not enabled, a profile asked for cannot be
//! applied: runc 1.1.5 (`write /proc/self/attr/exec: invalid argument`), crun 1.8.1 and vsbx
//! all refuse the container. This project's CI machine has no AppArmor; the VM suite (a Debian
//! 12 guest, AppArmor on) exercises the other branch.

use vsbx_conformance::*;

fn apparmor_enabled() -> bool {
    std::fs::read_to_string("/sys/module/apparmor/parameters/enabled")
        .is_ok_and(|s| s.trim() == "Y")
}

/// The profile the process runs under, as the kernel reports it.
const SHOW_LABEL: &str = "cat /proc/self/attr/apparmor/current 2>/dev/null || cat /proc/self/attr/current 2>/dev/null; echo; echo ran";

#[track_caller]
fn refused_without_apparmor(out: &Outcome) {
    assert!(
        !out.ok(),
        "a profile cannot be applied without AppArmor: {out}"
    );
    assert!(
        out.stderr.to_lowercase().contains("apparmor"),
        "the error should name AppArmor: {out}"
    );
    assert!(!out.stdout.contains("ran"), "the process ran: {out}");
}

#[test]
fn unconfined_profile() {
    let rt = Runtime::new("lsm-unconfined");
    let mut b = Bundle::new("lsm-unconfined");
    b.config()["process"]["apparmorProfile"] = "unconfined".into();
    b.sh(SHOW_LABEL);
    let id = unique_id("lsm-unconfined");
    let out = rt.run(&id, &b, &[]);
    rt.delete_force(&id);
    if apparmor_enabled() {
        out.assert_ok();
        assert!(out.stdout.contains("unconfined"), "label: {out}");
    } else {
        refused_without_apparmor(&out);
    }
}

#[test]
fn a_profile_that_is_not_loaded_is_refused() {
    let rt = Runtime::new("lsm-missing");
    let mut b = Bundle::new("lsm-missing");
    b.config()["process"]["apparmorProfile"] = "vsbx-test-no-such-profile".into();
    b.sh("echo ran");
    let id = unique_id("lsm-missing");
    let out = rt.run(&id, &b, &[]);
    rt.delete_force(&id);
    if apparmor_enabled() {
        assert!(!out.ok(), "a profile that is not loaded must fail: {out}");
        assert!(!out.stdout.contains("ran"), "the process ran: {out}");
    } else {
        refused_without_apparmor(&out);
    }
}

#[test]
fn exec_apparmor_flag() {
    let rt = Runtime::new("lsm-exec");
    let mut b = Bundle::new("lsm-exec");
    b.args(&["sleep", "100"]);
    let id = unique_id("lsm-exec");
    rt.create_and_start(&id, &b);
    let out = exec_in(
        &rt,
        &id,
        &["--apparmor", "unconfined"],
        &["sh", "-c", SHOW_LABEL],
    );
    if apparmor_enabled() {
        out.assert_ok();
        assert!(out.stdout.contains("unconfined"), "label: {out}");
    } else {
        refused_without_apparmor(&out);
    }
    // Without the flag, exec runs as before.
    let plain = exec_in(&rt, &id, &[], &["sh", "-c", "echo ran"]);
    plain.assert_ok();
    rt.delete_force(&id);
}
