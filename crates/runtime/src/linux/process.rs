//! The last steps before execve: rlimits, user and groups, capabilities,
//! no_new_privs, then exec. Kept in the order the kernel needs: rlimits and the
//! bounding set while still privileged, identity with KEEPCAPS, then the other sets.

use std::collections::HashSet;
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use caps::{CapSet, Capability};
use nix::errno::Errno;
use nix::sys::resource::Resource;
use nix::sys::stat::Mode;
use nix::unistd::{Gid, Uid};
use oci_spec::runtime::{LinuxCapabilities, LinuxPersonality, PosixRlimit, Process};

use super::sys::Syscall;
use crate::error::{Context, Error, Result};

const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

fn rlimit_resource(name: &str) -> Option<Resource> {
    Some(match name {
        "RLIMIT_AS" => Resource::RLIMIT_AS,
        "RLIMIT_CORE" => Resource::RLIMIT_CORE,
        "RLIMIT_CPU" => Resource::RLIMIT_CPU,
        "RLIMIT_DATA" => Resource::RLIMIT_DATA,
        "RLIMIT_FSIZE" => Resource::RLIMIT_FSIZE,
        "RLIMIT_LOCKS" => Resource::RLIMIT_LOCKS,
        "RLIMIT_MEMLOCK" => Resource::RLIMIT_MEMLOCK,
        "RLIMIT_MSGQUEUE" => Resource::RLIMIT_MSGQUEUE,
        "RLIMIT_NICE" => Resource::RLIMIT_NICE,
        "RLIMIT_NOFILE" => Resource::RLIMIT_NOFILE,
        "RLIMIT_NPROC" => Resource::RLIMIT_NPROC,
        "RLIMIT_RSS" => Resource::RLIMIT_RSS,
        "RLIMIT_RTPRIO" => Resource::RLIMIT_RTPRIO,
        "RLIMIT_RTTIME" => Resource::RLIMIT_RTTIME,
        "RLIMIT_SIGPENDING" => Resource::RLIMIT_SIGPENDING,
        "RLIMIT_STACK" => Resource::RLIMIT_STACK,
        _ => return None,
    })
}

