//! The container's filesystem, built inside its mount namespace in one ordered
//! sequence: prepare propagation, bind the rootfs, mount each entry of `mounts`,
//! populate /dev (`dev.rs`), pivot_root, then mask and lock paths.

use std::fs;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::mount::{MntFlags, MsFlags};
use oci_spec::runtime::Mount;
use rustix::fs::StatVfsMountFlags as FsFlags;

use super::mount_opts::{self, MountOptions, PlannedMount};
use super::resolve::{ensure_in_root, fd_path, open_in_root, Leaf};
use super::sys::Syscall;
use crate::error::{Context, Error, Result};

const NONE: Option<&str> = None;
const NO_SOURCE: Option<&Path> = None;

/// What the mount steps need to know about the container besides the mounts.
pub struct RootfsContext<'a> {
    pub bundle: &'a Path,
    pub in_userns: bool,
    pub cgroupns: bool,
    /// The container's cgroup directories on the host (for a "cgroup" mount).
    pub cgroup_dirs: &'a [PathBuf],
    pub unified_cgroup: bool,
    /// Called before each cgroup mount: the init's cgroup join (`init::CgroupJoin`), which
    /// a cgroup namespace's root and the mounted tree must see done.
    pub before_cgroup_mount: &'a dyn Fn() -> Result<()>,
    /// linux.mountLabel where SELinux applies it: also the context of the tmpfs that holds
    /// the v1 hierarchies of a cgroup mount (the config's own mounts carry it already).
    pub mount_label: Option<&'a str>,
}

/// Makes the mount tree below / non-shared and binds the rootfs onto itself so that it
/// is a mount point pivot_root can use.
pub fn prepare<S: Syscall>(sys: &S, rootfs: &Path, propagation: Option<MsFlags>) -> Result<()> {
    let flags = match propagation {
        Some(p) if p.contains(MsFlags::MS_PRIVATE) => MsFlags::MS_PRIVATE | MsFlags::MS_REC,
        _ => MsFlags::MS_SLAVE | MsFlags::MS_REC,
    };
    sys.mount(NO_SOURCE, Path::new("/"), NONE, flags, NONE)
        .ctx(|| "making / a slave mount".into())?;
    bind_onto_itself(sys, rootfs)
}

/// The rootfs bound onto itself (recursively): a mount of its own to pivot into, or, without
/// a mount namespace, the one mount that holds every other of the container.
fn bind_onto_itself<S: Syscall>(sys: &S, rootfs: &Path) -> Result<()> {
    sys.mount(
        Some(rootfs),
        rootfs,
        NONE,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        NONE,
    )
    .ctx(|| format!("bind-mounting the rootfs {}", rootfs.display()))
}

/// Without a mount namespace (see `host_mounts`): binds the rootfs onto itself in the host's
/// mount namespace and makes the bind private, so that the mounts made inside it neither
/// reach the host's peers nor receive theirs. The host's own propagation is left alone.
pub fn prepare_on_host<S: Syscall>(sys: &S, rootfs: &Path) -> Result<()> {
    bind_onto_itself(sys, rootfs)?;
    sys.mount(
        NO_SOURCE,
        rootfs,
        NONE,
        MsFlags::MS_PRIVATE | MsFlags::MS_REC,
        NONE,
    )
    .ctx(|| format!("making the bind of {} private", rootfs.display()))
}

/// Without a mount namespace: the rootfs becomes the root by chroot (pivot_root and MS_MOVE
/// would change the host's root).
pub fn enter_by_chroot<S: Syscall>(sys: &S, rootfs: &Path) -> Result<()> {
    sys.chdir(rootfs).ctx(|| "chdir to the rootfs".into())?;
    sys.chroot(Path::new(".")).ctx(|| "chroot".into())?;
    sys.chdir(Path::new("/")).ctx(|| "chdir /".into())
}

/// The roots of the procfs and sysfs mounts, kept open from the moment they were made.
/// Later steps (maskedPaths, readonlyPaths, sysctls) resolve paths under /proc and /sys
/// from these fds, never again by name: a container sharing the rootfs could meanwhile swap
/// the directory the mount sits on for a symlink (the CVE-2019-19921 / CVE-2023-27561 class),
/// and a path lookup would then miss the mount and skip the masks.
#[derive(Default)]
pub struct KeptRoots(Vec<(PathBuf, OwnedFd)>);

