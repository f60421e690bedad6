//! The lifecycle as the runtime process sees it: create, start, kill, delete, and the
//! attached `run`. The container's own setup lives in linux::init.

use std::fs;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sched::CloneFlags;
use nix::sys::signal::Signal;

use crate::cgroups::{self, Layout};
use crate::error::{Context, Error, Result};
use crate::hooks::Kind;
use crate::linux::clone::{clone_in_cgroup, clone_into, Forked};
use crate::linux::init;
use crate::linux::namespaces;
use crate::linux::protocol::{self, Channel};
pub use crate::plan::cgroups_available;
use crate::plan::ContainerPlan;
use crate::proc;
use crate::state::{Claim, Locked, Record, Root, Status, EXEC_FIFO};

/// Flags of `create` and `run`.
#[derive(Debug, Clone, Default)]
pub struct CreateOptions {
    pub id: String,
    pub bundle: PathBuf,
    pub pid_file: Option<PathBuf>,
    pub console_socket: Option<PathBuf>,
    pub no_pivot: bool,
    pub no_new_keyring: bool,
    pub preserve_fds: u32,
    /// For library callers: descriptors to become the container's stdin, stdout and
    /// stderr (the caller keeps them open until `create` returns). None: inherit ours.
    pub stdio: Option<[RawFd; 3]>,
    /// --systemd-cgroup: the cgroup is a transient scope systemd makes (cgroups::systemd).
    pub systemd_cgroup: bool,
    /// --rootless: whether cgroups are handled as for a user without root (only where
    /// writable, the user's systemd, no device rules it cannot program). None: detect
    /// ([`crate::rootless::is_rootless`]).
    pub rootless_cgroups: Option<bool>,
    /// For library callers: absolute paths of directories inside the container that the
    /// init opens once set up and hands back (`Created::kept`), e.g. a tmpfs to read after
    /// the container is gone. No /proc/PID/root lookup is needed, which a rootless caller
    /// may not make while the init is not dumpable.
    pub keep_dirs: Vec<PathBuf>,
}

/// A container whose init is set up and blocked until `start`.
pub(crate) struct Created {
    pub pid: i32,
    /// The directories of `CreateOptions::keep_dirs`, in order, opened by the init.
    pub kept: Vec<OwnedFd>,
    /// The sync channel to the init, still open: an attached `run` starts it through this.
    pub channel: Channel,
    pub pidfd: Option<OwnedFd>,
    pub locked: Locked,
    pub record: Record,
}

/// Undoes a half-made create: kills the init, removes cgroups and the state directory.
struct Undo {
    state_dir: Option<PathBuf>,
    /// A container without a mount namespace: its bind of the rootfs in the host's.
    host_bind: Option<crate::linux::host_mounts::HostBind>,
    cgroups_made: Vec<PathBuf>,
    cgroup_dirs: Vec<PathBuf>,
    child: Option<i32>,
    /// The systemd scope started for the init (stopped with it).
    unit: Option<cgroups::systemd::Unit>,
}

impl Undo {
    fn disarm(mut self) {
        self.state_dir = None;
        self.host_bind = None;
        self.cgroups_made.clear();
        self.child = None;
        self.unit = None;
    }
}

impl Drop for Undo {
    fn drop(&mut self) {
        if let Some(pid) = self.child.take() {
            let pid = nix::unistd::Pid::from_raw(pid);
            let _ = nix::sys::signal::kill(pid, Signal::SIGKILL);
            let _ = nix::sys::wait::waitpid(pid, None);
        }
        if let Some(b) = self.host_bind.take() {
            let _ = b.release();
        }
        if let Some(unit) = self.unit.take() {
            if let Ok(bus) = cgroups::systemd::Bus::connect(unit.user) {
                let _ = bus.stop(&unit);
            }
        }
        if !self.cgroups_made.is_empty() {
            let _ = cgroups::remove(&self.cgroup_dirs, Duration::from_secs(2));
            cgroups::remove_dirs(&self.cgroups_made);
        }
        if let Some(d) = self.state_dir.take() {
            let _ = fs::remove_dir_all(d);
        }
    }
}

