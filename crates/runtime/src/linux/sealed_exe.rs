//! The runtime's own binary, out of reach of containers (the CVE-2019-5736 class).
//!
//! vsbx never re-executes itself to set up a container: the container's init and every `exec`
//! process are clones of the runtime, so their `/proc/PID/exe` is whatever file the runtime was
//! started from. A container can make such a process execve that file again (a symlink to
//! `/proc/self/exe`, a `#!/proc/self/exe` script, `process.args = ["/proc/self/exe"]`), which
//! then runs as an ordinary, dumpable container process; the container's root opens its
//! `/proc/PID/exe` and, once the process has exited, writes the host's binary through it.
//! Not being dumpable during setup does not help: execve resets it.
//!
//! The defence: before a command that puts a process into a container, the runtime re-executes
//! itself once from a copy of its binary that cannot be written by anyone, so the file every
//! clone carries is that copy, never the host's binary:
//!
//! 1. As real root: a read-only bind of the cache's own name for the binary under
//!    `/run/vsbx-exe` (a hard link, or a root-only copy across filesystems), made once per
//!    binary version and reused: no mount per container, and none on the binary's own path.
//! 2. Otherwise a read-only overlayfs made with the new mount API and never attached anywhere:
//!    the binary's directory as the lower layer (plus an empty detached tmpfs, because
//!    overlayfs wants two lower layers when there is no upper one). No upper layer means the
//!    superblock itself cannot be written or remounted writable, whatever the opener's
//!    privileges. It costs two mounts and an execve (about 0.1-0.3 ms), no copy.
//! 3. Where overlayfs is not available (no CAP_SYS_ADMIN, as rootless; a kernel without it), a
//!    sealed memfd copy of the binary (`F_SEAL_WRITE`, so even its own copy cannot be changed).
//!
//! A binary that already runs from such a file (after the re-exec, or one installed on a
//! read-only mount) is left as it is. A read-only mount is enough against a container that
//! lacks CAP_SYS_ADMIN in the host's user namespace; one that has it is privileged and can
//! mount the host's disks anyway.

use std::ffi::{CString, OsString};
use std::fs::File;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use rustix::fs::{fstatvfs, AtFlags, StatVfsMountFlags};
use rustix::mount::{
    fsconfig_create, fsconfig_set_string, fsmount, fsopen, FsMountFlags, FsOpenFlags,
    MountAttrFlags,
};

use crate::error::{Context, Error, Result};

/// Set in the environment of the re-executed runtime, so that a re-exec that did not give a
/// sealed binary fails instead of looping. Removed as soon as it is read.
const REEXEC_MARK: &str = "_VSBX_SEALED_EXE";

/// Set in the environment of the re-executed process to the path it was started from, which
/// its `/proc/self/exe` no longer names (see [`original_exe`]). Read and removed by `ensure`,
/// and believed only together with the re-exec mark; only ever a path for finding files that
/// belong to the installed program (vsbx's runner manifests), never something to execute.
const ORIGINAL_EXE: &str = "_VSBX_ORIGINAL_EXE";

/// The path this process was started from, recorded by `ensure` before any re-exec.
static ORIGINAL: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();

/// `VSBX_SEALED_EXE=memfd` skips the overlay and takes the memfd copy (to test that path on
/// hosts where the overlay works).
const METHOD_VAR: &str = "VSBX_SEALED_EXE";

/// How the binary this process runs from is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protection {
    /// On a read-only mount (the detached overlay of the re-exec, or a read-only install).
    ReadOnlyMount,
    /// A memfd sealed against writes.
    SealedMemfd,
}

/// What `ensure` found, so that `require` on create's path need not look again.
static CHECKED: std::sync::OnceLock<Protection> = std::sync::OnceLock::new();

/// How this process's binary is protected, or None if it could be written through
/// `/proc/PID/exe`.
pub fn protection() -> Result<Option<Protection>> {
    let exe = File::open("/proc/self/exe").ctx(|| "open /proc/self/exe".into())?;
    protection_of(&exe)
}

