//! `Container`: the library's handle on one container it created, for callers that run
//! the container themselves: `vsbx run` (the sandbox crate) and the runtime's attached
//! `run`. It owns the state lock while it lives and removes the container when dropped,
//! so "create, then destroy whatever went wrong" is written once, here.
//!
//! ```text
//!   Container::create ──▶ start ──▶ try_wait / wait ──▶ destroy
//!          │ (created)     │ (running)                    ▲
//!          └───────────────┴── any error, or drop ────────┘
//! ```

use std::cell::Cell;
use std::os::fd::OwnedFd;

use nix::sys::signal::Signal;
use nix::sys::wait::WaitStatus;
use nix::unistd::Pid;

use crate::cgroups::{Cgroup, LimitsHit, Usage};
use crate::container::{self, CreateOptions, Created};
use crate::error::{Error, Result};
use crate::state::{Locked, Record, Root};

/// A container made by this process: created (init blocked before the user's program)
/// until [`Container::start`].
pub struct Container {
    root: Root,
    pid: i32,
    pidfd: Option<OwnedFd>,
    kept: Vec<OwnedFd>,
    channel: Option<crate::linux::protocol::Channel>,
    /// None once [`Container::unlock`]ed (other commands may then open it).
    locked: Option<Locked>,
    record: Record,
    /// Destroy on drop; off after `destroy` or `leave`.
    armed: bool,
    /// The init was waited for: its pid may belong to another process by now.
    reaped: Cell<bool>,
}

/// How the init ended, with what the kernel kept of its (and its reaped descendants')
/// resource use.
#[derive(Debug, Clone, Copy)]
pub struct Exit {
    pub status: WaitStatus,
    pub user_ms: u64,
    pub system_ms: u64,
    /// The largest resident set of any one process (Linux's ru_maxrss).
    pub max_rss_bytes: u64,
}

impl Container {
    /// `create` for a library caller: set up, blocked until `start`.
    pub fn create(root: &Root, o: &CreateOptions) -> Result<Container> {
        container::create_init(root, o, None).map(|c| Container::from_created(root, c))
    }

    pub(crate) fn from_created(root: &Root, c: Created) -> Container {
        let Created {
            pid,
            kept,
            channel,
            pidfd,
            locked,
            record,
        } = c;
        Container {
            root: root.clone(),
            pid,
            pidfd,
            kept,
            channel: Some(channel),
            locked: Some(locked),
            record,
            armed: true,
            reaped: Cell::new(false),
        }
    }

    pub fn id(&self) -> &str {
        &self.record.id
    }

    /// The init's pid, as the caller's pid namespace sees it. It is this process's
    /// child, so it cannot be reused before it is reaped (by `try_wait` or `destroy`).
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// A pidfd of the init (readable once it exits), if the kernel gave one.
    pub fn take_pidfd(&mut self) -> Option<OwnedFd> {
        self.pidfd.take()
    }

    /// The directories of `CreateOptions::keep_dirs`, in order, opened by the init.
    pub fn take_kept(&mut self) -> Vec<OwnedFd> {
        std::mem::take(&mut self.kept)
    }

    /// Releases the init into the user's program (and runs poststart hooks).
    pub fn start(&mut self) -> Result<()> {
        let channel = self
            .channel
            .take()
            .ok_or_else(|| Error::other("container already started"))?;
        let locked = self
            .locked
            .as_ref()
            .ok_or_else(|| Error::other("container unlocked before start"))?;
        container::release_over(&channel, locked, &self.record)
    }

    /// For a caller that reaped the init itself (the attached `run`'s supervisor).
    pub(crate) fn set_reaped(&self) {
        self.reaped.set(true);
    }

    /// Gives up the state lock while the container runs, so that `state`, `kill` and
    /// the like work meanwhile; `destroy` takes it again.
    pub fn unlock(&mut self) {
        self.locked = None;
    }

    /// Sends `sig` to the init alone.
    pub fn kill(&self, sig: Signal) -> Result<()> {
        if self.reaped.get() {
            return Err(Error::other("container not running"));
        }
        nix::sys::signal::kill(Pid::from_raw(self.pid), sig)
            .map_err(|e| Error::os("sending the signal", e.into()))
    }