/// `create`: validates everything it can, then clones the init into its namespaces and
/// waits until it is ready; the init then waits for `start`. A library caller that
/// runs the container itself uses [`crate::Container::create`] instead.
pub fn create(root: &Root, o: &CreateOptions) -> Result<()> {
    create_init(root, o, None).map(drop)
}

/// `create`, keeping the parent's side of the container (see [`Created`]). `console`
/// replaces --console-socket (used by attached run).
pub(crate) fn create_init(
    root: &Root,
    o: &CreateOptions,
    console: Option<OwnedFd>,
) -> Result<Created> {
    create_from(root, ContainerPlan::load(o, console)?)
}

/// `create` of a container already planned (`run` reads the bundle first, to see whether
/// it needs a terminal). Carries the plan out: everything that can fail without making
/// anything has failed by now.
pub(crate) fn create_from(root: &Root, plan: ContainerPlan) -> Result<Created> {
    crate::linux::sealed_exe::require()?;
    let spec = plan.spec();
    let cg = &plan.cgroups;
    let locked = claim_id(root, &plan.id)?;
    let mut undo = Undo {
        state_dir: Some(locked.dir.clone()),
        host_bind: plan.host_bind.clone(),
        cgroups_made: vec![],
        cgroup_dirs: vec![],
        child: None,
        unit: None,
    };
    // The intent: what this create is about to make, for whoever finds it if we die.
    let me = std::process::id() as i32;
    let mut record = Record {
        id: plan.id.clone(),
        oci_version: spec.version().clone(),
        pid: 0,
        pid_start: 0,
        bundle: plan.bundle.dir.clone(),
        rootfs: plan.rootfs().to_path_buf(),
        created: proc::now_rfc3339(),
        owner: String::new(),
        annotations: spec.annotations().clone().unwrap_or_default(),
        cgroup_dirs: cg.dirs.clone(),
        cgroups_path: cg.path.clone(),
        systemd: cg.unit.clone(),
        hooks: spec.hooks().clone(),
        host_bind: plan.host_bind.clone(),
        creating: Some((me, proc::start_time(me).unwrap_or(0))),
    };
    locked.write(&record)?;
    let kept = locked.dir.join(crate::state::CONFIG);
    fs::write(&kept, &plan.bundle.text).map_err(|e| Error::path("cannot write", &kept, e))?;

    let fifo_path = locked.dir.join(EXEC_FIFO);
    nix::unistd::mkfifo(&fifo_path, nix::sys::stat::Mode::from_bits_truncate(0o622))
        .ctx(|| format!("mkfifo {}", fifo_path.display()))?;
    let exec_fifo: OwnedFd = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(&fifo_path)
        .map_err(|e| Error::path("opening", &fifo_path, e))?
        .into();

    undo.cgroup_dirs = cg.dirs.clone();
    // Rootless: a user namespace cannot make device nodes, and the device controller is
    // root's to program.
    let configure = |dirs: &[PathBuf]| -> Result<()> {
        let cgroup = cgroups::Manager::new(&cg.layout, dirs);
        if cg.device_rules_apply {
            cgroup.apply_devices(&plan.checked.device_rules)?;
        }
        if let Some(r) = cg.resources.as_ref().filter(|_| !dirs.is_empty()) {
            for w in cgroup.apply_resources(r)? {
                warn(&w);
            }
        }
        Ok(())
    };
    if cg.unit.is_none() {
        let cgroup = cgroups::Manager::new(&cg.layout, &cg.dirs);
        undo.cgroups_made = cgroup.create()?;
        cgroup.init_cpusets()?;
        configure(&cg.dirs)?;
    }

    // The pid namespace to join is entered here: it applies to our children only.
    let ns = &plan.namespaces;
    if let Some((_, fd)) = ns.join.iter().find(|(f, _)| *f == CloneFlags::CLONE_NEWPID) {
        nix::sched::setns(fd, CloneFlags::CLONE_NEWPID)
            .ctx(|| "linux.namespaces: joining the pid namespace".into())?;
    }
    let (ours, theirs) = Channel::pair()?;
    // On cgroup v2 (cgroupfs driver) the init is born in its cgroup (see clone_in_cgroup),
    // where that gives it the cgroup's cpuset on this kernel too.
    let cgroup_dir = match (&cg.layout, &cg.unit, cg.dirs.as_slice()) {
        (cgroups::Layout::Unified { .. }, None, [dir]) => cgroups::v2::birth_dir(dir),
        _ => None,
    };
    let (spawned, born_in_cgroup) = spawn_init(
        ns,
        plan.clone_flags,
        &ours,
        &theirs,
        cgroup_dir.as_ref().map(|f| f.as_fd()),
    )?;
    drop(cgroup_dir);
    let (pid, pidfd) = match spawned {
        Forked::Child => {
            // The init must not undo the runtime's work, nor keep the state lock: a
            // flock lives as long as any copy of its fd.
            std::mem::forget(undo);
            drop(locked);
            drop(ours);
            if let init::Failure::AfterStart(err) = init::run(&plan, exec_fifo, theirs) {
                // The runtime is gone by now: the container's stderr is all we have.
                eprintln!("vsbx-runtime init: {err}");
            }
            // SAFETY: leave at once, without running the parent's exit handlers.
            unsafe { libc::_exit(127) }
        }
        Forked::Parent { pid, pidfd } => (pid, pidfd),
    };
    if born_in_cgroup {
        crate::log::debug(&format!(
            "init {pid} born in its cgroup (CLONE_INTO_CGROUP)"
        ));
    }
    drop(theirs);
    drop(exec_fifo);
    undo.child = Some(pid);
    undo.unit = cg.unit.clone();

    if ns.creates(CloneFlags::CLONE_NEWUSER) {
        namespaces::write_id_maps(pid, &plan.uid_maps, &plan.gid_maps)?;
    }
    if let Some(adj) = plan.oom_score_adj {
        fs::write(format!("/proc/{pid}/oom_score_adj"), adj.to_string())
            .map_err(|e| Error::os(format!("process.oomScoreAdj: setting {adj}"), e))?;
    }
    record.pid = pid;
    let hooks = spec.hooks().as_ref();
    let mut placed = None;
    let join = || -> Result<()> {
        match &cg.unit {
            None if born_in_cgroup => Ok(()),
            None => cgroups::Cgroup::new(&cg.dirs).join(pid),
            Some(u) => {
                let dir = systemd_place(&cg.layout, u, &plan.id, pid, cg.resources.as_ref())?;
                configure(std::slice::from_ref(&dir))?;
                placed = Some(dir);
                Ok(())
            }
        }
    };
    let kept = protocol::parent::setup(
        &ours,
        record.hook_state(Status::Creating),
        protocol::runtime_hooks(hooks),
        plan.keep_dirs.len(),
        join,
        || {
            let state = record.hook_state(Status::Creating);
            crate::hooks::run_all(Kind::Prestart, hooks, &state, &[])?;
            crate::hooks::run_all(Kind::CreateRuntime, hooks, &state, &[])
        },
    )?;
    if let Some(dir) = placed {
        record.cgroup_dirs = vec![dir];
    }
    record.pid_start = proc::start_time(pid).unwrap_or(0);
    record.creating = None;
    locked.write(&record)?;
    if let Some(pf) = &plan.pid_file {
        write_pid_file(pf, pid)?;
    }
    protocol::parent::ack(&ours)?;
    undo.disarm();
    Ok(Created {
        pid,
        kept,
        pidfd,
        locked,
        record,
        channel: ours,
    })
}

