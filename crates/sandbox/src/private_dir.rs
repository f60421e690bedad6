//! Directories vsbx keeps in a shared, world-writable place (/dev/shm): the state root and
//! the scratch directories of each run. Whoever creates such a name first owns it, so every
//! one is created with mode 0700 and then checked on an fd opened without following a
//! symlink: a directory, owned by us, with no group or other permissions. Anything else is
//! refused (and nothing is written there).

use std::os::fd::OwnedFd;
use std::path::Path;

use nix::errno::Errno;
use nix::fcntl::{open, OFlag};
use nix::sys::stat::{fstat, Mode, SFlag};
use nix::unistd::{geteuid, mkdir};

use crate::Error;

/// Creates `path` with mode 0700 (or, unless `must_be_new`, reuses it) and returns an fd
/// of it once it is proven private: a directory (not a symlink), owned by our euid, with no
/// group or other permission bits.
pub fn private_dir(path: &Path, must_be_new: bool) -> Result<OwnedFd, Error> {
    let refuse = |reason: String| Error::UnsafeDir {
        path: path.to_path_buf(),
        reason,
    };
    match mkdir(path, Mode::S_IRWXU) {
        Ok(()) => {}
        Err(Errno::EEXIST) if !must_be_new => {}
        Err(e) => {
            return Err(Error::Io(
                format!("creating {}", path.display()),
                std::io::Error::from(e),
            ))
        }
    }
    let fd = match open(
        path,
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    ) {
        Ok(fd) => fd,
        // O_NOFOLLOW|O_DIRECTORY on a symlink fails with ENOTDIR or ELOOP; lstat tells which.
        Err(Errno::ELOOP | Errno::ENOTDIR) => {
            let link = nix::sys::stat::lstat(path)
                .is_ok_and(|st| st.st_mode & SFlag::S_IFMT.bits() == SFlag::S_IFLNK.bits());
            return Err(refuse(if link {
                "it is a symlink".into()
            } else {
                "it is not a directory".into()
            }));
        }
        Err(e) => {
            return Err(Error::Io(
                format!("opening {}", path.display()),
                std::io::Error::from(e),
            ))
        }
    };
    let fd = owned(fd);
    check_private(&fd).map_err(refuse)?;
    Ok(fd)
}

/// Why the directory behind `fd` is not private to us, if it is not.
pub fn check_private(fd: &OwnedFd) -> Result<(), String> {
    use std::os::fd::AsRawFd;
    let st = fstat(fd.as_raw_fd()).map_err(|e| format!("fstat: {e}"))?;
    let kind = SFlag::from_bits_truncate(st.st_mode & SFlag::S_IFMT.bits());
    if kind != SFlag::S_IFDIR {
        return Err("it is not a directory".into());
    }
    let me = geteuid().as_raw();
    if st.st_uid != me {
        return Err(format!(
            "it is owned by uid {}, not {me} (remove it if it is not yours)",
            st.st_uid
        ));
    }
    if st.st_mode & 0o077 != 0 {
        return Err(format!(
            "its mode {:04o} gives group or other access (expected 0700)",
            st.st_mode & 0o7777
        ));
    }
    Ok(())
}

fn owned(fd: std::os::fd::RawFd) -> OwnedFd {
    use std::os::fd::FromRawFd;
    // SAFETY: `fd` was just returned by open(2) and is owned by nobody else.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn base() -> tempfile::TempDir {
        tempfile::tempdir().expect("tempdir")
    }

    #[test]
    fn creates_a_private_directory_and_reuses_it() {
        let b = base();
        let p = b.path().join("state");
        private_dir(&p, true).expect("new");
        let mode = std::fs::metadata(&p).expect("meta").permissions().mode();
        assert_eq!(mode & 0o7777, 0o700);
        private_dir(&p, false).expect("reuse");
        assert!(
            private_dir(&p, true).is_err(),
            "must_be_new refuses a reuse"
        );
    }

    #[test]
    fn refuses_a_symlink() {
        let b = base();
        let target = b.path().join("target");
        std::fs::create_dir(&target).expect("mkdir");
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o700)).expect("chmod");
        let p = b.path().join("state");
        std::os::unix::fs::symlink(&target, &p).expect("symlink");
        let err = private_dir(&p, false).expect_err("symlink").to_string();
        assert!(err.contains("symlink"), "{err}");
    }

    #[test]
    fn refuses_a_directory_of_another_user_or_with_open_mode() {
        let b = base();
        let p = b.path().join("state");
        std::fs::create_dir(&p).expect("mkdir");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o777)).expect("chmod");
        let err = private_dir(&p, false).expect_err("mode").to_string();
        assert!(err.contains("0777"), "{err}");
        if geteuid().is_root() {
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o700)).expect("chmod");
            std::os::unix::fs::chown(&p, Some(65534), Some(65534)).expect("chown");
            let err = private_dir(&p, false).expect_err("owner").to_string();
            assert!(err.contains("uid 65534"), "{err}");
        }
    }

    #[test]
    fn refuses_a_file() {
        let b = base();
        let p = b.path().join("state");
        std::fs::write(&p, "x").expect("write");
        let err = private_dir(&p, false).expect_err("file").to_string();
        assert!(err.contains("not a directory"), "{err}");
    }
}