/// The rlimit's name as config.json spells it ("RLIMIT_NOFILE").
fn rlimit_name(r: &PosixRlimit) -> String {
    serde_json::to_value(r.typ())
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// Checks what can be checked of a process before clone, so errors are cheap.
pub fn check(p: &Process, personality: Option<&LinuxPersonality>) -> Result<()> {
    check_rlimits(p.rlimits().as_deref().unwrap_or(&[]))?;
    if let Some(s) = p.scheduler() {
        super::sched::check_scheduler(s)?;
    }
    if let Some(io) = p.io_priority() {
        super::sched::check_io_priority(io)?;
    }
    if let Some(pers) = personality {
        super::sched::check_personality(pers)?;
    }
    Ok(())
}

/// Checks every rlimit name; run before clone so a typo fails cheaply.
pub fn check_rlimits(limits: &[PosixRlimit]) -> Result<()> {
    for r in limits {
        let name = rlimit_name(r);
        if rlimit_resource(&name).is_none() {
            return Err(Error::invalid(format!(
                "process.rlimits: unknown type {name:?}"
            )));
        }
        if r.soft() > r.hard() {
            return Err(Error::invalid(format!(
                "process.rlimits: {name} soft limit {} is above its hard limit {}",
                r.soft(),
                r.hard()
            )));
        }
    }
    Ok(())
}

pub fn apply_rlimits<S: Syscall>(sys: &S, limits: &[PosixRlimit]) -> Result<()> {
    for r in limits {
        let name = rlimit_name(r);
        let res = rlimit_resource(&name)
            .ok_or_else(|| Error::invalid(format!("process.rlimits: unknown type {name:?}")))?;
        if let Err(e) = sys.setrlimit(res, r.soft(), r.hard()) {
            if e == Errno::EPERM {
                return Err(Error::invalid(format!(
                    "process.rlimits: raising the hard limit of {name} to {} needs CAP_SYS_RESOURCE, which this runtime does not hold",
                    r.hard()
                )));
            }
            return Err(Error::os(
                format!("process.rlimits: setting {name}"),
                e.into(),
            ));
        }
    }
    Ok(())
}

fn cap_set(list: &Option<HashSet<oci_spec::runtime::Capability>>) -> Result<HashSet<Capability>> {
    let mut out = HashSet::new();
    for c in list.iter().flatten() {
        let name = serde_json::to_value(c)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let cap = Capability::from_str(&name).map_err(|_| {
            Error::invalid(format!("process.capabilities: unknown capability {name:?}"))
        })?;
        out.insert(cap);
    }
    Ok(out)
}

/// Parsed capability sets, checked before clone.
pub struct CapSets {
    bounding: HashSet<Capability>,
    effective: HashSet<Capability>,
    inheritable: HashSet<Capability>,
    permitted: HashSet<Capability>,
    ambient: HashSet<Capability>,
}

impl CapSets {
    /// The process's capability sets. A missing `process.capabilities` is the least privilege:
    /// every set empty, as runc (never the full set of the root user the init starts as).
    pub fn of(p: &Process) -> Result<CapSets> {
        match p.capabilities() {
            Some(c) => CapSets::parse(c),
            None => CapSets::parse(&CapSets::empty_spec()),
        }
    }

    /// A `process.capabilities` with every set present and empty.
    pub fn empty_spec() -> LinuxCapabilities {
        let mut c = LinuxCapabilities::default();
        c.set_bounding(Some(Default::default()))
            .set_effective(Some(Default::default()))
            .set_inheritable(Some(Default::default()))
            .set_permitted(Some(Default::default()))
            .set_ambient(Some(Default::default()));
        c
    }

    pub fn parse(c: &LinuxCapabilities) -> Result<CapSets> {
        Ok(CapSets {
            bounding: cap_set(c.bounding())?,
            effective: cap_set(c.effective())?,
            inheritable: cap_set(c.inheritable())?,
            permitted: cap_set(c.permitted())?,
            ambient: cap_set(c.ambient())?,
        })
    }

    /// Drops everything outside the bounding set (needs CAP_SETPCAP, so do it first).
    fn apply_bounding<S: Syscall>(&self, sys: &S) -> Result<()> {
        for cap in caps::all() {
            if self.bounding.contains(&cap) {
                continue;
            }
            match sys.drop_bounding_cap(cap) {
                Ok(()) => {}
                // EINVAL: a capability this kernel does not know; nothing to drop.
                Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {}
                Err(e) => {
                    return Err(Error::other(format!(
                        "process.capabilities: dropping {cap} from the bounding set: {e}"
                    )));
                }
            }
        }
        Ok(())
    }

    fn apply_rest<S: Syscall>(&self, sys: &S) -> Result<()> {
        let set = |which: CapSet, v: &HashSet<Capability>, name: &str| {
            sys.set_caps(which, v)
                .map_err(|e| Error::other(format!("process.capabilities.{name}: {e}")))
        };
        // capset checks E within P and I within the old P at every step: set I while P
        // is still full, shrink E, then P.
        set(CapSet::Inheritable, &self.inheritable, "inheritable")?;
        set(CapSet::Effective, &self.effective, "effective")?;
        set(CapSet::Permitted, &self.permitted, "permitted")?;
        sys.clear_ambient()
            .map_err(|e| Error::other(format!("process.capabilities.ambient: {e}")))?;
        for cap in &self.ambient {
            // The kernel only raises an ambient cap present in permitted and inheritable;
            // runc skips the others silently, and so do we.
            if self.permitted.contains(cap) && self.inheritable.contains(cap) {
                sys.raise_ambient(*cap).map_err(|e| {
                    Error::other(format!("process.capabilities.ambient: {cap}: {e}"))
                })?;
            }
        }
        Ok(())
    }
}

/// Switches to the process user (groups first), keeping or trimming capabilities.
pub fn become_user<S: Syscall>(sys: &S, p: &Process, caps: Option<&CapSets>) -> Result<()> {
    if let Some(c) = caps {
        c.apply_bounding(sys)?;
    }
    let user = p.user();
    let _ = sys.set_keepcaps(true);
    let gids: Vec<Gid> = user
        .additional_gids()
        .iter()
        .flatten()
        .map(|g| Gid::from_raw(*g))
        .collect();
    // The init still holds CAP_SETGID here, so EPERM means one thing: a user namespace
    // whose setgroups is "deny", where the groups cannot change (runc skips them there
    // too). That is learnt from the call itself, not from /proc/self/setgroups: after
    // pivot_root (and in `exec`) /proc is the container's, and a planted "deny" would
    // leave the runtime's own groups on the process.
    match sys.setgroups(&gids) {
        Ok(()) | Err(nix::errno::Errno::EPERM) => {}
        Err(e) => {
            return Err(Error::os(
                "process.user.additionalGids: setgroups",
                e.into(),
            ))
        }
    }
    let gid = Gid::from_raw(user.gid());
    sys.setresgid(gid)
        .ctx(|| format!("process.user.gid: setresgid({gid})"))?;
    let uid = Uid::from_raw(user.uid());
    sys.setresuid(uid)
        .ctx(|| format!("process.user.uid: setresuid({uid})"))?;
    let _ = sys.set_keepcaps(false);
    if let Some(c) = caps {
        c.apply_rest(sys)?;
    }
    Ok(())
}

pub fn set_no_new_privs<S: Syscall>(sys: &S) -> Result<()> {
    sys.set_no_new_privs()
        .map_err(|e| Error::os("noNewPrivileges: prctl", e.into()))
}

/// The environment for execve: process.env, plus HOME from /etc/passwd when unset.
pub fn environment(p: &Process) -> Vec<String> {
    let mut env: Vec<String> = p.env().clone().unwrap_or_default();
    if !env.iter().any(|e| e.starts_with("HOME=")) {
        let home = home_of(p.user().uid()).unwrap_or_else(|| "/".into());
        env.push(format!("HOME={home}"));
    }
    env
}

fn home_of(uid: u32) -> Option<String> {
    let text = std::fs::read_to_string("/etc/passwd").ok()?;
    text.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.len() >= 6 && f[2].parse::<u32>().ok() == Some(uid)).then(|| f[5].to_owned())
    })
}

