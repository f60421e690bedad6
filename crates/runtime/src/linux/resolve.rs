//! Paths inside the container's rootfs, resolved by the kernel with RESOLVE_IN_ROOT so
//! that `..` and symlinks (absolute or relative) can never lead out of the rootfs
//! (the CVE-2021-30465 class). Mount targets are then addressed as /proc/self/fd/N.

use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
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
pub fn open_in_root(root: RawFd, path: &Path, flags: i32) -> std::io::Result<OwnedFd> {
    let rel = relative(path);
    let rel = if rel.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        rel
    };
    let c = CString::new(rel.as_os_str().as_bytes())
        .map_err(|_| std::io::Error::from_raw_os_error(libc::EINVAL))?;
    let mut how: libc::open_how = unsafe {
        // SAFETY: open_how is plain old data; all-zero is a valid value.
        std::mem::zeroed()
    };
    how.flags = (flags | libc::O_CLOEXEC) as u64;
    how.resolve = libc::RESOLVE_IN_ROOT | libc::RESOLVE_NO_MAGICLINKS;
    loop {
        // SAFETY: c and how outlive the call; the kernel only reads them.
        let fd = unsafe {
            libc::syscall(
                libc::SYS_openat2,
                root,
                c.as_ptr(),
                &how as *const libc::open_how,
                std::mem::size_of::<libc::open_how>(),
            )
        };
        if fd >= 0 {
            // SAFETY: a fresh fd from the kernel, owned by nobody else.
            return Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) });
        }
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EAGAIN) && e.raw_os_error() != Some(libc::EINTR) {
            return Err(e);
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
pub fn ensure_in_root(root: RawFd, path: &Path, leaf: Leaf) -> Result<OwnedFd> {
    ensure_following(root, path, leaf, 0)
}

/// Symlinks followed while creating one path before giving up (as the kernel's ELOOP).
const MAX_LINKS: u32 = 40;

/// The target of `name` in `dir` if it is a symlink.
fn read_link_at(dir: &OwnedFd, name: &std::ffi::OsStr) -> Option<PathBuf> {
    let c = CString::new(name.as_bytes()).ok()?;
    let mut buf = vec![0u8; libc::PATH_MAX as usize];
    // SAFETY: buf is a live writable buffer of buf.len() bytes; c a valid C string.
    let n = unsafe {
        libc::readlinkat(
            dir.as_raw_fd(),
            c.as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    (n > 0).then(|| PathBuf::from(std::ffi::OsStr::from_bytes(&buf[..n as usize])))
}

fn ensure_following(root: RawFd, path: &Path, leaf: Leaf, depth: u32) -> Result<OwnedFd> {
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
        // SAFETY: dirfd is open and cname is a valid C string for the duration of the call.
        let rc = if last && leaf == Leaf::File {
            let fd = unsafe {
                libc::openat(
                    dirfd.as_raw_fd(),
                    cname.as_ptr(),
                    libc::O_CREAT | libc::O_WRONLY | libc::O_NOFOLLOW | libc::O_CLOEXEC,
                    0o644,
                )
            };
            if fd >= 0 {
                // SAFETY: fd was just returned by openat and is ours to close.
                unsafe { libc::close(fd) };
                0
            } else {
                -1
            }
        } else {
            unsafe { libc::mkdirat(dirfd.as_raw_fd(), cname.as_ptr(), 0o755) }
        };
        if rc != 0 {
            let e = std::io::Error::last_os_error();
            // EEXIST: a dangling symlink (or a racing creator); reopening decides.
            if e.raw_os_error() != Some(libc::EEXIST) {
                return Err(fail(e));
            }
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

    #[test]
    fn symlinks_and_dotdot_stay_inside() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("root");
        let outside = tmp.path().join("outside");
        fs::create_dir_all(&root).unwrap();
        fs::create_dir_all(&outside).unwrap();
        std::os::unix::fs::symlink(&outside, root.join("evil")).unwrap();
        let rootfd = fs::File::open(&root).unwrap();
        ensure_in_root(rootfd.as_raw_fd(), Path::new("/evil/sub"), Leaf::Dir).unwrap();
        ensure_in_root(rootfd.as_raw_fd(), Path::new("../../x/y"), Leaf::File).unwrap();
        assert!(!outside.join("sub").exists(), "escaped through a symlink");
        assert!(root
            .join(outside.strip_prefix("/").unwrap())
            .join("sub")
            .is_dir());
        assert!(root.join("x/y").is_file());
        assert!(!tmp.path().join("x").exists());
    }
}
