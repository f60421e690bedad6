//! Container state kept under --root: one directory per container holding
//! `state.json` (written atomically) and, until `start`, the `exec.fifo`.
//!
//! Commands on one container are serialized by an flock on its directory.
//!
//! Crash safety: `create` writes the record as an intent (marked `creating`, naming the
//! cgroups it is about to make) before it makes anything outside the directory, and
//! rewrites it once the container exists. The creator holds the directory's lock for its
//! whole run, so whoever takes the lock of a record still marked `creating` knows that its
//! creator died: `delete` and the next `create` of that id clean up what the intent names.
//! A directory without a record is one whose creator died before making anything else.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::proc;

pub const STATE_FILE: &str = "state.json";
pub const EXEC_FIFO: &str = "exec.fifo";
/// The config.json create used, in the container's directory (read by `exec`).
pub const CONFIG: &str = "config.json";

/// The runtime-spec statuses (plus `paused`, as runc reports it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Creating,
    Created,
    Running,
    Paused,
    Stopped,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Creating => "creating",
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Stopped => "stopped",
        }
    }
}

/// What we persist about a container. The public state JSON is derived from it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Record {
    pub id: String,
    pub oci_version: String,
    pub pid: i32,
    /// Start time of the init in clock ticks since boot (field 22 of /proc/PID/stat);
    /// tells our init from a later process that reused its pid.
    pub pid_start: u64,
    pub bundle: PathBuf,
    pub rootfs: PathBuf,
    pub created: String,
    pub owner: String,
    #[serde(default)]
    pub annotations: HashMap<String, String>,
    /// Absolute cgroup directories the container's processes live in.
    #[serde(default)]
    pub cgroup_dirs: Vec<PathBuf>,
    /// linux.cgroupsPath as given (None: derived from the id), to place the container in
    /// more v1 hierarchies when `update` needs them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cgroups_path: Option<PathBuf>,
    /// The systemd scope holding the cgroup (--systemd-cgroup), stopped at delete.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub systemd: Option<crate::cgroups::systemd::Unit>,
    /// The spec's hooks, kept for poststart (at start) and poststop (at delete).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hooks: Option<oci_spec::runtime::Hooks>,
    /// A container without a mount namespace: where its mounts are, in the host's mount
    /// namespace (taken back by delete).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_bind: Option<crate::linux::host_mounts::HostBind>,
    /// While `create` runs: its own pid and start time (the record is its intent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creating: Option<(i32, u64)>,
}

/// The runtime-spec state JSON, with runc's extra fields (rootfs, created, owner).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PublicState<'a> {
    pub oci_version: &'a str,
    pub id: &'a str,
    pub pid: i32,
    pub status: &'static str,
    pub bundle: &'a Path,
    pub rootfs: &'a Path,
    pub created: &'a str,
    pub owner: &'a str,
    #[serde(skip_serializing_if = "HashMap::is_empty")]
    pub annotations: &'a HashMap<String, String>,
}

impl Record {
    /// The status as seen now: stopped once the init is gone (or its pid was reused).
    pub fn status(&self, dir: &Path) -> Status {
        if let Some((pid, start)) = self.creating {
            return if proc::is_alive(pid, start) {
                Status::Creating
            } else {
                Status::Stopped
            };
        }
        if self.pid <= 0 || !proc::is_alive(self.pid, self.pid_start) {
            return Status::Stopped;
        }
        // `start` removes the fifo once it has released the init.
        if dir.join(EXEC_FIFO).exists() {
            return Status::Created;
        }
        if self
            .cgroup_dirs
            .iter()
            .any(|d| crate::cgroups::is_frozen(d))
        {
            return Status::Paused;
        }
        Status::Running
    }

    /// The state JSON given to hooks on stdin.
    pub fn hook_state(&self, status: Status) -> String {
        serde_json::to_string(&self.public(status)).unwrap_or_default()
    }

    pub fn public(&self, status: Status) -> PublicState<'_> {
        PublicState {
            oci_version: &self.oci_version,
            id: &self.id,
            pid: if status == Status::Stopped {
                0
            } else {
                self.pid
            },
            status: status.as_str(),
            bundle: &self.bundle,
            rootfs: &self.rootfs,
            created: &self.created,
            owner: &self.owner,
            annotations: &self.annotations,
        }
    }
}

