//! The container init: what runs in the child after clone, top to bottom.
//!
//! 1. wait for the runtime (maps written, cgroups joined), join namespaces by path
//! 2. filesystem: propagation, rootfs bind, mounts, /dev, pivot_root, masks, read-only
//! 3. hostname, domainname, terminal, executable lookup  -> tell the runtime "ready"
//! 4. wait for `start` on the exec fifo
//! 5. rlimits, user, capabilities, no_new_privs, fds, execve

use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::PathBuf;

use nix::mount::MsFlags;
use nix::sched::CloneFlags;
use oci_spec::runtime::Spec;

use super::console;
use super::namespaces::{self, Namespaces, NEWTIME};
use super::process::{self, CapSets};
use super::rootfs::{self, RootfsContext};
use super::sync::{Channel, Msg};
use crate::error::{Context, Error, Result};
use crate::hooks::Kind;

/// Everything the init needs, resolved by the runtime before clone.
pub struct Plan {
    pub spec: Spec,
    pub bundle: PathBuf,
    pub rootfs: PathBuf,
    pub namespaces: Namespaces,
    pub cgroup_dirs: Vec<PathBuf>,
    pub unified_cgroup: bool,
    pub no_pivot: bool,
    pub new_keyring: Option<String>,
    pub preserve_fds: u32,
    pub console_socket: Option<OwnedFd>,
    /// Descriptors to install as fds 0, 1 and 2 first thing.
    pub stdio: Option<[std::os::fd::RawFd; 3]>,
    /// Read end of the exec fifo, opened non-blocking before clone.
    pub exec_fifo: OwnedFd,
    pub caps: Option<CapSets>,
    /// linux.seccomp, compiled before clone; installed last.
    pub seccomp: Option<super::seccomp::Filters>,
    pub time_offsets: Vec<(String, i64, u32)>,
    pub root_propagation: Option<MsFlags>,
}

/// How the init failed.
pub enum Failure {
    /// During setup: already reported to the runtime, which prints it.
    Reported,
    /// After `start` (e.g. execve): only the container's stderr can show it.
    AfterStart(Error),
}

