//! Cgroup placement: choose the container's cgroup directories, create them, put the
//! init in them, apply device rules and resources, and remove them at delete.
//!
//! Layout is detected at run time: pure v2 (cgroup2 at the root), or v1 / hybrid
//! (controllers under `/sys/fs/cgroup/<name>`, maybe an empty cgroup2 at ./unified).
//!
//! Modules: `manager` is the interface the lifecycle uses (`Manager` to make and
//! configure a container's cgroup, `Cgroup` for an existing one); `v1` and `v2` write
//! linux.resources for their version, `common` holds what they share; `devices` puts
//! device rules in force on either version; `stats` reads usage for `events`. The free functions below are the older
//! entry points, kept as thin wrappers.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub mod common;
pub mod devices;
mod manager;
mod stats;
pub mod systemd;
mod usage;
pub mod v1;
pub mod v2;

pub use manager::{is_frozen, remove_dirs, Cgroup, Manager};
pub use usage::{LimitsHit, Usage};
pub use v1::extra_controllers as v1_extra_controllers;

use crate::error::{Error, Result};

pub const DEFAULT_MOUNT: &str = "/sys/fs/cgroup";

/// How the cgroup filesystems are mounted on this host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Layout {
    /// cgroup2 mounted at `root`, with every controller; `own` is our cgroup in it (the
    /// `0::` line of /proc/self/cgroup).
    Unified { root: PathBuf, own: PathBuf },
    /// v1 hierarchies: (controller list as named in /proc/self/cgroup, mount point).
    Legacy { hierarchies: Vec<Hierarchy> },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hierarchy {
    /// e.g. "memory", "cpu,cpuacct", "name=systemd".
    pub controllers: String,
    pub mount: PathBuf,
    /// Our own cgroup in this hierarchy (from /proc/self/cgroup).
    pub own: PathBuf,
}

impl Hierarchy {
    fn has(&self, controller: &str) -> bool {
        self.controllers.split(',').any(|c| c == controller)
    }
}

impl Layout {
    /// Reads the layout from the host's /proc/self/mountinfo and /proc/self/cgroup.
    pub fn detect() -> Result<Layout> {
        let mountinfo = fs::read_to_string("/proc/self/mountinfo")
            .map_err(|e| Error::os("cannot read /proc/self/mountinfo", e))?;
        let own = fs::read_to_string("/proc/self/cgroup")
            .map_err(|e| Error::os("cannot read /proc/self/cgroup", e))?;
        Ok(Self::parse(&mountinfo, &own))
    }

    pub fn parse(mountinfo: &str, own_cgroups: &str) -> Layout {
        let mut v1_mounts: Vec<(Vec<String>, PathBuf)> = Vec::new();
        let mut v2_root = None;
        for line in mountinfo.lines() {
            let Some((left, right)) = line.split_once(" - ") else {
                continue;
            };
            let mut r = right.split_whitespace();
            let (Some(fstype), _src, Some(opts)) = (r.next(), r.next(), r.next()) else {
                continue;
            };
            let Some(mp) = left.split_whitespace().nth(4) else {
                continue;
            };
            match fstype {
                "cgroup2" if mp == DEFAULT_MOUNT => v2_root = Some(PathBuf::from(mp)),
                "cgroup" => {
                    let ctrls = opts
                        .split(',')
                        .filter(|o| !matches!(*o, "rw" | "ro") && !o.starts_with("release_agent"))
                        .map(str::to_owned)
                        .collect();
                    v1_mounts.push((ctrls, PathBuf::from(mp)));
                }
                _ => {}
            }
        }
        if let Some(root) = v2_root {
            let own = own_cgroups
                .lines()
                .find_map(|l| l.strip_prefix("0::"))
                .unwrap_or("/");
            return Layout::Unified {
                root,
                own: PathBuf::from(own),
            };
        }
        let mut hierarchies = Vec::new();
        for line in own_cgroups.lines() {
            let mut parts = line.splitn(3, ':');
            let (Some(_), Some(ctrls), Some(path)) = (parts.next(), parts.next(), parts.next())
            else {
                continue;
            };
            if ctrls.is_empty() {
                continue; // the v2 part of a hybrid host: no controllers there
            }
            let want: Vec<&str> = ctrls.split(',').collect();
            if let Some((_, mp)) = v1_mounts
                .iter()
                .find(|(have, _)| want.iter().all(|w| have.iter().any(|h| h == w)))
            {
                hierarchies.push(Hierarchy {
                    controllers: ctrls.to_owned(),
                    mount: mp.clone(),
                    own: PathBuf::from(path),
                });
            }
        }
        Layout::Legacy { hierarchies }
    }

