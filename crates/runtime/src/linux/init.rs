//! The container init: what runs in the child after clone, top to bottom. Its messages
//! with the runtime (in quotes) are in linux::protocol, with the runtime's side.
//!
//! 1. signals reset, stdio installed, not dumpable; unshare(net) for a new network
//!    namespace (unless a user namespace is joined: then after it, in step 3)
//! 2. wait for the runtime: "go" with the state for the hooks (id maps written)
//! 3. join namespaces by path (after a joined user namespace, unshare the new ones),
//!    time namespace, lo up, session keyring, root in a user namespace
//! 4. filesystem: rootfs propagation and bind, mounts, /dev, cwd check; "joined" and
//!    unshare(cgroup) before the first cgroup mount, else here ([`CgroupJoin`]); then,
//!    before pivot_root, "hooks" for the runtime's prestart and createRuntime hooks if
//!    any, and the createContainer hooks; pivot_root, sysctls, readonlyPaths,
//!    maskedPaths, read-only root, root propagation
//! 5. hostname, domainname, terminal, chdir, executable lookup
//! 6. fds, rlimits, scheduling, personality, umask, seccomp (without no_new_privs),
//!    user, capabilities, no_new_privs  -> tell the runtime "ready", wait for "ack"
//! 7. wait for start: a byte on the exec fifo, or "start" on the channel (attached run)
//! 8. startContainer hooks, seccomp (with no_new_privs), execve
//!
//! A failure before step 7 is sent to the runtime ("err") and the init exits; from
//! step 7 on only the container's stderr can show it.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sched::CloneFlags;

use super::console;
use super::namespaces::{self, NEWTIME};
use super::process;
use super::protocol::{self, child::Wake, Channel};
use super::rootfs::{self, RootfsContext};
use super::sys::{Host, Syscall};
use crate::error::{Context, Error, Result};
use crate::hooks::Kind;
use crate::plan::ContainerPlan;