/// Finds args[0] as execve will run it: a path if it has a '/', else through PATH.
pub fn find_executable(arg0: &str, env: &[String]) -> Result<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let executable = |p: &Path| {
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if arg0.contains('/') {
        // Worded as runc words them: engines map "no such file or directory" to exit
        // code 127 and "permission denied" to 126.
        let p = PathBuf::from(arg0);
        return match std::fs::metadata(&p) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(Error::other(format!(
                "exec: {arg0:?}: stat {arg0}: no such file or directory"
            ))),
            Err(e) => Err(Error::other(format!("exec: {arg0:?}: stat {arg0}: {e}"))),
            Ok(_) if !executable(&p) => {
                Err(Error::other(format!("exec: {arg0:?}: permission denied")))
            }
            Ok(_) => Ok(p),
        };
    }
    let path = env
        .iter()
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or(DEFAULT_PATH);
    path.split(':')
        .map(|dir| Path::new(if dir.is_empty() { "." } else { dir }).join(arg0))
        .find(|p| executable(p))
        .ok_or_else(|| {
            Error::other(format!(
                "exec: {arg0:?}: executable file not found in $PATH"
            ))
        })
}

/// Checks that the caller passed every fd that `--preserve-fds N` hands on (3 .. 3+N): one
/// that is missing would otherwise be filled by the runtime's own next open (its state
/// directory, the sync socket, a namespace) and leak into the container. Call it before the
/// runtime opens anything.
pub fn check_preserved_fds(count: u32) -> Result<()> {
    for fd in 3..3u32.saturating_add(count) {
        let Ok(raw) = i32::try_from(fd) else {
            return Err(Error::invalid(format!("--preserve-fds {count}: too many")));
        };
        if let Err(e) = nix::sys::stat::fstat(raw) {
            return Err(Error::invalid(format!(
                "--preserve-fds {count}: fd {raw} (of {}) was not passed to the runtime: {e}",
                3 + count - 1
            )));
        }
    }
    Ok(())
}