impl KeptRoots {
    /// Opens `path` (a container path) beneath the kept mount whose destination is its
    /// longest prefix; None if no kept mount covers it.
    pub fn open(&self, path: &Path, flags: rustix::fs::OFlags) -> Option<std::io::Result<OwnedFd>> {
        let (dest, fd) = self
            .0
            .iter()
            .filter(|(d, _)| path.starts_with(d))
            .max_by_key(|(d, _)| d.components().count())?;
        let rest = path.strip_prefix(dest).unwrap_or(Path::new(""));
        let rest = if rest.as_os_str().is_empty() {
            Path::new(".")
        } else {
            rest
        };
        Some(
            rustix::fs::openat2(
                fd,
                rest,
                flags | rustix::fs::OFlags::CLOEXEC,
                rustix::fs::Mode::empty(),
                rustix::fs::ResolveFlags::BENEATH | rustix::fs::ResolveFlags::NO_MAGICLINKS,
            )
            .map_err(Into::into),
        )
    }

    /// The kept root of the procfs mounted at /proc, if the container has one.
    pub fn proc(&self) -> Option<&OwnedFd> {
        self.0
            .iter()
            .find(|(d, _)| d == Path::new("/proc"))
            .map(|(_, fd)| fd)
    }
}

/// Opens `path` (a container path, after pivot_root) as O_PATH: beneath a kept procfs or
/// sysfs root when one covers it, else inside the current root.
fn open_target(kept: &KeptRoots, root: &OwnedFd, path: &Path) -> std::io::Result<OwnedFd> {
    match kept.open(path, rustix::fs::OFlags::PATH) {
        Some(r) => r,
        None => open_in_root(root.as_fd(), path, libc::O_PATH),
    }
}

/// Mounts every entry of config.json's `mounts`, in order.
pub fn mount_all<S: Syscall>(
    sys: &S,
    root: &OwnedFd,
    mounts: &[PlannedMount],
    cx: &RootfsContext,
) -> Result<KeptRoots> {
    let mut kept = KeptRoots::default();
    for (i, PlannedMount { mount: m, opts }) in mounts.iter().enumerate() {
        let fd = mount_one(sys, root, m, opts, cx).map_err(|e| {
            Error::other(format!("mounts[{i}] ({}): {e}", m.destination().display()))
        })?;
        if let Some(fd) = fd {
            let dest: PathBuf = Path::new("/").join(
                m.destination()
                    .components()
                    .filter(|c| matches!(c, std::path::Component::Normal(_)))
                    .collect::<PathBuf>(),
            );
            kept.0.retain(|(d, _)| d != &dest);
            kept.0.push((dest, fd));
        }
    }
    Ok(kept)
}

/// Flags that a bind mount inherits from its source and cannot drop inside a user
/// namespace (the kernel locks them); kept on every remount.
fn locked_flags(target: &Path) -> MsFlags {
    let Ok(st) = rustix::fs::statvfs(target) else {
        return MsFlags::empty();
    };
    let f = st.f_flag;
    let mut out = MsFlags::empty();
    for (fs_flag, ms) in [
        (FsFlags::NOSUID, MsFlags::MS_NOSUID),
        (FsFlags::NODEV, MsFlags::MS_NODEV),
        (FsFlags::NOEXEC, MsFlags::MS_NOEXEC),
        (FsFlags::NOATIME, MsFlags::MS_NOATIME),
        (FsFlags::NODIRATIME, MsFlags::MS_NODIRATIME),
        (FsFlags::RELATIME, MsFlags::MS_RELATIME),
    ] {
        if f.contains(fs_flag) {
            out |= ms;
        }
    }
    out
}

/// Mounts one entry; returns the root of a procfs or sysfs mount, kept for later steps.
fn mount_one<S: Syscall>(
    sys: &S,
    root: &OwnedFd,
    m: &Mount,
    opts: &MountOptions,
    cx: &RootfsContext,
) -> Result<Option<OwnedFd>> {
    let kept = mount_entry(sys, root, m, opts, cx)?;
    if !opts.recursive.is_empty() {
        // The destination now names the new mount's root; the attributes go to it and to
        // every mount below it (an rbind's submounts, or ones the source had).
        let target = open_in_root(root.as_fd(), m.destination(), libc::O_PATH)
            .map_err(|e| Error::os("reopening the mount point", e))?;
        sys.set_tree_attrs(target.as_fd(), opts.recursive)
            .map_err(|e| Error::os("applying the recursive options (mount_setattr)", e))?;
    }
    Ok(kept)
}

