//! CVE-2022-29162: `exec --cap CAP` must not put CAP in the inheritable (or ambient) set.
//!
//! The attack (`exploits/cve_2022_29162.c`): a non-root user (uid 1000) is given capabilities
//! for one process (`exec --user 1000:1000 --cap CAP_SYS_CHROOT --cap CAP_DAC_OVERRIDE`); that
//! process execve()s a second program. For a non-root execve the kernel computes the new
//! permitted set as (inheritable & file inheritable) | (file permitted & bounding) | ambient:
//! - `/capbin` has file capabilities with only the INHERITABLE bits of both caps (and the
//!   effective flag): with CAP in the process's inheritable set it comes out with CAP;
//! - `/attack` is a plain file: with CAP in the ambient set it keeps CAP.
//!
//! The second program then tries the payload: chroot("/") and reading /secret (0600, root).
//! Neither may work. The caps are checked to be in its bounding set (where `--cap` puts them),
//! so a denial is the fix, not a cap out of reach. (For a non-root user runc's `--cap` process
//! itself ends up with empty effective and permitted sets: runc sets no ambient caps unless the
//! config has inheritable ones, and the execve as uid 1000 drops the rest.)
//!
//! runc 1.1.5 has the fix (1.1.2+). vsbx added `--cap` to inheritable and ambient
//! (CapInh = CapAmb = 0000000000040002 for these two caps) until fixed on main.
//!
//! The same is checked for a process configured in config.json with these capabilities in its
//! bounding, effective and permitted sets but no inheritable or ambient set.

use std::ffi::CString;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use serde_json::json;
use vsbx_security::*;

const CAP_DAC_OVERRIDE: u32 = 1;
const CAP_SYS_CHROOT: u32 = 18;

/// Sets file capabilities (VFS_CAP_REVISION_2 xattr): the given inheritable bits, no permitted
/// bits, the effective flag on. This is what an image can ship on any file.
fn set_inheritable_fcaps(file: &Path, caps: &[u32]) {
    let inheritable: u32 = caps.iter().map(|c| 1u32 << c).sum();
    let mut data = Vec::new();
    data.extend_from_slice(&(0x0200_0000u32 | 0x1).to_le_bytes()); // revision 2 | effective
    data.extend_from_slice(&0u32.to_le_bytes()); // permitted, low word
    data.extend_from_slice(&inheritable.to_le_bytes()); // inheritable, low word
    data.extend_from_slice(&0u32.to_le_bytes()); // permitted, high word
    data.extend_from_slice(&0u32.to_le_bytes()); // inheritable, high word
    let path = CString::new(file.as_os_str().as_bytes()).unwrap();
    let name = CString::new("security.capability").unwrap();
    // SAFETY: valid C strings and a buffer of data.len() bytes.
    let r = unsafe {
        libc::setxattr(
            path.as_ptr(),
            name.as_ptr(),
            data.as_ptr().cast(),
            data.len(),
            0,
        )
    };
    assert_eq!(
        r,
        0,
        "setxattr security.capability on {}: {}",
        file.display(),
        std::io::Error::last_os_error()
    );
}

/// A bundle with /attack (plain), /capbin (same program, inheritable file capabilities for
/// CAP_SYS_CHROOT and CAP_DAC_OVERRIDE) and /secret (0600, root).
fn cap_bundle(name: &str) -> Bundle {
    let b = Bundle::new(name);
    let attack = exploit("cve_2022_29162");
    fs::copy(&attack, b.rootfs().join("attack")).expect("copy the attack");
    let capbin = b.rootfs().join("capbin");
    fs::copy(&attack, &capbin).expect("copy the attack as capbin");
    set_inheritable_fcaps(&capbin, &[CAP_SYS_CHROOT, CAP_DAC_OVERRIDE]);
    let secret = b.rootfs().join("secret");
    fs::write(&secret, "root's secret\n").unwrap();
    fs::set_permissions(&secret, fs::Permissions::from_mode(0o600)).unwrap();
    b
}

/// The caps were within reach (in the bounding set of the exec'd program, where `--cap` or the
/// config put them, so inheritable file caps would bring them in if the process's inheritable
/// set had them), but the exec'd program has none of them.
#[track_caller]
fn assert_not_gained(what: &str, out: &str) {
    let probe = out
        .lines()
        .find(|l| l.starts_with("probe uid="))
        .unwrap_or_else(|| panic!("{what}: the second program never ran:\n{out}"));
    assert!(
        probe.starts_with("probe uid=1000 "),
        "{what}: the second program did not run as uid 1000:\n{out}"
    );
    let bounding = probe
        .split_whitespace()
        .find_map(|w| w.strip_prefix("CapBnd="))
        .and_then(|h| u64::from_str_radix(h, 16).ok())
        .unwrap_or_else(|| panic!("{what}: no CapBnd in {probe}"));
    let wanted = (1u64 << CAP_SYS_CHROOT) | (1u64 << CAP_DAC_OVERRIDE);
    assert_eq!(
        bounding & wanted,
        wanted,
        "{what}: the caps are not even in the bounding set, the attack proves nothing:\n{out}"
    );
    for line in ["probe chroot ok", "probe read-secret ok"] {
        assert!(
            !out.contains(line),
            "{what}: the exec'd program gained a capability ({line}):\n{out}"
        );
    }
}

const CAP_FLAGS: [&str; 6] = [
    "--user",
    "1000:1000",
    "--cap",
    "CAP_SYS_CHROOT",
    "--cap",
    "CAP_DAC_OVERRIDE",
];

#[test]
fn exec_cap_is_not_inherited_by_a_file_with_inheritable_file_caps() {
    let rt = Runtime::new("29162-inh");
    let mut b = cap_bundle("29162-inh");
    let id = unique_id("29162-inh");
    running(&rt, &id, &mut b, |_| {});
    let out = exec_in(&rt, &id, &CAP_FLAGS, &["/attack", "chain", "/capbin"]);
    assert_not_gained(
        "exec --cap, then a file with inheritable fcaps",
        &out.to_string(),
    );
    rt.delete_force(&id).assert_ok();
}

#[test]
fn exec_cap_is_not_ambient_for_a_plain_program() {
    let rt = Runtime::new("29162-amb");
    let mut b = cap_bundle("29162-amb");
    let id = unique_id("29162-amb");
    running(&rt, &id, &mut b, |_| {});
    let out = exec_in(&rt, &id, &CAP_FLAGS, &["/attack", "chain", "/attack"]);
    assert_not_gained("exec --cap, then a plain program", &out.to_string());
    rt.delete_force(&id).assert_ok();
}

#[test]
fn configured_caps_without_inheritable_are_not_inherited() {
    for target in ["/capbin", "/attack"] {
        let rt = Runtime::new("29162-spec");
        let mut b = cap_bundle("29162-spec");
        let caps = b.config()["process"]["capabilities"]["bounding"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let mut caps: Vec<String> = caps
            .iter()
            .filter_map(|c| c.as_str().map(str::to_string))
            .collect();
        caps.extend(["CAP_SYS_CHROOT".to_string(), "CAP_DAC_OVERRIDE".to_string()]);
        b.config()["process"]["capabilities"] = json!({
            "bounding": caps, "effective": caps, "permitted": caps,
        });
        b.config()["process"]["user"] = json!({"uid": 1000, "gid": 1000});
        b.args(&["/attack", "chain", target]);
        let id = unique_id("29162-spec");
        let out = rt.run(&id, &b, &[]);
        assert_not_gained(
            &format!("config caps without inheritable, then {target}"),
            &out.to_string(),
        );
        rt.delete_force(&id);
    }
}
