//! CVE-2025-52881 (GHSA-cgrx-mc8f-2prm): every write the runtime makes to procfs inside the
//! container (sysctls under `/proc/sys`, the LSM label in `/proc/self/attr`, ...) goes by path
//! after the container's mounts are in place, so a container with shared mounts can misdirect
//! it to another procfs file. The advisory's attack races a second container that shares a
//! volume with the victim and plants symlinks in it (a tmpfs of symlinks), turning the write of
//! an innocent value into a write of a host-wide kernel knob.
//!
//! This test builds that: the victim's config sets one namespaced sysctl
//! (`net.ipv4.ip_unprivileged_port_start`, its own network namespace) and mounts a volume over
//! `/proc/sys/net`; an attacker container sharing the volume keeps
//! `ipv4/ip_unprivileged_port_start` in it a symlink to the host-wide
//! `/proc/sys/kernel/hung_task_warnings` (`exploits/cve_2025_52881.c`; saved and restored).
//! The sysctl's value is chosen to differ from the knob's; afterwards the host's knob must hold
//! what it held. A refusal of the config is a safe outcome.
//!
//! runc 1.1.5 is vulnerable to this CVE (fixed in 1.2.8, 1.3.3 and 1.4.0-rc.3) through its
//! other gadgets (the /dev/null and /dev/console binds, see the CVE-2025-31133 and
//! CVE-2025-52565 tests), but it refuses this configuration: a bind destination under /proc
//! other than a few lxcfs files is an error (`checkProcMount`), so the test expects it safe.

use std::fs;
use std::path::Path;

use serde_json::json;
use vsbx_security::attack::{install, HostKnob, HOST_KNOB};
use vsbx_security::*;

#[test]
fn sysctl_write_redirected_through_a_shared_volume_over_proc_sys() {
    let knob = HostKnob::hold(HOST_KNOB);
    let rt = Runtime::new("cve-2025-52881");
    let volume = TempDir::new("cve-2025-52881-vol");

    let mut attacker = Bundle::new("cve-2025-52881-attacker");
    attacker.add_mount(json!({
        "destination": "/v", "type": "bind", "source": volume.path(), "options": ["rbind", "rw"],
    }));
    install(&attacker.rootfs(), "cve_2025_52881");
    attacker.args(&[
        "/cve_2025_52881",
        "/v",
        "ipv4/ip_unprivileged_port_start",
        HOST_KNOB,
        "60",
    ]);
    let aid = unique_id("cve52881-attacker");
    rt.create_and_start(&aid, &attacker);
    let planted = volume.path().join("ipv4/ip_unprivileged_port_start");
    assert!(
        wait_until(|| fs::symlink_metadata(&planted).is_ok()),
        "the attacker never planted its symlink"
    );

    let mut victim = Bundle::new("cve-2025-52881-victim");
    let value = knob.attack_value();
    victim.config()["linux"]["sysctl"] = json!({"net.ipv4.ip_unprivileged_port_start": value});
    victim.add_mount(json!({
        "destination": "/proc/sys/net", "type": "bind", "source": volume.path(),
        "options": ["rbind", "rw"],
    }));
    victim.sh("cat /proc/sys/net/ipv4/ip_unprivileged_port_start");
    let out = rt.run(&unique_id("cve52881-victim"), &victim, &[]);

    fs::write(volume.path().join(".stop"), "").unwrap();
    rt.wait_status(&aid, "stopped");
    rt.delete(&aid).assert_ok();
    assert_eq!(
        knob.now(),
        knob.saved(),
        "the runtime's write of net.ipv4.ip_unprivileged_port_start landed in the host's \
         {HOST_KNOB}: {out}"
    );
    assert!(Path::new(volume.path()).exists());
}
