//! `exec`: runs a new process inside a running or created container. It joins every namespace of
//! the container's init and its cgroups, then applies the process's confinement (from
//! --process, or the bundle's process edited by the flags) exactly as the init does.

use std::fs;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::PathBuf;

use nix::sched::CloneFlags;
use oci_spec::runtime::{Capability, LinuxNamespaceType, LinuxPersonality, Process, Spec};

use crate::cgroups;
use crate::error::{Context, Error, Result};
use crate::linux::clone::{clone_in_cgroup, Forked};
use crate::linux::console;
use crate::linux::namespaces::flag;
use crate::linux::process::{self, CapSets};
use crate::linux::protocol::{self, parent::Exec, Channel};
use crate::linux::sys::{Host, Syscall};
use crate::spec;
use crate::state::{Root, Status};

/// Flags of `exec`.
#[derive(Debug, Clone, Default)]
pub struct ExecOptions {
    pub id: String,
    pub process_file: Option<PathBuf>,
    pub args: Vec<String>,
    pub tty: bool,
    pub console_socket: Option<PathBuf>,
    pub detach: bool,
    pub pid_file: Option<PathBuf>,
    pub env: Vec<String>,
    pub cwd: Option<PathBuf>,
    pub user: Option<String>,
    pub additional_gids: Vec<u32>,
    pub caps: Vec<String>,
    pub no_new_privs: bool,
    pub preserve_fds: u32,
    /// --apparmor: the AppArmor profile for the process (replaces process.apparmorProfile).
    pub apparmor: Option<String>,
    /// --process-label: the SELinux label of the process (replaces process.selinuxLabel).
    pub process_label: Option<String>,
    /// --ignore-paused: exec into a paused container too (the process stays frozen, and an
    /// attached exec waits, until `resume`).
    pub ignore_paused: bool,
    /// --cgroup `[CONTROLLER[,CONTROLLER...]:]PATH`, repeatable: run the process in an
    /// existing sub-cgroup of the container's cgroup (all hierarchies, or the named ones).
    pub sub_cgroups: Vec<String>,
}

/// Namespace types in the order they are joined: user first (it grants the rights to
/// join the rest), mount last but one, pid handled by the runtime before clone.
const JOIN_ORDER: &[(LinuxNamespaceType, &str)] = &[
    (LinuxNamespaceType::User, "user"),
    (LinuxNamespaceType::Ipc, "ipc"),
    (LinuxNamespaceType::Uts, "uts"),
    (LinuxNamespaceType::Network, "net"),
    (LinuxNamespaceType::Cgroup, "cgroup"),
    (LinuxNamespaceType::Time, "time"),
    (LinuxNamespaceType::Mount, "mnt"),
];

