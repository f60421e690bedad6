//! Mounts addressed by file descriptors only (the new mount API: open_tree, fsmount,
//! move_mount). No path is looked up when the mount is made, so nothing the container put
//! in its rootfs (a symlink, a swapped directory, a file that is not what it claims) can
//! redirect it; and nothing depends on the container's /proc, which the container's image
//! shapes.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use rustix::fs::{fstat, FileType};
use rustix::mount::{fsconfig_create, fsmount, fsopen, FsMountFlags, FsOpenFlags, MountAttrFlags};

use super::mount_opts::TreeAttrs;
use super::sys::Syscall;

/// Bind-mounts the file or directory open as `src` onto the one open as `target`.
pub fn bind<S: Syscall>(
    sys: &S,
    src: BorrowedFd<'_>,
    target: BorrowedFd<'_>,
) -> std::io::Result<()> {
    let tree = sys.clone_fd_tree(src, false)?;
    sys.move_mount(tree.as_fd(), target)
}

/// Binds the file or directory open as `target` onto itself, read-only, with every mount
/// below it read-only too: the copy is made and made read-only while detached, then
/// attached by fd. Nothing is looked up by name, not even `/proc/self/fd/N` (the container's
/// `/proc` is the container's to swap once pivot_root has run).
pub fn readonly_bind<S: Syscall>(sys: &S, target: BorrowedFd<'_>) -> std::io::Result<()> {
    let tree = sys.clone_fd_tree(target, true)?;
    sys.set_tree_attrs(tree.as_fd(), TreeAttrs::READONLY)?;
    sys.move_mount(tree.as_fd(), target)
}

/// `struct mount_attr` of mount_setattr(2), version 0 (32 bytes).
#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

/// mount_setattr(fd, "", AT_EMPTY_PATH | AT_RECURSIVE): sets and clears `attrs` on every
/// mount of the tree open as `fd`. Neither nix 0.29 nor rustix 1 wraps mount_setattr.
pub(super) fn set_attrs_recursive(fd: BorrowedFd<'_>, attrs: TreeAttrs) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let attr = MountAttr {
        attr_set: attrs.set,
        attr_clr: attrs.clear,
        propagation: 0,
        userns_fd: 0,
    };
    // SAFETY: the path is a NUL-terminated empty string and `attr` a live, initialised
    // struct whose size is passed with it; the kernel only reads both during the call, and
    // `fd` is borrowed for the call's duration.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            fd.as_raw_fd(),
            c"".as_ptr(),
            (libc::AT_EMPTY_PATH | libc::AT_RECURSIVE) as libc::c_uint,
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    if rc == -1 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Mounts a new empty, read-only tmpfs onto the directory open as `target`.
/// `label`: the SELinux context of the new filesystem (linux.mountLabel), if any.
pub fn empty_readonly_tmpfs<S: Syscall>(
    sys: &S,
    target: BorrowedFd<'_>,
    label: Option<&str>,
) -> std::io::Result<()> {
    use nix::mount::MsFlags as F;
    // fsconfig takes the value as it is: no quotes, unlike mount(2)'s option string.
    let data: Vec<String> = label.map(|l| format!("context={l}")).into_iter().collect();
    let mnt = sys.new_mount(
        "tmpfs",
        &data,
        F::MS_RDONLY | F::MS_NOSUID | F::MS_NODEV | F::MS_NOEXEC,
    )?;
    sys.move_mount(mnt.as_fd(), target)
}

/// Whether `fd` is the character device `major:minor` (checked on the open file, so the
/// answer is about the very inode a later mount will use).
pub fn is_char_device(fd: BorrowedFd<'_>, major: u32, minor: u32) -> bool {
    fstat(fd).is_ok_and(|st| {
        FileType::from_raw_mode(st.st_mode) == FileType::CharacterDevice
            && rustix::fs::major(st.st_rdev) == major
            && rustix::fs::minor(st.st_rdev) == minor
    })
}

/// Whether `fd` is a directory.
pub fn is_dir(fd: BorrowedFd<'_>) -> std::io::Result<bool> {
    Ok(FileType::from_raw_mode(fstat(fd)?.st_mode) == FileType::Directory)
}

/// A new filesystem of type `fstype`, not attached anywhere yet: `data` holds its options
/// (`key` or `key=value`), `flags` the mount(2) flags to turn into mount attributes. The fd
/// is the root of the new mount, whatever later happens to the path it gets attached at.
pub(super) fn fs_new_mount(
    fstype: &str,
    data: &[String],
    flags: nix::mount::MsFlags,
) -> std::io::Result<OwnedFd> {
    use nix::mount::MsFlags as F;
    let fs = fsopen(fstype, FsOpenFlags::FSOPEN_CLOEXEC)?;
    for opt in data {
        match opt.split_once('=') {
            Some((k, v)) => rustix::mount::fsconfig_set_string(&fs, k, v)?,
            None => rustix::mount::fsconfig_set_flag(&fs, opt.as_str())?,
        }
    }
    // Superblock flags go to the filesystem by name.
    for (flag, name) in [
        (F::MS_SYNCHRONOUS, "sync"),
        (F::MS_DIRSYNC, "dirsync"),
        (F::MS_MANDLOCK, "mand"),
        (F::MS_LAZYTIME, "lazytime"),
    ] {
        if flags.contains(flag) {
            rustix::mount::fsconfig_set_flag(&fs, name)?;
        }
    }
    fsconfig_create(&fs)?;
    let mut attrs = MountAttrFlags::empty();
    for (flag, attr) in [
        (F::MS_RDONLY, MountAttrFlags::MOUNT_ATTR_RDONLY),
        (F::MS_NOSUID, MountAttrFlags::MOUNT_ATTR_NOSUID),
        (F::MS_NODEV, MountAttrFlags::MOUNT_ATTR_NODEV),
        (F::MS_NOEXEC, MountAttrFlags::MOUNT_ATTR_NOEXEC),
        (F::MS_NOATIME, MountAttrFlags::MOUNT_ATTR_NOATIME),
        (F::MS_STRICTATIME, MountAttrFlags::MOUNT_ATTR_STRICTATIME),
        (F::MS_NODIRATIME, MountAttrFlags::MOUNT_ATTR_NODIRATIME),
        (
            super::mount_opts::MS_NOSYMFOLLOW,
            MountAttrFlags::MOUNT_ATTR_NOSYMFOLLOW,
        ),
    ] {
        if flags.contains(flag) {
            attrs |= attr;
        }
    }
    Ok(fsmount(&fs, FsMountFlags::FSMOUNT_CLOEXEC, attrs)?)
}

/// A recursive bind of the host path `path`, not attached anywhere yet.
pub fn clone_tree<S: Syscall>(sys: &S, path: &std::path::Path) -> std::io::Result<OwnedFd> {
    sys.clone_path_tree(path)
}

/// Attaches the detached mount `tree` onto the file or directory open as `target`.
pub fn attach_at<S: Syscall>(
    sys: &S,
    tree: &OwnedFd,
    target: BorrowedFd<'_>,
) -> std::io::Result<()> {
    sys.move_mount(tree.as_fd(), target)
}
