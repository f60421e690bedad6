//! `events`: resource usage and OOM notifications in runc's JSON event format, read
//! from the container's cgroup files (v1 or v2, read by `cgroups`).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{json, Value};

use crate::cgroups::Cgroup;
use crate::error::{Error, Result};
use crate::state::{Root, Status};

/// The stats of one container as runc's `events --stats` prints them (see
/// `cgroups::Cgroup::stats`).
pub fn stats(dirs: &[PathBuf]) -> Value {
    Cgroup::new(dirs).stats()
}

/// Count of OOM kills so far (see `cgroups::Cgroup::oom_kills`).
pub fn oom_kills(dirs: &[PathBuf]) -> u64 {
    Cgroup::new(dirs).oom_kills()
}

fn emit(out: &mut impl Write, typ: &str, id: &str, data: Option<Value>) -> Result<()> {
    let mut ev = json!({"type": typ, "id": id});
    if let Some(d) = data {
        ev["data"] = d;
    }
    writeln!(out, "{ev}")
        .and_then(|_| out.flush())
        .map_err(|e| Error::os("writing to stdout", e))
}

/// `events`: with `once`, one stats event; otherwise a stats event every `interval` and
/// an `oom` event for each new OOM kill, until the container stops.
pub fn events(root: &Root, id: &str, interval: Duration, once: bool) -> Result<()> {
    let (locked, rec) = root.open(id)?;
    if rec.status(&locked.dir) == Status::Stopped {
        return Err(Error::other("container not running"));
    }
    let dir: PathBuf = locked.dir.clone();
    drop(locked);
    let cgroup = Cgroup::new(&rec.cgroup_dirs);
    let mut out = std::io::stdout().lock();
    if once {
        return emit(&mut out, "stats", id, Some(cgroup.stats()));
    }
    let mut ooms = cgroup.oom_kills();
    let tick = Duration::from_millis(100).min(interval);
    let mut since_stats = interval; // first stats right away
    loop {
        if rec.status(Path::new(&dir)) == Status::Stopped {
            return Ok(());
        }
        let now = cgroup.oom_kills();
        for _ in ooms..now {
            emit(&mut out, "oom", id, None)?;
        }
        ooms = now;
        if since_stats >= interval {
            emit(&mut out, "stats", id, Some(cgroup.stats()))?;
            since_stats = Duration::ZERO;
        }
        std::thread::sleep(tick);
        since_stats += tick;
    }
}
