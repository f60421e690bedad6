//! A container without a mount namespace of its own (as runc runs one): its mounts are made
//! in the host's mount namespace, so they must be taken back when the container goes.
//!
//! The init binds the rootfs onto itself (made private, so nothing propagates to or from the
//! host's peers) and makes every mount of the container inside that bind, then chroots into
//! it. One lazy unmount of the bind takes back the whole tree, and only that: mounts that
//! were under the rootfs before (an engine's overlay, say) stay.
//!
//! Crash safety: before the init exists, create records in its intent the rootfs path and
//! the mount the path lies on then (`under`). The container's bind is the mount at that path
//! whose parent is `under`; delete (or the next create of the id, after a kill) detaches
//! exactly that, whenever the runtime died. runc 1.1.5 leaves such mounts behind for good.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Where a container without a mount namespace made its mounts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostBind {
    /// The rootfs, onto which the init binds it.
    pub path: PathBuf,
    /// The id of the mount `path` lay on before the bind (the bind's parent).
    pub under: u64,
}

impl HostBind {
    /// Reads what the record needs before the init makes the bind.
    pub fn plan(rootfs: &Path) -> Result<HostBind> {
        let rootfs = &std::fs::canonicalize(rootfs)
            .map_err(|e| Error::path("root.path: cannot open", rootfs, e))?;
        let st = rustix::fs::statx(
            rustix::fs::CWD,
            rootfs,
            rustix::fs::AtFlags::empty(),
            rustix::fs::StatxFlags::MNT_ID,
        )
        .map_err(|e| Error::os(format!("statx {}", rootfs.display()), e.into()))?;
        Ok(HostBind {
            path: rootfs.to_path_buf(),
            under: st.stx_mnt_id,
        })
    }

    /// Detaches the container's bind (and with it every mount made inside it); nothing if it
    /// was never made or is gone already.
    pub fn release(&self) -> Result<()> {
        // Each unmount takes the top mount at the path: ours, or one the container stacked
        // on it. Bounded, in case something else keeps stacking.
        for _ in 0..64 {
            let text = std::fs::read("/proc/self/mountinfo")
                .map_err(|e| Error::os("cannot read /proc/self/mountinfo", e))?;
            if !has_bind(&text, &self.path, self.under) {
                return Ok(());
            }
            rustix::mount::unmount(&self.path, rustix::mount::UnmountFlags::DETACH)
                .map_err(|e| Error::os(format!("unmounting {}", self.path.display()), e.into()))?;
        }
        Err(Error::other(format!(
            "{}: mounts keep appearing on the container's rootfs",
            self.path.display()
        )))
    }
}

/// True if mountinfo `text` lists a mount at `path` whose parent is mount `under`.
fn has_bind(text: &[u8], path: &Path, under: u64) -> bool {
    let want = escape(path);
    let under = under.to_string();
    text.split(|&b| b == b'\n').any(|l| {
        let mut f = l.split(|&b| b == b' ');
        let (_id, parent, _dev, _root, point) = (f.next(), f.next(), f.next(), f.next(), f.next());
        parent == Some(under.as_bytes()) && point == Some(want.as_slice())
    })
}

/// A path as mountinfo writes it: space, tab, newline and backslash as octal escapes.
fn escape(path: &Path) -> Vec<u8> {
    use std::os::unix::ffi::OsStrExt;
    let mut out = Vec::new();
    for &b in path.as_os_str().as_bytes() {
        match b {
            b' ' | b'\t' | b'\n' | b'\\' => out.extend(format!("\\{b:03o}").bytes()),
            _ => out.push(b),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_bind_by_path_and_parent() {
        let text = b"\
22 1 254:0 / / rw - ext4 /dev/vda rw
80 22 254:0 /b/rootfs /b/rootfs rw - ext4 /dev/vda rw
81 80 0:5 / /b/rootfs/proc rw - proc proc rw
90 22 254:0 /c\\040d /c\\040d rw - ext4 /dev/vda rw
";
        assert!(has_bind(text, Path::new("/b/rootfs"), 22));
        assert!(!has_bind(text, Path::new("/b/rootfs"), 80), "wrong parent");
        assert!(!has_bind(text, Path::new("/b/rootfs/proc"), 22));
        assert!(has_bind(text, Path::new("/c d"), 22), "escaped space");
    }
}