/// Opens each of `dirs` in the container (its root is ours now), a directory reached
/// without following a symlink at its end, and sends them to the runtime.
fn send_kept_dirs(chan: &Channel, dirs: &[PathBuf]) -> Result<()> {
    use rustix::fs::{Mode, OFlags};
    let fds = dirs
        .iter()
        .map(|d| {
            rustix::fs::open(
                d,
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .map_err(|e| Error::path("opening the directory to keep", d, e.into()))
        })
        .collect::<Result<Vec<_>>>()?;
    let borrowed: Vec<_> = fds.iter().map(|f| f.as_fd()).collect();
    protocol::child::kept(chan, &borrowed)
}

/// How the init failed.
pub enum Failure {
    /// During setup: already reported to the runtime, which prints it.
    Reported,
    /// After `start` (e.g. execve): only the container's stderr can show it.
    AfterStart(Error),
}

/// Runs the init; returns only on failure.
pub fn run(plan: &ContainerPlan, exec_fifo: OwnedFd, chan: Channel) -> Failure {
    let sys = Host;
    match setup(&sys, plan, &chan) {
        Ok(ready) => match ready.wait_and_exec(&sys, plan, &exec_fifo, &chan) {
            Ok(never) => match never {},
            Err(e) => Failure::AfterStart(e),
        },
        Err(e) => {
            protocol::child::failed(&chan, &e);
            Failure::Reported
        }
    }
}

/// What setup hands to the final stage.
struct Ready {
    exe: PathBuf,
    env: Vec<String>,
    state_json: String,
}

fn setup<S: Syscall>(sys: &S, plan: &ContainerPlan, chan: &Channel) -> Result<Ready> {
    reset_signals();
    if let Some(fds) = plan.stdio {
        for (target, fd) in fds.iter().enumerate() {
            if *fd != target as i32 {
                nix::unistd::dup2(*fd, target as i32)
                    .map_err(|e| Error::os("installing the container's stdio", e.into()))?;
            }
        }
    }
    // Not dumpable while we hold host resources (CVE-2019-5736 class); execve of the
    // user's binary sets it back as the kernel's rules say. One exception: a rootless
    // runtime writes our id maps as an ordinary user, and /proc/PID/uid_map of a process
    // that is not dumpable belongs to root. So we stay dumpable until the maps are written
    // ("go"); until then nothing of the container runs, and only the runtime's own user,
    // who owns us anyway, could use it.
    let maps_by_user =
        plan.namespaces.creates(CloneFlags::CLONE_NEWUSER) && crate::rootless::is_rootless();
    if !maps_by_user {
        let _ = nix::sys::prctl::set_dumpable(false);
    }
    // The AppArmor and SELinux attributes are opened while /proc is still the host's.
    let label_on_exec = plan
        .selinux
        .process
        .clone()
        .map(|l| super::selinux::TaskAttr::open("exec", l))
        .transpose()?;
    let label_keys = match (&plan.selinux.process, &plan.new_keyring) {
        (Some(l), Some(_)) => Some(super::selinux::TaskAttr::open("keycreate", l.clone())?),
        _ => None,
    };
    let on_exec = plan
        .apparmor
        .clone()
        .map(super::apparmor::OnExec::open)
        .transpose()?;
    // The network namespace, left out of clone (see container::create). A user
    // namespace made by clone already gives us the rights, mapped or not.
    if plan.namespaces.creates(CloneFlags::CLONE_NEWNET)
        && !plan.namespaces.joins(CloneFlags::CLONE_NEWUSER)
    {
        sys.unshare(CloneFlags::CLONE_NEWNET)
            .ctx(|| "unshare(network)".into())?;
    }
    // If the runtime dies during setup, the next send or receive on the channel fails
    // and we exit: no PDEATHSIG, which would race with its normal exit after Ack.

    let state_json = protocol::child::go(chan)?;
    if maps_by_user {
        let _ = nix::sys::prctl::set_dumpable(false);
    }
    join_namespaces(sys, plan)?;
    if plan.namespaces.creates(CloneFlags::CLONE_NEWNET) {
        loopback_up()?;
    }
    if let Some(name) = &plan.new_keyring {
        // The new session keyring is made with the container's label (runc's order).
        if let Some(k) = label_keys {
            k.apply()?;
        }
        join_session_keyring(name);
    }

    let spec = plan.spec();
    let process = spec
        .process()
        .as_ref()
        .ok_or_else(|| Error::invalid("process: missing"))?;
    let linux = spec.linux().as_ref();
    let in_userns = plan.namespaces.creates(CloneFlags::CLONE_NEWUSER)
        || plan.namespaces.joins(CloneFlags::CLONE_NEWUSER);
    if in_userns {
        // Become root of the user namespace for the setup steps, where root is mapped (a
        // user without subordinate ranges may map only its own id, as another id than 0;
        // the capabilities the namespace gave this process do the setup then).
        let (uid0, gid0) = crate::rootless::root_is_mapped();
        if gid0 {
            sys.setresgid(0.into())
                .ctx(|| "setresgid(0) in the user namespace".into())?;
        }
        if uid0 {
            sys.setresuid(0.into())
                .ctx(|| "setresuid(0) in the user namespace".into())?;
        }
    }

    let cwd = process.cwd();
    // Device nodes and fresh sysfs are refused in any user namespace but the initial
    // one: the container's own, or the one the runtime itself was started in.
    let userns_rules = in_userns || crate::rootless::in_user_namespace();
    let cgroup_join = CgroupJoin::new(sys, plan, || protocol::child::joined(chan));
    filesystem(sys, plan, userns_rules, cwd, &cgroup_join, || {
        // Hooks between the mounts and pivot_root: prestart and createRuntime run in the
        // runtime's namespaces (the runtime runs them), createContainer in ours.
        let hooks = spec.hooks().as_ref();
        protocol::child::before_pivot(chan, protocol::runtime_hooks(hooks))?;
        // As runc, whose init holds process.env by now: a hook without env of its own gets it.
        let env = process.env().as_deref().unwrap_or(&[]);
        crate::hooks::run_all(Kind::CreateContainer, hooks, &state_json, env)
    })?;

    if let Some(h) = spec.hostname().as_deref().filter(|h| !h.is_empty()) {
        sys.sethostname(h).ctx(|| "hostname: sethostname".into())?;
    }
    if let Some(d) = spec.domainname().as_deref().filter(|d| !d.is_empty()) {
        sys.setdomainname(d)
            .map_err(|e| Error::os("domainname: setdomainname", e))?;
    }

    // The plan has a console socket exactly when process.terminal asks for one.
    if let Some(sock) = plan.console.as_ref().filter(|_| plan.checked.terminal) {
        console::attach_new_pty(sock.as_raw_fd(), process.console_size().as_ref())?;
        bind_console(sys)?;
    }

    sys.chdir(cwd)
        .ctx(|| format!("process.cwd: chdir to {}", cwd.display()))?;
    let env = process::environment(process);
    let args = process.args().as_deref().unwrap_or(&[]);
    let exe = process::find_executable(args.first().map(String::as_str).unwrap_or(""), &env)?;

    if let Some(a) = on_exec {
        a.apply()?;
    }
    if let Some(l) = label_on_exec {
        l.apply()?;
    }
    // Before seccomp, which may deny it; inherited across execve.
    if let Some(m) = &plan.checked.mempolicy {
        m.apply()?;
    }
    if !plan.keep_dirs.is_empty() {
        send_kept_dirs(chan, &plan.keep_dirs)?;
    }
    process::become_process(
        sys,
        process,
        linux.and_then(|l| l.personality().as_ref()),
        plan.checked.caps.as_ref(),
        plan.checked.seccomp.as_ref(),
        plan.preserve_fds,
    )?;
    protocol::child::ready(chan)?;
    Ok(Ready {
        exe,
        env,
        state_json,
    })
}

/// The wait for the runtime's cgroup join ("joined"), taken once and as late as it can be,
/// so that the init's mounts go ahead while the runtime writes cgroup.procs (on cgroup v1
/// the first such write waits for an RCU grace period, often longer than all the
/// mounts): before the first cgroup mount, else before pivot_root and the hooks, which
/// must run in the container's cgroup. A cgroup namespace of the container's own is made
/// right after it, so that its root is the container's cgroup.
pub(crate) struct CgroupJoin<'a, S: Syscall, W: Fn() -> Result<()>> {
    sys: &'a S,
    cgroupns: bool,
    wait: W,
    taken: std::cell::Cell<bool>,
}