/// Builds the process to run: process.json as given, or the bundle's process with
/// the command-line changes (as runc does).
pub(crate) fn build_process(o: &ExecOptions, config: &Spec) -> Result<Process> {
    if let Some(path) = &o.process_file {
        let text = fs::read(path).map_err(|e| Error::path("--process: cannot read", path, e))?;
        let de = &mut serde_json::Deserializer::from_slice(&text);
        let p: Process = serde_path_to_error::deserialize(de).map_err(|e| {
            Error::invalid(format!(
                "--process {}: field {}: {}",
                path.display(),
                e.path(),
                e.inner()
            ))
        })?;
        return Ok(p);
    }
    if o.args.is_empty() {
        return Err(Error::invalid("exec: a command (or --process) is required"));
    }
    let mut p = config
        .process()
        .clone()
        .ok_or_else(|| Error::invalid("process: missing in config.json"))?;
    p.set_args(Some(o.args.clone()));
    p.set_terminal(Some(o.tty));
    p.set_console_size(None);
    let mut env = p.env().clone().unwrap_or_default();
    for kv in &o.env {
        let key = kv.split('=').next().unwrap_or("");
        if !kv.contains('=') {
            return Err(Error::invalid(format!("--env {kv:?}: expected KEY=VALUE")));
        }
        env.retain(|e| e.split('=').next() != Some(key));
        env.push(kv.clone());
    }
    p.set_env(Some(env));
    if let Some(cwd) = &o.cwd {
        p.set_cwd(cwd.clone());
    }
    if let Some(profile) = o.apparmor.as_ref().filter(|a| !a.is_empty()) {
        p.set_apparmor_profile(Some(profile.clone()));
    }
    if let Some(label) = o.process_label.as_ref().filter(|a| !a.is_empty()) {
        p.set_selinux_label(Some(label.clone()));
    }
    if let Some(u) = &o.user {
        let (uid, gid) = match u.split_once(':') {
            Some((a, b)) => (a, Some(b)),
            None => (u.as_str(), None),
        };
        let num = |s: &str| {
            s.parse::<u32>()
                .map_err(|_| Error::invalid(format!("--user {u:?}: expected UID[:GID] as numbers")))
        };
        let mut user = p.user().clone();
        user.set_uid(num(uid)?);
        if let Some(g) = gid {
            user.set_gid(num(g)?);
        }
        p.set_user(user);
    }
    if !o.additional_gids.is_empty() {
        let mut user = p.user().clone();
        user.set_additional_gids(Some(o.additional_gids.clone()));
        p.set_user(user);
    }
    if !o.caps.is_empty() {
        // No process.capabilities means none (not oci-spec's defaults).
        let mut caps = p.capabilities().clone().unwrap_or_else(CapSets::empty_spec);
        for name in &o.caps {
            let cap: Capability =
                serde_json::from_value(serde_json::Value::String(name.to_ascii_uppercase()))
                    .map_err(|_| Error::invalid(format!("--cap {name:?}: unknown capability")))?;
            let add = |set: &Option<std::collections::HashSet<Capability>>| {
                let mut s = set.clone().unwrap_or_default();
                s.insert(cap);
                Some(s)
            };
            // Bounding, effective and permitted, as runc: never inheritable or ambient, which
            // would hand the capability on to any program with file capabilities
            // (CVE-2022-29162).
            let (b, e, pe) = (
                add(caps.bounding()),
                add(caps.effective()),
                add(caps.permitted()),
            );
            caps.set_bounding(b).set_effective(e).set_permitted(pe);
        }
        p.set_capabilities(Some(caps));
    }
    if o.no_new_privs {
        p.set_no_new_privileges(Some(true));
    }
    Ok(p)
}