fn protection_of(exe: &File) -> Result<Option<Protection>> {
    if let Ok(seals) = rustix::fs::fcntl_get_seals(exe) {
        use rustix::fs::SealFlags;
        let sizes = SealFlags::SHRINK | SealFlags::GROW;
        // F_SEAL_FUTURE_WRITE stands in for F_SEAL_WRITE where that was busy (memfd_image).
        if seals.contains(sizes) && seals.intersects(SealFlags::WRITE | SealFlags::FUTURE_WRITE) {
            return Ok(Some(Protection::SealedMemfd));
        }
    }
    let vfs = fstatvfs(exe).map_err(|e| Error::os("statvfs /proc/self/exe", e.into()))?;
    if vfs.f_flag.contains(StatVfsMountFlags::RDONLY) {
        return Ok(Some(Protection::ReadOnlyMount));
    }
    Ok(None)
}

/// Fails unless this process runs from a binary no container can write: the library's entry
/// points that put a process into a container call it, so an embedder that forgot
/// [`ensure`] gets an error instead of an open door.
pub fn require() -> Result<Protection> {
    if let Some(p) = CHECKED.get() {
        return Ok(*p);
    }
    protection()?.ok_or_else(|| {
        Error::other(
            "this process runs from a writable binary, which a container could overwrite: \
             call vsbx_runtime::sealed_exe::ensure() at the start of main",
        )
    })
}

/// Makes sure this process runs from a binary no container can write: returns if it already
/// does; otherwise re-executes the process, with the same arguments and environment, from a
/// protected copy (and does not return). Call it before anything else that has effects, with
/// a single thread.
pub fn ensure() -> Result<Protection> {
    let reexeced = std::env::var_os(REEXEC_MARK).is_some();
    let passed = std::env::var_os(ORIGINAL_EXE);
    // SAFETY-free: the process is single-threaded here (called first thing in main), so
    // nothing reads the environment concurrently.
    std::env::remove_var(REEXEC_MARK);
    std::env::remove_var(ORIGINAL_EXE);
    let original = match passed {
        Some(p) if reexeced && Path::new(&p).is_absolute() => Some(PathBuf::from(p)),
        _ if reexeced => None,
        _ => exe_path(),
    };
    let _ = ORIGINAL.set(original);
    let exe = File::open("/proc/self/exe").ctx(|| "open /proc/self/exe".into())?;
    if let Some(p) = protection_of(&exe)? {
        // The binary a process runs from cannot change: remember the answer for require().
        let _ = CHECKED.set(p);
        return Ok(p);
    }
    if reexeced {
        return Err(Error::other(
            "the runtime re-executed itself from a protected copy of its binary, but the copy is writable",
        ));
    }
    let image = protected_image(&exe)?;
    drop(exe);
    reexec(&image)
}

/// The path of the binary this program was started from: before [`ensure`]'s re-exec, the
/// target of `/proc/self/exe`; after it (when `/proc/self/exe` names the protected copy), the
/// path the first process recorded. None if the binary was deleted or replaced meanwhile.
/// Without a call to `ensure`, the current `/proc/self/exe`.
pub fn original_exe() -> Option<PathBuf> {
    match ORIGINAL.get() {
        Some(p) => p.clone(),
        None => exe_path(),
    }
}

/// An fd of a copy of the binary behind `exe` that cannot be written.
fn protected_image(exe: &File) -> Result<OwnedFd> {
    let method = std::env::var(METHOD_VAR).unwrap_or_default();
    if method.is_empty() && may_keep_mounts() {
        if let Ok(fd) = cached_image(exe, Path::new(CACHE_DIR)) {
            return Ok(fd);
        }
    }
    if method != "memfd" {
        if let Some(fd) = exe_path().and_then(|p| overlay_image(&p).ok()) {
            return Ok(fd);
        }
    }
    memfd_image(exe)
}

/// Where root keeps the read-only binds of its binaries (one per binary version).
const CACHE_DIR: &str = "/run/vsbx-exe";

/// At most this many versions are kept bound; the oldest go first.
const CACHE_KEEP: usize = 8;

/// Only real root keeps binds in the host's mount namespace: in a user namespace it did not
/// make (rootless podman), the mounts would belong to that namespace's owner.
fn may_keep_mounts() -> bool {
    rustix::process::geteuid().is_root() && !crate::rootless::in_user_namespace()
}

