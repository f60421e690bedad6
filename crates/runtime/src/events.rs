//! `events`: resource usage and OOM notifications in runc's JSON event format, read
//! from the container's cgroup files (v1 or v2).

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{json, Value};

use crate::error::{Error, Result};
use crate::state::{Root, Status};

fn read_in(dirs: &[PathBuf], file: &str) -> Option<String> {
    crate::cgroups::candidates(dirs, file).find_map(|d| fs::read_to_string(d.join(file)).ok())
}

fn num(dirs: &[PathBuf], file: &str) -> u64 {
    read_in(dirs, file)
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

/// "key value" lines (memory.stat, cpu.stat, cpuacct.stat, memory.events).
fn keyed(text: &str) -> BTreeMap<String, u64> {
    text.lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            Some((it.next()?.to_owned(), it.next()?.parse().ok()?))
        })
        .collect()
}

/// A limit file: "max" or a huge v1 number means unlimited, reported as runc does
/// (the largest value).
fn limit(dirs: &[PathBuf], file: &str) -> u64 {
    match read_in(dirs, file).map(|s| s.trim().to_owned()) {
        Some(s) if s == "max" => u64::MAX,
        Some(s) => s.parse().unwrap_or(0),
        None => 0,
    }
}

/// The stats of one container as runc's `events --stats` prints them.
pub fn stats(dirs: &[PathBuf]) -> Value {
    let v2 = dirs.iter().any(|d| d.join("cgroup.controllers").exists());
    if v2 {
        let cpu = keyed(&read_in(dirs, "cpu.stat").unwrap_or_default());
        let mem_stat = keyed(&read_in(dirs, "memory.stat").unwrap_or_default());
        let events = keyed(&read_in(dirs, "memory.events").unwrap_or_default());
        let g = |m: &BTreeMap<String, u64>, k: &str| m.get(k).copied().unwrap_or(0);
        return json!({
            "cpu": {
                "usage": {"total": g(&cpu, "usage_usec") * 1000, "kernel": g(&cpu, "system_usec") * 1000, "user": g(&cpu, "user_usec") * 1000},
                "throttling": {"periods": g(&cpu, "nr_periods"), "throttled_periods": g(&cpu, "nr_throttled"), "throttled_time": g(&cpu, "throttled_usec") * 1000}
            },
            "memory": {
                "cache": g(&mem_stat, "file"),
                "usage": {"usage": num(dirs, "memory.current"), "max": num(dirs, "memory.peak"), "limit": limit(dirs, "memory.max"), "failcnt": g(&events, "max")},
                "swap": {"usage": num(dirs, "memory.swap.current"), "limit": limit(dirs, "memory.swap.max")},
                "raw": mem_stat
            },
            "pids": {"current": num(dirs, "pids.current"), "limit": limit(dirs, "pids.max")},
            "blkio": {}
        });
    }
    let percpu: Vec<u64> = read_in(dirs, "cpuacct.usage_percpu")
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|s| s.parse().ok())
        .collect();
    // cpuacct.stat is in USER_HZ ticks; runc converts to nanoseconds.
    let hz = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .unwrap_or(-1)
        .max(1) as u64;
    let acct = keyed(&read_in(dirs, "cpuacct.stat").unwrap_or_default());
    let throttle = keyed(&read_in(dirs, "cpu.stat").unwrap_or_default());
    let mem_stat = keyed(&read_in(dirs, "memory.stat").unwrap_or_default());
    let g = |m: &BTreeMap<String, u64>, k: &str| m.get(k).copied().unwrap_or(0);
    json!({
        "cpu": {
            "usage": {
                "total": num(dirs, "cpuacct.usage"),
                "percpu": percpu,
                "kernel": g(&acct, "system") * 1_000_000_000 / hz,
                "user": g(&acct, "user") * 1_000_000_000 / hz
            },
            "throttling": {"periods": g(&throttle, "nr_periods"), "throttled_periods": g(&throttle, "nr_throttled"), "throttled_time": g(&throttle, "throttled_time")}
        },
        "memory": {
            "cache": g(&mem_stat, "cache"),
            "usage": {"usage": num(dirs, "memory.usage_in_bytes"), "max": num(dirs, "memory.max_usage_in_bytes"), "limit": num(dirs, "memory.limit_in_bytes"), "failcnt": num(dirs, "memory.failcnt")},
            "swap": {"usage": num(dirs, "memory.memsw.usage_in_bytes"), "max": num(dirs, "memory.memsw.max_usage_in_bytes"), "limit": num(dirs, "memory.memsw.limit_in_bytes"), "failcnt": num(dirs, "memory.memsw.failcnt")},
            "raw": mem_stat
        },
        "pids": {"current": num(dirs, "pids.current"), "limit": limit(dirs, "pids.max")},
        "blkio": {}
    })
}

/// Count of OOM kills so far (v1 memory.oom_control, v2 memory.events).
pub fn oom_kills(dirs: &[PathBuf]) -> u64 {
    for file in ["memory.events", "memory.oom_control"] {
        if let Some(t) = read_in(dirs, file) {
            if let Some(n) = keyed(&t).get("oom_kill") {
                return *n;
            }
        }
    }
    0
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
    let mut out = std::io::stdout().lock();
    if once {
        return emit(&mut out, "stats", id, Some(stats(&rec.cgroup_dirs)));
    }
    let mut ooms = oom_kills(&rec.cgroup_dirs);
    let tick = Duration::from_millis(100).min(interval);
    let mut since_stats = interval; // first stats right away
    loop {
        if rec.status(Path::new(&dir)) == Status::Stopped {
            return Ok(());
        }
        let now = oom_kills(&rec.cgroup_dirs);
        for _ in ooms..now {
            emit(&mut out, "oom", id, None)?;
        }
        ooms = now;
        if since_stats >= interval {
            emit(&mut out, "stats", id, Some(stats(&rec.cgroup_dirs)))?;
            since_stats = Duration::ZERO;
        }
        std::thread::sleep(tick);
        since_stats += tick;
    }
}