/// Runs the exec; returns the process's exit code (attached) or 0 (detached).
pub fn exec(root: &Root, o: &ExecOptions) -> Result<i32> {
    crate::linux::sealed_exe::require()?;
    let (locked, rec) = root.open(&o.id)?;
    // As runc: a created container takes execs too (its init waits for `start` inside the
    // namespaces and cgroups it set up); only paused and stopped ones refuse.
    match rec.status(&locked.dir) {
        Status::Running | Status::Created => {}
        Status::Paused if o.ignore_paused => {}
        Status::Paused => {
            return Err(Error::other(
                "cannot exec in a paused container (use --ignore-paused to override)",
            ))
        }
        _ => return Err(Error::other("cannot exec in a stopped container")),
    }
    let cgroup_dirs = sub_cgroup_dirs(&rec.cgroup_dirs, &o.sub_cgroups)?;
    // The config create used (runc keeps it in its state too): the bundle's config.json may
    // have changed or gone since.
    let kept = locked.dir.join(crate::state::CONFIG);
    let text = fs::read(&kept).map_err(|e| Error::path("cannot read", &kept, e))?;
    let config =
        spec::parse(&text).map_err(|e| Error::invalid(format!("{}: {e}", kept.display())))?;
    let process = build_process(o, &config)?;
    if process.args().as_ref().is_none_or(|a| a.is_empty()) {
        return Err(Error::invalid(
            "process.args: must contain at least one element",
        ));
    }
    process::check(
        &process,
        config
            .linux()
            .as_ref()
            .and_then(|l| l.personality().as_ref()),
    )?;
    let caps = Some(CapSets::of(&process)?);
    let seccomp = config
        .linux()
        .as_ref()
        .and_then(|l| l.seccomp().as_ref())
        .map(crate::linux::seccomp::compile)
        .transpose()?;
    let apparmor = crate::linux::apparmor::profile_to_apply(process.apparmor_profile().as_deref())?;
    let label = crate::linux::selinux::Labels::resolve(
        process.selinux_label().as_deref(),
        None,
        crate::linux::selinux::enabled,
    )?
    .process;
    let terminal = process.terminal().unwrap_or(false);
    if terminal && o.console_socket.is_none() && o.detach {
        return Err(Error::invalid("exec --tty --detach needs --console-socket"));
    }

    // The namespaces to join: every one the container has, from its init.
    let types: Vec<LinuxNamespaceType> = config
        .linux()
        .as_ref()
        .and_then(|l| l.namespaces().as_ref())
        .map(|v| v.iter().map(|n| n.typ()).collect())
        .unwrap_or_default();
    // No mount namespace to join (the container's mounts are in the host's): the process
    // takes the init's root by chroot instead.
    let chroot_to: Option<OwnedFd> = if rec.host_bind.is_some() {
        let path = format!("/proc/{}/root", rec.pid);
        Some(
            fs::File::open(&path)
                .map_err(|e| Error::os(format!("opening {path}"), e))?
                .into(),
        )
    } else {
        None
    };
    let mut joins: Vec<(CloneFlags, OwnedFd)> = Vec::new();
    for (t, name) in JOIN_ORDER {
        if types.contains(t) {
            let path = format!("/proc/{}/ns/{name}", rec.pid);
            let f = fs::File::open(&path).map_err(|e| Error::os(format!("opening {path}"), e))?;
            joins.push((flag(*t), f.into()));
        }
    }
    if types.contains(&LinuxNamespaceType::Pid) {
        let path = format!("/proc/{}/ns/pid", rec.pid);
        let f = fs::File::open(&path).map_err(|e| Error::os(format!("opening {path}"), e))?;
        nix::sched::setns(&f, CloneFlags::CLONE_NEWPID)
            .ctx(|| "joining the pid namespace".into())?;
    }
    // The init is alive (checked above) and pinned by the namespace fds we hold;
    // release the lock so that other commands run while this process does.
    drop(locked);

    let (console_sock, console_ours) = match (&o.console_socket, terminal) {
        (Some(p), true) => (
            Some(
                std::os::unix::net::UnixStream::connect(p)
                    .map_err(|e| Error::path("--console-socket: cannot connect to", p, e))?
                    .into(),
            ),
            None,
        ),
        (None, true) => {
            let (a, b) =
                std::os::unix::net::UnixStream::pair().map_err(|e| Error::os("socketpair", e))?;
            (Some(OwnedFd::from(b)), Some(OwnedFd::from(a)))
        }
        _ => (None, None),
    };
    let mask = if o.detach {
        None
    } else {
        Some(crate::attach::block_signals()?)
    };
    let (ours, theirs) = Channel::pair()?;
    // One directory: cgroup v2, where the process can be born in it if that gives it the
    // cgroup's cpuset on this kernel (a v1 directory is refused by the kernel, and then it is
    // moved as before). At the container's pids.max the kernel refuses it too, and the move
    // that follows is not held to pids.max: as in runc, an exec at the limit still runs.
    let cgroup_dir = match cgroup_dirs.as_slice() {
        [dir] => cgroups::v2::birth_dir(dir),
        _ => None,
    };
    let (forked, born_in_cgroup) = clone_in_cgroup(0, cgroup_dir.as_ref().map(|f| f.as_fd()))?;
    drop(cgroup_dir);
    let pid = match forked {
        Forked::Child => {
            drop(ours);
            let prepared = Prepared {
                personality: config
                    .linux()
                    .as_ref()
                    .and_then(|l| l.personality().as_ref()),
                joins: &joins,
                chroot_to: chroot_to.as_ref(),
                process: &process,
                caps: caps.as_ref(),
                seccomp: seccomp.as_ref(),
                console_sock: console_sock.as_ref(),
                preserve_fds: o.preserve_fds,
                apparmor: apparmor.clone(),
                label: label.clone(),
            };
            let err = match child(&theirs, &prepared) {
                Ok(never) => match never {},
                Err(e) => e,
            };
            protocol::child::failed(&theirs, &err);
            // Neither nix 0.29 nor rustix 1 (without its "runtime" feature) wraps _exit.
            // SAFETY: _exit takes an integer and never returns; it leaves at once without
            // the parent's exit handlers, which this copy of the process must not run.
            unsafe { libc::_exit(127) }
        }
        Forked::Parent { pid, .. } => pid,
    };
    drop(theirs);
    drop(console_sock);
    let reap = |pid: i32| {
        let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(pid), None);
    };
    let joined = match born_in_cgroup {
        true => Ok(()),
        false => cgroups::join(&cgroup_dirs, pid),
    };
    if let Err(e) = joined {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
        reap(pid);
        return Err(e);
    }
    // The channel is close-on-exec: its end means execve succeeded.
    if let Exec::Failed(m) = protocol::parent::release_exec(&ours)? {
        reap(pid);
        return Err(Error::other(m));
    }
    if let Some(pf) = &o.pid_file {
        crate::container::write_pid_file(pf, pid)?;
    }
    let Some(mask) = mask else { return Ok(0) };
    let master = match console_ours {
        Some(sock) => Some(console::recv_fd(sock.as_raw_fd())?),
        None => None,
    };
    crate::attach::supervise(pid, master.as_ref(), &mask)
}

