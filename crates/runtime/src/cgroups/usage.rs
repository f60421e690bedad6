//! A container's resource use and the limits it reached, read from its cgroup files
//! (v1 or v2, whichever the directories hold) for library callers: `vsbx run` samples
//! these while a run goes on and reads them once more before the cgroup is removed.

use std::path::PathBuf;

use super::stats::{keyed, read_in};

/// The first of `files` that a directory holds, as a number.
fn first_num(dirs: &[PathBuf], files: &[&str]) -> Option<u64> {
    files
        .iter()
        .find_map(|f| read_in(dirs, f)?.trim().parse().ok())
}

/// `key` of a "key value" file.
fn key(dirs: &[PathBuf], file: &str, key: &str) -> Option<u64> {
    read_in(dirs, file).and_then(|t| keyed(&t).get(key).copied())
}

/// Usage so far. Counters a host does not have (no memory controller, say) read 0.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub memory_bytes: u64,
    /// The high-water mark of memory (v2 memory.peak, v1 memory.max_usage_in_bytes).
    pub peak_memory_bytes: u64,
    pub cpu_user_ms: u64,
    pub cpu_system_ms: u64,
    pub pids: u64,
    /// pids.peak where the kernel keeps it (v2 since Linux 6.1), else 0.
    pub peak_pids: u64,
}

/// Which cgroup limits were reached at least once.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LimitsHit {
    /// A fork or clone was refused at pids.max (`max` of pids.events, both versions).
    pub pids: bool,
    /// Memory reached memory.high/max or the OOM killer ran (v2 memory.events; v1
    /// memory.failcnt and memory.oom_control).
    pub memory: bool,
    /// The CPU quota throttled the container at least once (`nr_throttled` of cpu.stat).
    pub cpu: bool,
}

/// CPU time in ms: (user, system).
fn cpu_ms(dirs: &[PathBuf]) -> (u64, u64) {
    if let (Some(u), Some(s)) = (
        key(dirs, "cpu.stat", "user_usec"),
        key(dirs, "cpu.stat", "system_usec"),
    ) {
        return (u / 1000, s / 1000);
    }
    // v1: cpuacct.usage is exact (ns); cpuacct.stat splits it in coarse USER_HZ ticks,
    // so the ticks give only the user/system ratio.
    let total_ms = first_num(dirs, &["cpuacct.usage"]).unwrap_or(0) / 1_000_000;
    let user = key(dirs, "cpuacct.stat", "user").unwrap_or(0);
    let system = key(dirs, "cpuacct.stat", "system").unwrap_or(0);
    if user + system == 0 {
        return (total_ms, 0);
    }
    let user_ms = total_ms * user / (user + system);
    (user_ms, total_ms - user_ms)
}

pub(super) fn usage(dirs: &[PathBuf]) -> Usage {
    let (cpu_user_ms, cpu_system_ms) = cpu_ms(dirs);
    Usage {
        memory_bytes: first_num(dirs, &["memory.current", "memory.usage_in_bytes"]).unwrap_or(0),
        peak_memory_bytes: first_num(dirs, &["memory.peak", "memory.max_usage_in_bytes"])
            .unwrap_or(0),
        cpu_user_ms,
        cpu_system_ms,
        pids: first_num(dirs, &["pids.current"]).unwrap_or(0),
        peak_pids: first_num(dirs, &["pids.peak"]).unwrap_or(0),
    }
}

pub(super) fn limits_hit(dirs: &[PathBuf]) -> LimitsHit {
    let positive = |file: &str, k: &str| key(dirs, file, k).is_some_and(|n| n > 0);
    let memory_v2 = ["high", "max", "oom", "oom_kill"]
        .iter()
        .any(|k| positive("memory.events", k));
    let memory_v1 = first_num(dirs, &["memory.failcnt"]).is_some_and(|n| n > 0)
        || positive("memory.oom_control", "oom_kill")
        || positive("memory.oom_control", "under_oom");
    LimitsHit {
        pids: positive("pids.events", "max"),
        memory: memory_v2 || memory_v1,
        cpu: positive("cpu.stat", "nr_throttled"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    /// A fake v2 cgroup directory with the given files. `candidates` picks v2 files from
    /// any directory that is not under a v1 controller's mount.
    fn dir_with(files: &[(&str, &str)]) -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        for (name, text) in files {
            fs::write(d.path().join(name), text).unwrap();
        }
        d
    }

    #[test]
    fn v2_files_give_usage_and_limits() {
        let d = dir_with(&[
            ("memory.current", "4096\n"),
            ("memory.peak", "8192\n"),
            (
                "cpu.stat",
                "usage_usec 5000\nuser_usec 3000\nsystem_usec 2000\nnr_throttled 0\n",
            ),
            ("pids.current", "3\n"),
            ("pids.events", "max 2\n"),
            ("memory.events", "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n"),
        ]);
        let dirs = vec![d.path().to_path_buf()];
        let u = usage(&dirs);
        assert_eq!(
            u,
            Usage {
                memory_bytes: 4096,
                peak_memory_bytes: 8192,
                cpu_user_ms: 3,
                cpu_system_ms: 2,
                pids: 3,
                peak_pids: 0,
            }
        );
        assert_eq!(
            limits_hit(&dirs),
            LimitsHit {
                pids: true,
                memory: false,
                cpu: false
            }
        );
    }

    #[test]
    fn v1_cpu_splits_the_exact_total_by_the_tick_ratio() {
        let d = dir_with(&[
            ("cpuacct.usage", "40000000\n"),
            ("cpuacct.stat", "user 3\nsystem 1\n"),
            ("memory.failcnt", "1\n"),
        ]);
        let dirs = vec![d.path().to_path_buf()];
        let u = usage(&dirs);
        assert_eq!((u.cpu_user_ms, u.cpu_system_ms), (30, 10));
        assert!(limits_hit(&dirs).memory);
    }
}