fn mount_entry<S: Syscall>(
    sys: &S,
    root: &OwnedFd,
    m: &Mount,
    opts: &MountOptions,
    cx: &RootfsContext,
) -> Result<Option<OwnedFd>> {
    let typ = m.typ().as_deref();
    if typ == Some("cgroup") || typ == Some("cgroup2") {
        (cx.before_cgroup_mount)()?;
        return mount_cgroup(sys, root, m.destination(), opts, cx).map(|()| None);
    }
    if opts.is_bind() {
        let (src, is_dir) = mount_opts::bind_source(cx.bundle, m.source().as_ref())?;
        let leaf = if is_dir { Leaf::Dir } else { Leaf::File };
        let target = ensure_in_root(root.as_fd(), m.destination(), leaf)?;
        let tpath = fd_path(&target);
        sys.mount(
            Some(src.as_path()),
            &tpath,
            NONE,
            opts.flags & (MsFlags::MS_BIND | MsFlags::MS_REC),
            NONE,
        )
        .ctx(|| format!("bind-mounting {}", src.display()))?;
        let extra = opts
            .flags
            .difference(MsFlags::MS_BIND | MsFlags::MS_REC | MsFlags::MS_REMOUNT);
        if !extra.is_empty() {
            // Re-open: the fd still names the covered directory, not the new mount.
            let target = open_in_root(root.as_fd(), m.destination(), libc::O_PATH)
                .map_err(|e| Error::os("reopening the mount point", e))?;
            let tpath = fd_path(&target);
            let flags = MsFlags::MS_BIND | MsFlags::MS_REMOUNT | extra | locked_flags(&tpath);
            sys.mount(NO_SOURCE, &tpath, NONE, flags, NONE)
                .ctx(|| "remounting the bind mount with its options".into())?;
        }
        return propagate(sys, root, m.destination(), opts).map(|()| None);
    }
    let fstype =
        typ.ok_or_else(|| Error::invalid("type: missing (needed for a non-bind mount)"))?;
    if fstype == "proc" || fstype == "sysfs" {
        return mount_kernel_fs(sys, root, m, fstype, opts, cx).map(Some);
    }
    let target = ensure_in_root(root.as_fd(), m.destination(), Leaf::Dir)?;
    let source = m.source().clone().unwrap_or_else(|| PathBuf::from(fstype));
    let data = opts.data_string();
    let mut flags = opts.flags.difference(MsFlags::MS_REMOUNT);
    if is_dev_tmpfs(m) {
        // Filled first (dev::populate_dev), made read-only after (`readonly_dev`).
        flags.remove(MsFlags::MS_RDONLY);
    }
    sys.mount(
        Some(source.as_path()),
        &fd_path(&target),
        Some(fstype),
        flags,
        data.as_deref(),
    )
    .ctx(|| format!("mounting {fstype}"))?;
    propagate(sys, root, m.destination(), opts).map(|()| None)
}

/// procfs or sysfs: made detached with the new mount API and attached by fd onto an
/// ordinary directory; returns the new mount's root.
fn mount_kernel_fs<S: Syscall>(
    sys: &S,
    root: &OwnedFd,
    m: &Mount,
    fstype: &str,
    opts: &MountOptions,
    cx: &RootfsContext,
) -> Result<OwnedFd> {
    ordinary_directory(root, m.destination(), fstype)?;
    let target = ensure_in_root(root.as_fd(), m.destination(), Leaf::Dir)?;
    let flags = opts.flags.difference(MsFlags::MS_REMOUNT);
    let tree = match sys.new_mount(fstype, &opts.data, flags) {
        Ok(t) => t,
        // Inside a user namespace without its own network namespace the kernel refuses
        // a new sysfs; bind the host's instead (runc does the same).
        Err(e) if e.raw_os_error() == Some(libc::EPERM) && fstype == "sysfs" && cx.in_userns => {
            super::fdmount::clone_tree(sys, Path::new("/sys"))
                .map_err(|e| Error::os("bind-mounting /sys", e))?
        }
        Err(e) => return Err(Error::os(format!("mounting {fstype}"), e)),
    };
    super::fdmount::attach_at(sys, &tree, target.as_fd())
        .map_err(|e| Error::os(format!("attaching {fstype}"), e))?;
    propagate(sys, root, m.destination(), opts)?;
    Ok(tree)
}