/// The cgroup directories the process joins: the container's, each replaced by its
/// sub-cgroup where a `--cgroup` value names one (for every hierarchy without a controller
/// list; on cgroup v1 for the hierarchies holding a listed controller). The sub-cgroup must
/// exist, as runc wants.
fn sub_cgroup_dirs(dirs: &[PathBuf], values: &[String]) -> Result<Vec<PathBuf>> {
    if values.is_empty() {
        return Ok(dirs.to_vec());
    }
    let bad = |v: &str, why: &str| Error::invalid(format!("--cgroup {v:?}: {why}"));
    // (controller or "" for all, sub path)
    let mut subs: Vec<(String, PathBuf)> = Vec::new();
    for v in values {
        let (ctrls, path) = match v.split_once(':') {
            Some((c, p)) => (c.split(',').map(str::to_owned).collect(), p),
            None => (vec![String::new()], v.as_str()),
        };
        let path = std::path::Path::new(path);
        if path.as_os_str().is_empty() || path.is_absolute() {
            return Err(bad(v, "expected a path relative to the container's cgroup"));
        }
        if path
            .components()
            .any(|c| !matches!(c, std::path::Component::Normal(_)))
        {
            return Err(bad(v, "the path must not contain '..' or '.'"));
        }
        for c in ctrls {
            if c.is_empty() && v.contains(':') {
                return Err(bad(v, "empty controller name"));
            }
            if subs.iter().any(|(have, _)| *have == c) {
                return Err(bad(v, "a controller is given twice"));
            }
            subs.push((c, path.to_path_buf()));
        }
    }
    if dirs.is_empty() {
        return Err(Error::invalid(
            "--cgroup: the container has no cgroup of its own",
        ));
    }
    let layout = cgroups::Layout::detect()?;
    let hierarchy = |d: &std::path::Path| -> Vec<String> {
        match &layout {
            cgroups::Layout::Unified { .. } => Vec::new(),
            cgroups::Layout::Legacy { hierarchies } => hierarchies
                .iter()
                .filter(|h| d.starts_with(&h.mount))
                .max_by_key(|h| h.mount.components().count())
                .map(|h| h.controllers.split(',').map(str::to_owned).collect())
                .unwrap_or_default(),
        }
    };
    let unified = matches!(layout, cgroups::Layout::Unified { .. });
    if unified && subs.iter().any(|(c, _)| !c.is_empty()) {
        return Err(Error::invalid(
            "--cgroup: controller names are for cgroup v1; on v2 give only a path",
        ));
    }
    let mut used = vec![false; subs.len()];
    let mut out = Vec::with_capacity(dirs.len());
    for d in dirs {
        let ctrls = hierarchy(d);
        let pick = subs
            .iter()
            .position(|(c, _)| ctrls.contains(c))
            .or_else(|| subs.iter().position(|(c, _)| c.is_empty()));
        let Some(i) = pick else {
            out.push(d.clone());
            continue;
        };
        used[i] = true;
        let sub = d.join(&subs[i].1);
        if !sub.is_dir() {
            return Err(Error::invalid(format!(
                "--cgroup: {} does not exist",
                sub.display()
            )));
        }
        out.push(sub);
    }
    if let Some(i) = used.iter().position(|u| !u) {
        return Err(Error::invalid(format!(
            "--cgroup: the container is in no {:?} hierarchy",
            subs[i].0
        )));
    }
    Ok(out)
}

