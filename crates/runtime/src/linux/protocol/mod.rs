//! The create protocol: the whole conversation between the runtime (the parent, in
//! `container::create_from`) and the container init (the child, in `linux::init`) on one
//! SOCK_SEQPACKET socketpair, and the shorter one of `exec`. [`parent`] holds the
//! runtime's steps and [`child`] the init's, side by side; the messages and their framing
//! are in `wire` (tags: `pid:<n>`, `go:<json>`, `joined`, `hooks`, `go:`, `ready`, `ack`,
//! `start`, `err:<message>`, and `kept` with descriptors).
//!
//! Every step waits with one helper, `expect`: exactly the message the step needs, else
//! an error naming what came instead; the other side's `err:` becomes the error itself;
//! the end of the channel (the other side exited) is "the container init exited during
//! setup" on the runtime's side and "the runtime exited during setup" on the init's.
//! So the init blocks on the channel at every step until `ack`, and exits as soon as
//! the runtime's end closes (the runtime died, or failed and killed it): no PDEATHSIG,
//! which would race with the runtime's normal exit after `ack`.
//!
//! # Plain create
//!
//! ```text
//!  runtime: container::create_from              init: linux::init::setup
//!  clone (new namespaces) ────────────────────▶ stdio, not dumpable, unshare(net)
//!  uid/gid maps, oomScoreAdj                    waits (child::go)
//!  go:<state JSON> ─── parent::setup ─────────▶ keeps the state for its hooks;
//!  cgroup.procs (join_cgroups)                  join namespaces, time ns, lo,
//!  joined ────────────────────────────────────▶ keyring, root in a user ns, rootfs,
//!                                               mounts, /dev, cwd check, then takes
//!                                               joined (child::joined), unshare(cgroup);
//!                                               createContainer hooks, pivot_root,
//!                                               sysctls, readonlyPaths, maskedPaths,
//!                                               ro root, hostname, console, chdir,
//!                                               executable, rlimits, user, caps
//!  ◀─────────────────────────────────────────── kept + fds (child::kept), only with
//!                                               CreateOptions::keep_dirs
//!  ◀─────────────────────────────────────────── ready (child::ready)
//!  state.json (pid, start time), --pid-file
//!  ack ─── parent::ack ───────────────────────▶ waits for start: the exec fifo or
//!  create returns, `vsbx create` exits          the channel (child::start_message)
//!  `vsbx start` writes the exec fifo ─────────▶ startContainer hooks, seccomp, execve
//! ```
//!
//! The init's mounts go ahead while the runtime writes cgroup.procs (on cgroup v1 that write
//! waits for an RCU grace period, 5 to 20 ms on a small host, unless another migration
//! came just before). It takes `joined` as late as it can: before its first cgroup mount
//! if it has one, else right before the hooks and pivot_root; a new cgroup namespace is
//! made right after it, so that its root is the container's cgroup.
//!
//! # Create with prestart or createRuntime hooks
//!
//! Both sides ask [`runtime_hooks`] of the same config; the init stops between its
//! mounts and pivot_root for the hooks, which run in the runtime's namespaces:
//!
//! ```text
//!  go:<state JSON> ───────────────────────────▶
//!  joined ────────────────────────────────────▶ mounts, /dev, child::joined;
//!  ◀─────────────────────────────────────────── hooks (child::before_pivot)
//!  prestart, createRuntime hooks (run_hooks)
//!  go: ───────────────────────────────────────▶ (the hooks ran) createContainer
//!                                               hooks, pivot_root, ... as above
//!  ◀─────────────────────────────────────────── ready
//!  ack ───────────────────────────────────────▶
//! ```
//!
//! # Attached `run`
//!
//! The runtime stays; `start` comes over the channel instead of the exec fifo:
//!
//! ```text
//!  ◀─────────────────────────────────────────── ready
//!  ack ───────────────────────────────────────▶ waits: exec fifo or channel
//!  start ─── parent::start ───────────────────▶ child::start_message: Start;
//!                                               startContainer hooks, seccomp, execve
//!  with poststart hooks, parent::wait_exec:     (the channel is close-on-exec)
//!  ◀─────────────────────────────────────────── EOF
//!  poststart hooks
//! ```
//!
//! # A joined user namespace with a new pid namespace: the intermediate hop
//!
//! The new pid namespace must belong to the joined user namespace, and a process
//! enters a pid namespace only at its birth (`container::spawn_init`):
//!
//! ```text
//!  runtime                     intermediate                  init
//!  clone (no flags) ─────────▶ setns(user)
//!                              clone(CLONE_PARENT|NEWPID) ─▶ (the runtime's child)
//!  ◀─────────────────────────── pid:<n> (child::spawned)
//!  reaps it (parent::spawned)  _exit(0)
//!  go:<state JSON> ────────────────────────────────────────▶ as above
//! ```
//!
//! An intermediate that fails (setns, clone) sends `err:<message>` instead and
//! `_exit(1)`s.
//!
//! # Failure at any step
//!
//! ```text
//!  the init fails at a step before ready:
//!  ◀─────────────────────────────────────────── err:<message> (child::failed), exit
//!  the step sending or waiting returns <message>:
//!  create fails with it; Undo kills and reaps the init, removes its cgroups and state
//!
//!  the runtime fails at a step before ack (id maps, cgroup join, a hook, state.json):
//!  create fails; Undo kills and reaps the init
//!  or the runtime dies: its end closes ───────▶ the init's next wait (or send) fails:
//!  (a later create or delete of the id           it exits
//!  removes what is left)
//! ```
//!
//! An init that failed has left without reading what was sent to it: a send to it
//! fails (EPIPE) and reads its `err:` back; a receive reports its `err:` after the
//! ECONNRESET of the unread messages. After `ack` the channel closing is no longer an
//! error: the init goes on waiting on the exec fifo for `vsbx start`.
//!
//! # exec
//!
//! ```text
//!  runtime: exec::exec                          exec'd process: exec::child
//!  clone ─────────────────────────────────────▶ waits (child::exec_go)
//!  cgroup.procs
//!  go: ─── parent::release_exec ──────────────▶ setns, console, chdir, executable,
//!                                               rlimits, user, caps, execve
//!  ◀─────────────────────────────────────────── EOF (close-on-exec): Exec::Running
//!                                               or err:<message>: Exec::Failed
//! ```