/// The binary through a read-only bind mount of the cache's own name for it under `cache`,
/// made by the first runtime of this binary version and reused by every later one: no mount
/// per container. A read-only mount cannot be written through `/proc/PID/exe` (EROFS), and a
/// container cannot remount the host's mounts.
///
/// The name is a hard link to the binary where the cache shares its filesystem, else a copy;
/// never the binary's own path, so that no mount pins the installed file: cargo, package
/// managers and `make install` replace it freely, on whatever filesystem it lives.
fn cached_image(exe: &File, cache: &Path) -> Result<OwnedFd> {
    let st = rustix::fs::fstat(exe).map_err(|e| Error::os("fstat the binary", e.into()))?;
    let key = format!(
        "{:x}-{:x}-{}.{}",
        st.st_dev, st.st_ino, st.st_mtime, st.st_mtime_nsec
    );
    let target = cache.join(&key);
    if let Ok(fd) = open_bound(&target, &st) {
        return Ok(fd);
    }
    root_only_dir(cache)?;
    prune(cache, CACHE_KEEP - 1);
    // Made under a name of its own and renamed into place: a leftover of a killed runtime is
    // replaced, and a name another runtime has bound meanwhile cannot be (EBUSY), so that one
    // is used instead.
    let tmp = cache.join(format!(".{key}.{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    let name = |e: std::io::Error| Error::path("cannot create", &tmp, e);
    let linked = rustix::fs::linkat(exe, "", rustix::fs::CWD, &tmp, AtFlags::EMPTY_PATH);
    if linked.is_err() {
        copy_binary(exe, &tmp).map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            name(e)
        })?;
    }
    if let Err(e) = std::fs::rename(&tmp, &target) {
        let _ = std::fs::remove_file(&tmp);
        return open_bound(&target, &st).map_err(|_| Error::path("cannot create", &target, e));
    }
    let os = |what: &str, e: rustix::io::Errno| Error::os(what.to_string(), e.into());
    rustix::mount::mount_bind(&target, &target).map_err(|e| os("bind the binary", e))?;
    rustix::mount::mount_remount(
        &target,
        rustix::mount::MountFlags::BIND
            | rustix::mount::MountFlags::RDONLY
            | rustix::mount::MountFlags::NOSUID
            | rustix::mount::MountFlags::NODEV,
        "",
    )
    .map_err(|e| {
        let _ = rustix::mount::unmount(&target, rustix::mount::UnmountFlags::DETACH);
        os("make the bind of the binary read-only", e)
    })?;
    open_bound(&target, &st)
}

/// `dir`, made if missing, as a directory only root can enter; refused if it is anything else
/// (a symlink, or owned by another user, who could swap the binary under it).
fn root_only_dir(dir: &Path) -> Result<()> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
    match std::fs::DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(Error::path("cannot create", dir, e)),
    }
    let m = std::fs::symlink_metadata(dir).map_err(|e| Error::path("cannot stat", dir, e))?;
    if !m.is_dir() || m.uid() != 0 {
        return Err(Error::other(format!(
            "{} is not a directory owned by root",
            dir.display()
        )));
    }
    if m.mode() & 0o077 != 0 {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| Error::path("cannot chmod", dir, e))?;
    }
    Ok(())
}

/// A copy of the binary at `to`, readable and executable by root only.
fn copy_binary(exe: &File, to: &Path) -> std::io::Result<()> {
    use std::io::{Seek, SeekFrom};
    let mut out = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o500)
        .open(to)?;
    let mut src = exe;
    src.seek(SeekFrom::Start(0))?;
    std::io::copy(&mut src, &mut out)?;
    Ok(())
}

/// `target` opened, if it is this binary (`st`) on a read-only mount: the same inode (a hard
/// link), or a root-only copy of the same size in the root-only cache.
fn open_bound(target: &Path, st: &rustix::fs::Stat) -> Result<OwnedFd> {
    use rustix::fs::{Mode, OFlags};
    let fd = rustix::fs::open(
        target,
        OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| Error::os("open the bound binary", e.into()))?;
    let got = rustix::fs::fstat(&fd).map_err(|e| Error::os("fstat", e.into()))?;
    let vfs = fstatvfs(&fd).map_err(|e| Error::os("statvfs", e.into()))?;
    let same = (got.st_dev, got.st_ino) == (st.st_dev, st.st_ino);
    let copy = rustix::fs::FileType::from_raw_mode(got.st_mode)
        == rustix::fs::FileType::RegularFile
        && got.st_uid == 0
        && got.st_mode & 0o7222 == 0
        && got.st_size == st.st_size;
    if !(same || copy) || !vfs.f_flag.contains(StatVfsMountFlags::RDONLY) {
        return Err(Error::other("not a read-only bind of this binary"));
    }
    Ok(fd)
}