/// Refuses IDs that could escape --root or confuse other tools.
pub fn validate_id(id: &str) -> Result<()> {
    let ok_chars = id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'+' | b'-' | b'.'));
    if id.is_empty() || id.len() > 1024 || !ok_chars || id == "." || id == ".." {
        return Err(Error::invalid(format!(
            "invalid container id {:?}: use 1 to 1024 characters from [A-Za-z0-9_+.-], not '.' or '..'",
            id
        )));
    }
    Ok(())
}

/// The --root directory.
#[derive(Debug, Clone)]
pub struct Root {
    pub dir: PathBuf,
}

/// A container's directory, held locked for the life of this value.
#[derive(Debug)]
pub struct Locked {
    pub dir: PathBuf,
    _lock: File,
}

impl Root {
    pub fn new(dir: PathBuf) -> Root {
        Root { dir }
    }

    /// Makes the --root directory (and parents) if missing.
    pub fn ensure(&self) -> Result<()> {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.dir)
            .map_err(|e| Error::path("cannot create state directory", &self.dir, e))
    }

    pub fn container_dir(&self, id: &str) -> PathBuf {
        self.dir.join(id)
    }

    /// Makes the directory of a new container and locks it; refuses an existing ID. What a
    /// create that died left under this id is handed back as [`Claim::Leftover`], locked, for
    /// the caller to clean before it claims the id again.
    pub fn claim(&self, id: &str) -> Result<Claim> {
        validate_id(id)?;
        self.ensure()?;
        let dir = self.container_dir(id);
        let made = match fs::DirBuilder::new().mode(0o711).create(&dir) {
            Ok(()) => true,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => false,
            Err(e) => return Err(Error::path("cannot create state directory", &dir, e)),
        };
        let lock = match lock_dir(&dir) {
            Ok(l) => l,
            // Removed (cleaned, or deleted) between mkdir and open: look again.
            Err(Error::Os { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Claim::Retry)
            }
            Err(e) => return Err(e),
        };
        // Whoever held the lock before us may have removed the directory meanwhile.
        if !still_linked(&lock, &dir) {
            return Ok(Claim::Retry);
        }
        let locked = Locked { dir, _lock: lock };
        if made {
            return Ok(Claim::New(locked));
        }
        match locked.read_if_present() {
            Ok(Some(rec)) if rec.creating.is_none() => {
                Err(Error::other("container with given ID already exists"))
            }
            // We hold the lock, so the create that wrote this intent is gone.
            Ok(rec) => Ok(Claim::Leftover(locked, rec.map(Box::new))),
            Err(e) => Err(e),
        }
    }

    /// Makes the directory of a new container and locks it; refuses an existing ID, and
    /// leftovers of a dead create (which [`Root::claim`] hands back for cleaning).
    pub fn create(&self, id: &str) -> Result<Locked> {
        match self.claim(id)? {
            Claim::New(l) => Ok(l),
            _ => Err(Error::other("container with given ID already exists")),
        }
    }

    /// Locks an existing container's directory and reads its record.
    pub fn open(&self, id: &str) -> Result<(Locked, Record)> {
        match self.open_any(id)? {
            (locked, Some(rec)) => Ok((locked, rec)),
            (_, None) => Err(Error::NotFound),
        }
    }

    /// Locks an existing container's directory and reads its record, if it has one (a
    /// create that died before writing its intent leaves a directory without one).
    pub fn open_any(&self, id: &str) -> Result<(Locked, Option<Record>)> {
        validate_id(id)?;
        let dir = self.container_dir(id);
        let lock = match lock_dir(&dir) {
            Ok(l) => l,
            Err(Error::Os { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::NotFound)
            }
            Err(e) => return Err(e),
        };
        // The directory may have been removed while we waited for the lock.
        if !still_linked(&lock, &dir) {
            return Err(Error::NotFound);
        }
        let locked = Locked { dir, _lock: lock };
        let record = locked.read_if_present()?;
        Ok((locked, record))
    }

    /// IDs of all containers with a readable record, sorted.
    pub fn list(&self) -> Result<Vec<(PathBuf, Record)>> {
        let entries = match fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::path("cannot read", &self.dir, e)),
        };
        let mut out = Vec::new();
        for entry in entries.flatten() {
            let dir = entry.path();
            if let Ok(text) = fs::read(dir.join(STATE_FILE)) {
                if let Ok(rec) = serde_json::from_slice::<Record>(&text) {
                    out.push((dir, rec));
                }
            }
        }
        out.sort_by(|a, b| a.1.id.cmp(&b.1.id));
        Ok(out)
    }
}