    /// The directories for `cgroups_path`; absent means a relative path named by the id.
    /// An absolute path is from the hierarchy's root. A relative one is placed as runc
    /// places it: on v1 below our own cgroup in each hierarchy; on v2 below the PARENT of
    /// our own cgroup, because v2 lets no cgroup both hold processes and hand controllers
    /// to children, and ours holds at least us (`/system.slice/x.service` gives
    /// `/system.slice/ID`, a login shell's `/user.slice/user-0.slice/session-1.scope` gives
    /// `/user.slice/user-0.slice/ID`, the root cgroup gives `/ID`).
    pub fn dirs_for(
        &self,
        cgroups_path: Option<&Path>,
        id: &str,
        extra: &[&str],
    ) -> Result<Vec<PathBuf>> {
        let path = cgroups_path
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from(id));
        let clean = clean_relative(&path)?;
        let place = |mount: &Path, own: &Path| {
            if path.is_absolute() {
                mount.join(&clean)
            } else {
                mount
                    .join(own.strip_prefix("/").unwrap_or(own))
                    .join(&clean)
            }
        };
        match self {
            Layout::Unified { root, own } => {
                let parent = own.parent().unwrap_or(Path::new("/"));
                Ok(vec![place(root, parent)])
            }
            Layout::Legacy { hierarchies } => Ok(hierarchies
                .iter()
                .filter(|h| v1::ALWAYS.iter().chain(extra).any(|c| h.has(c)))
                .map(|h| place(&h.mount, &h.own))
                .collect()),
        }
    }
}

/// Where this process sees a filesystem of type `fstype` mounted (the first in
/// /proc/self/mountinfo), optionally one mounted with the option `opt` (e.g. a v1
/// hierarchy: "cgroup" with "devices").
pub fn find_mount(fstype: &str, opt: Option<&str>) -> Option<PathBuf> {
    let mountinfo = fs::read_to_string("/proc/self/mountinfo").ok()?;
    mountinfo.lines().find_map(|l| {
        let (left, right) = l.split_once(" - ")?;
        let mut r = right.split_whitespace();
        let (t, _source, opts) = (r.next()?, r.next()?, r.next()?);
        let wanted = t == fstype && opt.is_none_or(|o| opts.split(',').any(|x| x == o));
        if !wanted {
            return None;
        }
        left.split_whitespace().nth(4).map(PathBuf::from)
    })
}

/// Strips the leading '/' and refuses '..' so a cgroupsPath cannot leave its hierarchy.
fn clean_relative(path: &Path) -> Result<PathBuf> {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            std::path::Component::Normal(n) => out.push(n),
            std::path::Component::RootDir | std::path::Component::CurDir => {}
            _ => {
                return Err(Error::invalid(format!(
                    "linux.cgroupsPath: {} must not contain '..'",
                    path.display()
                )))
            }
        }
    }
    if out.as_os_str().is_empty() {
        return Err(Error::invalid(
            "linux.cgroupsPath: must name a cgroup below the root",
        ));
    }
    Ok(out)
}