/// Detaches and removes the oldest entries of `cache` (by the time they were cached) until at
/// most `keep` are left, and names a killed runtime was making more than a minute ago.
/// Processes running from a detached bind keep it until they exit.
fn prune(cache: &Path, keep: usize) {
    use std::os::unix::fs::MetadataExt;
    let Ok(dir) = std::fs::read_dir(cache) else {
        return;
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let mut entries = Vec::new();
    for e in dir.flatten() {
        let Ok(m) = e.metadata() else { continue };
        if e.file_name().as_bytes().starts_with(b".") {
            if now - m.ctime() > 60 {
                let _ = std::fs::remove_file(e.path());
            }
            continue;
        }
        entries.push(((m.ctime(), m.ctime_nsec()), e.path()));
    }
    if entries.len() <= keep {
        return;
    }
    entries.sort();
    for (_, p) in &entries[..entries.len() - keep] {
        while rustix::mount::unmount(p, rustix::mount::UnmountFlags::DETACH).is_ok() {}
        let _ = std::fs::remove_file(p);
    }
}

/// The path of the binary, unless it was deleted or replaced since we started.
fn exe_path() -> Option<PathBuf> {
    let link = std::fs::read_link("/proc/self/exe").ok()?;
    if link.as_os_str().as_bytes().ends_with(b" (deleted)") {
        return None;
    }
    Some(link)
}

/// Opens `path` through a detached, read-only overlayfs whose lower layer is its directory.
fn overlay_image(path: &Path) -> Result<OwnedFd> {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return Err(Error::other("the binary's path has no directory"));
    };
    let os = |what: &str, e: rustix::io::Errno| Error::os(what.to_string(), e.into());
    let rdonly = MountAttrFlags::MOUNT_ATTR_RDONLY
        | MountAttrFlags::MOUNT_ATTR_NODEV
        | MountAttrFlags::MOUNT_ATTR_NOSUID;
    // overlayfs without an upper layer wants at least two lower layers: the second is an
    // empty tmpfs, reachable only through its fd.
    let tmpfs = fsopen("tmpfs", FsOpenFlags::FSOPEN_CLOEXEC).map_err(|e| os("fsopen tmpfs", e))?;
    fsconfig_create(&tmpfs).map_err(|e| os("create tmpfs", e))?;
    let empty = fsmount(&tmpfs, FsMountFlags::FSMOUNT_CLOEXEC, rdonly)
        .map_err(|e| os("fsmount tmpfs", e))?;
    let overlay =
        fsopen("overlay", FsOpenFlags::FSOPEN_CLOEXEC).map_err(|e| os("fsopen overlay", e))?;
    let mut lower = dir.as_os_str().to_owned();
    lower.push(format!(":/proc/self/fd/{}", raw(&empty)));
    // ':' and ',' separate layers and options: a directory containing them cannot be named.
    if dir
        .as_os_str()
        .as_bytes()
        .iter()
        .any(|b| matches!(b, b':' | b',' | b'\\'))
    {
        return Err(Error::other(
            "the binary's directory name cannot be an overlay layer",
        ));
    }
    fsconfig_set_string(&overlay, "lowerdir", lower.as_os_str())
        .map_err(|e| os("overlay lowerdir", e))?;
    fsconfig_create(&overlay).map_err(|e| os("create overlay", e))?;
    let mnt = fsmount(&overlay, FsMountFlags::FSMOUNT_CLOEXEC, rdonly)
        .map_err(|e| os("fsmount overlay", e))?;
    let file = rustix::fs::openat(
        &mnt,
        name,
        rustix::fs::OFlags::PATH | rustix::fs::OFlags::CLOEXEC | rustix::fs::OFlags::NOFOLLOW,
        rustix::fs::Mode::empty(),
    )
    .map_err(|e| os("open the binary in the overlay", e))?;
    Ok(file)
}