/// What [`Root::claim`] found.
#[derive(Debug)]
pub enum Claim {
    /// A new directory, locked.
    New(Locked),
    /// What a create that died left: its directory (locked now) and its intent, if written.
    Leftover(Locked, Option<Box<Record>>),
    /// The directory went away under us (another command removed it): claim again.
    Retry,
}

/// Whether the directory open as `f` is still the one at `path` (not removed or replaced
/// while we waited for its lock).
fn still_linked(f: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (f.metadata(), fs::symlink_metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino() && a.nlink() > 0,
        _ => false,
    }
}

fn lock_dir(dir: &Path) -> Result<File> {
    let f = File::open(dir).map_err(|e| Error::path("cannot open", dir, e))?;
    // Released when the last copy of `f` is closed.
    rustix::fs::flock(&f, rustix::fs::FlockOperation::LockExclusive)
        .map_err(|e| Error::path("cannot lock", dir, e.into()))?;
    Ok(f)
}

impl Locked {
    pub fn read(&self) -> Result<Record> {
        self.read_if_present()?.ok_or_else(|| {
            let missing = std::io::Error::from(std::io::ErrorKind::NotFound);
            Error::path("cannot read", &self.dir.join(STATE_FILE), missing)
        })
    }

    /// The record, or None if none was written (yet).
    pub fn read_if_present(&self) -> Result<Option<Record>> {
        let path = self.dir.join(STATE_FILE);
        let text = match fs::read(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::path("cannot read", &path, e)),
        };
        serde_json::from_slice(&text)
            .map(Some)
            .map_err(|e| Error::other(format!("{}: {e}", path.display())))
    }

    /// Writes the record atomically (temp file + rename); no fsync: a crash loses a
    /// container whose processes died with the machine anyway.
    pub fn write(&self, rec: &Record) -> Result<()> {
        let tmp = self.dir.join(".state.json.tmp");
        let path = self.dir.join(STATE_FILE);
        let body =
            serde_json::to_vec(rec).map_err(|e| Error::other(format!("encoding state: {e}")))?;
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(|e| Error::path("cannot write", &tmp, e))?;
        f.write_all(&body)
            .map_err(|e| Error::path("cannot write", &tmp, e))?;
        fs::rename(&tmp, &path).map_err(|e| Error::path("cannot write", &path, e))
    }

    /// Removes the container's directory and everything in it.
    pub fn remove(self) -> Result<()> {
        fs::remove_dir_all(&self.dir).map_err(|e| Error::path("cannot remove", &self.dir, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids() {
        assert!(validate_id("abc-1.2_x+y").is_ok());
        for bad in ["", "a/b", "..", ".", "a b", "é"] {
            assert!(validate_id(bad).is_err(), "{bad:?}");
        }
        assert!(validate_id(&"a".repeat(1024)).is_ok());
        assert!(validate_id(&"a".repeat(1025)).is_err());
    }

    #[test]
    fn create_refuses_duplicates_and_open_finds_records() {
        let tmp = tempfile::tempdir().unwrap();
        let root = Root::new(tmp.path().join("r"));
        let locked = root.create("c1").unwrap();
        let rec = Record {
            id: "c1".into(),
            oci_version: "1.0.2".into(),
            pid: 1,
            pid_start: 0,
            bundle: "/b".into(),
            rootfs: "/b/rootfs".into(),
            created: "now".into(),
            owner: "".into(),
            annotations: HashMap::new(),
            cgroup_dirs: vec![],
            cgroups_path: None,
            systemd: None,
            hooks: None,
            host_bind: None,
            creating: None,
        };
        locked.write(&rec).unwrap();
        drop(locked);
        assert!(root
            .create("c1")
            .unwrap_err()
            .to_string()
            .contains("already exists"));
        let (_l, back) = root.open("c1").unwrap();
        assert_eq!(back.bundle, PathBuf::from("/b"));
        assert!(matches!(root.open("nope"), Err(Error::NotFound)));
        assert_eq!(root.list().unwrap().len(), 1);
    }
}
