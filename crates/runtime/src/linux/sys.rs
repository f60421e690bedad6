//! The seam between the container init's setup sequence and the kernel.
//!
//! Every effectful call whose order the init's security depends on (mounts, pivot_root,
//! namespaces, device nodes, identity, capabilities, no_new_privs, seccomp, the fd sweep)
//! goes through [`Syscall`]. The runtime uses [`Host`], a zero-sized type whose methods are
//! the very nix / rustix calls the code made before the seam existed: the functions taking
//! it are generic over it, so the real path is monomorphised and inlined, with no dynamic
//! dispatch and no allocation added. Unit tests use `fake::Recorder`, which writes each call
//! and its arguments down and answers Ok (or an error it was told to give), so the order
//! rules can be checked without root.

use std::collections::HashSet;
use std::convert::Infallible;
use std::ffi::{CStr, CString};
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::path::Path;

use caps::errors::CapsError;
use caps::{CapSet, Capability};
use nix::mount::{MntFlags, MsFlags};
use nix::sched::CloneFlags;

use super::mount_opts::TreeAttrs;
use nix::sys::resource::Resource;
use nix::sys::stat::{Mode, SFlag};
use nix::unistd::{Gid, Uid};

use super::procfs::ProcRoot;
use super::seccomp::Filters;
use crate::error::Result;