/// A sealed memfd holding a copy of the binary.
fn memfd_image(exe: &File) -> Result<OwnedFd> {
    use rustix::fs::{MemfdFlags, SealFlags};
    let flags = MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING;
    // MFD_EXEC (6.3+) keeps the memfd executable where vm.memfd_noexec asks for the opposite
    // by default; older kernels reject the flag.
    let fd = rustix::fs::memfd_create("vsbx-runtime", flags | MemfdFlags::EXEC)
        .or_else(|_| rustix::fs::memfd_create("vsbx-runtime", flags))
        .map_err(|e| Error::os("memfd_create", e.into()))?;
    let mut copy = File::from(fd);
    let mut src = exe;
    std::io::Seek::seek(&mut src, std::io::SeekFrom::Start(0))
        .ctx(|| "rewind the binary".into())?;
    std::io::copy(&mut src, &mut copy).ctx(|| "copy the binary into a memfd".into())?;
    let seals = SealFlags::SEAL | SealFlags::SHRINK | SealFlags::GROW;
    // F_SEAL_WRITE fails with EBUSY (and adds no seal) while a page of the file still has a
    // reference besides the page cache's, which a fresh copy can have for a moment on a
    // busy machine. Nothing maps the copy, so F_SEAL_FUTURE_WRITE, which refuses every later
    // write, hole punch and writable mapping without that wait, protects it as well.
    match rustix::fs::fcntl_add_seals(&copy, seals | SealFlags::WRITE) {
        Err(rustix::io::Errno::BUSY) => {
            rustix::fs::fcntl_add_seals(&copy, seals | SealFlags::FUTURE_WRITE)
        }
        r => r,
    }
    .map_err(|e| Error::os("seal the memfd", e.into()))?;
    Ok(copy.into())
}

fn raw(fd: &impl AsFd) -> i32 {
    use std::os::fd::AsRawFd;
    fd.as_fd().as_raw_fd()
}

fn cstrings(items: impl Iterator<Item = OsString>) -> Result<Vec<CString>> {
    items
        .map(|s| {
            CString::new(s.as_bytes())
                .map_err(|_| Error::invalid("an argument or variable contains a NUL byte"))
        })
        .collect()
}