/// Checks linux.resources as `unified` (v2) or v1 would write it, writing nothing: a
/// value out of range or a field that version lacks is refused before any cgroup exists.
pub fn check_resources(unified: bool, r: &oci_spec::runtime::LinuxResources) -> Result<()> {
    let mut t = common::Target::dry();
    if unified {
        v2::apply(&mut t, r)
    } else {
        v1::apply(&mut t, r)
    }
}

/// Moves `pid` into every directory.
pub fn join(dirs: &[PathBuf], pid: i32) -> Result<()> {
    Cgroup::new(dirs).join(pid)
}

/// The directories among `dirs` that can hold the control file `file`, best first: on
/// v1 the hierarchy named after the file's controller ("memory.max_usage_in_bytes" ->
/// .../memory,.../), so a lookup costs one open, not one per hierarchy; on v2 (one
/// directory) or for core files ("cgroup.procs") all of them.
pub fn candidates<'a>(dirs: &'a [PathBuf], file: &str) -> impl Iterator<Item = &'a PathBuf> + 'a {
    let controller = file.split('.').next().unwrap_or("").to_owned();
    let hierarchy_has = move |d: &PathBuf| {
        d.strip_prefix(DEFAULT_MOUNT)
            .ok()
            .and_then(|rest| rest.components().next())
            .is_some_and(|h| {
                h.as_os_str()
                    .to_string_lossy()
                    .split(',')
                    .any(|c| c == controller)
            })
    };
    let named: Vec<&PathBuf> = dirs.iter().filter(|d| hierarchy_has(d)).collect();
    let pick = if named.is_empty() {
        dirs.iter().collect()
    } else {
        named
    };
    pick.into_iter()
}

#[cfg(test)]
mod check_tests {
    use super::check_resources;
    use super::common::testing::res;