/// The effectful calls of the init's setup, in the shape its code uses them.
pub trait Syscall {
    // Mounts by path (mount(2) and friends).
    fn mount(
        &self,
        source: Option<&Path>,
        target: &Path,
        fstype: Option<&str>,
        flags: MsFlags,
        data: Option<&str>,
    ) -> nix::Result<()>;
    fn umount2(&self, target: &Path, flags: MntFlags) -> nix::Result<()>;
    fn pivot_root(&self, new_root: &Path, put_old: &Path) -> nix::Result<()>;
    fn chdir(&self, path: &Path) -> nix::Result<()>;
    fn fchdir(&self, dir: BorrowedFd<'_>) -> nix::Result<()>;
    fn chroot(&self, path: &Path) -> nix::Result<()>;

    // Mounts by fd (the new mount API).
    /// open_tree(fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH [| AT_RECURSIVE]).
    fn clone_fd_tree(&self, src: BorrowedFd<'_>, recursive: bool) -> io::Result<OwnedFd>;
    /// open_tree(AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE).
    fn clone_path_tree(&self, path: &Path) -> io::Result<OwnedFd>;
    /// move_mount(tree, "", target, "", F_EMPTY_PATH | T_EMPTY_PATH).
    fn move_mount(&self, tree: BorrowedFd<'_>, target: BorrowedFd<'_>) -> io::Result<()>;
    /// mount_setattr(tree, "", AT_EMPTY_PATH | AT_RECURSIVE, {attr_set, attr_clr}): the
    /// attributes of the mount open as `tree` and of every mount below it.
    fn set_tree_attrs(&self, tree: BorrowedFd<'_>, attrs: TreeAttrs) -> io::Result<()>;
    /// fsopen, fsconfig (each of `data`, then the superblock flags), fsconfig_create,
    /// fsmount with `flags` as mount attributes: a new detached mount.
    fn new_mount(&self, fstype: &str, data: &[String], flags: MsFlags) -> io::Result<OwnedFd>;

    // Namespaces.
    fn setns(&self, ns: BorrowedFd<'_>, flag: CloneFlags) -> nix::Result<()>;
    fn unshare(&self, flags: CloneFlags) -> nix::Result<()>;

    // Nodes in the rootfs.
    fn mknodat(
        &self,
        dir: BorrowedFd<'_>,
        name: &CStr,
        kind: SFlag,
        perm: Mode,
        dev: libc::dev_t,
    ) -> nix::Result<()>;
    /// fchownat(dir, name, uid, gid, AT_SYMLINK_NOFOLLOW).
    fn fchownat_nofollow(
        &self,
        dir: BorrowedFd<'_>,
        name: &CStr,
        uid: Uid,
        gid: Gid,
    ) -> nix::Result<()>;
    fn symlinkat(&self, target: &CStr, dir: BorrowedFd<'_>, name: &CStr) -> nix::Result<()>;
    fn umask(&self, mask: Mode) -> Mode;
    /// Writes `value` to `rel` beneath the procfs root `proc` (a sysctl).
    fn write_proc(&self, proc: &ProcRoot, rel: &Path, value: &[u8]) -> io::Result<()>;

    // Names.
    fn sethostname(&self, name: &str) -> nix::Result<()>;
    fn setdomainname(&self, name: &str) -> io::Result<()>;

    // Identity and limits.
    fn setrlimit(&self, resource: Resource, soft: u64, hard: u64) -> nix::Result<()>;
    fn setgroups(&self, gids: &[Gid]) -> nix::Result<()>;
    /// setresgid(gid, gid, gid).
    fn setresgid(&self, gid: Gid) -> nix::Result<()>;
    /// setresuid(uid, uid, uid).
    fn setresuid(&self, uid: Uid) -> nix::Result<()>;

    // Capabilities and privileges.
    /// prctl(PR_CAPBSET_DROP, cap).
    fn drop_bounding_cap(&self, cap: Capability) -> io::Result<()>;
    /// prctl(PR_SET_KEEPCAPS, on).
    fn set_keepcaps(&self, on: bool) -> nix::Result<()>;
    /// capset of one of the effective, inheritable or permitted sets.
    fn set_caps(
        &self,
        which: CapSet,
        caps: &HashSet<Capability>,
    ) -> std::result::Result<(), CapsError>;
    fn clear_ambient(&self) -> std::result::Result<(), CapsError>;
    fn raise_ambient(&self, cap: Capability) -> std::result::Result<(), CapsError>;
    /// prctl(PR_SET_NO_NEW_PRIVS, 1).
    fn set_no_new_privs(&self) -> nix::Result<()>;
    fn install_seccomp(&self, filters: &Filters) -> Result<()>;

    // Descriptors.
    /// fcntl(fd, F_SETFD, 0): inheritable across execve.
    fn clear_cloexec(&self, fd: RawFd) -> nix::Result<()>;
    /// close_range(first, ~0, CLOSE_RANGE_CLOEXEC).
    fn cloexec_from(&self, first: u32) -> io::Result<()>;

    fn execve(&self, path: &CStr, args: &[CString], env: &[CString]) -> nix::Result<Infallible>;
}

/// The real kernel.
#[derive(Clone, Copy, Debug, Default)]
pub struct Host;

impl Syscall for Host {
    #[inline]
    fn mount(
        &self,
        source: Option<&Path>,
        target: &Path,
        fstype: Option<&str>,
        flags: MsFlags,
        data: Option<&str>,
    ) -> nix::Result<()> {
        nix::mount::mount(source, target, fstype, flags, data)
    }
    #[inline]
    fn umount2(&self, target: &Path, flags: MntFlags) -> nix::Result<()> {
        nix::mount::umount2(target, flags)
    }
    #[inline]
    fn pivot_root(&self, new_root: &Path, put_old: &Path) -> nix::Result<()> {
        nix::unistd::pivot_root(new_root, put_old)
    }
    #[inline]
    fn chdir(&self, path: &Path) -> nix::Result<()> {
        nix::unistd::chdir(path)
    }
    #[inline]
    fn fchdir(&self, dir: BorrowedFd<'_>) -> nix::Result<()> {
        nix::unistd::fchdir(dir.as_raw_fd())
    }
    #[inline]
    fn chroot(&self, path: &Path) -> nix::Result<()> {
        nix::unistd::chroot(path)
    }
    #[inline]
    fn clone_fd_tree(&self, src: BorrowedFd<'_>, recursive: bool) -> io::Result<OwnedFd> {
        use rustix::mount::OpenTreeFlags as F;
        let mut flags = F::OPEN_TREE_CLONE | F::OPEN_TREE_CLOEXEC | F::AT_EMPTY_PATH;
        if recursive {
            flags |= F::AT_RECURSIVE;
        }
        Ok(rustix::mount::open_tree(src, "", flags)?)
    }
    #[inline]
    fn clone_path_tree(&self, path: &Path) -> io::Result<OwnedFd> {
        use rustix::mount::OpenTreeFlags as F;
        Ok(rustix::mount::open_tree(
            rustix::fs::CWD,
            path,
            F::OPEN_TREE_CLONE | F::OPEN_TREE_CLOEXEC | F::AT_RECURSIVE,
        )?)
    }
    #[inline]
    fn move_mount(&self, tree: BorrowedFd<'_>, target: BorrowedFd<'_>) -> io::Result<()> {
        use rustix::mount::MoveMountFlags as F;
        Ok(rustix::mount::move_mount(
            tree,
            "",
            target,
            "",
            F::MOVE_MOUNT_F_EMPTY_PATH | F::MOVE_MOUNT_T_EMPTY_PATH,
        )?)
    }
    #[inline]
    fn set_tree_attrs(&self, tree: BorrowedFd<'_>, attrs: TreeAttrs) -> io::Result<()> {
        super::fdmount::set_attrs_recursive(tree, attrs)
    }
    #[inline]
    fn new_mount(&self, fstype: &str, data: &[String], flags: MsFlags) -> io::Result<OwnedFd> {
        super::fdmount::fs_new_mount(fstype, data, flags)
    }
    #[inline]
    fn setns(&self, ns: BorrowedFd<'_>, flag: CloneFlags) -> nix::Result<()> {
        nix::sched::setns(ns, flag)
    }
    #[inline]
    fn unshare(&self, flags: CloneFlags) -> nix::Result<()> {
        nix::sched::unshare(flags)
    }
    #[inline]
    fn mknodat(
        &self,
        dir: BorrowedFd<'_>,
        name: &CStr,
        kind: SFlag,
        perm: Mode,
        dev: libc::dev_t,
    ) -> nix::Result<()> {
        nix::sys::stat::mknodat(Some(dir.as_raw_fd()), name, kind, perm, dev)
    }
    #[inline]
    fn fchownat_nofollow(
        &self,
        dir: BorrowedFd<'_>,
        name: &CStr,
        uid: Uid,
        gid: Gid,
    ) -> nix::Result<()> {
        nix::unistd::fchownat(
            Some(dir.as_raw_fd()),
            name,
            Some(uid),
            Some(gid),
            nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
        )
    }
    #[inline]
    fn symlinkat(&self, target: &CStr, dir: BorrowedFd<'_>, name: &CStr) -> nix::Result<()> {
        nix::unistd::symlinkat(target, Some(dir.as_raw_fd()), name)
    }
    #[inline]
    fn umask(&self, mask: Mode) -> Mode {
        nix::sys::stat::umask(mask)
    }
    #[inline]
    fn write_proc(&self, proc: &ProcRoot, rel: &Path, value: &[u8]) -> io::Result<()> {
        proc.write(rel, value)
    }
    #[inline]
    fn sethostname(&self, name: &str) -> nix::Result<()> {
        nix::unistd::sethostname(name)
    }
    #[inline]
    fn setdomainname(&self, name: &str) -> io::Result<()> {
        Ok(rustix::system::setdomainname(name.as_bytes())?)
    }
    #[inline]
    fn setrlimit(&self, resource: Resource, soft: u64, hard: u64) -> nix::Result<()> {
        nix::sys::resource::setrlimit(resource, soft, hard)
    }
    #[inline]
    fn setgroups(&self, gids: &[Gid]) -> nix::Result<()> {
        nix::unistd::setgroups(gids)
    }
    #[inline]
    fn setresgid(&self, gid: Gid) -> nix::Result<()> {
        nix::unistd::setresgid(gid, gid, gid)
    }
    #[inline]
    fn setresuid(&self, uid: Uid) -> nix::Result<()> {
        nix::unistd::setresuid(uid, uid, uid)
    }
    #[inline]
    fn drop_bounding_cap(&self, cap: Capability) -> io::Result<()> {
        let one = rustix::thread::CapabilitySet::from_bits_retain(1u64 << cap.index());
        Ok(rustix::thread::remove_capability_from_bounding_set(one)?)
    }
    #[inline]
    fn set_keepcaps(&self, on: bool) -> nix::Result<()> {
        nix::sys::prctl::set_keepcaps(on)
    }
    #[inline]
    fn set_caps(
        &self,
        which: CapSet,
        caps: &HashSet<Capability>,
    ) -> std::result::Result<(), CapsError> {
        caps::set(None, which, caps)
    }
    #[inline]
    fn clear_ambient(&self) -> std::result::Result<(), CapsError> {
        caps::clear(None, CapSet::Ambient)
    }
    #[inline]
    fn raise_ambient(&self, cap: Capability) -> std::result::Result<(), CapsError> {
        caps::raise(None, CapSet::Ambient, cap)
    }
    #[inline]
    fn set_no_new_privs(&self) -> nix::Result<()> {
        nix::sys::prctl::set_no_new_privs()
    }
    #[inline]
    fn install_seccomp(&self, filters: &Filters) -> Result<()> {
        filters.install()
    }
    #[inline]
    fn clear_cloexec(&self, fd: RawFd) -> nix::Result<()> {
        use nix::fcntl::{fcntl, FcntlArg, FdFlag};
        fcntl(fd, FcntlArg::F_SETFD(FdFlag::empty())).map(drop)
    }
    #[inline]
    fn cloexec_from(&self, first: u32) -> io::Result<()> {
        // Neither nix 0.29 nor rustix 1 wraps close_range.
        // SAFETY: close_range takes integers only, and with CLOSE_RANGE_CLOEXEC it closes
        // nothing: it sets FD_CLOEXEC, so no OwnedFd of this process is invalidated.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_close_range,
                first,
                u32::MAX,
                libc::CLOSE_RANGE_CLOEXEC,
            )
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
    #[inline]
    fn execve(&self, path: &CStr, args: &[CString], env: &[CString]) -> nix::Result<Infallible> {
        nix::unistd::execve(path, args, env)
    }
}

/// A recording stand-in for the kernel, for unit tests.
#[cfg(test)]
pub mod fake {
    use std::cell::RefCell;

    use super::*;

    /// One call: the method's name and its arguments, as text.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct Call {
        pub name: &'static str,
        pub args: String,
    }

    /// Records every call; answers Ok unless told to fail a call by name.
    #[derive(Default)]
    pub struct Recorder {
        calls: RefCell<Vec<Call>>,
        failures: RefCell<Vec<(&'static str, nix::errno::Errno)>>,
    }

    impl Recorder {
        pub fn new() -> Recorder {
            Recorder::default()
        }

        /// Makes the next calls named `name` fail with `errno`.
        pub fn fail(&self, name: &'static str, errno: nix::errno::Errno) {
            self.failures.borrow_mut().push((name, errno));
        }

        pub fn calls(&self) -> Vec<Call> {
            self.calls.borrow().clone()
        }

        pub fn names(&self) -> Vec<&'static str> {
            self.calls.borrow().iter().map(|c| c.name).collect()
        }

        /// Index of the first call named `name`.
        pub fn first(&self, name: &str) -> Option<usize> {
            self.calls.borrow().iter().position(|c| c.name == name)
        }

        /// Index of the last call named `name`.
        pub fn last(&self, name: &str) -> Option<usize> {
            self.calls.borrow().iter().rposition(|c| c.name == name)
        }

        /// Index of the first call named `name` whose arguments contain `needle`.
        pub fn first_with(&self, name: &str, needle: &str) -> Option<usize> {
            self.calls
                .borrow()
                .iter()
                .position(|c| c.name == name && c.args.contains(needle))
        }

        fn record(&self, name: &'static str, args: String) -> nix::Result<()> {
            self.calls.borrow_mut().push(Call { name, args });
            match self.failures.borrow().iter().find(|(n, _)| *n == name) {
                Some((_, e)) => Err(*e),
                None => Ok(()),
            }
        }

        /// A stand-in for a new mount's root: the host's directory of that filesystem
        /// (opened O_PATH, read-only use), so later steps can resolve paths beneath it.
        fn some_tree(fstype: &str) -> io::Result<OwnedFd> {
            let path = match fstype {
                "proc" => "/proc",
                "sysfs" => "/sys",
                _ => "/",
            };
            Ok(rustix::fs::open(
                path,
                rustix::fs::OFlags::PATH
                    | rustix::fs::OFlags::DIRECTORY
                    | rustix::fs::OFlags::CLOEXEC,
                rustix::fs::Mode::empty(),
            )?)
        }
    }

    fn fd_name(fd: BorrowedFd<'_>) -> String {
        std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd()))
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| format!("fd {}", fd.as_raw_fd()))
    }

    fn path_name(p: &Path) -> String {
        // Targets given as /proc/self/fd/N: name what they point at.
        if p.starts_with("/proc/self/fd") {
            if let Ok(t) = std::fs::read_link(p) {
                return t.display().to_string();
            }
        }
        p.display().to_string()
    }

    impl Syscall for Recorder {
        fn mount(
            &self,
            source: Option<&Path>,
            target: &Path,
            fstype: Option<&str>,
            flags: MsFlags,
            data: Option<&str>,
        ) -> nix::Result<()> {
            self.record(
                "mount",
                format!(
                    "{:?} {} {fstype:?} {flags:?} {data:?}",
                    source.map(path_name),
                    path_name(target)
                ),
            )
        }
        fn umount2(&self, target: &Path, flags: MntFlags) -> nix::Result<()> {
            self.record("umount2", format!("{} {flags:?}", target.display()))
        }
        fn pivot_root(&self, new_root: &Path, put_old: &Path) -> nix::Result<()> {
            self.record(
                "pivot_root",
                format!("{} {}", new_root.display(), put_old.display()),
            )
        }
        fn chdir(&self, path: &Path) -> nix::Result<()> {
            self.record("chdir", path.display().to_string())
        }
        fn fchdir(&self, dir: BorrowedFd<'_>) -> nix::Result<()> {
            self.record("fchdir", fd_name(dir))
        }
        fn chroot(&self, path: &Path) -> nix::Result<()> {
            self.record("chroot", path.display().to_string())
        }
        fn clone_fd_tree(&self, src: BorrowedFd<'_>, recursive: bool) -> io::Result<OwnedFd> {
            self.record(
                "open_tree",
                format!("{} recursive={recursive}", fd_name(src)),
            )?;
            Ok(rustix::io::fcntl_dupfd_cloexec(src, 0)?)
        }
        fn clone_path_tree(&self, path: &Path) -> io::Result<OwnedFd> {
            self.record("open_tree", format!("{} recursive=true", path.display()))?;
            Recorder::some_tree("/")
        }
        fn move_mount(&self, tree: BorrowedFd<'_>, target: BorrowedFd<'_>) -> io::Result<()> {
            Ok(self.record(
                "move_mount",
                format!("{} -> {}", fd_name(tree), fd_name(target)),
            )?)
        }
        fn set_tree_attrs(&self, tree: BorrowedFd<'_>, attrs: TreeAttrs) -> io::Result<()> {
            Ok(self.record(
                "mount_setattr",
                format!(
                    "{} set={:#x} clear={:#x}",
                    fd_name(tree),
                    attrs.set,
                    attrs.clear
                ),
            )?)
        }
        fn new_mount(&self, fstype: &str, data: &[String], flags: MsFlags) -> io::Result<OwnedFd> {
            self.record("fsmount", format!("{fstype} {data:?} {flags:?}"))?;
            Recorder::some_tree(fstype)
        }
        fn setns(&self, ns: BorrowedFd<'_>, flag: CloneFlags) -> nix::Result<()> {
            self.record("setns", format!("{} {flag:?}", fd_name(ns)))
        }
        fn unshare(&self, flags: CloneFlags) -> nix::Result<()> {
            self.record("unshare", format!("{flags:?}"))
        }
        fn mknodat(
            &self,
            dir: BorrowedFd<'_>,
            name: &CStr,
            kind: SFlag,
            perm: Mode,
            dev: libc::dev_t,
        ) -> nix::Result<()> {
            self.record(
                "mknodat",
                format!(
                    "{}/{} {kind:?} {perm:?} {dev}",
                    fd_name(dir),
                    name.to_string_lossy()
                ),
            )
        }
        fn fchownat_nofollow(
            &self,
            dir: BorrowedFd<'_>,
            name: &CStr,
            uid: Uid,
            gid: Gid,
        ) -> nix::Result<()> {
            self.record(
                "fchownat",
                format!("{}/{} {uid} {gid}", fd_name(dir), name.to_string_lossy()),
            )
        }
        fn symlinkat(&self, target: &CStr, dir: BorrowedFd<'_>, name: &CStr) -> nix::Result<()> {
            self.record(
                "symlinkat",
                format!(
                    "{} {}/{}",
                    target.to_string_lossy(),
                    fd_name(dir),
                    name.to_string_lossy()
                ),
            )
        }
        fn umask(&self, mask: Mode) -> Mode {
            let _ = self.record("umask", format!("{:o}", mask.bits()));
            Mode::from_bits_truncate(0o022)
        }
        fn write_proc(&self, _proc: &ProcRoot, rel: &Path, value: &[u8]) -> io::Result<()> {
            Ok(self.record(
                "write_proc",
                format!("{} {}", rel.display(), String::from_utf8_lossy(value)),
            )?)
        }
        fn sethostname(&self, name: &str) -> nix::Result<()> {
            self.record("sethostname", name.to_owned())
        }
        fn setdomainname(&self, name: &str) -> io::Result<()> {
            Ok(self.record("setdomainname", name.to_owned())?)
        }
        fn setrlimit(&self, resource: Resource, soft: u64, hard: u64) -> nix::Result<()> {
            self.record("setrlimit", format!("{resource:?} {soft} {hard}"))
        }
        fn setgroups(&self, gids: &[Gid]) -> nix::Result<()> {
            let raw: Vec<u32> = gids.iter().map(|g| g.as_raw()).collect();
            self.record("setgroups", format!("{raw:?}"))
        }
        fn setresgid(&self, gid: Gid) -> nix::Result<()> {
            self.record("setresgid", gid.to_string())
        }
        fn setresuid(&self, uid: Uid) -> nix::Result<()> {
            self.record("setresuid", uid.to_string())
        }
        fn drop_bounding_cap(&self, cap: Capability) -> io::Result<()> {
            Ok(self.record("capbset_drop", cap.to_string())?)
        }
        fn set_keepcaps(&self, on: bool) -> nix::Result<()> {
            self.record("keepcaps", on.to_string())
        }
        fn set_caps(
            &self,
            which: CapSet,
            caps: &HashSet<Capability>,
        ) -> std::result::Result<(), CapsError> {
            let mut names: Vec<String> = caps.iter().map(|c| c.to_string()).collect();
            names.sort();
            self.record("capset", format!("{which:?} {names:?}"))
                .map_err(|e| CapsError::from(e.to_string()))
        }
        fn clear_ambient(&self) -> std::result::Result<(), CapsError> {
            self.record("ambient_clear", String::new())
                .map_err(|e| CapsError::from(e.to_string()))
        }
        fn raise_ambient(&self, cap: Capability) -> std::result::Result<(), CapsError> {
            self.record("ambient_raise", cap.to_string())
                .map_err(|e| CapsError::from(e.to_string()))
        }
        fn set_no_new_privs(&self) -> nix::Result<()> {
            self.record("no_new_privs", String::new())
        }
        fn install_seccomp(&self, filters: &Filters) -> Result<()> {
            self.record("seccomp", format!("{} insns", filters.instructions()))
                .map_err(|e| crate::error::Error::errno("installing the seccomp filter", e))
        }
        fn clear_cloexec(&self, fd: RawFd) -> nix::Result<()> {
            self.record("clear_cloexec", fd.to_string())
        }
        fn cloexec_from(&self, first: u32) -> io::Result<()> {
            Ok(self.record("close_range", format!("{first} CLOEXEC"))?)
        }
        fn execve(
            &self,
            path: &CStr,
            _args: &[CString],
            _env: &[CString],
        ) -> nix::Result<Infallible> {
            self.record("execve", path.to_string_lossy().into_owned())?;
            // A test process must not be replaced: report the exec as failed.
            Err(nix::errno::Errno::ENOEXEC)
        }
    }
}