/// execveat(image, "", argv, envp + mark, AT_EMPTY_PATH); returns only on failure.
fn reexec(image: &OwnedFd) -> Result<Protection> {
    let argv = cstrings(std::env::args_os())?;
    let mut env: Vec<OsString> = std::env::vars_os()
        .map(|(k, v)| {
            let mut kv = k;
            kv.push("=");
            kv.push(v);
            kv
        })
        .collect();
    env.push(OsString::from(format!("{REEXEC_MARK}=1")));
    if let Some(Some(path)) = ORIGINAL.get() {
        let mut kv = OsString::from(format!("{ORIGINAL_EXE}="));
        kv.push(path);
        env.push(kv);
    }
    let envp = cstrings(env.into_iter())?;
    let Err(err) = nix::unistd::execveat(
        Some(raw(image)),
        c"",
        &argv,
        &envp,
        nix::fcntl::AtFlags::AT_EMPTY_PATH,
    );
    Err(Error::errno(
        "re-execute the runtime from a protected copy of its binary",
        err,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_file_on_a_writable_mount_is_unprotected() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bin");
        std::fs::write(&p, b"x").unwrap();
        let f = File::open(&p).unwrap();
        // /tmp may be read-only on odd hosts; the check must agree with statvfs.
        let ro = fstatvfs(&f)
            .unwrap()
            .f_flag
            .contains(StatVfsMountFlags::RDONLY);
        assert_eq!(protection_of(&f).unwrap().is_some(), ro);
    }

    /// Root only (the unprivileged unit run cannot mount): says so instead of passing.
    #[test]
    fn the_cached_bind_is_read_only_reused_and_pruned() {
        if !may_keep_mounts() {
            eprintln!("skipped: needs real root to bind mount");
            return;
        }
        let tmp = tempfile::tempdir().unwrap();
        // The cache on the binary's filesystem: a hard link, the very inode.
        let (cached, source) = cache_one(tmp.path(), &tmp.path().join("cache"));
        assert_eq!(cached, source, "a hard link where the filesystem is shared");
    }

    /// As above with the cache on a filesystem of its own (a tmpfs, as /run usually is): a copy.
    #[test]
    fn the_cache_on_another_filesystem_holds_a_root_only_copy() {
        if !may_keep_mounts() {
            eprintln!("skipped: needs real root to mount");
            return;
        }
        let tmp = tempfile::tempdir().unwrap();
        let cache = tmp.path().join("cache");
        std::fs::create_dir(&cache).unwrap();
        rustix::mount::mount(
            "tmpfs",
            &cache,
            "tmpfs",
            rustix::mount::MountFlags::empty(),
            None,
        )
        .unwrap();
        let (cached, source) = cache_one(tmp.path(), &cache.join("sub"));
        let _ = rustix::mount::unmount(&cache, rustix::mount::UnmountFlags::DETACH);
        assert_ne!(cached.0, source.0, "a copy on the cache's own filesystem");
    }

    /// Caches a copy of this test binary placed in `dir`, checks what the cache must hold, and
    /// returns the (dev, ino) of the cached file and of the source.
    fn cache_one(dir: &Path, cache: &Path) -> ((u64, u64), (u64, u64)) {
        use std::io::{Read, Write};
        let bin = dir.join("bin");
        std::fs::copy("/proc/self/exe", &bin).unwrap();
        let exe = File::open(&bin).unwrap();
        let fd = cached_image(&exe, cache).unwrap();
        // Mounts at or below the cache only: the tests run on threads, and another test's
        // mounts elsewhere must not change the count.
        let mounts = || {
            std::fs::read_to_string("/proc/self/mountinfo")
                .unwrap()
                .lines()
                .filter(|l| {
                    l.split(' ')
                        .nth(4)
                        .is_some_and(|m| Path::new(m).starts_with(cache))
                })
                .count()
        };
        let before = mounts();
        let again = cached_image(&exe, cache).unwrap();
        assert_eq!(
            mounts(),
            before,
            "the second runtime of a version mounts nothing"
        );
        let dir_mode = std::fs::symlink_metadata(cache).unwrap();
        assert_eq!(
            std::os::unix::fs::PermissionsExt::mode(&dir_mode.permissions()) & 0o777,
            0o700
        );
        for f in [&fd, &again] {
            let mut w = std::fs::OpenOptions::new()
                .write(true)
                .open(format!("/proc/self/fd/{}", raw(f)));
            let err = w
                .as_mut()
                .map(|w| w.write_all(b"x"))
                .err()
                .map(|e| e.raw_os_error());
            assert_eq!(
                err,
                Some(Some(libc::EROFS)),
                "the bound binary took a write"
            );
        }
        let mut content = Vec::new();
        File::open(format!("/proc/self/fd/{}", raw(&fd)))
            .unwrap()
            .read_to_end(&mut content)
            .unwrap();
        assert_eq!(
            content,
            std::fs::read(&bin).unwrap(),
            "the cache holds the binary"
        );
        // A file that is not the binary at the expected place is not trusted.
        let other = dir.join("other");
        std::fs::write(&other, b"y").unwrap();
        let st = rustix::fs::fstat(&exe).unwrap();
        assert!(open_bound(&other, &st).is_err());
        // The binary's own path is no mount point: it can be replaced while cached.
        std::fs::remove_file(&bin).unwrap();
        std::fs::write(&bin, b"new version").unwrap();
        let ids = |f: &OwnedFd| {
            let s = rustix::fs::fstat(f).unwrap();
            (s.st_dev, s.st_ino)
        };
        let result = (ids(&fd), (st.st_dev, st.st_ino));
        drop((fd, again));
        prune(cache, 0);
        assert_eq!(std::fs::read_dir(cache).unwrap().count(), 0);
        assert_eq!(mounts(), before - 1, "pruning detached the bind");
        result
    }

    #[test]
    fn a_sealed_memfd_is_protected_and_cannot_be_written() {
        use std::io::Write;
        let exe = File::open("/proc/self/exe").unwrap();
        let fd = memfd_image(&exe).unwrap();
        let f = File::from(fd);
        assert_eq!(protection_of(&f).unwrap(), Some(Protection::SealedMemfd));
        let mut w = std::fs::OpenOptions::new()
            .write(true)
            .open(format!("/proc/self/fd/{}", raw(&f)))
            .unwrap();
        assert!(
            w.write_all(b"overwrite").is_err(),
            "a sealed memfd took a write"
        );
    }
}
