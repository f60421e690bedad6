//! Resource usage of a container's cgroup: samples during the run (memory, cpu,
//! pids) and the totals at the end, for cgroup v1 and v2.

use std::fs;
use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;
use vsbx_runtime::cgroups::candidates;

fn read_u64(dirs: &[PathBuf], files: &[&str]) -> Option<u64> {
    files.iter().find_map(|f| {
        candidates(dirs, f).find_map(|d| fs::read_to_string(d.join(f)).ok()?.trim().parse().ok())
    })
}

fn keyed(dirs: &[PathBuf], file: &str, key: &str) -> Option<u64> {
    candidates(dirs, file).find_map(|d| {
        let text = fs::read_to_string(d.join(file)).ok()?;
        text.lines().find_map(|l| {
            let mut it = l.split_whitespace();
            (it.next()? == key)
                .then(|| it.next()?.parse().ok())
                .flatten()
        })
    })
}

/// CPU time so far in ms: (user, system).
fn cpu_ms(dirs: &[PathBuf]) -> (u64, u64) {
    if let (Some(u), Some(s)) = (
        keyed(dirs, "cpu.stat", "user_usec"),
        keyed(dirs, "cpu.stat", "system_usec"),
    ) {
        return (u / 1000, s / 1000);
    }
    // v1: cpuacct.usage is exact (ns); cpuacct.stat splits it in coarse USER_HZ ticks,
    // so use the ticks only for the user/system ratio.
    let total_ms = read_u64(dirs, &["cpuacct.usage"]).unwrap_or(0) / 1_000_000;
    let user = keyed(dirs, "cpuacct.stat", "user").unwrap_or(0);
    let system = keyed(dirs, "cpuacct.stat", "system").unwrap_or(0);
    if user + system == 0 {
        return (total_ms, 0);
    }
    let user_ms = total_ms * user / (user + system);
    (user_ms, total_ms - user_ms)
}

/// One sample of the cgroup.
#[derive(Debug, Clone, Serialize)]
pub struct Sample {
    pub t_ms: u64,
    pub memory_bytes: u64,
    pub cpu_user_ms: u64,
    pub cpu_system_ms: u64,
    pub pids: u64,
}

pub struct Sampler {
    dirs: Vec<PathBuf>,
    samples: Vec<Sample>,
    peak_pids: u64,
}

impl Sampler {
    pub fn new(dirs: Vec<PathBuf>) -> Sampler {
        Sampler {
            dirs,
            samples: Vec::new(),
            peak_pids: 0,
        }
    }

    pub fn sample(&mut self, at: Duration) {
        let pids = read_u64(&self.dirs, &["pids.current"]).unwrap_or(0);
        self.peak_pids = self
            .peak_pids
            .max(pids)
            .max(read_u64(&self.dirs, &["pids.peak"]).unwrap_or(0));
        let (u, s) = cpu_ms(&self.dirs);
        self.samples.push(Sample {
            t_ms: at.as_millis() as u64,
            memory_bytes: read_u64(&self.dirs, &["memory.current", "memory.usage_in_bytes"])
                .unwrap_or(0),
            cpu_user_ms: u,
            cpu_system_ms: s,
            pids,
        });
    }

    pub fn peak_pids(&self) -> u64 {
        self.peak_pids
    }

    pub fn into_samples(self) -> Vec<Sample> {
        self.samples
    }
}

/// Totals at the end of a run.
pub struct Usage {
    pub cpu_user_ms: u64,
    pub cpu_system_ms: u64,
    pub peak_memory_bytes: u64,
}

impl Usage {
    pub fn read(dirs: &[PathBuf]) -> Usage {
        let (u, s) = cpu_ms(dirs);
        Usage {
            cpu_user_ms: u,
            cpu_system_ms: s,
            peak_memory_bytes: read_u64(dirs, &["memory.peak", "memory.max_usage_in_bytes"])
                .unwrap_or(0),
        }
    }
}

/// The cgroup limits a run reached, read before the cgroup is removed (v1 and v2).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CgroupLimitsHit {
    /// A fork or clone was refused at pids.max (`max` of pids.events, both versions).
    pub pids: bool,
    /// Memory reached memory.high/max or the OOM killer ran (v2 memory.events; v1
    /// memory.failcnt and memory.oom_control).
    pub memory: bool,
    /// The CPU quota throttled the run at least once (`nr_throttled` of cpu.stat).
    pub cpu: bool,
}

impl CgroupLimitsHit {
    pub fn read(dirs: &[PathBuf]) -> CgroupLimitsHit {
        let positive = |file: &str, key: &str| keyed(dirs, file, key).is_some_and(|n| n > 0);
        let memory_v2 = ["high", "max", "oom", "oom_kill"]
            .iter()
            .any(|k| positive("memory.events", k));
        let memory_v1 = read_u64(dirs, &["memory.failcnt"]).is_some_and(|n| n > 0)
            || positive("memory.oom_control", "oom_kill")
            || positive("memory.oom_control", "under_oom");
        CgroupLimitsHit {
            pids: positive("pids.events", "max"),
            memory: memory_v2 || memory_v1,
            cpu: positive("cpu.stat", "nr_throttled"),
        }
    }
}
