//! What the host sees: processes, namespaces, mounts, cgroups.

use crate::{POLL, TIMEOUT};
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Polls `cond` until true or [`TIMEOUT`]; returns the last result.
pub fn wait_until(mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(POLL);
    }
}

/// Whether `pid` is a live (not zombie) process.
pub fn process_alive(pid: i32) -> bool {
    let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // The state is the first field after the parenthesised command name.
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.trim_start().chars().next());
    !matches!(state, None | Some('Z') | Some('X'))
}

/// The inode number behind `/proc/<pid>/ns/<ns>` (as in `uts:[4026531838]`).
pub fn ns_inode(pid: &str, ns: &str) -> String {
    let link = fs::read_link(format!("/proc/{pid}/ns/{ns}"))
        .unwrap_or_else(|e| panic!("readlink /proc/{pid}/ns/{ns}: {e}"));
    link.to_string_lossy().into_owned()
}

/// Mount points in this (the host's) mount namespace at or under `dir`.
pub fn mounts_under(dir: &Path) -> Vec<String> {
    let dir = dir.to_string_lossy();
    mountinfo()
        .into_iter()
        .map(|m| m.mount_point)
        .filter(|mp| mp == dir.as_ref() || mp.starts_with(&format!("{dir}/")))
        .collect()
}

/// One line of /proc/self/mountinfo.
#[derive(Debug, Clone)]
pub struct MountInfo {
    pub root: String,
    pub mount_point: String,
    pub options: String,
    pub optional: String,
    pub fstype: String,
    pub source: String,
    pub super_options: String,
}

/// Parses mountinfo text (`/proc/self/mountinfo`, or a copy written by a container).
pub fn parse_mountinfo(text: &str) -> Vec<MountInfo> {
    text.lines()
        .filter_map(|line| {
            let (left, right) = line.split_once(" - ")?;
            let l: Vec<&str> = left.split(' ').collect();
            let r: Vec<&str> = right.split(' ').collect();
            Some(MountInfo {
                root: unescape_mount(l.get(3)?),
                mount_point: unescape_mount(l.get(4)?),
                options: l.get(5)?.to_string(),
                optional: l[6..].join(" "),
                fstype: r.first()?.to_string(),
                source: r.get(1).map(|s| unescape_mount(s)).unwrap_or_default(),
                super_options: r.get(2).map(|s| s.to_string()).unwrap_or_default(),
            })
        })
        .collect()
}

/// mountinfo escapes space, tab, newline and backslash as \ooo.
fn unescape_mount(s: &str) -> String {
    let mut out = String::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            let v = (b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0');
            out.push(v as char);
            i += 4;
        } else {
            out.push(b[i] as char);
            i += 1;
        }
    }
    out
}

pub fn mountinfo() -> Vec<MountInfo> {
    parse_mountinfo(&fs::read_to_string("/proc/self/mountinfo").expect("read mountinfo"))
}

/// The cgroup hierarchies mounted on the host: (mount point, this process's cgroup path in it).
pub fn cgroup_hierarchies() -> Vec<(PathBuf, String)> {
    let own = fs::read_to_string("/proc/self/cgroup").expect("read /proc/self/cgroup");
    // "hierarchy-id:controllers:path"; cgroup2 has empty controllers.
    let own: Vec<(Vec<String>, String)> = own
        .lines()
        .filter_map(|l| {
            let mut it = l.splitn(3, ':');
            let _id = it.next()?;
            let ctrls = it
                .next()?
                .split(',')
                .filter(|c| !c.is_empty())
                .map(str::to_string)
                .collect();
            Some((ctrls, it.next()?.to_string()))
        })
        .collect();
    mountinfo()
        .into_iter()
        .filter_map(|m| {
            let path = match m.fstype.as_str() {
                "cgroup2" => own.iter().find(|(c, _)| c.is_empty())?.1.clone(),
                "cgroup" => {
                    let opts: Vec<&str> = m.super_options.split(',').collect();
                    own.iter()
                        .find(|(c, _)| {
                            !c.is_empty() && c.iter().all(|c| opts.contains(&c.as_str()))
                        })?
                        .1
                        .clone()
                }
                _ => return None,
            };
            // A hierarchy mounted from a sub-directory (root != "/") sees paths relative to it.
            let rel = path
                .strip_prefix(m.root.trim_end_matches('/'))
                .unwrap_or(&path)
                .to_string();
            Some((PathBuf::from(m.mount_point), rel))
        })
        .collect()
}