/// Marks every fd from `first` up close-on-exec (the preserved ones and stdio stay).
pub fn close_fds_from<S: Syscall>(sys: &S, first: u32) -> Result<()> {
    sys.cloexec_from(first)
        .map_err(|e| Error::os("close_range", e))
}

/// The process's identity and limits, shared by the container init and `exec`:
/// rlimits, scheduling, personality, umask, user and groups, capabilities and
/// no_new_privs. The init does this before it reports ready (as runc does), so a
/// failure here fails `create` instead of killing the container after `start`.
pub fn become_process<S: Syscall>(
    sys: &S,
    p: &Process,
    personality: Option<&LinuxPersonality>,
    caps: Option<&CapSets>,
    seccomp: Option<&super::seccomp::Filters>,
    preserve_fds: u32,
) -> Result<()> {
    check_cwd_inside()?;
    release_fds(sys, preserve_fds)?;
    apply_rlimits(sys, p.rlimits().as_deref().unwrap_or(&[]))?;
    // While still privileged: real-time policies and classes need it.
    if let Some(s) = p.scheduler() {
        super::sched::apply_scheduler(s)?;
    }
    if let Some(io) = p.io_priority() {
        super::sched::apply_io_priority(io)?;
    }
    if let Some(pers) = personality {
        super::sched::apply_personality(pers)?;
    }
    sys.umask(Mode::from_bits_truncate(
        p.user().umask().unwrap_or(0o022) as libc::mode_t
    ));
    let nnp = p.no_new_privileges().unwrap_or(false);
    // Without no_new_privs the kernel only accepts a filter from a process that holds
    // CAP_SYS_ADMIN: install it before the capabilities go (as runc does). Everything
    // the init does after it must then be allowed by the profile.
    if let (Some(f), false) = (seccomp, nnp) {
        sys.install_seccomp(f)?;
    }
    become_user(sys, p, caps)?;
    if nnp {
        set_no_new_privs(sys)?;
    }
    Ok(())
}

/// Marks every fd but stdio and the preserved ones close-on-exec, and the preserved ones
/// inheritable (even if the caller opened them close-on-exec). Done before any seccomp
/// filter is loaded, so that no profile can deny it (close_range is missing from many).
pub fn release_fds<S: Syscall>(sys: &S, preserve_fds: u32) -> Result<()> {
    for fd in 3..3 + preserve_fds as i32 {
        // check_preserved_fds made sure it is open.
        let _ = sys.clear_cloexec(fd);
    }
    close_fds_from(sys, 3 + preserve_fds)
}

/// Checks that the process's working directory is inside its root: a cwd reached through
/// a directory fd of the runtime (process.cwd = /proc/self/fd/N) would be outside it, and
/// the kernel then reports it as unreachable (the CVE-2024-21626 class).
pub fn check_cwd_inside() -> Result<()> {
    match nix::unistd::getcwd() {
        Ok(p) if p.is_absolute() => Ok(()),
        Ok(p) => Err(Error::other(format!(
            "process.cwd: {} is outside the container's root",
            p.display()
        ))),
        Err(e) => Err(Error::errno("process.cwd: outside the container's root", e)),
    }
}

/// The very last steps: seccomp (with no_new_privs), execve.
/// Returns only on failure.
pub fn exec_process<S: Syscall>(
    sys: &S,
    p: &Process,
    seccomp: Option<&super::seccomp::Filters>,
    exe: &Path,
    env: &[String],
) -> Error {
    let steps = || -> Result<()> {
        if let (Some(f), true) = (seccomp, p.no_new_privileges().unwrap_or(false)) {
            sys.install_seccomp(f)?;
        }
        Ok(())
    };
    if let Err(e) = steps() {
        return e;
    }
    exec(sys, exe, p.args().as_deref().unwrap_or(&[]), env)
}