/// procfs and sysfs go only on an ordinary directory reached without a symlink: an image
/// whose /proc is a symlink would get procfs mounted wherever it points, and the runtime's
/// later writes under /proc (masks, sysctls, LSM labels) would land elsewhere (the
/// CVE-2019-16884 and CVE-2023-28642 class). A missing directory is created.
fn ordinary_directory(root: &OwnedFd, dest: &Path, fstype: &str) -> Result<()> {
    let refuse = || {
        Error::invalid(format!(
            "filesystem {fstype:?} must be mounted on an ordinary directory, and {} is not one",
            dest.display()
        ))
    };
    let rel: PathBuf = dest
        .components()
        .filter(|c| matches!(c, std::path::Component::Normal(_)))
        .collect();
    if rel.as_os_str().is_empty() {
        return Err(refuse());
    }
    let how = rustix::fs::ResolveFlags::BENEATH
        | rustix::fs::ResolveFlags::NO_SYMLINKS
        | rustix::fs::ResolveFlags::NO_MAGICLINKS;
    let flags =
        rustix::fs::OFlags::PATH | rustix::fs::OFlags::CLOEXEC | rustix::fs::OFlags::NOFOLLOW;
    match rustix::fs::openat2(root, &rel, flags, rustix::fs::Mode::empty(), how) {
        Ok(fd) => match super::fdmount::is_dir(fd.as_fd()) {
            Ok(true) => Ok(()),
            _ => Err(refuse()),
        },
        // Missing: the parent must be an ordinary path too; ensure_in_root makes the rest.
        Err(rustix::io::Errno::NOENT) => match rel.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => {
                ordinary_directory(root, &Path::new("/").join(parent), fstype)
            }
            _ => Ok(()),
        },
        Err(_) => Err(refuse()),
    }
}

fn propagate<S: Syscall>(sys: &S, root: &OwnedFd, dest: &Path, opts: &MountOptions) -> Result<()> {
    if opts.propagation.is_empty() {
        return Ok(());
    }
    let target = open_in_root(root.as_fd(), dest, libc::O_PATH)
        .map_err(|e| Error::os("reopening the mount point", e))?;
    for p in &opts.propagation {
        sys.mount(NO_SOURCE, &fd_path(&target), NONE, *p, NONE)
            .ctx(|| "changing mount propagation".into())?;
    }
    Ok(())
}

/// A "cgroup" mount: on v2 the container's cgroup (cgroup2 in a cgroup namespace, else
/// a bind of its directory); on v1 a tmpfs holding a bind of each of the container's
/// hierarchy directories, read-only if asked.
fn mount_cgroup<S: Syscall>(
    sys: &S,
    root: &OwnedFd,
    dest: &Path,
    opts: &MountOptions,
    cx: &RootfsContext,
) -> Result<()> {
    let target = ensure_in_root(root.as_fd(), dest, Leaf::Dir)?;
    let ro = opts.flags.contains(MsFlags::MS_RDONLY);
    let base = opts.flags
        & (MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC | MsFlags::MS_RELATIME);
    if cx.unified_cgroup {
        if cx.cgroupns {
            match sys.mount(
                Some(Path::new("cgroup2")),
                &fd_path(&target),
                Some("cgroup2"),
                opts.flags,
                NONE,
            ) {
                // A user namespace may be refused a fresh cgroup2 (EPERM, or EBUSY on
                // some kernels): fall back to a bind below, as runc does.
                Err(nix::errno::Errno::EPERM | nix::errno::Errno::EBUSY) => {}
                r => return r.ctx(|| "mounting cgroup2".into()),
            }
        }
        drop(target);
        // The container's cgroup; rootless without one of its own (no delegated
        // subtree), the host's tree, as runc shows it.
        let dir = cx
            .cgroup_dirs
            .first()
            .map(PathBuf::as_path)
            .unwrap_or(Path::new(crate::cgroups::DEFAULT_MOUNT));
        return bind_ro(sys, root, dir, dest, base, ro);
    }
    let data = match cx.mount_label {
        Some(label) => format!("mode=755,{}", super::selinux::context_option(label)),
        None => "mode=755".to_owned(),
    };
    sys.mount(
        Some(Path::new("tmpfs")),
        &fd_path(&target),
        Some("tmpfs"),
        base,
        Some(data.as_str()),
    )
    .ctx(|| "mounting the tmpfs for cgroup hierarchies".into())?;
    drop(target);
    for dir in cx.cgroup_dirs {
        // /sys/fs/cgroup/<hierarchy>/<path...>: the hierarchy's directory name.
        let Some(name) = dir
            .strip_prefix(crate::cgroups::DEFAULT_MOUNT)
            .ok()
            .and_then(|rest| rest.components().next())
        else {
            continue;
        };
        bind_ro(sys, root, dir, &dest.join(name.as_os_str()), base, ro)?;
    }
    if ro {
        let t = open_in_root(root.as_fd(), dest, libc::O_PATH)
            .map_err(|e| Error::os("reopening", e))?;
        sys.mount(
            NO_SOURCE,
            &fd_path(&t),
            NONE,
            MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY | base,
            NONE,
        )
        .ctx(|| "making the cgroup tmpfs read-only".into())?;
    }
    Ok(())
}