/// What the exec'd process needs, resolved by the runtime before clone.
struct Prepared<'a> {
    personality: Option<&'a LinuxPersonality>,
    joins: &'a [(CloneFlags, OwnedFd)],
    /// The init's root, for a container without a mount namespace.
    chroot_to: Option<&'a OwnedFd>,
    process: &'a Process,
    caps: Option<&'a CapSets>,
    seccomp: Option<&'a crate::linux::seccomp::Filters>,
    console_sock: Option<&'a OwnedFd>,
    preserve_fds: u32,
    /// The AppArmor profile to apply, when AppArmor is enabled.
    apparmor: Option<String>,
    /// The SELinux label to apply, when SELinux is enabled.
    label: Option<String>,
}

fn child(chan: &Channel, prep: &Prepared) -> Result<std::convert::Infallible> {
    let Prepared {
        personality,
        joins,
        chroot_to,
        process: p,
        caps,
        seccomp,
        console_sock,
        preserve_fds,
        ref apparmor,
        ref label,
    } = *prep;
    crate::linux::init::reset_signals();
    let _ = nix::sys::prctl::set_dumpable(false);
    // Opened while /proc is the host's, written just before the process is confined.
    let on_exec = apparmor
        .clone()
        .map(crate::linux::apparmor::OnExec::open)
        .transpose()?;
    let label_on_exec = label
        .clone()
        .map(|l| crate::linux::selinux::TaskAttr::open("exec", l))
        .transpose()?;
    // Wait until the runtime has moved us into the container's cgroups.
    protocol::child::exec_go(chan)?;
    let sys = Host;
    for (f, fd) in joins {
        sys.setns(fd.as_fd(), *f)
            .ctx(|| format!("joining the container's {f:?} namespace"))?;
    }
    if joins.iter().any(|(f, _)| *f == CloneFlags::CLONE_NEWUSER) {
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
    if let Some(root) = chroot_to {
        sys.fchdir(root.as_fd())
            .ctx(|| "chdir to the container's root".into())?;
        sys.chroot(std::path::Path::new("."))
            .ctx(|| "chroot to the container's root".into())?;
    }
    if p.terminal().unwrap_or(false) {
        let sock =
            console_sock.ok_or_else(|| Error::invalid("process.terminal: no console socket"))?;
        console::attach_new_pty(sock.as_raw_fd(), p.console_size().as_ref())?;
    }
    sys.chdir(p.cwd())
        .ctx(|| format!("process.cwd: chdir to {}", p.cwd().display()))?;
    let env = process::environment(p);
    let args = p.args().as_deref().unwrap_or(&[]);
    let exe = process::find_executable(args.first().map(String::as_str).unwrap_or(""), &env)?;
    if let Some(a) = on_exec {
        a.apply()?;
    }
    if let Some(l) = label_on_exec {
        l.apply()?;
    }
    process::become_process(&sys, p, personality, caps, seccomp, preserve_fds)?;
    Err(process::exec_process(&sys, p, seccomp, &exe, &env))
}
