//! CVE-2021-30465 (GHSA-c3xm-pvg7-gh7r): symlink-exchange race on bind-mount destinations.
//! The published attack (Etienne Champetier) uses two containers sharing volumes. The victim's
//! config mounts volume V1, then the attacker's volume V2 many times at `V1/mnt`, then an
//! innocent volume whose host source is `VOLS/v3`. The attacker makes `V2/v3` a symlink to `/`
//! and `V1/mnt-tmp` a symlink to the host directory VOLS holding the volumes, then exchanges
//! `V1/mnt` and `V1/mnt-tmp` with renameat2(RENAME_EXCHANGE) in a tight loop. runc (up to
//! 1.0.0-rc94) resolved the destination inside the rootfs and then mounted by path, so V2 could
//! land on the host's VOLS in the victim's mount namespace; the last mount's source `VOLS/v3`
//! then resolved to `V2/v3`, and the host's `/` was bind-mounted into the victim.
//!
//! This test runs that attack (`exploits/cve_2021_30465.c`) with 20 mounts of V2 and up to 20
//! victims. A marker file with a secret sits in VOLS on the host; each victim prints what it
//! finds at `/data/<host path of the marker>`, which is the secret only when the host's root
//! was mounted at `/data`. No victim may see it, and nothing may be mounted on the host.
//!
//! runc 1.1.5 has the fix (destinations opened inside the rootfs and checked through
//! /proc/self/fd before mounting): safe. It refuses a victim whose destination moved, so under
//! load it may refuse every one: for runc the test does not require a victim to have run.

use std::fs;
use std::time::Duration;

use serde_json::json;
use vsbx_security::attack::{install, Rounds};
use vsbx_security::*;

#[test]
fn bind_destination_exchanged_with_a_symlink_during_create() {
    let rt = Runtime::new("cve-2021-30465");
    let vols = TempDir::new("cve-2021-30465-vols");
    let (v1, v2, v3) = (
        vols.path().join("v1"),
        vols.path().join("v2"),
        vols.path().join("v3"),
    );
    for d in [&v1, &v2, &v3] {
        fs::create_dir(d).unwrap();
    }
    fs::create_dir(v1.join("mnt")).unwrap();
    let secret = format!("host-secret-{}", std::process::id());
    let marker = vols.path().join("marker");
    fs::write(&marker, &secret).unwrap();
    let host_mounts_before = mounts_under(vols.path());

    let mut attacker = Bundle::new("cve-2021-30465-attacker");
    for (dst, src) in [("/v1", &v1), ("/v2", &v2)] {
        attacker.add_mount(json!({
            "destination": dst, "type": "bind", "source": src, "options": ["rbind", "rw"],
        }));
    }
    install(&attacker.rootfs(), "cve_2021_30465");
    let vols_path = vols.path().to_str().unwrap().to_string();
    attacker.args(&["/cve_2021_30465", "/v1", "/v2", &vols_path, "120"]);
    let aid = unique_id("cve30465-attacker");
    rt.create_and_start(&aid, &attacker);
    assert!(
        wait_until(|| fs::symlink_metadata(v1.join("mnt-tmp")).is_ok()),
        "the attacker never started"
    );

    let mut victim = Bundle::new("cve-2021-30465-victim");
    victim.add_mount(json!({
        "destination": "/v1", "type": "bind", "source": v1, "options": ["rbind", "rw"],
    }));
    for _ in 0..20 {
        victim.add_mount(json!({
            "destination": "/v1/mnt", "type": "bind", "source": v2, "options": ["rbind", "rw"],
        }));
    }
    victim.add_mount(json!({
        "destination": "/data", "type": "bind", "source": v3, "options": ["rbind", "ro"],
    }));
    victim.sh(&format!(
        "echo ran; cat /data{} 2>/dev/null; true",
        marker.display()
    ));

    let (mut ran, mut failed) = (0, 0);
    let mut escaped = Vec::new();
    for _ in Rounds::new(20, Duration::from_secs(90)) {
        let id = unique_id("cve30465-victim");
        let out = rt.run(&id, &victim, &[]);
        rt.delete_force(&id);
        if out.stdout.contains("ran") {
            ran += 1;
        } else {
            failed += 1;
        }
        if out.stdout.contains(&secret) {
            escaped.push(out.stdout.clone());
            break;
        }
    }
    fs::write(v1.join(".stop"), "").unwrap();
    rt.wait_status(&aid, "stopped");
    rt.delete(&aid).assert_ok();
    eprintln!("{ran} victims ran, {failed} failed");

    assert!(
        escaped.is_empty(),
        "a victim read the host's files through /data (the host's / was mounted there): \
         {escaped:?}"
    );
    assert_eq!(
        mounts_under(vols.path()),
        host_mounts_before,
        "mounts appeared on the host under the volumes"
    );
    assert_eq!(fs::read_to_string(&marker).unwrap(), secret);
    if is_runc() {
        // runc 1.1.5 refuses a victim whenever one of its 21 destinations resolves
        // elsewhere than meant while the attacker is mid-exchange: whether any victim gets
        // through all of them depends on how often the attacker is off the CPU (seen: most
        // ran on an idle machine, none of 20 under a parallel build). Safe either way.
        eprintln!("note: runc 1.1.5 (safe here): {ran} victims ran, {failed} refused");
        return;
    }
    assert!(ran > 0, "no victim ever ran ({failed} failed)");
}