impl<'a, S: Syscall, W: Fn() -> Result<()>> CgroupJoin<'a, S, W> {
    fn new(sys: &'a S, plan: &ContainerPlan, wait: W) -> Self {
        CgroupJoin {
            sys,
            cgroupns: plan.namespaces.creates(CloneFlags::CLONE_NEWCGROUP),
            wait,
            taken: std::cell::Cell::new(false),
        }
    }

    /// Waits for the join (the first time only), then makes the cgroup namespace.
    pub(crate) fn take(&self) -> Result<()> {
        if self.taken.replace(true) {
            return Ok(());
        }
        (self.wait)()?;
        if self.cgroupns {
            self.sys
                .unshare(CloneFlags::CLONE_NEWCGROUP)
                .ctx(|| "unshare(cgroup)".into())?;
        }
        Ok(())
    }
}

/// The container's filesystem, from the rootfs bind to the last lock: the mounts, /dev,
/// the cgroup join (before the first cgroup mount at the latest), `before_pivot` (the
/// hooks that run between the mounts and pivot_root), pivot_root, sysctls, readonlyPaths,
/// maskedPaths, a read-only root and the root's propagation. The order is the init's
/// security: see the tests below.
fn filesystem<S: Syscall, W: Fn() -> Result<()>>(
    sys: &S,
    plan: &ContainerPlan,
    in_userns: bool,
    cwd: &Path,
    cgroup_join: &CgroupJoin<'_, S, W>,
    before_pivot: impl FnOnce() -> Result<()>,
) -> Result<()> {
    let spec = plan.spec();
    let linux = spec.linux().as_ref();
    let mounts = &plan.checked.mounts;
    // No mount namespace of its own: the mounts go into a bind in the host's (validation
    // refused masked and read-only paths and a root propagation for this case).
    let on_host = !plan.namespaces.creates(CloneFlags::CLONE_NEWNS)
        && !plan.namespaces.joins(CloneFlags::CLONE_NEWNS);
    if on_host {
        rootfs::prepare_on_host(sys, plan.rootfs())?;
    } else {
        rootfs::prepare(sys, plan.rootfs(), plan.checked.root_propagation)?;
    }
    let rootfd: OwnedFd = std::fs::File::open(plan.rootfs())
        .map_err(|e| Error::path("opening", plan.rootfs(), e))?
        .into();
    let cx = RootfsContext {
        bundle: &plan.bundle.dir,
        in_userns,
        cgroupns: plan.namespaces.creates(CloneFlags::CLONE_NEWCGROUP),
        cgroup_dirs: &plan.cgroups.dirs,
        unified_cgroup: matches!(plan.cgroups.layout, crate::cgroups::Layout::Unified { .. }),
        before_cgroup_mount: &|| cgroup_join.take(),
        mount_label: plan.selinux.mount.as_deref(),
    };
    let kept = rootfs::mount_all(sys, &rootfd, mounts, &cx)?;
    let devices = linux.and_then(|l| l.devices().clone()).unwrap_or_default();
    super::dev::populate_dev(
        sys,
        &rootfd,
        &devices,
        in_userns,
        !super::dev::dev_is_bound(mounts),
    )?;
    super::resolve::ensure_in_root(rootfd.as_fd(), cwd, super::resolve::Leaf::Dir)
        .map_err(|e| Error::other(format!("process.cwd: {e}")))?;
    if rootfs::dev_wants_readonly(mounts) {
        rootfs::readonly_dev(sys, &rootfd)?;
    }
    drop(rootfd);
    cgroup_join.take()?;
    before_pivot()?;
    if on_host {
        rootfs::enter_by_chroot(sys, plan.rootfs())?;
    } else {
        rootfs::enter(sys, plan.rootfs(), plan.no_pivot)?;
    }
    // Before readonlyPaths makes /proc/sys read-only.
    if let Some(sysctl) = linux.and_then(|l| l.sysctl().as_ref()) {
        super::sysctl::apply(sys, sysctl, kept.proc())?;
    }
    // Read-only paths first, then masks (as runc): a mask is never covered by a later bind.
    if let Some(l) = linux {
        rootfs::readonly_paths(sys, l.readonly_paths().as_deref().unwrap_or(&[]), &kept)?;
        rootfs::mask_paths(
            sys,
            l.masked_paths().as_deref().unwrap_or(&[]),
            &kept,
            plan.selinux.mount.as_deref(),
        )?;
    }
    if spec
        .root()
        .as_ref()
        .and_then(|r| r.readonly())
        .unwrap_or(false)
    {
        rootfs::readonly_root(sys)?;
    }
    if let Some(p) = plan.checked.root_propagation {
        rootfs::set_root_propagation(sys, p)?;
    }
    Ok(())
}

