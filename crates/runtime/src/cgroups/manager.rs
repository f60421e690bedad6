//! The container's cgroup behind one interface.
//!
//! `Manager` makes and configures it: built from the host's `Layout` and the
//! container's directories, it picks the driver (v1 hierarchies or the v2 tree, both
//! written directly) and dispatches creation, device rules and linux.resources to it.
//! A systemd driver (a transient unit per container) would be one more `Driver`.
//!
//! `Cgroup` is the cgroup of an existing container as its record names it: joining,
//! listing, freezing, thawing and removing need no layout, because the kernel's files
//! say which version a directory is (freezer.state or cgroup.freeze), so pause, kill,
//! ps and delete cost no layout detection.

use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use oci_spec::runtime::LinuxResources;

use super::common::Target;
use super::{devices, v1, v2, Layout};
use crate::error::{Error, Result};

/// Which implementation manages the container's cgroup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Driver<'a> {
    /// cgroup v1 (or hybrid): one directory per joined hierarchy.
    V1,
    /// cgroup v2: one directory in the tree mounted at `root`.
    V2 { root: &'a Path },
}

/// Makes and configures a container's cgroup (create, update).
#[derive(Debug, Clone, Copy)]
pub struct Manager<'a> {
    driver: Driver<'a>,
    dirs: &'a [PathBuf],
}

impl<'a> Manager<'a> {
    /// The manager for `dirs` (from `Layout::dirs_for`) on a host laid out as `layout`.
    pub fn new(layout: &'a Layout, dirs: &'a [PathBuf]) -> Self {
        let driver = match layout {
            Layout::Unified { root, .. } => Driver::V2 { root },
            Layout::Legacy { .. } => Driver::V1,
        };
        Manager { driver, dirs }
    }

    #[cfg(test)]
    pub fn driver(&self) -> Driver<'a> {
        self.driver
    }

    /// The container's cgroup, for what works the same under every driver.
    pub fn cgroup(&self) -> Cgroup<'a> {
        Cgroup::new(self.dirs)
    }

    /// Creates the directories (and missing parents). Returns the ones this call
    /// created, so a failed create can remove exactly those (`remove_dirs`).
    pub fn create(&self) -> Result<Vec<PathBuf>> {
        create_dirs(self.dirs)
    }

    /// Gives new cpuset cgroups their parent's cpus and mems (see `v1::init_cpusets`),
    /// so that tasks may join them. Done on every directory that has cpuset.cpus.
    pub fn init_cpusets(&self) -> Result<()> {
        v1::init_cpusets(self.dirs)
    }

    /// Puts the container's device rules in force: on v1 in the devices hierarchy, on
    /// v2 as an eBPF program on the container's cgroup (see `devices`).
    pub fn apply_devices(&self, rules: &[devices::Rule]) -> Result<()> {
        match self.driver {
            Driver::V2 { .. } => match self.dirs.first() {
                Some(d) => devices::apply(d, true, rules),
                None => Ok(()),
            },
            Driver::V1 => match self.dirs.iter().find(|d| d.join("devices.allow").exists()) {
                Some(d) => devices::apply(d, false, rules),
                None if devices::State::from_rules(rules) == devices::State::default() => Ok(()),
                None => Err(Error::other(
                    "no devices cgroup hierarchy on this host: device rules cannot be enforced",
                )),
            },
        }
    }

    /// Applies linux.resources (all but devices, see `apply_devices`); returns
    /// warnings for fields the kernel no longer has.
    pub fn apply_resources(&self, r: &LinuxResources) -> Result<Vec<String>> {
        let mut t = Target::new(self.dirs);
        match self.driver {
            Driver::V2 { root } => {
                for d in self.dirs {
                    v2::enable_controllers(root, d, &v2::controllers(r))?;
                }
                v2::apply(&mut t, r)?;
            }
            Driver::V1 => v1::apply(&mut t, r)?,
        }
        Ok(t.warnings)
    }

    /// Moves `pid` into the container's cgroup.
    pub fn join(&self, pid: i32) -> Result<()> {
        self.cgroup().join(pid)
    }
}

/// An existing container's cgroup: its directories as recorded.
#[derive(Debug, Clone, Copy)]
pub struct Cgroup<'a> {
    dirs: &'a [PathBuf],
}

impl<'a> Cgroup<'a> {
    pub fn new(dirs: &'a [PathBuf]) -> Self {
        Cgroup { dirs }
    }

    /// Moves `pid` into every directory.
    pub fn join(&self, pid: i32) -> Result<()> {
        for d in self.dirs {
            let procs = d.join("cgroup.procs");
            fs::write(&procs, pid.to_string())
                .map_err(|e| Error::path("cannot join cgroup", &procs, e))?;
        }
        Ok(())
    }