/// Starts the container's scope with the init in it; returns the scope's cgroup directory.
fn systemd_place(
    layout: &Layout,
    unit: &cgroups::systemd::Unit,
    id: &str,
    pid: i32,
    resources: Option<&oci_spec::runtime::LinuxResources>,
) -> Result<PathBuf> {
    let Layout::Unified { root, .. } = layout else {
        unreachable!("the plan refused --systemd-cgroup on other layouts")
    };
    let mut props = cgroups::systemd::base_properties(unit, id, pid as u32);
    if let Some(r) = resources {
        props.extend(cgroups::systemd::properties(r)?);
    }
    let bus = cgroups::systemd::Bus::connect(unit.user)?;
    bus.start_transient(unit, &props)?;
    let path = cgroups::systemd::wait_placed(&bus, unit, pid, Duration::from_secs(10))?;
    Ok(root.join(path.strip_prefix("/").unwrap_or(&path)))
}

/// Claims `id` under `root`, first cleaning what a create of the same id that died left
/// behind (runc refuses such an id forever; its owner would have to find the pieces).
fn claim_id(root: &Root, id: &str) -> Result<Locked> {
    for _ in 0..8 {
        match root.claim(id)? {
            Claim::New(locked) => return Ok(locked),
            Claim::Leftover(locked, rec) => remove_leftover(locked, rec.as_deref())?,
            Claim::Retry => {}
        }
    }
    Err(Error::other("container with given ID already exists"))
}

