//! Commands on a running container's cgroup: pause, resume, ps.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::cgroups::{self, Cgroup, Manager};
use crate::error::{Error, Result};
use crate::state::{Root, Status};

/// `pause`: freezes every process of the container.
pub fn pause(root: &Root, id: &str) -> Result<()> {
    let (locked, rec) = root.open(id)?;
    match rec.status(&locked.dir) {
        Status::Running => {}
        Status::Paused => return Err(Error::other("container already paused")),
        _ => return Err(Error::other("container not running")),
    }
    let cgroup = Cgroup::new(&rec.cgroup_dirs);
    cgroup.freeze(true)?;
    wait_frozen(cgroup, true)
}

/// `resume`: thaws a paused container.
pub fn resume(root: &Root, id: &str) -> Result<()> {
    let (locked, rec) = root.open(id)?;
    if rec.status(&locked.dir) != Status::Paused {
        return Err(Error::other("container not paused"));
    }
    let cgroup = Cgroup::new(&rec.cgroup_dirs);
    cgroup.freeze(false)?;
    wait_frozen(cgroup, false)
}

fn wait_frozen(cgroup: Cgroup, frozen: bool) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(5);
    while cgroup.is_frozen() != frozen {
        if Instant::now() > deadline {
            return Err(Error::other(format!(
                "the cgroup did not become {} in 5s",
                if frozen { "frozen" } else { "thawed" }
            )));
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    Ok(())
}

/// `ps`: the host pids of the container's processes.
pub fn pids(root: &Root, id: &str) -> Result<Vec<i32>> {
    let (_locked, rec) = root.open(id)?;
    let mut pids = Cgroup::new(&rec.cgroup_dirs).pids();
    pids.sort_unstable();
    Ok(pids)
}

/// `ps -f table`: runs `ps ARGS` on the host and keeps the header and the rows whose
/// PID column is one of `pids`, as runc does.
pub fn ps_table(pids: &[i32], ps_args: &[String]) -> Result<String> {
    let args: Vec<String> = if ps_args.is_empty() {
        vec!["-ef".into()]
    } else {
        ps_args.to_vec()
    };
    let out = std::process::Command::new("ps")
        .args(&args)
        .output()
        .map_err(|e| Error::os("running ps", e))?;
    if !out.status.success() {
        // ps explains itself in several lines (usage and help hints): its first says what.
        let said = String::from_utf8_lossy(&out.stderr);
        let first = said.lines().map(str::trim).find(|l| !l.is_empty());
        return Err(Error::other(format!(
            "ps {}: {}",
            args.join(" "),
            first.unwrap_or("failed")
        )));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines();
    let header = lines.next().unwrap_or("");
    let col = header
        .split_whitespace()
        .position(|h| h == "PID")
        .ok_or_else(|| Error::other("ps: no PID column in its output"))?;
    let mut result = format!("{header}\n");
    for line in lines {
        if line
            .split_whitespace()
            .nth(col)
            .and_then(|p| p.parse::<i32>().ok())
            .is_some_and(|p| pids.contains(&p))
        {
            result.push_str(line);
            result.push('\n');
        }
    }
    Ok(result)
}

/// `update`: changes the resources of a created, running or paused container.
pub fn update(root: &Root, id: &str, r: &oci_spec::runtime::LinuxResources) -> Result<Vec<String>> {
    let (locked, rec) = root.open(id)?;
    if rec.status(&locked.dir) == Status::Stopped {
        return Err(Error::other("cannot update a stopped container"));
    }
    let layout = cgroups::Layout::detect()?;
    let mut rec = rec;
    let wanted = layout.dirs_for(
        rec.cgroups_path.as_deref(),
        &rec.id,
        &cgroups::v1_extra_controllers(Some(r)),
    )?;
    // v2 has one directory with every controller: nothing to join (and a caller in another
    // cgroup than the creator's would compute another place for a relative path).
    let missing: Vec<PathBuf> = match layout {
        cgroups::Layout::Unified { .. } => Vec::new(),
        cgroups::Layout::Legacy { .. } => wanted
            .into_iter()
            .filter(|d| !rec.cgroup_dirs.contains(d))
            .collect(),
    };
    if !missing.is_empty() {
        // The record names the new cgroups before they exist: if this update is killed
        // half-way, `delete` still finds and removes them.
        let before = rec.cgroup_dirs.clone();
        rec.cgroup_dirs.extend(missing.iter().cloned());
        locked.write(&rec)?;
        if let Err(e) = join_more(Cgroup::new(&before), Manager::new(&layout, &missing)) {
            rec.cgroup_dirs = before;
            let _ = locked.write(&rec);
            return Err(e);
        }
    }
    if let Some(unit) = &rec.systemd {
        // systemd re-applies a unit's own properties (at daemon-reload): keep them in step.
        let props = cgroups::systemd::properties(r)?;
        cgroups::systemd::Bus::connect(unit.user)?.set_properties(unit, &props)?;
    }
    Manager::new(&layout, &rec.cgroup_dirs).apply_resources(r)
}

/// Moves every process of a running container into more v1 hierarchies (those a
/// later `update` needs): frozen meanwhile, so that none forks past the move.
fn join_more(current: Cgroup, more: Manager) -> Result<()> {
    let made = more.create()?;
    let undo = |e: Error| {
        cgroups::remove_dirs(&made);
        e
    };
    more.init_cpusets().map_err(undo)?;
    let was_frozen = current.is_frozen();
    if !was_frozen {
        current.freeze(true).map_err(undo)?;
        wait_frozen(current, true).map_err(undo)?;
    }
    let moved = current
        .pids()
        .into_iter()
        .try_for_each(|pid| match more.join(pid) {
            // A process that exited meanwhile is fine.
            Err(Error::Os { source, .. }) if source.raw_os_error() == Some(libc::ESRCH) => Ok(()),
            other => other,
        });
    if !was_frozen {
        current.freeze(false)?;
    }
    moved
}
