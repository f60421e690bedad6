//! Helpers of the soak suite (tests/soak.rs): what the host holds before and after a phase,
//! and a small seeded random source for kill points.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use vsbx_conformance::{cgroup_hierarchies, mountinfo, wait_until};

/// How big a soak: `VSBX_SOAK=full` for `make soak`, else the short version `make test` runs.
#[derive(Debug, Clone, Copy)]
pub struct Scale {
    /// Sequential create / start / wait / delete lifecycles.
    pub lifecycles: usize,
    /// Attached `run`s per thread, two threads.
    pub parallel_runs: usize,
    /// SIGKILLs per command.
    pub kills: usize,
}

impl Scale {
    pub fn from_env() -> Scale {
        match std::env::var("VSBX_SOAK").as_deref() {
            Ok("full") => Scale {
                lifecycles: 1000,
                parallel_runs: 100,
                kills: 100,
            },
            _ => Scale {
                lifecycles: 40,
                parallel_runs: 10,
                kills: 12,
            },
        }
    }
}

/// xorshift64*, seeded from `VSBX_SOAK_SEED` or the clock (printed, to replay a failure).
pub struct Rng(u64);

impl Rng {
    pub fn new() -> Rng {
        let seed = std::env::var("VSBX_SOAK_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos() as u64)
                    .unwrap_or(1)
            })
            | 1;
        eprintln!("soak: VSBX_SOAK_SEED={seed}");
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A delay in [0, max).
    pub fn delay(&mut self, max: Duration) -> Duration {
        let us = max.as_micros().max(1) as u64;
        Duration::from_micros(self.next_u64() % us)
    }
}

impl Default for Rng {
    fn default() -> Self {
        Self::new()
    }
}

/// What the host holds that a container could leave behind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// Entries of the runtime's --root.
    pub state: BTreeSet<String>,
    /// Cgroup directories (every mounted hierarchy) whose name contains the soak's prefix.
    pub cgroups: BTreeSet<PathBuf>,
    /// Mount points in our mount namespace.
    pub mounts: BTreeSet<String>,
    /// Live processes in another mount namespace than ours (every container process is).
    pub processes: BTreeSet<(i32, String)>,
}

impl Snapshot {
    pub fn take(root: &Path, prefix: &str) -> Snapshot {
        Snapshot {
            state: fs::read_dir(root)
                .map(|d| {
                    d.flatten()
                        .map(|e| e.file_name().to_string_lossy().into_owned())
                        .collect()
                })
                .unwrap_or_default(),
            cgroups: cgroup_dirs_named(prefix),
            mounts: mountinfo().into_iter().map(|m| m.mount_point).collect(),
            processes: foreign_processes(),
        }
    }

    /// What `later` has that `self` had not.
    pub fn added(&self, later: &Snapshot) -> Vec<String> {
        let mut out = Vec::new();
        out.extend(
            later
                .state
                .difference(&self.state)
                .map(|s| format!("state {s}")),
        );
        out.extend(
            later
                .cgroups
                .difference(&self.cgroups)
                .map(|c| format!("cgroup {}", c.display())),
        );
        out.extend(
            later
                .mounts
                .difference(&self.mounts)
                .map(|m| format!("mount {m}")),
        );
        out.extend(
            later
                .processes
                .difference(&self.processes)
                .map(|(p, c)| format!("process {p} ({c})")),
        );
        out
    }

    /// Waits (up to the suite's timeout) until nothing is left over `before`; returns what
    /// still is. Processes get the time to die: an init whose runtime was killed exits
    /// when it finds its channel closed.
    pub fn leftovers_since(before: &Snapshot, root: &Path, prefix: &str) -> Vec<String> {
        let mut left = Vec::new();
        wait_until(|| {
            reap();
            left = before.added(&Snapshot::take(root, prefix));
            left.is_empty()
        });
        left
    }
}

fn cgroup_dirs_named(prefix: &str) -> BTreeSet<PathBuf> {
    let mut found = BTreeSet::new();
    let mut mounts: Vec<PathBuf> = cgroup_hierarchies().into_iter().map(|(m, _)| m).collect();
    mounts.sort();
    mounts.dedup();
    for m in mounts {
        walk(&m, 0, prefix, &mut found);
    }
    found
}

fn walk(dir: &Path, depth: usize, prefix: &str, found: &mut BTreeSet<PathBuf>) {
    if depth > 6 {
        return;
    }
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        if !e.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let p = e.path();
        if e.file_name().to_string_lossy().contains(prefix) {
            found.insert(p.clone());
        }
        walk(&p, depth + 1, prefix, found);
    }
}

fn foreign_processes() -> BTreeSet<(i32, String)> {
    let ours = fs::read_link("/proc/self/ns/mnt").ok();
    let mut out = BTreeSet::new();
    let Ok(entries) = fs::read_dir("/proc") else {
        return out;
    };
    for e in entries.flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        if !vsbx_conformance::process_alive(pid) {
            continue;
        }
        // Kernel threads have no mount namespace link we can read; skip unreadable ones.
        let Ok(ns) = fs::read_link(format!("/proc/{pid}/ns/mnt")) else {
            continue;
        };
        if Some(&ns) == ours.as_ref() {
            continue;
        }
        let comm = fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        out.insert((pid, comm.trim().to_string()));
    }
    out
}

/// Reaps, for as long as the process lives, every exited child that ran in another pid
/// namespace than ours: the container processes orphaned to this subreaper. A container's
/// init that is killed waits, before it can die, until every other process of its pid
/// namespace is reaped; a shim or systemd reaps at once, and so must the test. Commands the
/// tests spawn themselves (our pid namespace) are left to their `wait`.
pub fn start_reaper() {
    use nix::sys::wait::{waitid, waitpid, Id, WaitPidFlag};
    std::thread::spawn(|| loop {
        let peek = waitid(Id::All, WaitPidFlag::WEXITED | WaitPidFlag::WNOWAIT);
        match peek.ok().and_then(|s| s.pid()) {
            Some(pid) if in_a_nested_pid_namespace(pid.as_raw()) => {
                let _ = waitpid(pid, None);
            }
            _ => std::thread::sleep(Duration::from_millis(2)),
        }
    });
}

fn in_a_nested_pid_namespace(pid: i32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("NSpid:"))
                .map(|ids| ids.split_whitespace().count() > 1)
        })
        .unwrap_or(false)
}

/// Reaps every exited child (this process is made a subreaper by the tests, as a shim or
/// systemd would be, so orphaned container inits come back to it).
pub fn reap() {
    use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
    while let Ok(s) = waitpid(None, Some(WaitPidFlag::WNOHANG)) {
        if s == WaitStatus::StillAlive {
            break;
        }
    }
}