impl Ready {
    fn wait_and_exec<S: Syscall>(
        self,
        sys: &S,
        plan: &ContainerPlan,
        exec_fifo: &OwnedFd,
        chan: &Channel,
    ) -> Result<std::convert::Infallible> {
        wait_for_start(exec_fifo, chan)?;
        if !Kind::StartContainer
            .list(plan.spec().hooks().as_ref())
            .is_empty()
        {
            // The state as `start` sees it: created, the user program not yet running.
            let mut state: serde_json::Value =
                serde_json::from_str(&self.state_json).unwrap_or_default();
            state["status"] = serde_json::Value::from("created");
            // The container process's environment for hooks without env of their own, as runc.
            crate::hooks::run_all(
                Kind::StartContainer,
                plan.spec().hooks().as_ref(),
                &state.to_string(),
                &self.env,
            )?;
        }
        let process = plan
            .spec()
            .process()
            .as_ref()
            .ok_or_else(|| Error::invalid("process: missing"))?;
        Err(process::exec_process(
            sys,
            process,
            plan.checked.seccomp.as_ref(),
            &self.exe,
            &self.env,
        ))
    }
}

/// Blocks until `start` writes to the fifo. We hold the read end (opened before the
/// clone), so the poll wakes only when a writer has written.
fn wait_for_start(fifo: &OwnedFd, chan: &Channel) -> Result<()> {
    // The channel stays in the poll set until the runtime that created us exits (EOF):
    // an attached `run` starts us through it, `start` through the fifo.
    let mut chan_open = true;
    loop {
        let mut fds = [
            PollFd::new(fifo.as_fd(), PollFlags::POLLIN),
            PollFd::new(chan.as_fd(), PollFlags::POLLIN),
        ];
        let n = if chan_open { 2 } else { 1 };
        match poll(&mut fds[..n], PollTimeout::NONE) {
            Ok(_) => {}
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(Error::os("waiting for start", e.into())),
        }
        let ready = |p: &PollFd| p.revents().is_some_and(|r| !r.is_empty());
        let (fifo_ready, chan_ready) = (ready(&fds[0]), ready(&fds[1]));
        if chan_open && chan_ready {
            match protocol::child::start_message(chan) {
                Wake::Start => return Ok(()),
                Wake::Closed => chan_open = false,
                Wake::Other => {}
            }
        }
        if fifo_ready {
            let mut b = [0u8; 1];
            if nix::unistd::read(fifo.as_raw_fd(), &mut b) == Ok(1) {
                return Ok(());
            }
            // A writer came and went without a byte: keep waiting.
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }
}

pub fn reset_signals() {
    use nix::sys::signal::{sigprocmask, SigSet, SigmaskHow};
    let _ = sigprocmask(SigmaskHow::SIG_SETMASK, Some(&SigSet::empty()), None);
    // SAFETY: SIG_DFL installs no handler, so no Rust code can run from a signal; this
    // process is single-threaded here (nix wraps signal(2) as unsafe for handlers only).
    unsafe {
        for sig in 1..32 {
            if sig != libc::SIGKILL && sig != libc::SIGSTOP {
                libc::signal(sig, libc::SIG_DFL);
            }
        }
    }
}

fn join_namespaces<S: Syscall>(sys: &S, plan: &ContainerPlan) -> Result<()> {
    let ns = &plan.namespaces;
    for (flag, fd) in &ns.join {
        if *flag == CloneFlags::CLONE_NEWPID {
            continue; // joined by the runtime before clone
        }
        let joined_already = *flag == CloneFlags::CLONE_NEWUSER && ns.user_joined_before_clone();
        if !joined_already {
            sys.setns(fd.as_fd(), *flag)
                .ctx(|| format!("linux.namespaces: joining {flag:?}"))?;
        }
        if *flag == CloneFlags::CLONE_NEWUSER {
            // Namespaces created after joining a user namespace belong to it.
            let rest = ns.new & !(CloneFlags::CLONE_NEWPID | CloneFlags::CLONE_NEWCGROUP | NEWTIME);
            if !rest.is_empty() {
                sys.unshare(rest).ctx(|| "unshare".into())?;
            }
        }
    }
    if ns.creates(NEWTIME) {
        sys.unshare(NEWTIME).ctx(|| "unshare(time)".into())?;
        namespaces::write_time_offsets(&plan.checked.time_offsets)?;
        let f = std::fs::File::open("/proc/self/ns/time_for_children")
            .map_err(|e| Error::os("opening time_for_children", e))?;
        sys.setns(f.as_fd(), NEWTIME)
            .ctx(|| "entering the new time namespace".into())?;
    }
    Ok(())
}

fn join_session_keyring(name: &str) {
    const KEYCTL_JOIN_SESSION_KEYRING: libc::c_long = 1;
    if let Ok(c) = std::ffi::CString::new(name) {
        // Neither nix nor rustix wraps keyctl.
        // SAFETY: KEYCTL_JOIN_SESSION_KEYRING reads one NUL-terminated string, `c`, which
        // outlives the call; failure (e.g. ENOSYS) is harmless here.
        unsafe { libc::syscall(libc::SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, c.as_ptr()) };
    }
}

/// Binds the pty slave onto /dev/console, as runc does; best effort (no /dev is fine).
/// Binds the pty slave (now our stdin) onto /dev/console, by fd on both sides. An image's
/// /dev/console that is a symlink (into /proc/sys, say) or anything but a regular file or a
/// character device is refused rather than followed (the CVE-2025-52565 class).
fn bind_console<S: Syscall>(sys: &S) -> Result<()> {
    // fd 0 was just made the pty slave by attach_new_pty.
    let slave = rustix::stdio::stdin();
    let st = rustix::fs::fstat(slave).map_err(|e| Error::os("stat the pty", e.into()))?;
    // UNIX98 pty slaves have majors 136-143.
    if (st.st_mode & libc::S_IFMT) != libc::S_IFCHR
        || !(136..=143).contains(&rustix::fs::major(st.st_rdev))
    {
        return Err(Error::other("process.terminal: stdin is not a pty slave"));
    }
    let root = super::resolve::current_root().map_err(|e| Error::os("opening /", e))?;
    let dev = super::resolve::open_in_root(
        root.as_fd(),
        std::path::Path::new("/dev"),
        libc::O_PATH | libc::O_DIRECTORY | libc::O_NOFOLLOW,
    )
    .map_err(|e| Error::os("/dev/console: opening /dev", e))?;
    // Create it if missing (O_EXCL: never through a symlink), else open it without following.
    let _ = rustix::fs::openat(
        &dev,
        "console",
        rustix::fs::OFlags::CREATE
            | rustix::fs::OFlags::EXCL
            | rustix::fs::OFlags::WRONLY
            | rustix::fs::OFlags::NOFOLLOW
            | rustix::fs::OFlags::CLOEXEC,
        rustix::fs::Mode::from_raw_mode(0o600),
    );
    let target = rustix::fs::openat(
        &dev,
        "console",
        rustix::fs::OFlags::PATH | rustix::fs::OFlags::NOFOLLOW | rustix::fs::OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
    )
    .map_err(|e| Error::os("/dev/console: opening", e.into()))?;
    let kind = rustix::fs::fstat(&target)
        .map_err(|e| Error::os("/dev/console: stat", e.into()))?
        .st_mode
        & libc::S_IFMT;
    if kind != libc::S_IFREG && kind != libc::S_IFCHR {
        return Err(Error::other(
            "/dev/console in the rootfs is neither a regular file nor a device; refusing to bind the console onto it",
        ));
    }
    super::fdmount::bind(sys, slave.as_fd(), target.as_fd())
        .map_err(|e| Error::os("binding the console onto /dev/console", e))
}

/// Brings up `lo` in a new network namespace, as runc does.
fn loopback_up() -> Result<()> {
    use nix::sys::socket::{socket, AddressFamily, SockFlag, SockType};
    let sock = socket(
        AddressFamily::Inet,
        SockType::Datagram,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .map_err(|e| Error::os("bringing up lo: socket", e.into()))?;
    // Neither nix nor rustix wraps SIOCGIFFLAGS / SIOCSIFFLAGS.
    // SAFETY: ifreq is plain data for which all-zero is valid; both ioctls get a pointer to
    // this live local, which SIOCGIFFLAGS fills and SIOCSIFFLAGS reads, and `sock` is an
    // open socket for the whole block.
    let rc = unsafe {
        let mut req: libc::ifreq = std::mem::zeroed();
        for (dst, src) in req.ifr_name.iter_mut().zip(b"lo\0") {
            *dst = *src as libc::c_char;
        }
        let mut rc = libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFFLAGS as _, &mut req);
        if rc == 0 {
            req.ifr_ifru.ifru_flags |= (libc::IFF_UP | libc::IFF_RUNNING) as libc::c_short;
            rc = libc::ioctl(sock.as_raw_fd(), libc::SIOCSIFFLAGS as _, &req);
        }
        rc
    };
    let err = std::io::Error::last_os_error();
    drop(sock);
    if rc != 0 {
        return Err(Error::os("bringing up lo", err));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    //! Order rules of the filesystem steps, checked on the recording fake (no root needed).
    use super::*;
    use crate::linux::sys::fake::Recorder;

    /// The fake's procfs is the host's /proc (so paths resolve beneath it without root):
    /// these tests use paths found in any /proc.
    /// A bundle in a temporary directory whose spec has a procfs, a sysfs, a tmpfs /dev,
    /// a read-only bind, sysctls, readonlyPaths, maskedPaths and a read-only root.
    fn plan(tmp: &Path) -> ContainerPlan {
        let rootfs = tmp.join("rootfs");
        std::fs::create_dir_all(&rootfs).unwrap();
        std::fs::create_dir_all(tmp.join("data")).unwrap();
        let spec: oci_spec::runtime::Spec = serde_json::from_value(serde_json::json!({
            "ociVersion": "1.0.2",
            "root": {"path": "rootfs", "readonly": true},
            "process": {"user": {"uid": 0, "gid": 0}, "args": ["/bin/true"], "cwd": "/"},
            "mounts": [
                {"destination": "/proc", "type": "proc", "source": "proc"},
                {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
                 "options": ["nosuid", "mode=755"]},
                {"destination": "/sys", "type": "sysfs", "source": "sysfs",
                 "options": ["nosuid", "noexec", "nodev", "ro"]},
                {"destination": "/data", "type": "bind", "source": "data",
                 "options": ["rbind", "ro"]}
            ],
            "linux": {
                "namespaces": [{"type": "mount"}, {"type": "network"}],
                "sysctl": {"net.ipv4.ip_forward": "1"},
                "readonlyPaths": ["/proc/sys", "/proc/irq"],
                "maskedPaths": ["/proc/timer_list", "/proc/acpi"]
            }
        }))
        .unwrap();
        // The plan's own checks, then what the host would have said (nothing joined, no
        // cgroup), so the init's steps run on exactly what create would hand them.
        let checked = crate::plan::Checked::of(tmp, &spec).unwrap();
        ContainerPlan {
            id: "t".into(),
            bundle: crate::spec::Bundle {
                dir: tmp.to_path_buf(),
                spec,
                text: Vec::new(),
            },
            checked,
            namespaces: super::namespaces::Namespaces {
                new: CloneFlags::CLONE_NEWNS | CloneFlags::CLONE_NEWNET,
                join: Vec::new(),
            },
            clone_flags: CloneFlags::CLONE_NEWNS,
            uid_maps: Vec::new(),
            gid_maps: Vec::new(),
            oom_score_adj: None,
            apparmor: None,
            selinux: Default::default(),
            cgroups: crate::plan::CgroupPlan {
                layout: crate::cgroups::Layout::Unified {
                    root: "/sys/fs/cgroup".into(),
                    own: "/".into(),
                },
                dirs: Vec::new(),
                unit: None,
                path: None,
                resources: None,
                device_rules_apply: false,
            },
            host_bind: None,
            console: None,
            no_pivot: false,
            new_keyring: None,
            preserve_fds: 0,
            stdio: None,
            keep_dirs: Vec::new(),
            pid_file: None,
        }
    }

    /// Runs the filesystem steps of `plan` on the fake; returns it with the indexes at which
    /// the cgroup join was taken and the hooks between the mounts and pivot_root ran.
    fn run_plan(plan: &ContainerPlan) -> (Recorder, usize, usize) {
        let sys = Recorder::new();
        let joined_at = std::cell::Cell::new(None);
        let join = CgroupJoin::new(&sys, plan, || {
            assert!(joined_at.get().is_none(), "the join was taken twice");
            joined_at.set(Some(sys.names().len()));
            Ok(())
        });
        let mut hooks_at = None;
        filesystem(&sys, plan, false, Path::new("/"), &join, || {
            hooks_at = Some(sys.names().len());
            Ok(())
        })
        .unwrap();
        (
            sys,
            joined_at.get().expect("the join was taken"),
            hooks_at.unwrap(),
        )
    }

    fn run() -> (Recorder, usize) {
        let tmp = tempfile::tempdir().unwrap();
        let (sys, _, hooks) = run_plan(&plan(tmp.path()));
        (sys, hooks)
    }

    /// `plan` with a cgroup namespace of its own, and a cgroup mount when `mount` says so.
    fn plan_with_cgroupns(tmp: &Path, mount: bool) -> ContainerPlan {
        let mut plan = plan(tmp);
        plan.namespaces.new |= CloneFlags::CLONE_NEWCGROUP;
        if mount {
            let mut spec = plan.bundle.spec.clone();
            let mut mounts = spec.mounts().clone().unwrap_or_default();
            mounts.push(
                serde_json::from_value(serde_json::json!({
                    "destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
                    "options": ["nosuid", "noexec", "nodev", "ro"]
                }))
                .unwrap(),
            );
            spec.set_mounts(Some(mounts));
            plan.checked = crate::plan::Checked::of(tmp, &spec).unwrap();
            plan.bundle.spec = spec;
        }
        plan
    }

    #[test]
    fn the_cgroup_join_is_taken_after_the_mounts_when_no_cgroup_is_mounted() {
        let tmp = tempfile::tempdir().unwrap();
        let (sys, joined, hooks) = run_plan(&plan_with_cgroupns(tmp.path(), false));
        let calls = sys.calls();
        // Every mount before it (they overlap the runtime's cgroup.procs write), then the
        // cgroup namespace, then the hooks.
        let last_mount = calls.iter().rposition(|c| c.name == "mknodat").unwrap();
        assert!(last_mount < joined, "{calls:#?}");
        let unshare = idx(&sys, "unshare", "CLONE_NEWCGROUP");
        assert!(joined <= unshare && unshare < hooks, "{calls:#?}");
    }

    #[test]
    fn the_cgroup_join_and_namespace_come_before_a_cgroup_mount() {
        let tmp = tempfile::tempdir().unwrap();
        let (sys, joined, hooks) = run_plan(&plan_with_cgroupns(tmp.path(), true));
        let calls = sys.calls();
        let proc_mount = idx(&sys, "fsmount", "proc ");
        let unshare = idx(&sys, "unshare", "CLONE_NEWCGROUP");
        let cgroup_mount = calls
            .iter()
            .position(|c| c.args.contains("cgroup2"))
            .unwrap_or_else(|| panic!("no cgroup2 mount: {calls:#?}"));
        // The mounts listed before it still overlap the join.
        assert!(proc_mount < joined, "{calls:#?}");
        assert!(joined <= unshare && unshare < cgroup_mount, "{calls:#?}");
        assert!(cgroup_mount < hooks, "{calls:#?}");
        // Taken once: one unshare.
        assert_eq!(
            calls.iter().filter(|c| c.name == "unshare").count(),
            1,
            "{calls:#?}"
        );
    }

    #[test]
    fn the_v1_cgroup_tmpfs_carries_the_mount_label() {
        let tmp = tempfile::tempdir().unwrap();
        let mut plan = plan_with_cgroupns(tmp.path(), true);
        plan.cgroups.layout = crate::cgroups::Layout::Legacy {
            hierarchies: Vec::new(),
        };
        plan.selinux.mount = Some("u:object_r:t:s0:c1,c2".into());
        let (sys, _, _) = run_plan(&plan);
        let calls = sys.calls();
        let tmpfs = calls
            .iter()
            .find(|c| c.name == "mount" && c.args.contains("/sys/fs/cgroup Some(\"tmpfs\")"))
            .unwrap_or_else(|| panic!("no tmpfs for the v1 hierarchies: {calls:#?}"));
        assert!(
            tmpfs
                .args
                .contains(r#"mode=755,context=\"u:object_r:t:s0:c1,c2\""#),
            "{tmpfs:?}"
        );
    }

    /// The remount of root.readonly.
    const RO_ROOT: &str = "None / None MsFlags(MS_RDONLY | MS_REMOUNT | MS_BIND";

    fn idx(sys: &Recorder, name: &str, needle: &str) -> usize {
        sys.first_with(name, needle)
            .unwrap_or_else(|| panic!("no {name} with {needle:?} in {:#?}", sys.calls()))
    }

    #[test]
    fn pivot_root_after_every_container_mount_and_before_masks_and_readonly_paths() {
        let (sys, hooks) = run();
        let calls = sys.calls();
        let pivot = idx(&sys, "pivot_root", "");
        // Every mount of config.json's `mounts` and of /dev is made before the hooks, and
        // those run before pivot_root.
        let last_container_mount = ["fsmount", "mount", "mknodat", "symlinkat"]
            .iter()
            .filter_map(|n| {
                calls[..pivot]
                    .iter()
                    .rposition(|c| c.name == *n && !c.args.contains("MS_SLAVE"))
            })
            .max()
            .unwrap();
        assert!(last_container_mount < hooks && hooks <= pivot, "{calls:#?}");
        assert!(idx(&sys, "fsmount", "proc ") < pivot, "{calls:#?}");
        assert!(idx(&sys, "fsmount", "sysfs ") < pivot, "{calls:#?}");
        assert!(idx(&sys, "mount", "\"tmpfs\"") < pivot, "{calls:#?}");
        assert!(idx(&sys, "mount", "MS_BIND | MS_REC") < pivot, "{calls:#?}");
        assert!(idx(&sys, "mknodat", "null") < pivot, "{calls:#?}");
        // The locks come after it.
        assert!(pivot < idx(&sys, "mount_setattr", ""), "{calls:#?}");
        assert!(
            pivot < idx(&sys, "open_tree", "recursive=false"),
            "{calls:#?}"
        );
        assert!(pivot < idx(&sys, "mount", RO_ROOT), "{calls:#?}");
    }

    #[test]
    fn sysctls_before_readonly_paths() {
        let (sys, _) = run();
        let calls = sys.calls();
        let sysctl = idx(&sys, "write_proc", "sys/net/ipv4/ip_forward 1");
        assert!(sysctl > idx(&sys, "pivot_root", ""), "{calls:#?}");
        assert!(sysctl < idx(&sys, "mount_setattr", ""), "{calls:#?}");
    }

    #[test]
    fn readonly_paths_before_masked_paths() {
        let (sys, _) = run();
        let calls = sys.calls();
        let last_readonly = sys.last("mount_setattr").unwrap();
        // Both readonlyPaths were bound read-only, and both masks made: /dev/null over the
        // file, an empty read-only tmpfs over the directory.
        assert_eq!(
            calls.iter().filter(|c| c.name == "mount_setattr").count(),
            2
        );
        let mask_file = idx(&sys, "open_tree", "/dev/null recursive=false");
        let pivot = idx(&sys, "pivot_root", "");
        let mask_dir = calls
            .iter()
            .enumerate()
            .position(|(i, c)| i > pivot && c.name == "fsmount" && c.args.starts_with("tmpfs"))
            .unwrap_or_else(|| panic!("no tmpfs mask: {calls:#?}"));
        assert!(last_readonly < mask_file, "{calls:#?}");
        assert!(last_readonly < mask_dir, "{calls:#?}");
        // root.readonly last of all.
        let ro_root = idx(&sys, "mount", RO_ROOT);
        assert!(mask_file < ro_root && mask_dir < ro_root, "{calls:#?}");
    }
}
