//! clone3 with fork semantics: the child continues on a copy of our stack, already
//! inside the new namespaces. The runtime is single-threaded, so the child may run
//! ordinary Rust code (allocation included) without fork-safety hazards.

use std::os::fd::{FromRawFd, OwnedFd};

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

/// Creates a child in new namespaces (`flags` are CLONE_NEW* bits). Falls back to
/// clone(2) where clone3 is missing (then without a pidfd).
pub fn clone_into(flags: u64) -> Result<Forked> {
    let mut pidfd: libc::c_int = -1;
    let mut args = CloneArgs {
        flags: flags | libc::CLONE_PIDFD as u64,
        pidfd: &mut pidfd as *mut libc::c_int as u64,
        // With CLONE_PARENT the child inherits our own exit signal (SIGCHLD, from
        // this same function) and clone3 wants 0 here.
        exit_signal: if flags & libc::CLONE_PARENT as u64 != 0 {
            0
        } else {
            libc::SIGCHLD as u64
        },
        ..Default::default()
    };
    // SAFETY: args is a valid clone_args for this kernel ABI; stack 0 gives fork
    // semantics. The process is single-threaded, so the copy is consistent.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_clone3,
            &mut args as *mut CloneArgs,
            std::mem::size_of::<CloneArgs>(),
        )
    };
    let rc = if rc < 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::ENOSYS) {
        pidfd = -1;
        // SAFETY: as above; clone(2) with a null stack also has fork semantics.
        unsafe { libc::syscall(libc::SYS_clone, flags | libc::SIGCHLD as u64, 0, 0, 0, 0) }
    } else {
        rc
    };
    match rc {
        r if r < 0 => Err(Error::os("clone", std::io::Error::last_os_error())),
        0 => Ok(Forked::Child),
        pid => Ok(Forked::Parent {
            pid: pid as i32,
            // SAFETY: the kernel returned a fresh pidfd that nobody else owns.
            pidfd: (pidfd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(pidfd) }),
        }),
    }
}