fn bind_ro<S: Syscall>(
    sys: &S,
    root: &OwnedFd,
    src: &Path,
    dest: &Path,
    base: MsFlags,
    ro: bool,
) -> Result<()> {
    let t = ensure_in_root(root.as_fd(), dest, Leaf::Dir)?;
    sys.mount(
        Some(src),
        &fd_path(&t),
        NONE,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        NONE,
    )
    .ctx(|| format!("bind-mounting {}", src.display()))?;
    // Re-open: the old fd names the covered directory, not the new mount.
    let t = open_in_root(root.as_fd(), dest, libc::O_PATH)
        .map_err(|e| Error::os("reopening the mount point", e))?;
    let target = fd_path(&t);
    let mut flags = MsFlags::MS_BIND | MsFlags::MS_REMOUNT | base | locked_flags(&target);
    if ro {
        flags |= MsFlags::MS_RDONLY;
    }
    sys.mount(NO_SOURCE, &target, NONE, flags, NONE)
        .ctx(|| format!("remounting {}", src.display()))
}

/// Makes the rootfs the root: pivot_root, or with --no-pivot MS_MOVE + chroot.
pub fn enter<S: Syscall>(sys: &S, rootfs: &Path, no_pivot: bool) -> Result<()> {
    if no_pivot {
        sys.chdir(rootfs).ctx(|| "chdir to the rootfs".into())?;
        sys.mount(
            Some(Path::new(".")),
            Path::new("/"),
            NONE,
            MsFlags::MS_MOVE,
            NONE,
        )
        .ctx(|| "moving the rootfs to /".into())?;
        sys.chroot(Path::new(".")).ctx(|| "chroot".into())?;
        return sys.chdir(Path::new("/")).ctx(|| "chdir /".into());
    }
    let old = fs::File::open("/").map_err(|e| Error::os("opening /", e))?;
    let new = fs::File::open(rootfs).map_err(|e| Error::path("opening", rootfs, e))?;
    sys.fchdir(new.as_fd())
        .ctx(|| "chdir to the rootfs".into())?;
    // pivot_root(".", "."): the old root ends up stacked under the new one at "/".
    sys.pivot_root(Path::new("."), Path::new("."))
        .ctx(|| "pivot_root".into())?;
    sys.fchdir(old.as_fd())
        .ctx(|| "fchdir to the old root".into())?;
    // Keep the unmount of the old root from propagating to the host.
    sys.mount(
        NO_SOURCE,
        Path::new("."),
        NONE,
        MsFlags::MS_SLAVE | MsFlags::MS_REC,
        NONE,
    )
    .ctx(|| "making the old root a slave".into())?;
    sys.umount2(Path::new("."), MntFlags::MNT_DETACH)
        .ctx(|| "detaching the old root".into())?;
    sys.chdir(Path::new("/")).ctx(|| "chdir /".into())
}

/// maskedPaths: the null device over files, an empty read-only tmpfs over directories.
/// Called after readonlyPaths (as runc), with the container's root as "/". Every mount is
/// made between open fds: the target is resolved inside the root, and the null device is
/// the container's /dev/null only once fstat on its fd shows char 1:3 (an image whose
/// /dev/null is a symlink into /proc/sys would otherwise turn a masked file into a kernel
/// knob the container can write: the CVE-2025-31133 class).
/// A masked directory's tmpfs carries `label` (linux.mountLabel) where SELinux applies it.
pub fn mask_paths<S: Syscall>(
    sys: &S,
    paths: &[String],
    kept: &KeptRoots,
    label: Option<&str>,
) -> Result<()> {
    if paths.is_empty() {
        return Ok(());
    }
    let root =
        super::resolve::current_root().map_err(|e| Error::os("maskedPaths: opening /", e))?;
    let mut null: Option<OwnedFd> = None;
    for p in paths {
        let target = match open_target(kept, &root, Path::new(p)) {
            Ok(fd) => fd,
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => continue,
            Err(e) => return Err(Error::os(format!("maskedPaths: opening {p}"), e)),
        };
        let is_dir = super::fdmount::is_dir(target.as_fd())
            .map_err(|e| Error::os(format!("maskedPaths: stat {p}"), e))?;
        let r = if is_dir {
            super::fdmount::empty_readonly_tmpfs(sys, target.as_fd(), label)
        } else {
            if null.is_none() {
                null = Some(container_null(&root)?);
            }
            let src = null
                .as_ref()
                .map(|n| n.as_fd())
                .ok_or_else(|| Error::other("no null device"))?;
            super::fdmount::bind(sys, src, target.as_fd())
        };
        r.map_err(|e| Error::os(format!("maskedPaths: masking {p}"), e))?;
    }
    Ok(())
}