    /// Pids in the container's cgroup (the first directory that lists any).
    pub fn pids(&self) -> Vec<i32> {
        for d in self.dirs {
            let mut v = Vec::new();
            for dir in std::iter::once(d.clone()).chain(sub_cgroups(d)) {
                if let Ok(s) = fs::read_to_string(dir.join("cgroup.procs")) {
                    v.extend(s.lines().filter_map(|l| l.trim().parse::<i32>().ok()));
                }
            }
            if !v.is_empty() {
                return v;
            }
        }
        Vec::new()
    }

    /// True if any directory is frozen.
    pub fn is_frozen(&self) -> bool {
        self.dirs.iter().any(|d| is_frozen(d))
    }

    /// Freezes (or thaws) the container: v1 freezer.state, v2 cgroup.freeze.
    pub fn freeze(&self, frozen: bool) -> Result<()> {
        for d in self.dirs {
            let (file, value) = if d.join("freezer.state").exists() {
                ("freezer.state", if frozen { "FROZEN" } else { "THAWED" })
            } else if d.join("cgroup.freeze").exists() {
                ("cgroup.freeze", if frozen { "1" } else { "0" })
            } else {
                continue;
            };
            let p = d.join(file);
            return fs::write(&p, value)
                .map_err(|e| Error::os(format!("writing {value} to {}", p.display()), e));
        }
        Err(Error::other("no freezer for this container's cgroup"))
    }

    /// Thaws a frozen cgroup so that signals (SIGKILL included) take effect.
    pub fn thaw(&self) {
        for d in self.dirs {
            let _ = fs::write(d.join("freezer.state"), "THAWED");
            if d.join("cgroup.freeze").exists() {
                let _ = fs::write(d.join("cgroup.freeze"), "0");
            }
        }
    }

    /// Removes the directories (deepest first), waiting up to `wait` for dying
    /// processes to leave them.
    pub fn remove(&self, wait: Duration) -> Result<()> {
        let deadline = Instant::now() + wait;
        for d in self.dirs {
            remove_tree(d, deadline)?;
        }
        Ok(())
    }

    /// Usage statistics, as runc's `events --stats` prints them.
    pub fn stats(&self) -> serde_json::Value {
        super::stats::stats(self.dirs)
    }

    /// Count of OOM kills so far (v1 memory.oom_control, v2 memory.events).
    pub fn oom_kills(&self) -> u64 {
        super::stats::oom_kills(self.dirs)
    }

    /// Memory, CPU time and pids so far (see `usage`).
    pub fn usage(&self) -> super::Usage {
        super::usage::usage(self.dirs)
    }

    /// The limits reached so far (see `usage`).
    pub fn limits_hit(&self) -> super::LimitsHit {
        super::usage::limits_hit(self.dirs)
    }
}

/// Every cgroup below `dir` (made by the container, or by an engine for `exec --cgroup`),
/// parents before their children.
fn sub_cgroups(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut next = 0;
    let scan = |d: &Path, out: &mut Vec<PathBuf>| {
        if let Ok(rd) = fs::read_dir(d) {
            for e in rd.flatten() {
                if e.file_type().is_ok_and(|t| t.is_dir()) {
                    out.push(e.path());
                }
            }
        }
    };
    scan(dir, &mut out);
    while next < out.len() {
        let d = out[next].clone();
        scan(&d, &mut out);
        next += 1;
    }
    out
}