mod wire;

#[cfg(test)]
mod tests;

pub use wire::Channel;
use wire::{Kind, Msg};

use crate::error::{Error, Result};
use crate::hooks::Kind as Hook;

/// Whether the init stops before pivot_root for the runtime to run the prestart and
/// createRuntime hooks. Both sides ask it of the same config, so each knows whether
/// `hooks` comes.
pub fn runtime_hooks(hooks: Option<&oci_spec::runtime::Hooks>) -> bool {
    !Hook::Prestart.list(hooks).is_empty() || !Hook::CreateRuntime.list(hooks).is_empty()
}

/// Waits for exactly a `want` message. The other side's `err:` is the error; anything
/// else is named; the end of the channel means the other side exited.
fn expect(chan: &Channel, want: Kind) -> Result<Msg> {
    let (sender, gone) = if want.sent_by_container() {
        ("container init", "the container init exited during setup")
    } else {
        ("runtime", "the runtime exited during setup")
    };
    match chan.recv(want)? {
        Some(m) if m.kind() == want => Ok(m),
        Some(Msg::Failed(m)) => Err(Error::other(m)),
        Some(other) => Err(Error::other(format!(
            "expected {} from the {sender}, got {}",
            want.name(),
            other.kind().name()
        ))),
        None => Err(Error::other(gone)),
    }
}

/// The runtime's side.
pub mod parent {
    use super::*;

    /// From the cloned init to its `ready`: `go:<state>`, then the cgroup join
    /// (`join_cgroups`) and `joined`; with `runtime_hooks` (see [`runtime_hooks`]) the
    /// init's `hooks`, `run_hooks` and `go:`; then `ready`. Any error leaves the init
    /// to the caller to kill.
    ///
    /// With `keep` directories asked for (`CreateOptions::keep_dirs`), the init sends
    /// them (`kept`, descriptors attached) just before `ready`; they are returned.
    pub fn setup(
        chan: &Channel,
        state: String,
        runtime_hooks: bool,
        keep: usize,
        join_cgroups: impl FnOnce() -> Result<()>,
        run_hooks: impl FnOnce() -> Result<()>,
    ) -> Result<Vec<std::os::fd::OwnedFd>> {
        chan.send(&Msg::State(state))?;
        join_cgroups()?;
        chan.send(&Msg::Joined)?;
        if runtime_hooks {
            expect(chan, Kind::Hooks)?;
            run_hooks()?;
            chan.send(&Msg::HooksDone)?;
        }
        let kept = if keep > 0 {
            let fds = chan
                .recv_kept()?
                .ok_or_else(|| Error::other("the container init exited during setup"))?;
            if fds.len() != keep {
                return Err(Error::other(format!(
                    "the container init kept {} directories, not {keep}",
                    fds.len()
                )));
            }
            fds
        } else {
            Vec::new()
        };
        expect(chan, Kind::Ready)?;
        Ok(kept)
    }

    /// The state is written: the init may outlive us now.
    pub fn ack(chan: &Channel) -> Result<()> {
        chan.send(&Msg::Ack)
    }

