//! Paths inside the container's rootfs, resolved by the kernel with RESOLVE_IN_ROOT so
//! that `..` and symlinks (absolute or relative) can never lead out of the rootfs
//! (the CVE-2021-30465 class). Mount targets are then addressed as /proc/self/fd/N.

use std::ffi::CString;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};

use rustix::fs::{Mode, OFlags, ResolveFlags};
use rustix::io::Errno;
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use crate::error::{Error, Result};

fn cstr(p: &Path) -> Result<CString> {
    CString::new(p.as_os_str().as_bytes())
        .map_err(|_| Error::invalid(format!("path {} contains a NUL byte", p.display())))
}

/// `path` relative (no leading '/'), with '.' removed; '..' is kept for the kernel to
/// clamp at the root.
fn relative(path: &Path) -> PathBuf {
    path.components()
        .filter(|c| !matches!(c, Component::RootDir | Component::CurDir))
        .collect()
}

/// openat2(root, path, flags, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS).
pub fn open_in_root(root: BorrowedFd<'_>, path: &Path, flags: i32) -> std::io::Result<OwnedFd> {
    let rel = relative(path);
    let rel = if rel.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        rel
    };
    let c = CString::new(rel.as_os_str().as_bytes())
        .map_err(|_| std::io::Error::from_raw_os_error(libc::EINVAL))?;
    let oflags = OFlags::from_bits_retain((flags | libc::O_CLOEXEC) as u32);
    loop {
        match rustix::fs::openat2(
            root,
            c.as_c_str(),
            oflags,
            Mode::empty(),
            ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS,
        ) {
            Ok(fd) => return Ok(fd),
            Err(Errno::AGAIN | Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
}

/// The current root directory ("/"; after pivot_root the container's), as an O_PATH fd to
/// resolve container paths from.
pub fn current_root() -> std::io::Result<OwnedFd> {
    let fd = rustix::fs::openat(
        rustix::fs::CWD,
        "/",
        rustix::fs::OFlags::PATH | rustix::fs::OFlags::DIRECTORY | rustix::fs::OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
    )?;
    Ok(fd)
}

/// What to create at the end of a path that does not exist yet.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Leaf {
    Dir,
    File,
}

/// Opens `path` inside `root` as an O_PATH fd, creating missing directories (mode
/// 0755) and, for `Leaf::File`, an empty final file. Every step stays inside the root.
pub fn ensure_in_root(root: BorrowedFd<'_>, path: &Path, leaf: Leaf) -> Result<OwnedFd> {
    ensure_following(root, path, leaf, 0)
}

/// Symlinks followed while creating one path before giving up (as the kernel's ELOOP).
const MAX_LINKS: u32 = 40;

/// The target of `name` in `dir` if it is a symlink.
fn read_link_at(dir: &OwnedFd, name: &std::ffi::OsStr) -> Option<PathBuf> {
    let c = CString::new(name.as_bytes()).ok()?;
    let target = rustix::fs::readlinkat(
        dir,
        c.as_c_str(),
        Vec::with_capacity(libc::PATH_MAX as usize),
    )
    .ok()?;
    (!target.as_bytes().is_empty())
        .then(|| PathBuf::from(std::ffi::OsStr::from_bytes(target.as_bytes())))
}

fn ensure_following(root: BorrowedFd<'_>, path: &Path, leaf: Leaf, depth: u32) -> Result<OwnedFd> {
    let rel = relative(path);
    let fail =
        |e: std::io::Error| Error::os(format!("cannot create {} in the rootfs", path.display()), e);
    let components: Vec<_> = rel.components().collect();
    let mut prefix = PathBuf::new();
    for (i, comp) in components.iter().enumerate() {
        let parent = prefix.clone();
        prefix.push(comp);
        match open_in_root(root, &prefix, libc::O_PATH) {
            Ok(fd) => {
                if i + 1 == components.len() {
                    return Ok(fd);
                }
                continue;
            }
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
            Err(e) => return Err(fail(e)),
        }
        let Component::Normal(name) = comp else {
            return Err(fail(std::io::Error::from_raw_os_error(libc::ENOENT)));
        };
        let dirfd = open_in_root(root, &parent, libc::O_PATH | libc::O_DIRECTORY).map_err(fail)?;
        // A dangling symlink: create what it points to, still inside the root.
        if let Some(target) = read_link_at(&dirfd, name) {
            if depth >= MAX_LINKS {
                return Err(fail(std::io::Error::from_raw_os_error(libc::ELOOP)));
            }
            let mut next = if target.is_absolute() {
                target
            } else {
                parent.join(target)
            };
            for rest in &components[i + 1..] {
                next.push(rest);
            }
            return ensure_following(root, &next, leaf, depth + 1);
        }
        let cname = CString::new(name.as_bytes())
            .map_err(|_| Error::invalid("path contains a NUL byte"))?;
        let last = i + 1 == components.len();
        let made = if last && leaf == Leaf::File {
            // The new file is closed again at once: only its name is wanted.
            rustix::fs::openat(
                &dirfd,
                cname.as_c_str(),
                OFlags::CREATE | OFlags::WRONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::from_raw_mode(0o644),
            )
            .map(drop)
        } else {
            rustix::fs::mkdirat(&dirfd, cname.as_c_str(), Mode::from_raw_mode(0o755))
        };
        match made {
            // EEXIST: a dangling symlink (or a racing creator); reopening decides.
            Ok(()) | Err(Errno::EXIST) => {}
            Err(e) => return Err(fail(e.into())),
        }
        if last {
            return open_in_root(root, &prefix, libc::O_PATH).map_err(fail);
        }
    }
    // The path was the root itself.
    open_in_root(root, Path::new("."), libc::O_PATH).map_err(fail)
}

/// The /proc/self/fd path that names `fd` for mount(2) and friends.
pub fn fd_path(fd: &OwnedFd) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()))
}

/// Opens a host path (for bind sources) as a C string for later use.
pub fn host_cstring(p: &Path) -> Result<CString> {
    cstr(p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::fd::AsFd;

    #[test]
    fn symlinks_and_dotdot_stay_inside() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("root");
        let outside = tmp.path().join("outside");
        fs::create_dir_all(&root).unwrap();
        fs::create_dir_all(&outside).unwrap();
        std::os::unix::fs::symlink(&outside, root.join("evil")).unwrap();
        let rootfd = fs::File::open(&root).unwrap();
        ensure_in_root(rootfd.as_fd(), Path::new("/evil/sub"), Leaf::Dir).unwrap();
        ensure_in_root(rootfd.as_fd(), Path::new("../../x/y"), Leaf::File).unwrap();
        assert!(!outside.join("sub").exists(), "escaped through a symlink");
        assert!(root
            .join(outside.strip_prefix("/").unwrap())
            .join("sub")
            .is_dir());
        assert!(root.join("x/y").is_file());
        assert!(!tmp.path().join("x").exists());
    }
}
