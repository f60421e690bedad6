//! Running without root: as an ordinary user, or as root of a user namespace this runtime
//! did not make (runc's two cases). What changes then:
//!
//! - state lives under `$XDG_RUNTIME_DIR/vsbx` unless `--root` says otherwise;
//! - id maps of the container's user namespace are written as the kernel lets an
//!   unprivileged writer (setgroups "deny" first, only its own ids), or by the setuid
//!   helpers `newuidmap`/`newgidmap` for subordinate ranges;
//! - cgroups are used only where the user may write (a delegated subtree); elsewhere the
//!   container runs without them, with a warning when linux.resources asked for limits;
//! - device cgroup rules are skipped: a user namespace cannot make device nodes anyway.

use std::path::PathBuf;
use std::sync::OnceLock;

use crate::error::{Error, Result};

/// Whether this process runs rootless (decided once).
pub fn is_rootless() -> bool {
    static ROOTLESS: OnceLock<bool> = OnceLock::new();
    *ROOTLESS.get_or_init(|| !rustix::process::geteuid().is_root() || in_user_namespace())
}

/// Whether this process runs in a user namespace other than the initial one (as under
/// rootless podman, which runs the runtime as root of its own user namespace). There a
/// container without a user namespace of its own still cannot make device nodes, and
/// its mounts are those a user namespace may make (decided once).
pub fn in_user_namespace() -> bool {
    static IN_USERNS: OnceLock<bool> = OnceLock::new();
    *IN_USERNS.get_or_init(|| {
        std::fs::read_to_string("/proc/self/uid_map").is_ok_and(|m| !is_initial_map(&m))
    })
}

/// Whether id 0 of this process's user namespace is mapped, for uids and for gids (read
/// from /proc/self/{uid,gid}_map, which must still be the host's procfs). Without subordinate
/// ranges a user may map only its own id, and not always as root.
pub fn root_is_mapped() -> (bool, bool) {
    let mapped = |file: &str| std::fs::read_to_string(file).is_ok_and(|m| maps_id(&m, 0));
    (mapped("/proc/self/uid_map"), mapped("/proc/self/gid_map"))
}

/// Whether an id map (`inside outside count` lines) covers container id `id`.
fn maps_id(map: &str, id: u64) -> bool {
    map.lines().any(|l| {
        let f: Vec<u64> = l
            .split_whitespace()
            .filter_map(|x| x.parse().ok())
            .collect();
        matches!(f[..], [inside, _, count] if id >= inside && id - inside < count)
    })
}

/// The initial user namespace maps every id to itself: `0 0 4294967295`.
fn is_initial_map(map: &str) -> bool {
    let f: Vec<&str> = map.split_whitespace().collect();
    f == ["0", "0", "4294967295"]
}

/// The default `--root`: `/run/vsbx` for root, `$XDG_RUNTIME_DIR/vsbx` rootless.
pub fn default_state_root() -> Result<PathBuf> {
    if !is_rootless() {
        return Ok(PathBuf::from("/run/vsbx"));
    }
    match std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
        Some(dir) => Ok(PathBuf::from(dir).join("vsbx")),
        None => Err(Error::invalid(
            "running rootless without XDG_RUNTIME_DIR: give --root (a directory only you can write)",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_id_finds_an_id_in_any_line() {
        assert!(maps_id("0 1000 1\n1 100000 65536\n", 0));
        assert!(maps_id("0 1000 1\n1 100000 65536\n", 65536));
        assert!(!maps_id("0 1000 1\n1 100000 65536\n", 65537));
        assert!(!maps_id("65534 1000 1\n", 0));
        assert!(maps_id("65534 1000 1\n", 65534));
    }

    #[test]
    fn the_initial_map_is_recognised() {
        assert!(is_initial_map("         0          0 4294967295\n"));
        assert!(!is_initial_map("         0       1000          1\n"));
        assert!(!is_initial_map("0 100000 65536\n1 1000 1\n"));
    }
}