/// Cgroup directories that exist for container `id`: for each mounted hierarchy, `<mnt>/<id>`,
/// `<mnt>/<own cgroup>/<id>`, and `<mnt>/<cgroups_path>` when a path is given.
///
/// runc 1.1.5 with the cgroupfs driver and no `linux.cgroupsPath` puts the container in
/// `<runc's own cgroup>/<id>` in every hierarchy (a relative path is joined to the caller's
/// cgroup): on a host where the caller sits in `/` that is `/<id>`, and in a hierarchy where
/// it sits deeper (here memory: `/process_api/<hash>`) it is `/process_api/<hash>/<id>`.
/// Both forms are checked so that a runtime choosing either is covered.
pub fn cgroup_leftovers(id: &str, cgroups_path: Option<&str>) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for (mnt, own) in cgroup_hierarchies() {
        let mut candidates = vec![mnt.join(id), mnt.join(own.trim_start_matches('/')).join(id)];
        if let Some(p) = cgroups_path {
            candidates.push(mnt.join(p.trim_start_matches('/')));
        }
        for c in candidates {
            if c.is_dir() && !found.contains(&c) {
                found.push(c);
            }
        }
    }
    found
}

/// Whether the host has the unified hierarchy alone (cgroup v2) at /sys/fs/cgroup.
pub fn unified_host() -> bool {
    // Only the root of a cgroup2 mount has cgroup.controllers; a v1 or hybrid host has a
    // tmpfs there.
    Path::new("/sys/fs/cgroup/cgroup.controllers").exists()
}

/// A v1 cgroup file the tests read, as the unified hierarchy (v2) names it, with how its
/// value is turned back into the v1 file's: `memory.limit_in_bytes` is `memory.max`, the
/// quota and period are the two fields of `cpu.max`, `freezer.state` FROZEN is
/// `cgroup.freeze` 1. On a v1 host: the file itself.
pub fn cgroup_value(dir: &Path, v1_file: &str) -> std::io::Result<String> {
    let read = |f: &str| fs::read_to_string(dir.join(f)).map(|s| s.trim().to_string());
    if !unified_host() {
        return read(v1_file);
    }
    Ok(match v1_file {
        "memory.limit_in_bytes" => read("memory.max")?,
        "cpu.cfs_quota_us" => read("cpu.max")?.split(' ').next().unwrap_or("").to_string(),
        "cpu.cfs_period_us" => read("cpu.max")?.split(' ').nth(1).unwrap_or("").to_string(),
        "freezer.state" => match read("cgroup.freeze")?.as_str() {
            "1" => "FROZEN".into(),
            _ => "THAWED".into(),
        },
        // memory.events has the oom_kill count memory.oom_control has on v1.
        "memory.oom_control" => read("memory.events")?,
        other => read(other)?,
    })
}

/// The host directory of the cgroup that process `pid` is in, for the v1 hierarchy holding
/// `controller` (e.g. "memory", "pids", "freezer"); None when `pid` is gone or that hierarchy is
/// not mounted. Read from /proc/<pid>/cgroup, so it finds the cgroup wherever the runtime chose
/// to put it.
pub fn cgroup_dir_of(pid: i32, controller: &str) -> Option<PathBuf> {
    let text = fs::read_to_string(format!("/proc/{pid}/cgroup")).ok()?;
    if unified_host() {
        // One hierarchy: the `0::PATH` line, if the controller is enabled there (the
        // freezer of v2 is cgroup.freeze, in every cgroup but the root).
        let path = text.lines().find_map(|l| l.strip_prefix("0::"))?;
        let dir = Path::new("/sys/fs/cgroup").join(path.trim_start_matches('/'));
        let enabled = controller == "freezer"
            || fs::read_to_string(dir.join("cgroup.controllers"))
                .is_ok_and(|c| c.split_whitespace().any(|x| x == controller));
        return enabled.then_some(dir);
    }
    let path = text.lines().find_map(|l| {
        let mut it = l.splitn(3, ':');
        let _id = it.next()?;
        let ctrls = it.next()?;
        let path = it.next()?;
        ctrls
            .split(',')
            .any(|c| c == controller)
            .then(|| path.to_string())
    })?;
    let m = mountinfo()
        .into_iter()
        .find(|m| m.fstype == "cgroup" && m.super_options.split(',').any(|o| o == controller))?;
    let rel = path
        .strip_prefix(m.root.trim_end_matches('/'))
        .unwrap_or(&path)
        .trim_start_matches('/')
        .to_string();
    Some(PathBuf::from(m.mount_point).join(rel))
}