pub fn exec<S: Syscall>(sys: &S, path: &Path, args: &[String], env: &[String]) -> Error {
    let cs = |s: &[u8]| {
        CString::new(s).map_err(|_| Error::invalid("process.args/env: contains a NUL byte"))
    };
    let build = || -> Result<(CString, Vec<CString>, Vec<CString>)> {
        Ok((
            cs(path.as_os_str().as_bytes())?,
            args.iter()
                .map(|a| cs(a.as_bytes()))
                .collect::<Result<_>>()?,
            env.iter()
                .map(|e| cs(e.as_bytes()))
                .collect::<Result<_>>()?,
        ))
    };
    match build() {
        Ok((p, a, e)) => match sys.execve(&p, &a, &e) {
            Err(errno) => Error::errno(format!("exec {}", path.display()), errno),
            Ok(never) => match never {},
        },
        Err(e) => e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_executables_through_path() {
        let env = vec!["PATH=/nonexistent:/bin:/usr/bin".to_string()];
        assert!(find_executable("sh", &env).unwrap().ends_with("sh"));
        let e = find_executable("no-such-prog-xyz", &env)
            .unwrap_err()
            .to_string();
        assert!(e.contains("executable file not found"), "{e}");
        assert!(find_executable("/bin/sh", &[]).is_ok());
        assert!(find_executable("/nonexistent/x", &[]).is_err());
    }

    #[test]
    fn rlimit_checks() {
        let ok: PosixRlimit =
            serde_json::from_str(r#"{"type":"RLIMIT_NOFILE","soft":10,"hard":20}"#).unwrap();
        assert!(check_rlimits(&[ok]).is_ok());
        let bad: PosixRlimit =
            serde_json::from_str(r#"{"type":"RLIMIT_NOFILE","soft":30,"hard":20}"#).unwrap();
        assert!(check_rlimits(&[bad])
            .unwrap_err()
            .to_string()
            .contains("soft limit"));
    }

    /// Order rules of the last steps before execve, checked on the recording fake (no root
    /// needed): see `become_process` and `exec_process`.
    mod order {
        use super::*;
        use crate::linux::seccomp::{compile, Filters};
        use crate::linux::sys::fake::Recorder;

        fn process(nnp: bool) -> Process {
            serde_json::from_value(serde_json::json!({
                "user": {"uid": 1000, "gid": 1000, "additionalGids": [5, 6]},
                "args": ["/bin/true"],
                "cwd": "/",
                "noNewPrivileges": nnp,
                "rlimits": [{"type": "RLIMIT_NOFILE", "soft": 1024, "hard": 1024}]
            }))
            .unwrap()
        }

        fn caps() -> CapSets {
            let c: LinuxCapabilities = serde_json::from_value(serde_json::json!({
                "bounding": ["CAP_CHOWN", "CAP_KILL"],
                "effective": ["CAP_CHOWN"],
                "inheritable": [],
                "permitted": ["CAP_CHOWN"],
                "ambient": []
            }))
            .unwrap();
            CapSets::parse(&c).unwrap()
        }

        fn filters() -> Filters {
            compile(
                &serde_json::from_value(serde_json::json!({
                    "defaultAction": "SCMP_ACT_ALLOW",
                    "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"}]
                }))
                .unwrap(),
            )
            .unwrap()
        }

        /// become_process, then (as after `start`) exec_process, on the fake.
        fn run(nnp: bool) -> Recorder {
            let sys = Recorder::new();
            let (p, c, f) = (process(nnp), caps(), filters());
            become_process(&sys, &p, None, Some(&c), Some(&f), 2).unwrap();
            let e = exec_process(&sys, &p, Some(&f), Path::new("/bin/true"), &[]);
            assert!(e.to_string().contains("exec /bin/true"), "{e}");
            sys
        }

        fn idx(sys: &Recorder, name: &str) -> usize {
            sys.first(name)
                .unwrap_or_else(|| panic!("no {name} in {:?}", sys.names()))
        }

        #[test]
        fn bounding_set_dropped_before_setresuid_and_groups_before_ids() {
            for nnp in [false, true] {
                let sys = run(nnp);
                let calls = sys.names();
                let last_drop = sys.last("capbset_drop").expect("no bounding drop");
                let uid = idx(&sys, "setresuid");
                let gid = idx(&sys, "setresgid");
                let groups = idx(&sys, "setgroups");
                assert!(
                    last_drop < uid,
                    "bounding set dropped after setresuid: {calls:?}"
                );
                assert!(
                    groups < gid && groups < uid,
                    "setgroups after the ids: {calls:?}"
                );
                assert!(gid < uid, "setresgid after setresuid: {calls:?}");
                // Kept across the uid change, then trimmed to the configured sets.
                assert!(
                    sys.first_with("keepcaps", "true").unwrap() < uid,
                    "{calls:?}"
                );
                assert!(idx(&sys, "capset") > uid, "{calls:?}");
                assert_eq!(sys.calls()[groups].args, "[5, 6]");
            }
        }

        #[test]
        fn without_no_new_privs_the_filter_goes_in_while_capabilities_are_held() {
            let sys = run(false);
            let calls = sys.names();
            let filter = idx(&sys, "seccomp");
            assert!(filter < idx(&sys, "capbset_drop"), "{calls:?}");
            assert!(filter < idx(&sys, "setresuid"), "{calls:?}");
            assert!(filter < idx(&sys, "capset"), "{calls:?}");
            assert_eq!(sys.first("no_new_privs"), None, "{calls:?}");
            assert_eq!(
                sys.last("seccomp"),
                Some(filter),
                "installed twice: {calls:?}"
            );
        }

        #[test]
        fn with_no_new_privs_the_filter_is_the_last_step_before_execve() {
            let sys = run(true);
            let calls = sys.names();
            let nnp = idx(&sys, "no_new_privs");
            let filter = idx(&sys, "seccomp");
            let exec = idx(&sys, "execve");
            assert!(nnp < filter, "filter before no_new_privs: {calls:?}");
            assert_eq!(
                filter + 1,
                exec,
                "something between the filter and execve: {calls:?}"
            );
            assert_eq!(exec + 1, calls.len(), "{calls:?}");
            assert_eq!(
                sys.last("seccomp"),
                Some(filter),
                "installed twice: {calls:?}"
            );
        }

        #[test]
        fn fds_swept_before_any_filter() {
            for nnp in [false, true] {
                let sys = run(nnp);
                let calls = sys.names();
                let sweep = idx(&sys, "close_range");
                assert!(sweep < idx(&sys, "seccomp"), "{calls:?}");
                assert_eq!(sys.calls()[sweep].args, "5 CLOEXEC", "{calls:?}");
                // The preserved fds 3 and 4 made inheritable before the sweep.
                assert!(sys.last("clear_cloexec").unwrap() < sweep, "{calls:?}");
            }
        }

        #[test]
        fn a_failing_step_stops_the_sequence() {
            let sys = Recorder::new();
            sys.fail("setgroups", nix::errno::Errno::EINVAL);
            let (p, c, f) = (process(true), caps(), filters());
            let e = become_process(&sys, &p, None, Some(&c), Some(&f), 0).unwrap_err();
            assert!(e.to_string().contains("process.user.additionalGids"), "{e}");
            assert_eq!(sys.first("setresuid"), None, "{:?}", sys.names());
            // EPERM (a user namespace with setgroups "deny") is not a failure.
            let sys = Recorder::new();
            sys.fail("setgroups", nix::errno::Errno::EPERM);
            become_process(&sys, &p, None, Some(&c), Some(&f), 0).unwrap();
        }
    }
}