/// The container's /dev/null, opened without following a symlink and checked to be the
/// null device.
fn container_null(root: &OwnedFd) -> Result<OwnedFd> {
    let fd = open_in_root(
        root.as_fd(),
        Path::new("/dev/null"),
        libc::O_PATH | libc::O_NOFOLLOW,
    )
    .map_err(|e| Error::os("maskedPaths: opening /dev/null", e))?;
    if !super::fdmount::is_char_device(fd.as_fd(), 1, 3) {
        return Err(Error::other(
            "maskedPaths: /dev/null in the container is not the null device (char 1:3)",
        ));
    }
    Ok(fd)
}

/// readonlyPaths: bind each onto itself read-only (with the mounts below it). Each path is
/// resolved inside the container's root, or beneath a kept procfs/sysfs root (a symlink in
/// the image cannot point it elsewhere), and mounted by fd: this runs after pivot_root, when
/// the container's `/proc` is no longer ours to trust, so not even `/proc/self/fd/N` is used.
pub fn readonly_paths<S: Syscall>(sys: &S, paths: &[String], kept: &KeptRoots) -> Result<()> {
    if paths.is_empty() {
        return Ok(());
    }
    let root =
        super::resolve::current_root().map_err(|e| Error::os("readonlyPaths: opening /", e))?;
    for p in paths {
        let path = Path::new(p);
        let target = match open_target(kept, &root, path) {
            Ok(fd) => fd,
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => continue,
            Err(e) => return Err(Error::os(format!("readonlyPaths: opening {p}"), e)),
        };
        super::fdmount::readonly_bind(sys, target.as_fd())
            .map_err(|e| Error::os(format!("readonlyPaths: binding {p} read-only"), e))?;
    }
    Ok(())
}

/// root.readonly: remount / read-only.
/// A tmpfs on /dev.
fn is_dev_tmpfs(m: &Mount) -> bool {
    m.destination() == Path::new("/dev") && m.typ().as_deref() == Some("tmpfs")
}

/// Whether config.json's /dev (the last mount there) is a tmpfs asked to be read-only. It is
/// mounted writable, filled with its nodes and links, and then made read-only by
/// [`readonly_dev`], as runc does.
pub fn dev_wants_readonly(mounts: &[PlannedMount]) -> bool {
    mounts
        .iter()
        .rev()
        .find(|m| m.mount.destination() == Path::new("/dev"))
        .is_some_and(|m| is_dev_tmpfs(&m.mount) && m.opts.flags.contains(MsFlags::MS_RDONLY))
}

/// Makes the populated /dev tmpfs read-only: that mount alone, so /dev/pts, /dev/shm and
/// /dev/mqueue below it stay as they were mounted.
pub fn readonly_dev<S: Syscall>(sys: &S, root: &OwnedFd) -> Result<()> {
    let t = open_in_root(root.as_fd(), Path::new("/dev"), libc::O_PATH)
        .map_err(|e| Error::os("reopening /dev", e))?;
    let target = fd_path(&t);
    let flags = MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY | locked_flags(&target);
    sys.mount(NO_SOURCE, &target, NONE, flags, NONE)
        .ctx(|| "remounting /dev read-only".into())
}

pub fn readonly_root<S: Syscall>(sys: &S) -> Result<()> {
    let flags =
        MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY | locked_flags(Path::new("/"));
    sys.mount(NO_SOURCE, Path::new("/"), NONE, flags, NONE)
        .ctx(|| "remounting the root read-only".into())
}

/// linux.rootfsPropagation, applied to the new root once it is in place.
pub fn set_root_propagation<S: Syscall>(sys: &S, flags: MsFlags) -> Result<()> {
    sys.mount(NO_SOURCE, Path::new("/"), NONE, flags, NONE)
        .ctx(|| "linux.rootfsPropagation: setting propagation of /".into())
}