/// Removes what a create that died left: its processes, its cgroups (the intent names
/// them), its directory. No hooks run: the container never existed for them.
fn remove_leftover(locked: Locked, rec: Option<&Record>) -> Result<()> {
    if let Some(rec) = rec {
        tear_down(rec)?;
    }
    // Without an intent the create was killed before it made anything else.
    locked.remove()
}

/// Kills every process of the container, waits until the init is gone and removes its
/// cgroups (not its state: the caller does that).
fn tear_down(rec: &Record) -> Result<()> {
    kill_all(rec);
    if !wait_gone(rec, Duration::from_secs(10)) {
        return Err(Error::other(format!(
            "container init {} did not exit after SIGKILL",
            rec.pid
        )));
    }
    if let Some(b) = &rec.host_bind {
        b.release()?;
    }
    if let Some(unit) = &rec.systemd {
        cgroups::systemd::Bus::connect(unit.user)?.stop(unit)?;
    }
    cgroups::remove(&rec.cgroup_dirs, Duration::from_secs(5))
}

/// SIGKILL to the init and every process in the container's cgroups (thawed, so that
/// frozen ones die too).
pub(crate) fn kill_all(rec: &Record) {
    if proc::is_alive(rec.pid, rec.pid_start) {
        let _ = send_signal(rec, Signal::SIGKILL);
    }
    for pid in cgroups::pids(&rec.cgroup_dirs) {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), Signal::SIGKILL);
    }
    cgroups::thaw(&rec.cgroup_dirs);
}

/// Clones the container init in `flags`' new namespaces. Joining a user namespace while
/// making a pid namespace takes a hop: the new pid namespace must belong to the joined
/// user namespace, and a process enters a pid namespace only at its birth. So a
/// short-lived intermediate joins the user namespace and clones the init as the
/// runtime's own child (CLONE_PARENT), reports its pid over the channel and exits (see
/// linux::protocol).
/// Where `cgroup` is given, the init is born in it if the kernel allows (not through the
/// hop); the flag says whether it was.
fn spawn_init(
    ns: &namespaces::Namespaces,
    flags: CloneFlags,
    ours: &Channel,
    theirs: &Channel,
    cgroup: Option<BorrowedFd>,
) -> Result<(Forked, bool)> {
    let userns = match ns
        .join
        .iter()
        .find(|(f, _)| *f == CloneFlags::CLONE_NEWUSER)
    {
        Some((_, fd)) if ns.user_joined_before_clone() => fd,
        _ => return clone_in_cgroup(flags.bits() as u64, cgroup),
    };
    let hop = match clone_into(0)? {
        Forked::Child => {
            let cloned = nix::sched::setns(userns, CloneFlags::CLONE_NEWUSER)
                .ctx(|| "linux.namespaces: joining the user namespace".into())
                .and_then(|()| clone_into((libc::CLONE_PARENT | libc::CLONE_NEWPID) as u64));
            let cloned = match cloned {
                Ok(Forked::Child) => return Ok((Forked::Child, false)), // the init
                Ok(Forked::Parent { pid, .. }) => Ok(pid),
                Err(e) => Err(e),
            };
            let code = i32::from(cloned.is_err());
            protocol::child::spawned(theirs, cloned);
            // SAFETY: the intermediate leaves at once, running none of our exit handlers.
            unsafe { libc::_exit(code) }
        }
        Forked::Parent { pid: hop, .. } => {
            let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(hop), None);
            let pid = protocol::parent::spawned(ours)?;
            // The init is our child: its pid cannot be reused before we reap it.
            Forked::Parent {
                pid,
                pidfd: pidfd_of(pid),
            }
        }
    };
    Ok((hop, false))
}

