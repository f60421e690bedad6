//! Namespaces: which to create, which to join by path, and the user-namespace maps.

use std::fs::File;
use std::os::fd::OwnedFd;
use std::path::Path;

use nix::sched::CloneFlags;
use oci_spec::runtime::{Linux, LinuxIdMapping, LinuxNamespaceType};

use crate::error::{Error, Result};

pub fn flag(t: LinuxNamespaceType) -> CloneFlags {
    match t {
        LinuxNamespaceType::Mount => CloneFlags::CLONE_NEWNS,
        LinuxNamespaceType::Cgroup => CloneFlags::CLONE_NEWCGROUP,
        LinuxNamespaceType::Uts => CloneFlags::CLONE_NEWUTS,
        LinuxNamespaceType::Ipc => CloneFlags::CLONE_NEWIPC,
        LinuxNamespaceType::User => CloneFlags::CLONE_NEWUSER,
        LinuxNamespaceType::Pid => CloneFlags::CLONE_NEWPID,
        LinuxNamespaceType::Network => CloneFlags::CLONE_NEWNET,
        // CLONE_NEWTIME (0x80) has no nix constant.
        LinuxNamespaceType::Time => CloneFlags::from_bits_retain(0x80),
    }
}

pub const NEWTIME: CloneFlags = CloneFlags::from_bits_retain(0x80);

/// The namespaces of a container, resolved before clone: new ones as flags, existing
/// ones as open fds (so a bad path fails before anything is created).
#[derive(Debug)]
pub struct Namespaces {
    pub new: CloneFlags,
    /// (namespace flag, fd of the namespace to join), user first.
    pub join: Vec<(CloneFlags, OwnedFd)>,
}

impl Namespaces {
    pub fn resolve(linux: Option<&Linux>) -> Result<Namespaces> {
        let mut out = Namespaces {
            new: CloneFlags::empty(),
            join: Vec::new(),
        };
        let list = linux.and_then(|l| l.namespaces().as_ref());
        for ns in list.into_iter().flatten() {
            let f = flag(ns.typ());
            match ns.path() {
                None => out.new |= f,
                Some(p) => {
                    let fd = File::open(p).map_err(|e| {
                        Error::path(
                            &format!("linux.namespaces: cannot open the {:?} namespace", ns.typ()),
                            p,
                            e,
                        )
                    })?;
                    out.join.push((f, fd.into()));
                }
            }
        }
        out.join.sort_by_key(|(f, _)| {
            if *f == CloneFlags::CLONE_NEWUSER {
                0
            } else {
                1
            }
        });
        Ok(out)
    }

    /// A pid namespace made while joining a user namespace must belong to that user
    /// namespace, so the init is cloned by an intermediate that has joined it first
    /// (see `container::spawn_init`); the init then finds itself in it already.
    pub fn user_joined_before_clone(&self) -> bool {
        self.joins(CloneFlags::CLONE_NEWUSER) && self.creates(CloneFlags::CLONE_NEWPID)
    }

    pub fn joins(&self, f: CloneFlags) -> bool {
        self.join.iter().any(|(g, _)| *g == f)
    }

    pub fn creates(&self, f: CloneFlags) -> bool {
        self.new.contains(f)
    }

    /// The namespaces the container has of its own: the new ones, and those joined by
    /// path that are not the runtime's own (an engine such as podman makes a network
    /// namespace and passes its path; joining the host's is no namespace of its own).
    pub fn own(&self) -> CloneFlags {
        self.join
            .iter()
            .filter(|(f, fd)| !is_ours(*f, fd))
            .fold(self.new, |acc, (f, _)| acc | *f)
    }
}

/// Whether `fd` is the namespace of type `f` this process is in (same inode on nsfs).
fn is_ours(f: CloneFlags, fd: &OwnedFd) -> bool {
    let Some(name) = proc_name(f) else {
        return false;
    };
    let (Ok(theirs), Ok(ours)) = (
        rustix::fs::fstat(fd),
        rustix::fs::stat(format!("/proc/self/ns/{name}").as_str()),
    ) else {
        return false;
    };
    (theirs.st_dev, theirs.st_ino) == (ours.st_dev, ours.st_ino)
}