/// Runs the init; returns only on failure.
pub fn run(plan: Plan, chan: Channel) -> Failure {
    match setup(&plan, &chan) {
        Ok(ready) => match ready.wait_and_exec(&plan, &chan) {
            Ok(never) => match never {},
            Err(e) => Failure::AfterStart(e),
        },
        Err(e) => {
            let _ = chan.send(&Msg::Failed(e.to_string()));
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

fn setup(plan: &Plan, chan: &Channel) -> Result<Ready> {
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
    // user's binary sets it back as the kernel's rules say.
    let _ = nix::sys::prctl::set_dumpable(false);
    // The network namespace, left out of clone (see container::create). A user
    // namespace made by clone already gives us the rights, mapped or not.
    if plan.namespaces.creates(CloneFlags::CLONE_NEWNET)
        && !plan.namespaces.joins(CloneFlags::CLONE_NEWUSER)
    {
        nix::sched::unshare(CloneFlags::CLONE_NEWNET).ctx(|| "unshare(network)".into())?;
    }
    // If the runtime dies during setup, the next send or receive on the channel fails
    // and we exit: no PDEATHSIG, which would race with its normal exit after Ack.

    let state_json = match chan.recv()? {
        Some(Msg::Go(state)) => state,
        other => {
            return Err(Error::other(format!(
                "init: expected go from the runtime, got {other:?}"
            )))
        }
    };
    // With a cgroup namespace to make, its root must be our cgroup: wait until the
    // runtime has moved us. Otherwise the mounts go ahead while it does.
    let cgroupns = plan.namespaces.creates(CloneFlags::CLONE_NEWCGROUP);
    if cgroupns {
        wait_joined(chan)?;
    }
    join_namespaces(plan)?;
    if cgroupns {
        nix::sched::unshare(CloneFlags::CLONE_NEWCGROUP).ctx(|| "unshare(cgroup)".into())?;
    }
    if plan.namespaces.creates(CloneFlags::CLONE_NEWNET) {
        loopback_up()?;
    }
    if let Some(name) = &plan.new_keyring {
        join_session_keyring(name);
    }

    let spec = &plan.spec;
    let process = spec
        .process()
        .as_ref()
        .ok_or_else(|| Error::invalid("process: missing"))?;
    let linux = spec.linux().as_ref();
    let in_userns = plan.namespaces.creates(CloneFlags::CLONE_NEWUSER)
        || plan.namespaces.joins(CloneFlags::CLONE_NEWUSER);
    if in_userns {
        // Become root of the user namespace for the setup steps.
        nix::unistd::setresgid(0.into(), 0.into(), 0.into())
            .ctx(|| "setresgid(0) in the user namespace".into())?;
        nix::unistd::setresuid(0.into(), 0.into(), 0.into())
            .ctx(|| "setresuid(0) in the user namespace".into())?;
    }

    // Filesystem.
    let mounts = spec.mounts().clone().unwrap_or_default();
    rootfs::prepare(&plan.rootfs, plan.root_propagation)?;
    let rootfd: OwnedFd = std::fs::File::open(&plan.rootfs)
        .map_err(|e| Error::path("opening", &plan.rootfs, e))?
        .into();
    let cx = RootfsContext {
        rootfs: &plan.rootfs,
        bundle: &plan.bundle,
        in_userns,
        cgroupns: plan.namespaces.creates(CloneFlags::CLONE_NEWCGROUP),
        cgroup_dirs: &plan.cgroup_dirs,
        unified_cgroup: plan.unified_cgroup,
    };
    let kept = rootfs::mount_all(&rootfd, &mounts, &cx)?;
    let devices = linux.and_then(|l| l.devices().clone()).unwrap_or_default();
    rootfs::populate_dev(&rootfd, &devices, in_userns, !rootfs::dev_is_bound(&mounts))?;
    let cwd = process.cwd();
    super::resolve::ensure_in_root(rootfd.as_fd(), cwd, super::resolve::Leaf::Dir)
        .map_err(|e| Error::other(format!("process.cwd: {e}")))?;
    drop(rootfd);
    if !cgroupns {
        wait_joined(chan)?;
    }
    // Hooks between the mounts and pivot_root: prestart and createRuntime run in the
    // runtime's namespaces (the runtime runs them), createContainer in ours.
    let hooks = spec.hooks().as_ref();
    if !Kind::Prestart.list(hooks).is_empty() || !Kind::CreateRuntime.list(hooks).is_empty() {
        chan.send(&Msg::Hooks)?;
        match chan.recv()? {
            Some(Msg::Go(_)) => {}
            other => {
                return Err(Error::other(format!(
                    "init: expected go after the hooks, got {other:?}"
                )))
            }
        }
    }
    crate::hooks::run_all(Kind::CreateContainer, hooks, &state_json)?;
    rootfs::enter(&plan.rootfs, plan.no_pivot)?;
    // Before readonlyPaths makes /proc/sys read-only.
    if let Some(sysctl) = linux.and_then(|l| l.sysctl().as_ref()) {
        super::sysctl::apply(sysctl, kept.proc())?;
    }
    // Read-only paths first, then masks (as runc): a mask is never covered by a later bind.
    if let Some(l) = linux {
        rootfs::readonly_paths(l.readonly_paths().as_deref().unwrap_or(&[]), &kept)?;
        rootfs::mask_paths(l.masked_paths().as_deref().unwrap_or(&[]), &kept)?;
    }
    if spec
        .root()
        .as_ref()
        .and_then(|r| r.readonly())
        .unwrap_or(false)
    {
        rootfs::readonly_root()?;
    }
    if let Some(p) = plan.root_propagation {
        rootfs::set_root_propagation(p)?;
    }

    if let Some(h) = spec.hostname().as_deref().filter(|h| !h.is_empty()) {
        nix::unistd::sethostname(h).ctx(|| "hostname: sethostname".into())?;
    }
    if let Some(d) = spec.domainname().as_deref().filter(|d| !d.is_empty()) {
        rustix::system::setdomainname(d.as_bytes())
            .map_err(|e| Error::os("domainname: setdomainname", e.into()))?;
    }

    if process.terminal().unwrap_or(false) {
        let sock = plan.console_socket.as_ref().ok_or_else(|| {
            Error::invalid("process.terminal is true but no --console-socket was given")
        })?;
        console::attach_new_pty(sock.as_raw_fd(), process.console_size().as_ref())?;
        bind_console()?;
    }

    nix::unistd::chdir(cwd).ctx(|| format!("process.cwd: chdir to {}", cwd.display()))?;
    let env = process::environment(process);
    let args = process.args().as_deref().unwrap_or(&[]);
    let exe = process::find_executable(args.first().map(String::as_str).unwrap_or(""), &env)?;

    process::become_process(
        process,
        linux.and_then(|l| l.personality().as_ref()),
        plan.caps.as_ref(),
        plan.seccomp.as_ref(),
        plan.preserve_fds,
    )?;
    chan.send(&Msg::Ready)?;
    match chan.recv()? {
        Some(Msg::Ack) => {}
        other => {
            return Err(Error::other(format!(
                "init: expected ack from the runtime, got {other:?}"
            )))
        }
    }
    Ok(Ready {
        exe,
        env,
        state_json,
    })
}

impl Ready {
    fn wait_and_exec(self, plan: &Plan, chan: &Channel) -> Result<std::convert::Infallible> {
        wait_for_start(&plan.exec_fifo, chan)?;
        if !Kind::StartContainer
            .list(plan.spec.hooks().as_ref())
            .is_empty()
        {
            // The state as `start` sees it: created, the user program not yet running.
            let mut state: serde_json::Value =
                serde_json::from_str(&self.state_json).unwrap_or_default();
            state["status"] = serde_json::Value::from("created");
            crate::hooks::run_all(
                Kind::StartContainer,
                plan.spec.hooks().as_ref(),
                &state.to_string(),
            )?;
        }
        let process = plan
            .spec
            .process()
            .as_ref()
            .ok_or_else(|| Error::invalid("process: missing"))?;
        Err(process::exec_process(
            process,
            plan.seccomp.as_ref(),
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
            libc::pollfd {
                fd: fifo.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: chan.raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        let n = if chan_open { 2 } else { 1 };
        // nix's poll wants BorrowedFds, and the channel hands out only a raw fd.
        // SAFETY: fds holds n (at most 2) initialised pollfds on fds that stay open (the
        // fifo and the channel are borrowed for this call); the kernel writes only revents.
        let rc = unsafe { libc::poll(fds.as_mut_ptr(), n, -1) };
        if rc < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return Err(Error::os("waiting for start", e));
        }
        if chan_open && fds[1].revents != 0 {
            match chan.recv() {
                Ok(Some(Msg::Start)) => return Ok(()),
                Ok(None) | Err(_) => chan_open = false,
                Ok(Some(_)) => {}
            }
        }
        if fds[0].revents != 0 {
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

fn wait_joined(chan: &Channel) -> Result<()> {
    match chan.recv()? {
        Some(Msg::Joined) => Ok(()),
        other => Err(Error::other(format!(
            "init: expected the cgroup join from the runtime, got {other:?}"
        ))),
    }
}

fn join_namespaces(plan: &Plan) -> Result<()> {
    let ns = &plan.namespaces;
    for (flag, fd) in &ns.join {
        if *flag == CloneFlags::CLONE_NEWPID {
            continue; // joined by the runtime before clone
        }
        let joined_already = *flag == CloneFlags::CLONE_NEWUSER && ns.user_joined_before_clone();
        if !joined_already {
            nix::sched::setns(fd, *flag).ctx(|| format!("linux.namespaces: joining {flag:?}"))?;
        }
        if *flag == CloneFlags::CLONE_NEWUSER {
            // Namespaces created after joining a user namespace belong to it.
            let rest = ns.new & !(CloneFlags::CLONE_NEWPID | CloneFlags::CLONE_NEWCGROUP | NEWTIME);
            if !rest.is_empty() {
                nix::sched::unshare(rest).ctx(|| "unshare".into())?;
            }
        }
    }
    if ns.creates(NEWTIME) {
        nix::sched::unshare(NEWTIME).ctx(|| "unshare(time)".into())?;
        namespaces::write_time_offsets(&plan.time_offsets)?;
        let f = std::fs::File::open("/proc/self/ns/time_for_children")
            .map_err(|e| Error::os("opening time_for_children", e))?;
        nix::sched::setns(f, NEWTIME).ctx(|| "entering the new time namespace".into())?;
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
fn bind_console() -> Result<()> {
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
    super::fdmount::bind(slave.as_fd(), target.as_fd())
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
        let mut rc = libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFFLAGS, &mut req);
        if rc == 0 {
            req.ifr_ifru.ifru_flags |= (libc::IFF_UP | libc::IFF_RUNNING) as libc::c_short;
            rc = libc::ioctl(sock.as_raw_fd(), libc::SIOCSIFFLAGS, &req);
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
