//! A host identity of its own for every run. Per-user kernel limits (RLIMIT_NPROC, pending
//! signals, inotify instances and watches, ...) count by host uid, and signals between
//! processes are allowed by uid: runs that shared one uid could exhaust those limits for
//! each other. So each run gets uid = gid = `UID_BASE + slot`, the lowest free slot, held by
//! an exclusive flock on `<state root>/uids/<slot>.lock` for as long as the run lives (the
//! kernel drops the lock when vsbx exits, however it exits). No user namespace is needed,
//! so the bundle still runs under runc.

use std::fs::File;
use std::path::Path;

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};

use crate::private_dir::private_dir;
use crate::Error;

/// The first host uid/gid of the range reserved for sandbox runs.
pub const UID_BASE: u32 = 2_000_000_000;
/// How many runs may hold an identity at once: uids UID_BASE..UID_BASE+UID_SLOTS.
pub const UID_SLOTS: u32 = 65_536;
/// Directory of the slot locks, under the state root.
pub const LOCK_DIR_NAME: &str = "uids";

/// A host uid/gid held for one run; released when dropped.
#[derive(Debug)]
pub struct RunIdentity {
    pub uid: u32,
    pub gid: u32,
    _lock: Flock<File>,
}

/// Takes the lowest free slot under `state_root` (a private directory).
pub fn allocate(state_root: &Path) -> Result<RunIdentity, Error> {
    let dir = state_root.join(LOCK_DIR_NAME);
    private_dir(&dir, false)?;
    for slot in 0..UID_SLOTS {
        let path = dir.join(format!("{slot}.lock"));
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| Error::Io(format!("opening {}", path.display()), e))?;
        match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(lock) => {
                let id = UID_BASE + slot;
                return Ok(RunIdentity {
                    uid: id,
                    gid: id,
                    _lock: lock,
                });
            }
            Err((_, Errno::EWOULDBLOCK)) => continue,
            Err((_, e)) => {
                return Err(Error::Io(
                    format!("locking {}", path.display()),
                    std::io::Error::from(e),
                ))
            }
        }
    }
    Err(Error::Invalid(format!(
        "all {UID_SLOTS} sandbox uids ({UID_BASE}..) are in use"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn concurrent_holders_get_distinct_ids_and_a_released_one_is_reused() {
        let root = tempfile::tempdir().expect("tempdir");
        std::fs::set_permissions(root.path(), std::fs::Permissions::from_mode(0o700))
            .expect("chmod");
        let a = allocate(root.path()).expect("a");
        let b = allocate(root.path()).expect("b");
        assert_eq!(a.uid, UID_BASE);
        assert_eq!(b.uid, UID_BASE + 1);
        assert_eq!(b.gid, b.uid);
        drop(a);
        let c = allocate(root.path()).expect("c");
        assert_eq!(c.uid, UID_BASE, "the freed slot is taken again");
    }
}