/// The name of a namespace type under /proc/PID/ns.
pub fn proc_name(f: CloneFlags) -> Option<&'static str> {
    Some(match f {
        CloneFlags::CLONE_NEWNS => "mnt",
        CloneFlags::CLONE_NEWCGROUP => "cgroup",
        CloneFlags::CLONE_NEWUTS => "uts",
        CloneFlags::CLONE_NEWIPC => "ipc",
        CloneFlags::CLONE_NEWUSER => "user",
        CloneFlags::CLONE_NEWPID => "pid",
        CloneFlags::CLONE_NEWNET => "net",
        f if f == NEWTIME => "time",
        _ => return None,
    })
}

fn map_text(maps: &[LinuxIdMapping]) -> String {
    maps.iter()
        .map(|m| format!("{} {} {}\n", m.container_id(), m.host_id(), m.size()))
        .collect()
}

/// Writes uid_map and gid_map of `pid` (the runtime is root, so no setgroups=deny).
pub fn write_id_maps(pid: i32, uids: &[LinuxIdMapping], gids: &[LinuxIdMapping]) -> Result<()> {
    let rootless = crate::rootless::is_rootless();
    let own = [
        rustix::process::geteuid().as_raw(),
        rustix::process::getegid().as_raw(),
    ];
    for (i, (file, maps, field, helper)) in [
        ("uid_map", uids, "uidMappings", "newuidmap"),
        ("gid_map", gids, "gidMappings", "newgidmap"),
    ]
    .into_iter()
    .enumerate()
    {
        if maps.is_empty() {
            continue;
        }
        let path = format!("/proc/{pid}/{file}");
        if rootless && !only_maps(maps, own[i]) {
            // More than our own id: the setuid helper checks /etc/sub[ug]id and writes it.
            helper_map(helper, pid, maps, field)?;
            continue;
        }
        if rootless && file == "gid_map" {
            // An unprivileged writer may map its own gid only once setgroups is denied.
            let sg = format!("/proc/{pid}/setgroups");
            std::fs::write(&sg, "deny")
                .map_err(|e| Error::os(format!("linux.{field}: writing {sg}"), e))?;
        }
        std::fs::write(&path, map_text(maps))
            .map_err(|e| Error::os(format!("linux.{field}: writing {path}"), e))?;
    }
    Ok(())
}

/// Whether `maps` is one mapping of size 1 onto host id `id`.
fn only_maps(maps: &[LinuxIdMapping], id: u32) -> bool {
    matches!(maps, [m] if m.size() == 1 && m.host_id() == id)
}

/// Runs `newuidmap`/`newgidmap PID ID HOSTID SIZE...`.
fn helper_map(helper: &str, pid: i32, maps: &[LinuxIdMapping], field: &str) -> Result<()> {
    let mut cmd = std::process::Command::new(helper);
    cmd.arg(pid.to_string());
    for m in maps {
        cmd.args([
            m.container_id().to_string(),
            m.host_id().to_string(),
            m.size().to_string(),
        ]);
    }
    let out = cmd.output().map_err(|e| {
        Error::os(
            format!(
                "linux.{field}: mapping more than your own id needs {helper} (Debian package uidmap)"
            ),
            e,
        )
    })?;
    if !out.status.success() {
        return Err(Error::other(format!(
            "linux.{field}: {helper} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(())
}

/// Writes time namespace offsets for a namespace made with unshare, before entering it.
pub fn write_time_offsets(offsets: &[(String, i64, u32)]) -> Result<()> {
    if offsets.is_empty() {
        return Ok(());
    }
    let text: String = offsets
        .iter()
        .map(|(clock, s, ns)| format!("{clock} {s} {ns}\n"))
        .collect();
    std::fs::write(Path::new("/proc/self/timens_offsets"), text)
        .map_err(|e| Error::os("linux.timeOffsets: writing /proc/self/timens_offsets", e))
}