    /// An attached `run`: starts the acknowledged init (no exec fifo).
    pub fn start(chan: &Channel) -> Result<()> {
        chan.send(&Msg::Start)
    }

    /// After `start`: returns once the init has exec'd the user's program (or died):
    /// the channel is close-on-exec in the init.
    pub fn wait_exec(chan: &Channel) {
        while let Ok(Some(_)) = chan.recv(Kind::Failed) {}
    }

    /// The hop: the pid of the init the intermediate cloned.
    pub fn spawned(chan: &Channel) -> Result<i32> {
        let Msg::Spawned(pid) = expect(chan, Kind::Spawned)? else {
            unreachable!("expect returns the kind asked for")
        };
        Ok(pid)
    }

    /// How the exec'd process went.
    #[derive(Debug, PartialEq, Eq)]
    pub enum Exec {
        /// It exec'd the program (its end of the channel closed).
        Running,
        /// It failed with this message and exits.
        Failed(String),
    }

    /// `exec`: the process is in the container's cgroups; lets it go on and waits until
    /// it has exec'd or failed.
    pub fn release_exec(chan: &Channel) -> Result<Exec> {
        chan.send(&Msg::ExecGo)?;
        match chan.recv(Kind::Failed)? {
            None => Ok(Exec::Running),
            Some(Msg::Failed(m)) => Ok(Exec::Failed(m)),
            Some(other) => Err(Error::other(format!(
                "expected the exec from the exec'd process, got {}",
                other.kind().name()
            ))),
        }
    }
}

/// The container's side: the init, the intermediate of the hop, the exec'd process.
pub mod child {
    use super::*;

    /// The init's first wait: the state for its hooks (the runtime has written the id
    /// maps).
    pub fn go(chan: &Channel) -> Result<String> {
        let Msg::State(state) = expect(chan, Kind::State)? else {
            unreachable!("expect returns the kind asked for")
        };
        Ok(state)
    }

    /// The cgroup join: the runtime has moved the init into the container's cgroups. The
    /// init takes it as late as it can (see `linux::init::CgroupJoin`): before its first
    /// cgroup mount or its cgroup namespace, else before pivot_root.
    pub fn joined(chan: &Channel) -> Result<()> {
        expect(chan, Kind::Joined).map(drop)
    }

    /// Between the mounts and pivot_root, after [`joined`]: with `runtime_hooks`, the
    /// runtime's prestart and createRuntime hooks.
    pub fn before_pivot(chan: &Channel, runtime_hooks: bool) -> Result<()> {
        if runtime_hooks {
            chan.send(&Msg::Hooks)?;
            expect(chan, Kind::HooksDone)?;
        }
        Ok(())
    }

    /// The directories the runtime asked to keep, opened in the container (before
    /// `ready`; only when it asked for some).
    pub fn kept(chan: &Channel, dirs: &[std::os::fd::BorrowedFd<'_>]) -> Result<()> {
        chan.send_kept(dirs)
    }

    /// Set up: tells the runtime and waits until it has written the state.
    pub fn ready(chan: &Channel) -> Result<()> {
        chan.send(&Msg::Ready)?;
        expect(chan, Kind::Ack).map(drop)
    }

    /// What the readable channel brought while the init waits for start.
    #[derive(Debug, PartialEq, Eq)]
    pub enum Wake {
        /// `start` from an attached `run`.
        Start,
        /// Something else: keep waiting.
        Other,
        /// The runtime is gone (it exited after `ack`): wait on the exec fifo alone.
        Closed,
    }

    /// Reads the message that woke the wait for start.
    pub fn start_message(chan: &Channel) -> Wake {
        match chan.recv(Kind::Start) {
            Ok(Some(Msg::Start)) => Wake::Start,
            Ok(Some(_)) => Wake::Other,
            Ok(None) | Err(_) => Wake::Closed,
        }
    }

    /// A step failed: tells the runtime why (best effort; the caller exits next).
    pub fn failed(chan: &Channel, err: &Error) {
        let _ = chan.send(&Msg::Failed(err.to_string()));
    }

    /// The intermediate of the hop: the init's pid, or why there is none (best effort;
    /// the intermediate exits next).
    pub fn spawned(chan: &Channel, cloned: Result<i32>) {
        let msg = match cloned {
            Ok(pid) => Msg::Spawned(pid),
            Err(e) => Msg::Failed(e.to_string()),
        };
        let _ = chan.send(&msg);
    }

    /// The exec'd process's one wait: the runtime has moved it into the cgroups.
    pub fn exec_go(chan: &Channel) -> Result<()> {
        expect(chan, Kind::ExecGo).map(drop)
    }
}