    /// SIGKILL to the init and every process in the container's cgroup, thawed first
    /// so that it takes effect.
    pub fn kill_all(&self) {
        // The init only while unreaped (its pid could be another process's after); the
        // same pidfd-checked kill as `delete`.
        if !self.reaped.get() {
            container::kill_all(&self.record);
        }
    }

    /// waitpid(WNOHANG) of the init, with its rusage: None while it runs.
    pub fn try_wait(&self) -> Result<Option<Exit>> {
        if self.reaped.get() {
            return Err(Error::other("container already waited for"));
        }
        loop {
            match wait4_nohang(self.pid) {
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(Error::os("waiting for the container", e.into())),
                Ok(x) => {
                    self.reaped.set(x.is_some());
                    return Ok(x);
                }
            }
        }
    }

    /// Whether the container has a cgroup of its own (a rootless run may have none).
    pub fn has_cgroup(&self) -> bool {
        !self.record.cgroup_dirs.is_empty()
    }

    /// Memory, CPU time and pids of the container's cgroup so far.
    pub fn usage(&self) -> Usage {
        self.cgroup().usage()
    }

    /// The cgroup limits reached so far.
    pub fn limits_hit(&self) -> LimitsHit {
        self.cgroup().limits_hit()
    }

    /// OOM kills in the container's cgroup so far.
    pub fn oom_kills(&self) -> u64 {
        self.cgroup().oom_kills()
    }

    /// Kills what is left and removes the container: cgroups, mounts, state.
    pub fn destroy(mut self) -> Result<()> {
        self.armed = false;
        self.remove()
    }

    /// Leaves the container running and its state in place (`run --detach`).
    pub fn leave(mut self) {
        self.armed = false;
    }

    fn cgroup(&self) -> Cgroup<'_> {
        Cgroup::new(&self.record.cgroup_dirs)
    }

    fn remove(&mut self) -> Result<()> {
        let locked = match self.locked.take() {
            Some(l) => l,
            None => match self.root.open(&self.record.id) {
                // Deleted by someone else meanwhile; or the id is now another
                // container's, which is not ours to remove.
                Err(Error::NotFound) => return Ok(()),
                Err(e) => return Err(e),
                Ok((_, rec))
                    if rec.pid != self.record.pid || rec.pid_start != self.record.pid_start =>
                {
                    return Ok(())
                }
                Ok((l, _)) => l,
            },
        };
        // destroy kills the init (pidfd-checked) and waits until it is gone; it is our
        // child, so reap it too, or a zombie outlives the container.
        let result = container::destroy(locked, &self.record);
        if !self.reaped.replace(true) {
            // Blocking only when destroy saw it gone (else it did not die on SIGKILL).
            let flags = result
                .is_err()
                .then_some(nix::sys::wait::WaitPidFlag::WNOHANG);
            let _ = nix::sys::wait::waitpid(Pid::from_raw(self.pid), flags);
        }
        result
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        if self.armed {
            let _ = self.remove();
        }
    }
}

/// waitpid(pid, WNOHANG) that also returns the child's rusage. Neither nix 0.29 nor
/// rustix 1 wraps wait4.
fn wait4_nohang(pid: i32) -> nix::Result<Option<Exit>> {
    let mut status: libc::c_int = 0;
    // SAFETY: all-zero bytes are a valid rusage (plain integers and timevals).
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `status` and `ru` are live, writable and of the types wait4 fills.
    let rc = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut ru) };
    match rc {
        -1 => Err(nix::errno::Errno::last()),
        0 => Ok(None),
        _ => {
            let ms = |t: libc::timeval| t.tv_sec as u64 * 1000 + t.tv_usec as u64 / 1000;
            Ok(Some(Exit {
                status: WaitStatus::from_raw(Pid::from_raw(rc), status)?,
                user_ms: ms(ru.ru_utime),
                system_ms: ms(ru.ru_stime),
                // Linux reports ru_maxrss in KiB.
                max_rss_bytes: ru.ru_maxrss.max(0) as u64 * 1024,
            }))
        }
    }
}
