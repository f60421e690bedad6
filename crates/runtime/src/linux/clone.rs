//! clone3 with fork semantics: the child continues on a copy of our stack, already
//! inside the new namespaces. The runtime is single-threaded, so the child may run
//! ordinary Rust code (allocation included) without fork-safety hazards.

use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use crate::error::{Error, Result};

#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

pub enum Forked {
    Parent { pid: i32, pidfd: Option<OwnedFd> },
    Child,
}

/// clone3's flag for a child born in a cgroup v2 directory (Linux 5.7; libc names it for
/// glibc targets only).
const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

/// Creates a child in new namespaces (`flags` are CLONE_NEW* bits). Falls back to
/// clone(2) where clone3 is missing (then without a pidfd).
pub fn clone_into(flags: u64) -> Result<Forked> {
    clone_in_cgroup(flags, None).map(|(forked, _)| forked)
}

/// As [`clone_into`], with the child born in the cgroup v2 directory `cgroup` (an open
/// directory of the unified hierarchy) where the kernel allows it: no migration follows
/// (a cgroup.procs write takes the cgroup threadgroup lock for writing, which waits for an
/// RCU grace period unless another migration came just before). Returns whether the child
/// is in `cgroup`; where the kernel refuses (older than
/// 5.7, a cgroup that cannot take processes, no permission) it is made without, and the
/// caller moves it by cgroup.procs as before, which gives the error if there is one.
pub fn clone_in_cgroup(flags: u64, cgroup: Option<BorrowedFd>) -> Result<(Forked, bool)> {
    if let Some(dir) = cgroup {
        if let Ok(forked) = clone3(flags, Some(dir)) {
            return Ok((forked, true));
        }
    }
    let forked = match clone3(flags, None) {
        Err(e) if e.raw_os_error() == Some(libc::ENOSYS) => {
            // SAFETY: clone(2) with a null stack has fork semantics; the process is
            // single-threaded, so the copy is consistent.
            let rc =
                unsafe { libc::syscall(libc::SYS_clone, flags | libc::SIGCHLD as u64, 0, 0, 0, 0) };
            match rc {
                r if r < 0 => return Err(Error::os("clone", std::io::Error::last_os_error())),
                0 => Forked::Child,
                pid => Forked::Parent {
                    pid: pid as i32,
                    pidfd: None,
                },
            }
        }
        Err(e) => return Err(Error::os("clone", e)),
        Ok(forked) => forked,
    };
    Ok((forked, false))
}

fn clone3(flags: u64, cgroup: Option<BorrowedFd>) -> std::io::Result<Forked> {
    let mut pidfd: libc::c_int = -1;
    let mut args = CloneArgs {
        flags: flags
            | libc::CLONE_PIDFD as u64
            | if cgroup.is_some() {
                CLONE_INTO_CGROUP
            } else {
                0
            },
        pidfd: &mut pidfd as *mut libc::c_int as u64,
        // With CLONE_PARENT the child inherits our own exit signal (SIGCHLD, from
        // this same function) and clone3 wants 0 here.
        exit_signal: if flags & libc::CLONE_PARENT as u64 != 0 {
            0
        } else {
            libc::SIGCHLD as u64
        },
        cgroup: cgroup.map_or(0, |fd| fd.as_raw_fd() as u64),
        ..Default::default()
    };
    // SAFETY: args is a valid clone_args for this kernel ABI and lives across the call
    // (the cgroup descriptor, if any, is borrowed for it); stack 0 gives fork semantics.
    // The process is single-threaded, so the copy is consistent.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_clone3,
            &mut args as *mut CloneArgs,
            std::mem::size_of::<CloneArgs>(),
        )
    };
    match rc {
        r if r < 0 => Err(std::io::Error::last_os_error()),
        0 => Ok(Forked::Child),
        pid => Ok(Forked::Parent {
            pid: pid as i32,
            // SAFETY: the kernel returned a fresh pidfd that nobody else owns.
            pidfd: (pidfd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(pidfd) }),
        }),
    }
}
