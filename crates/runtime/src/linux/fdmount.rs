//! Mounts addressed by file descriptors only (the new mount API: open_tree, fsmount,
//! move_mount). No path is looked up when the mount is made, so nothing the container put
//! in its rootfs (a symlink, a swapped directory, a file that is not what it claims) can
//! redirect it; and nothing depends on the container's /proc, which the container's image
//! shapes.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use rustix::fs::{fstat, FileType};
use rustix::mount::{
    fsconfig_create, fsmount, fsopen, move_mount, open_tree, FsMountFlags, FsOpenFlags,
    MountAttrFlags, MoveMountFlags, OpenTreeFlags,
};

/// Bind-mounts the file or directory open as `src` onto the one open as `target`.
pub fn bind(src: BorrowedFd<'_>, target: BorrowedFd<'_>) -> std::io::Result<()> {
    let tree = open_tree(
        src,
        "",
        OpenTreeFlags::OPEN_TREE_CLONE
            | OpenTreeFlags::OPEN_TREE_CLOEXEC
            | OpenTreeFlags::AT_EMPTY_PATH,
    )?;
    attach(&tree, target)
}

/// Mounts a new empty, read-only tmpfs onto the directory open as `target`.
pub fn empty_readonly_tmpfs(target: BorrowedFd<'_>) -> std::io::Result<()> {
    let fs = fsopen("tmpfs", FsOpenFlags::FSOPEN_CLOEXEC)?;
    fsconfig_create(&fs)?;
    let mnt = fsmount(
        &fs,
        FsMountFlags::FSMOUNT_CLOEXEC,
        MountAttrFlags::MOUNT_ATTR_RDONLY
            | MountAttrFlags::MOUNT_ATTR_NOSUID
            | MountAttrFlags::MOUNT_ATTR_NODEV
            | MountAttrFlags::MOUNT_ATTR_NOEXEC,
    )?;
    attach(&mnt, target)
}

fn attach(tree: &OwnedFd, target: BorrowedFd<'_>) -> std::io::Result<()> {
    move_mount(
        tree.as_fd(),
        "",
        target,
        "",
        MoveMountFlags::MOVE_MOUNT_F_EMPTY_PATH | MoveMountFlags::MOVE_MOUNT_T_EMPTY_PATH,
    )?;
    Ok(())
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
