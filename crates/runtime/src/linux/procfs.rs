//! Writes into the container's procfs that cannot be redirected (the CVE-2025-52881 class).
//!
//! The init writes sysctls through /proc/sys after pivot_root. The container's image and any
//! mount that propagates into its mount namespace shape what `/proc/sys/...` resolves to: a
//! symlink, a bind of another procfs file (`/proc/sys/kernel/core_pattern` of the host's pid
//! namespace, say) over the target, or no procfs at all. So the root of procfs is opened
//! without following symlinks and checked to be a procfs root, and every file below it is
//! opened with RESOLVE_BENEATH | RESOLVE_NO_XDEV | RESOLVE_NO_SYMLINKS: a path that crosses
//! a mount or a symlink fails instead of landing elsewhere.

use std::io::Write;
use std::os::fd::OwnedFd;
use std::path::Path;

use rustix::fs::{fstat, fstatfs, openat2, Mode, OFlags, ResolveFlags, CWD, PROC_SUPER_MAGIC};

use crate::error::{Error, Result};

/// The inode number of every procfs root.
const PROC_ROOT_INO: u64 = 1;

/// An open, verified root of a procfs.
pub struct ProcRoot(OwnedFd);

impl ProcRoot {
    /// Opens `/proc` of the current root (after pivot_root: the container's).
    pub fn open() -> Result<ProcRoot> {
        let fd = openat2(
            CWD,
            "/proc",
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC | OFlags::NOFOLLOW,
            Mode::empty(),
            ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS,
        )
        .map_err(|e| Error::os("opening /proc", e.into()))?;
        let fs = fstatfs(&fd).map_err(|e| Error::os("statfs /proc", e.into()))?;
        let st = fstat(&fd).map_err(|e| Error::os("stat /proc", e.into()))?;
        if fs.f_type != PROC_SUPER_MAGIC || st.st_ino != PROC_ROOT_INO {
            return Err(Error::other(
                "/proc in the container is not the root of a procfs mount",
            ));
        }
        Ok(ProcRoot(fd))
    }

    /// Writes `value` to the procfs file `rel` (relative to /proc), which must be reached
    /// without crossing a mount or following a symlink.
    pub fn write(&self, rel: &Path, value: &[u8]) -> std::io::Result<()> {
        let fd = openat2(
            &self.0,
            rel,
            OFlags::WRONLY | OFlags::CLOEXEC | OFlags::NOFOLLOW,
            Mode::empty(),
            ResolveFlags::BENEATH
                | ResolveFlags::NO_XDEV
                | ResolveFlags::NO_SYMLINKS
                | ResolveFlags::NO_MAGICLINKS,
        )?;
        let fs = fstatfs(&fd)?;
        if fs.f_type != PROC_SUPER_MAGIC {
            return Err(std::io::Error::from_raw_os_error(libc::EXDEV));
        }
        std::fs::File::from(fd).write_all(value)
    }
}
