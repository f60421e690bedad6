//! Linux security modules: `process.apparmorProfile` (and `exec --apparmor`),
//! `process.selinuxLabel` (and `exec --process-label`) and `linux.mountLabel`.
//!
//! Where AppArmor is enabled the profile is applied to the container's process, and a profile
//! that is not loaded fails create. Where AppArmor is not enabled, a profile asked for cannot be
//! applied: runc 1.1.5 (`write /proc/self/attr/exec: invalid argument`), crun 1.8.1 and vsbx
//! all refuse the container. This project's CI machine has no AppArmor; the VM suite (a Debian
//! 12 guest, AppArmor on) exercises the other branch.

use serde_json::json;
use vsbx_conformance::*;

fn apparmor_enabled() -> bool {
    std::fs::read_to_string("/sys/module/apparmor/parameters/enabled")
        .is_ok_and(|s| s.trim() == "Y")
}

/// The profile the process runs under, as the kernel reports it.
const SHOW_LABEL: &str = "cat /proc/self/attr/apparmor/current 2>/dev/null || cat /proc/self/attr/current 2>/dev/null; echo; echo ran";

/// The container was refused for asking for `lsm` where it is not enabled: an error naming
/// it, and the process never ran.
#[track_caller]
fn refused_without(lsm: &str, out: &Outcome) {
    assert!(!out.ok(), "{lsm} cannot be applied where it is off: {out}");
    assert!(
        out.stderr.to_lowercase().contains(&lsm.to_lowercase()),
        "the error should name {lsm}: {out}"
    );
    assert!(!out.stdout.contains("ran"), "the process ran: {out}");
}

#[track_caller]
fn refused_without_apparmor(out: &Outcome) {
    refused_without("AppArmor", out)
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

/// SELinux as go-selinux (and so runc) sees it: selinuxfs mounted, and a context of our own.
/// The VM test bed's SELinux boot sets VSBX_EXPECT_SELINUX: there, finding it off fails
/// the test instead of taking the branch for hosts without it.
fn selinux_enabled() -> bool {
    let on = std::path::Path::new("/sys/fs/selinux/enforce").exists()
        && std::fs::read_to_string("/proc/self/attr/current")
            .is_ok_and(|c| !c.trim_end_matches(['\0', '\n']).is_empty() && c.trim() != "kernel");
    if std::env::var_os("VSBX_EXPECT_SELINUX").is_some() {
        assert!(
            on,
            "VSBX_EXPECT_SELINUX is set but SELinux is not enabled here"
        );
    }
    on
}

/// The labels the tests ask for: what podman asks for on Fedora, unless the host's policy
/// has no container types (Debian's reference policy, in the VM test bed), which names
/// others in VSBX_TEST_SELINUX_PROCESS_LABEL and VSBX_TEST_SELINUX_MOUNT_LABEL. Each holds an
/// MCS level with a comma: the label must reach the kernel whole.
fn label(var: &str, default: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| default.to_string())
}

fn process_label() -> String {
    label(
        "VSBX_TEST_SELINUX_PROCESS_LABEL",
        "system_u:system_r:container_t:s0:c1,c2",
    )
}

fn mount_label() -> String {
    label(
        "VSBX_TEST_SELINUX_MOUNT_LABEL",
        "system_u:object_r:container_file_t:s0:c1,c2",
    )
}

/// Without SELinux a process label cannot be applied: runc 1.1.5 ("selinux label is specified
/// in config, but selinux is disabled or not supported") and vsbx refuse the container.
#[test]
fn selinux_process_label() {
    let rt = Runtime::new("lsm-selinux");
    let mut b = Bundle::new("lsm-selinux");
    b.config()["process"]["selinuxLabel"] = process_label().into();
    b.sh("cat /proc/self/attr/current; echo; echo ran");
    let id = unique_id("lsm-selinux");
    let out = rt.run(&id, &b, &[]);
    rt.delete_force(&id);
    if selinux_enabled() {
        out.assert_ok();
        assert!(out.stdout.contains(&process_label()), "label: {out}");
    } else {
        refused_without("SELinux", &out);
    }
}

/// A mount label is the context of the container's fresh mounts. Without SELinux there is
/// nothing to label with: vsbx refuses the container, naming linux.mountLabel; runc 1.1.5
/// passes the context on and fails at the /dev tmpfs (`mount ... context=...: invalid
/// argument`). Both refuse; the process never runs.
#[test]
fn selinux_mount_label() {
    let rt = Runtime::new("lsm-mountlabel");
    let mut b = Bundle::new("lsm-mountlabel");
    b.config()["linux"]["mountLabel"] = mount_label().into();
    b.add_mount(json!({
        "destination": "/scratch",
        "type": "tmpfs",
        "source": "tmpfs",
        "options": ["size=1m"],
    }));
    // Every tmpfs: /dev, /dev/shm, /scratch and the masked directories (runc labels them all).
    b.sh("grep ' - tmpfs ' /proc/self/mountinfo; echo ran");
    let id = unique_id("lsm-mountlabel");
    let out = rt.run(&id, &b, &[]);
    rt.delete_force(&id);
    if selinux_enabled() {
        out.assert_ok();
        let context = format!("context=\"{}\"", mount_label());
        let tmpfs: Vec<&str> = out
            .stdout
            .lines()
            .filter(|l| l.contains(" - tmpfs "))
            .collect();
        assert!(
            tmpfs.iter().any(|l| l.contains(" /scratch ")),
            "no /scratch tmpfs: {out}"
        );
        for line in tmpfs {
            assert!(
                line.contains(&context),
                "a tmpfs without {context}: {line}\n{out}"
            );
        }
    } else {
        assert!(
            !out.ok(),
            "a mount label cannot be applied without SELinux: {out}"
        );
        assert!(!out.stdout.contains("ran"), "the process ran: {out}");
        if !is_runc() {
            assert!(
                out.stderr.contains("linux.mountLabel"),
                "the error should name the field: {out}"
            );
        }
    }
}

/// `exec --process-label`: applied with SELinux, refused without (runc fails writing the
/// task's exec attribute; vsbx refuses before it starts the process).
#[test]
fn exec_process_label_flag() {
    let rt = Runtime::new("lsm-exec-label");
    let mut b = Bundle::new("lsm-exec-label");
    b.args(&["sleep", "100"]);
    let id = unique_id("lsm-exec-label");
    rt.create_and_start(&id, &b);
    let out = exec_in(
        &rt,
        &id,
        &["--process-label", &process_label()],
        &["sh", "-c", "cat /proc/self/attr/current; echo; echo ran"],
    );
    if selinux_enabled() {
        out.assert_ok();
        assert!(out.stdout.contains(&process_label()), "label: {out}");
    } else {
        assert!(
            !out.ok(),
            "a label cannot be applied without SELinux: {out}"
        );
        assert!(!out.stdout.contains("ran"), "the process ran: {out}");
    }
    let plain = exec_in(&rt, &id, &[], &["sh", "-c", "echo ran"]);
    plain.assert_ok();
    rt.delete_force(&id);
}
