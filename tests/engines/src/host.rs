//! What the host sees of a container: its cgroup directories.

use std::fs;

/// The host directory of process `pid`'s cgroup in the v1 hierarchy `controller`
/// (`/sys/fs/cgroup/<controller><path from /proc/PID/cgroup>`).
pub fn cgroup_v1_dir(pid: &str, controller: &str) -> Result<String, String> {
    let file = format!("/proc/{pid}/cgroup");
    let cgroups = fs::read_to_string(&file).map_err(|e| format!("{file}: {e}"))?;
    let path = cgroups
        .lines()
        .filter_map(|l| {
            let mut fields = l.splitn(3, ':');
            Some((fields.nth(1)?, fields.next()?))
        })
        .find(|(ctrls, _)| ctrls.split(',').any(|c| c == controller))
        .map(|(_, path)| path.to_string())
        .ok_or_else(|| format!("no {controller} cgroup in {file}:\n{cgroups}"))?;
    Ok(format!("/sys/fs/cgroup/{controller}{path}"))
}

/// One file of that cgroup directory, trimmed.
pub fn cgroup_v1_file(pid: &str, controller: &str, name: &str) -> Result<String, String> {
    let file = format!("{}/{name}", cgroup_v1_dir(pid, controller)?);
    fs::read_to_string(&file)
        .map(|s| s.trim().to_string())
        .map_err(|e| format!("{file}: {e}"))
}