fn warn(msg: &str) {
    crate::log::warn(msg);
}

/// Writes the pid file atomically, as runc does (the number, no newline).
pub fn write_pid_file(path: &Path, pid: i32) -> Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.tmp",
        path.file_name().and_then(|s| s.to_str()).unwrap_or("pid")
    ));
    fs::write(&tmp, pid.to_string())
        .map_err(|e| Error::path("--pid-file: cannot write", &tmp, e))?;
    fs::rename(&tmp, path).map_err(|e| Error::path("--pid-file: cannot write", path, e))
}

/// `start`: releases a created container's init.
pub fn start(root: &Root, id: &str) -> Result<()> {
    let (locked, rec) = root.open(id)?;
    match rec.status(&locked.dir) {
        Status::Created => {}
        Status::Stopped => return Err(Error::other("cannot start a container that has stopped")),
        _ => return Err(Error::other("cannot start an already running container")),
    }
    release(&locked, &rec)
}

/// Releases a created container's init (what `start` does once checks pass).
fn release(locked: &Locked, rec: &Record) -> Result<()> {
    let fifo = locked.dir.join(EXEC_FIFO);
    let f = fs::OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(&fifo)
        .map_err(|e| {
            if e.raw_os_error() == Some(libc::ENXIO) {
                Error::other("cannot start a container that has stopped")
            } else {
                Error::path("cannot open", &fifo, e)
            }
        })?;
    use std::io::Write;
    (&f).write_all(b"0")
        .map_err(|e| Error::path("cannot write", &fifo, e))?;
    if has_poststart(rec) {
        // The init holds the only read end, close-on-exec: POLLERR on our write end
        // means it has exec'd the user's program (or died).
        // POLLERR is reported whatever the requested events are.
        let mut fds = [PollFd::new(f.as_fd(), PollFlags::empty())];
        while poll(&mut fds, PollTimeout::NONE) == Err(nix::errno::Errno::EINTR) {}
    }
    drop(f);
    started(locked, rec)
}

/// Releases the init of a container this process just created, over the sync channel
/// (no exec fifo round trip; the fifo is removed all the same, so `state` says running).
pub(crate) fn release_over(channel: &Channel, locked: &Locked, rec: &Record) -> Result<()> {
    protocol::parent::start(channel)?;
    if has_poststart(rec) {
        protocol::parent::wait_exec(channel);
    }
    started(locked, rec)
}

fn has_poststart(rec: &Record) -> bool {
    !Kind::Poststart.list(rec.hooks.as_ref()).is_empty()
}

/// After the init is released: the fifo goes (status is running from now on), then the
/// poststart hooks run: after the user's program started, before `start` returns.
fn started(locked: &Locked, rec: &Record) -> Result<()> {
    let _ = fs::remove_file(locked.dir.join(EXEC_FIFO));
    for w in crate::hooks::run_all_warn(
        Kind::Poststart,
        rec.hooks.as_ref(),
        &rec.hook_state(Status::Running),
    ) {
        warn(&w);
    }
    Ok(())
}

/// Parses a signal as runc does: "KILL", "SIGKILL", "kill" or "9".
pub fn parse_signal(s: &str) -> Result<Signal> {
    if let Ok(n) = s.parse::<i32>() {
        return Signal::try_from(n).map_err(|_| Error::invalid(format!("unknown signal {s:?}")));
    }
    let up = s.to_ascii_uppercase();
    let name = if up.starts_with("SIG") {
        up
    } else {
        format!("SIG{up}")
    };
    name.parse::<Signal>()
        .map_err(|_| Error::invalid(format!("unknown signal {s:?}")))
}

fn send_signal(rec: &Record, sig: Signal) -> Result<()> {
    let pidfd = pidfd_of(rec.pid).ok_or_else(|| Error::other("container not running"))?;
    // Pid reuse: the pidfd now pins the process; check it is still our init.
    if !proc::is_alive(rec.pid, rec.pid_start) {
        return Err(Error::other("container not running"));
    }
    let sig = rustix::process::Signal::from_named_raw(sig as i32)
        .ok_or_else(|| Error::invalid(format!("signal {sig} cannot be sent")))?;
    rustix::process::pidfd_send_signal(&pidfd, sig)
        .map_err(|e| Error::os("sending the signal", e.into()))
}