    #[test]
    fn checks_values_for_the_hosts_version_without_a_cgroup() {
        let swap = res(r#"{"memory":{"swappiness":101}}"#);
        let e = check_resources(false, &swap).unwrap_err().to_string();
        assert!(e.contains("linux.resources.memory.swappiness: 101"), "{e}");
        let below = res(r#"{"memory":{"limit":2000,"swap":1000}}"#);
        assert!(check_resources(true, &below).is_err());
        assert!(check_resources(false, &below).is_err());
        let unified = res(r#"{"unified":{"memory.high":"5M"}}"#);
        assert!(check_resources(true, &unified).is_ok());
        let e = check_resources(false, &unified).unwrap_err().to_string();
        assert!(e.contains("linux.resources.unified"), "{e}");
        let net = res(r#"{"network":{"classID":1}}"#);
        assert!(check_resources(false, &net).is_ok());
        assert!(check_resources(true, &net).is_err());
        let fine = res(r#"{"memory":{"limit":1048576},"pids":{"limit":10},"cpu":{"quota":1000}}"#);
        assert!(check_resources(true, &fine).is_ok());
        assert!(check_resources(false, &fine).is_ok());
    }
}

/// Pids in the container's cgroup (the first directory that lists any).
pub fn pids(dirs: &[PathBuf]) -> Vec<i32> {
    Cgroup::new(dirs).pids()
}

/// Thaws a frozen cgroup so that signals (SIGKILL included) take effect.
pub fn thaw(dirs: &[PathBuf]) {
    Cgroup::new(dirs).thaw()
}

/// Removes the directories (deepest first), waiting up to `wait` for dying processes
/// to leave them.
pub fn remove(dirs: &[PathBuf], wait: Duration) -> Result<()> {
    Cgroup::new(dirs).remove(wait)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID_MOUNTINFO: &str = "\
30 25 0:26 / /sys/fs/cgroup ro,nosuid,nodev,noexec - tmpfs tmpfs ro,mode=755
31 30 0:27 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime - cgroup2 cgroup2 rw
32 30 0:28 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
33 30 0:29 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
34 30 0:30 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
35 30 0:31 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
";
    const HYBRID_OWN: &str = "5:freezer:/\n4:devices:/\n3:memory:/jobs/a\n2:cpu,cpuacct:/\n0::/\n";

    #[test]
    fn hybrid_is_legacy_and_places_relative_paths_under_our_cgroup() {
        let l = Layout::parse(HYBRID_MOUNTINFO, HYBRID_OWN);
        let Layout::Legacy { hierarchies } = &l else {
            panic!("{l:?}")
        };
        assert_eq!(hierarchies.len(), 4);
        let dirs = l.dirs_for(None, "c1", &[]).unwrap();
        assert_eq!(
            dirs,
            vec![
                PathBuf::from("/sys/fs/cgroup/freezer/c1"),
                PathBuf::from("/sys/fs/cgroup/devices/c1")
            ]
        );
        let dirs = l.dirs_for(None, "c1", &["memory", "cpu"]).unwrap();
        assert!(
            dirs.contains(&PathBuf::from("/sys/fs/cgroup/memory/jobs/a/c1")),
            "{dirs:?}"
        );
        assert!(
            dirs.contains(&PathBuf::from("/sys/fs/cgroup/cpu,cpuacct/c1")),
            "{dirs:?}"
        );
        let dirs = l.dirs_for(Some(Path::new("/a/b")), "c1", &[]).unwrap();
        assert_eq!(dirs[0], PathBuf::from("/sys/fs/cgroup/freezer/a/b"));
        assert!(l
            .dirs_for(Some(Path::new("/a/../../x")), "c1", &[])
            .is_err());
    }

    #[test]
    fn control_files_go_to_their_controller() {
        let dirs = vec![
            PathBuf::from("/sys/fs/cgroup/freezer/c1"),
            PathBuf::from("/sys/fs/cgroup/cpu,cpuacct/c1"),
            PathBuf::from("/sys/fs/cgroup/memory/a/c1"),
        ];
        let first = |f: &str| candidates(&dirs, f).next().cloned();
        assert_eq!(first("memory.limit_in_bytes"), Some(dirs[2].clone()));
        assert_eq!(first("cpuacct.usage"), Some(dirs[1].clone()));
        assert_eq!(first("freezer.state"), Some(dirs[0].clone()));
        // Core files are in every hierarchy: all are candidates.
        assert_eq!(candidates(&dirs, "cgroup.procs").count(), 3);
        let v2 = vec![PathBuf::from("/sys/fs/cgroup/c1")];
        assert_eq!(candidates(&v2, "memory.max").count(), 1);
    }

    #[test]
    fn pure_v2_is_unified() {
        let mi = "30 25 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n";
        assert_eq!(
            Layout::parse(mi, "0::/\n"),
            Layout::Unified {
                root: PathBuf::from("/sys/fs/cgroup"),
                own: PathBuf::from("/"),
            }
        );
    }

    /// runc's placement on v2 (libcontainer/cgroups/fs2 defaultpath): relative paths go
    /// next to the caller's cgroup, never inside it (the no-internal-processes rule made
    /// `enabling +memory ... cgroup.subtree_control: Device or resource busy` for any
    /// caller in a systemd service or session).
    #[test]
    fn v2_relative_paths_go_beside_our_cgroup() {
        let mi = "30 25 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n";
        let at = |own: &str, path: Option<&str>| {
            let l = Layout::parse(mi, &format!("0::{own}\n"));
            l.dirs_for(path.map(Path::new), "c1", &[]).unwrap()
        };
        let one = |p: &str| vec![PathBuf::from(p)];
        assert_eq!(
            at("/system.slice/x.service", None),
            one("/sys/fs/cgroup/system.slice/c1")
        );
        assert_eq!(
            at("/user.slice/user-0.slice/session-1.scope", Some("pod/c1")),
            one("/sys/fs/cgroup/user.slice/user-0.slice/pod/c1")
        );
        assert_eq!(at("/", None), one("/sys/fs/cgroup/c1"));
        assert_eq!(
            at("/system.slice/x.service", Some("/machine/c1")),
            one("/sys/fs/cgroup/machine/c1")
        );
    }
}
