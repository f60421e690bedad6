//! `vsbx run` as an ordinary user. Without root there is no host uid of its own for each
//! run (identity.rs); the program runs in a user namespace of its own instead:
//!
//! - with subordinate ranges of at least 65536 ids in /etc/subuid and /etc/subgid and the
//!   setuid helpers newuidmap/newgidmap, container root is the caller (so the runtime can
//!   reach the bundle in the caller's private directories, as rootless podman does) and
//!   container ids 1..65537 map onto the ranges: the sandbox user (65534) is a host uid
//!   that is neither the caller nor anyone else;
//! - otherwise only the caller's own uid and gid can be mapped, and the sandbox user is
//!   the caller on the host (what it can reach is still only what the bundle mounts).
//!
//! Limits go through a cgroup where this user may make one (a delegated subtree: the
//! systemd user manager delegates one to each user's services); elsewhere rlimits stand in
//! (see `vsbx_policy::Enforcement`), and the report says how each limit was enforced.

use std::path::{Path, PathBuf};

use vsbx_bundle_gen::UserNamespace;
use vsbx_policy::SANDBOX_UID;

/// How many subordinate ids a range must have: container ids 0..65536.
pub const RANGE: u32 = 65536;

/// The user namespace for a run of `uid`/`gid` (user name `name`): subordinate ranges when
/// the user has them and the helpers exist, else the caller's own ids as the sandbox user.
pub fn user_namespace(uid: u32, gid: u32, name: Option<&str>) -> UserNamespace {
    let helpers = ["newuidmap", "newgidmap"]
        .iter()
        .all(|h| find_helper(h).is_some());
    let sub_uid = subordinate_start(Path::new("/etc/subuid"), name, uid);
    let sub_gid = subordinate_start(Path::new("/etc/subgid"), name, uid);
    match (helpers, sub_uid, sub_gid) {
        (true, Some(u), Some(g)) => UserNamespace::caller_and_ranges(uid, gid, u, g),
        _ => UserNamespace::single(SANDBOX_UID, uid, gid),
    }
}

/// The start of the first range in a subuid/subgid file (`name-or-uid:start:count`) that
/// belongs to this user and holds at least `RANGE` ids.
pub fn subordinate_start(file: &Path, name: Option<&str>, uid: u32) -> Option<u32> {
    let text = std::fs::read_to_string(file).ok()?;
    parse_subordinate(&text, name, uid)
}

fn parse_subordinate(text: &str, name: Option<&str>, uid: u32) -> Option<u32> {
    let uid = uid.to_string();
    text.lines().find_map(|line| {
        let mut f = line.trim().split(':');
        let (who, start, count) = (f.next()?, f.next()?, f.next()?);
        let mine = Some(who) == name || who == uid;
        let start: u32 = start.trim().parse().ok()?;
        let count: u32 = count.trim().parse().ok()?;
        (mine && count >= RANGE && start.checked_add(RANGE - 1).is_some()).then_some(start)
    })
}

/// Where a setuid id-map helper is: on PATH, else in /usr/bin or /bin.
fn find_helper(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/bin"), PathBuf::from("/bin")])
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// The state root of an ordinary user's runs: `$XDG_RUNTIME_DIR/vsbx-sandbox` when the
/// session has one, else `<scratch>/vsbx-sandbox-<uid>` (the name of each user's own, since
/// whoever makes a name in the shared scratch directory first owns it).
pub fn state_root(scratch: &Path, uid: u32) -> PathBuf {
    match std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
        Some(dir) if Path::new(&dir).is_absolute() => {
            PathBuf::from(dir).join(crate::sandbox::STATE_DIR_NAME)
        }
        _ => scratch.join(format!("{}-{uid}", crate::sandbox::STATE_DIR_NAME)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subordinate_ranges_by_name_or_uid_and_large_enough() {
        let text = "alice:100000:65536\n1001:300000:70000\nbob:200000:1000\n";
        assert_eq!(parse_subordinate(text, Some("alice"), 1000), Some(100000));
        assert_eq!(parse_subordinate(text, Some("carol"), 1001), Some(300000));
        // Too small a range is no range.
        assert_eq!(parse_subordinate(text, Some("bob"), 1002), None);
        assert_eq!(
            parse_subordinate("x:4294967295:65536\n", Some("x"), 1),
            None
        );
        assert_eq!(parse_subordinate("garbage\n", Some("garbage"), 1), None);
    }

    #[test]
    fn state_root_is_per_user_in_shared_scratch() {
        let root = state_root(Path::new("/dev/shm"), 1234);
        if std::env::var_os("XDG_RUNTIME_DIR").is_none() {
            assert_eq!(root, Path::new("/dev/shm/vsbx-sandbox-1234"));
        } else {
            assert!(root.ends_with("vsbx-sandbox"), "{}", root.display());
        }
    }
}