/// A pidfd of `pid` (None if it is gone, or is no pid).
fn pidfd_of(pid: i32) -> Option<OwnedFd> {
    let pid = rustix::process::Pid::from_raw(pid)?;
    rustix::process::pidfd_open(pid, rustix::process::PidfdFlags::empty()).ok()
}

/// `kill`: signals the init, or with `all` every process in the container's cgroup.
pub fn kill(root: &Root, id: &str, sig: Signal, all: bool) -> Result<()> {
    let (locked, rec) = root.open(id)?;
    let status = rec.status(&locked.dir);
    if status == Status::Stopped && !all {
        return Err(Error::other("container not running"));
    }
    if all {
        for pid in cgroups::pids(&rec.cgroup_dirs) {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), sig);
        }
        if sig == Signal::SIGKILL && status == Status::Paused {
            cgroups::thaw(&rec.cgroup_dirs);
        }
        return Ok(());
    }
    send_signal(&rec, sig)?;
    if sig == Signal::SIGKILL && status == Status::Paused {
        cgroups::thaw(&rec.cgroup_dirs);
    }
    Ok(())
}

/// Waits up to `timeout` for the init to exit (it is not our child: poll its pidfd).
fn wait_gone(rec: &Record, timeout: Duration) -> bool {
    let Some(pidfd) = pidfd_of(rec.pid) else {
        return true;
    };
    if !proc::is_alive(rec.pid, rec.pid_start) {
        return true;
    }
    let ms = u16::try_from(timeout.as_millis()).unwrap_or(u16::MAX);
    let mut fds = [PollFd::new(pidfd.as_fd(), PollFlags::POLLIN)];
    let ready = poll(&mut fds, PollTimeout::from(ms)).unwrap_or(0);
    ready > 0 || !proc::is_alive(rec.pid, rec.pid_start)
}

/// Kills whatever is left, then removes cgroups and state.
pub(crate) fn destroy(locked: Locked, rec: &Record) -> Result<()> {
    if rec.creating.is_some() {
        return remove_leftover(locked, Some(rec));
    }
    tear_down(rec)?;
    let state = rec.hook_state(Status::Stopped);
    locked.remove()?;
    for w in crate::hooks::run_all_warn(Kind::Poststop, rec.hooks.as_ref(), &state) {
        warn(&w);
    }
    Ok(())
}

/// `delete`: removes a stopped (or created) container; `force` kills a running one.
pub fn delete(root: &Root, id: &str, force: bool) -> Result<()> {
    let (locked, rec) = match root.open_any(id) {
        Ok((locked, Some(rec))) => (locked, rec),
        // What a create killed before its intent left: nothing but the directory.
        Ok((locked, None)) => return remove_leftover(locked, None),
        // runc: deleting a container that does not exist is fine with --force.
        Err(Error::NotFound) if force => return Ok(()),
        Err(e) => return Err(e),
    };
    match rec.status(&locked.dir) {
        Status::Stopped | Status::Created => destroy(locked, &rec),
        s if force => {
            let _ = s;
            destroy(locked, &rec)
        }
        s => Err(Error::other(format!(
            "cannot delete container {id} that is not stopped: {}",
            s.as_str()
        ))),
    }
}

/// The status and record of one container, for `state`.
pub fn state(root: &Root, id: &str) -> Result<(Record, Status)> {
    let (locked, rec) = root.open(id)?;
    let s = rec.status(&locked.dir);
    Ok((rec, s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_parse_like_runc() {
        assert_eq!(parse_signal("KILL").unwrap(), Signal::SIGKILL);
        assert_eq!(parse_signal("SIGTERM").unwrap(), Signal::SIGTERM);
        assert_eq!(parse_signal("hup").unwrap(), Signal::SIGHUP);
        assert_eq!(parse_signal("9").unwrap(), Signal::SIGKILL);
        assert!(parse_signal("NOPE").is_err());
        assert!(parse_signal("99").is_err());
    }
}