/// Removes `dir` and every cgroup below it, deepest first, killing what is still in them
/// until `deadline`.
fn remove_tree(dir: &Path, deadline: Instant) -> Result<()> {
    let mut all = sub_cgroups(dir);
    all.insert(0, dir.to_path_buf());
    for d in all.iter().rev() {
        loop {
            match fs::remove_dir(d) {
                Ok(()) => break,
                Err(e) if e.kind() == ErrorKind::NotFound => break,
                Err(e) if e.raw_os_error() == Some(libc::EBUSY) && Instant::now() < deadline => {
                    for pid in Cgroup::new(std::slice::from_ref(d)).pids() {
                        let _ = nix::sys::signal::kill(
                            nix::unistd::Pid::from_raw(pid),
                            nix::sys::signal::Signal::SIGKILL,
                        );
                    }
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(e) => return Err(Error::path("cannot remove cgroup", d, e)),
            }
        }
    }
    Ok(())
}

/// Creates `dirs` (and missing parents); returns the ones this call created.
pub(super) fn create_dirs(dirs: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut made = Vec::new();
    for d in dirs {
        let mut missing = Vec::new();
        let mut p = d.as_path();
        while !p.exists() {
            missing.push(p.to_path_buf());
            match p.parent() {
                Some(parent) => p = parent,
                None => break,
            }
        }
        for m in missing.iter().rev() {
            match fs::create_dir(m) {
                Ok(()) => made.push(m.clone()),
                Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
                Err(e) => {
                    remove_dirs(&made);
                    return Err(Error::path("cannot create cgroup", m, e));
                }
            }
        }
    }
    Ok(made)
}

/// True if the cgroup at `dir` is frozen (v1 freezer.state or v2 cgroup.freeze).
pub fn is_frozen(dir: &Path) -> bool {
    if let Ok(s) = fs::read_to_string(dir.join("freezer.state")) {
        return s.trim() == "FROZEN";
    }
    // v2: cgroup.events says "frozen 1" once every process is stopped.
    fs::read_to_string(dir.join("cgroup.events"))
        .is_ok_and(|s| s.lines().any(|l| l.trim() == "frozen 1"))
}

/// Best-effort removal used when undoing a failed create.
pub fn remove_dirs(dirs: &[PathBuf]) {
    for d in dirs.iter().rev() {
        let _ = fs::remove_dir(d);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_reports_what_it_made_and_remove_takes_it_back() {
        let tmp = tempfile::tempdir().unwrap();
        fs::create_dir(tmp.path().join("a")).unwrap();
        let dirs = vec![tmp.path().join("a/b/c"), tmp.path().join("d")];
        let layout = Layout::Legacy {
            hierarchies: vec![],
        };
        let m = Manager::new(&layout, &dirs);
        assert_eq!(m.driver(), Driver::V1);
        let made = m.create().unwrap();
        assert_eq!(
            made,
            [
                tmp.path().join("a/b"),
                tmp.path().join("a/b/c"),
                tmp.path().join("d")
            ]
        );
        assert!(
            m.create().unwrap().is_empty(),
            "a second create makes nothing"
        );
        remove_dirs(&made);
        assert!(!tmp.path().join("a/b").exists() && !tmp.path().join("d").exists());
        assert!(tmp.path().join("a").exists());
    }

    #[test]
    fn freezer_files_decide_the_version() {
        let tmp = tempfile::tempdir().unwrap();
        let (v1d, v2d) = (tmp.path().join("v1"), tmp.path().join("v2"));
        fs::create_dir(&v1d).unwrap();
        fs::create_dir(&v2d).unwrap();
        fs::write(v1d.join("freezer.state"), "THAWED\n").unwrap();
        fs::write(v2d.join("cgroup.freeze"), "0\n").unwrap();
        fs::write(v2d.join("cgroup.events"), "populated 1\nfrozen 0\n").unwrap();
        fs::write(v1d.join("cgroup.procs"), "").unwrap();
        fs::write(v2d.join("cgroup.procs"), "12\n13\n").unwrap();

        let v1 = [v1d.clone()];
        let v2 = [v2d.clone()];
        Cgroup::new(&v1).freeze(true).unwrap();
        assert_eq!(
            fs::read_to_string(v1d.join("freezer.state")).unwrap(),
            "FROZEN"
        );
        Cgroup::new(&v2).freeze(true).unwrap();
        assert_eq!(fs::read_to_string(v2d.join("cgroup.freeze")).unwrap(), "1");
        fs::write(v1d.join("freezer.state"), "FROZEN\n").unwrap();
        assert!(Cgroup::new(&v1).is_frozen());
        assert!(!Cgroup::new(&v2).is_frozen());
        Cgroup::new(&v2).thaw();
        assert_eq!(fs::read_to_string(v2d.join("cgroup.freeze")).unwrap(), "0");

        // pids: the first directory that lists any.
        let both = [v1d.clone(), v2d.clone()];
        assert_eq!(Cgroup::new(&both).pids(), [12, 13]);
        let e = Cgroup::new(&[tmp.path().to_path_buf()])
            .freeze(true)
            .unwrap_err();
        assert!(e.to_string().contains("no freezer"), "{e}");
    }

    #[test]
    fn v2_driver_enables_controllers_then_writes() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        let dir = root.join("c");
        fs::create_dir(&dir).unwrap();
        fs::write(root.join("cgroup.subtree_control"), "cpu").unwrap();
        fs::write(dir.join("pids.max"), "").unwrap();
        let layout = Layout::Unified {
            root: root.to_path_buf(),
            own: PathBuf::from("/"),
        };
        let dirs = [dir.clone()];
        let m = Manager::new(&layout, &dirs);
        assert_eq!(m.driver(), Driver::V2 { root });
        let r: LinuxResources = serde_json::from_str(r#"{"pids":{"limit":5}}"#).unwrap();
        assert!(m.apply_resources(&r).unwrap().is_empty());
        assert_eq!(
            fs::read_to_string(root.join("cgroup.subtree_control")).unwrap(),
            "+pids"
        );
        assert_eq!(fs::read_to_string(dir.join("pids.max")).unwrap(), "5");
        // No device restrictions: nothing to load or write.
        m.apply_devices(&[]).unwrap();
    }
}
