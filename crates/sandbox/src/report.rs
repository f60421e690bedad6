//! What a run did, as JSON (`--report`) and as a short human summary.

use serde::Serialize;

/// How a run ended, from the user's point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Exit code 0.
    Ok,
    /// Exited by itself with a non-zero code.
    ExitNonzero,
    /// Still running at the wall-clock limit; the sandbox killed it.
    Timeout,
    /// The kernel's OOM killer ended it at the memory limit.
    OomKilled,
    /// Killed by a signal (not OOM, not a policy violation).
    KilledBySignal,
    /// Killed by SIGSYS: it made a system call its policy forbids (KILL action).
    PolicyViolation,
    /// `vsbx` itself was told to stop (SIGINT, SIGTERM, SIGHUP) and killed the run.
    Interrupted,
}

/// One stream's accounting.
#[derive(Debug, Clone, Default, Serialize)]
pub struct StreamStats {
    /// Bytes the program wrote (all of them, also past the cap).
    pub bytes: u64,
    /// True if more than the cap was written; only the first `cap` bytes were kept.
    pub truncated: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub id: String,
    pub status: Outcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signal: Option<i32>,
    pub wall_ms: u64,
    pub cpu_user_ms: u64,
    pub cpu_system_ms: u64,
    pub peak_memory_bytes: u64,
    pub peak_pids: u64,
    pub stdout: StreamStats,
    pub stderr: StreamStats,
    /// The wall-clock limit the run had (`--timeout`, else the default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
    /// The host uid (and gid) the program ran as.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host_uid: Option<u32>,
    /// What `--output DIR` received.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<crate::outdir::OutputStats>,
    /// The limits the run reached, in a fixed order (see [`LimitHit`]); empty when none.
    pub limits_hit: Vec<LimitHit>,
    /// How each of the memory, pids and CPU limits was enforced.
    pub enforcement: Vec<Enforced>,
}

/// How one limit was enforced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Enforced {
    /// "memory", "pids" or "cpu".
    pub limit: &'static str,
    pub by: EnforcedBy,
    /// What that means for this run, in words.
    pub detail: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EnforcedBy {
    /// The run's cgroup: all its processes together.
    Cgroup,
    /// A per-process rlimit, the stand-in where no cgroup could be had.
    Rlimit,
    /// Not enforced.
    None,
}

impl Enforced {
    pub fn none(limit: &'static str) -> Enforced {
        Enforced {
            limit,
            by: EnforcedBy::None,
            detail: "not enforced".into(),
        }
    }
}

/// A limit a run reached. The JSON spelling (`limits_hit`) is stable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitHit {
    /// The wall-clock limit ended the run.
    Timeout,
    /// The memory cgroup reached its limit (reclaim, `high`/`max` events or an OOM kill).
    Memory,
    /// A fork or clone failed at the pids limit.
    Pids,
    /// The CPU quota throttled the run.
    Cpu,
    /// Killed by SIGXFSZ: a write went past the file size limit.
    FileSize,
    /// More stdout than `--output-cap` was written; the rest was dropped.
    StdoutCap,
    /// More stderr than `--output-cap` was written; the rest was dropped.
    StderrCap,
    /// `--output DIR` got less than the program left in /output (`--output-size`).
    OutputSize,
}

impl LimitHit {
    pub fn name(self) -> &'static str {
        match self {
            LimitHit::Timeout => "timeout",
            LimitHit::Memory => "memory",
            LimitHit::Pids => "pids",
            LimitHit::Cpu => "cpu",
            LimitHit::FileSize => "file_size",
            LimitHit::StdoutCap => "stdout_cap",
            LimitHit::StderrCap => "stderr_cap",
            LimitHit::OutputSize => "output_size",
        }
    }
}

impl Report {
    /// The exit code `vsbx run` itself ends with: the program's, or 128+N for a signal.
    pub fn exit_code_for_shell(&self) -> i32 {
        match (self.exit_code, self.signal) {
            (Some(c), _) => c,
            (None, Some(s)) => 128 + s,
            _ => 1,
        }
    }

    /// Adds `hit` to `limits_hit`, keeping the fixed order and no duplicates.
    pub fn add_limit_hit(&mut self, hit: LimitHit) {
        if !self.limits_hit.contains(&hit) {
            self.limits_hit.push(hit);
            self.limits_hit.sort();
        }
    }

    /// One line for stderr.
    pub fn summary(&self) -> String {
        let status = serde_json::to_value(self.status)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let how = match (self.exit_code, self.signal) {
            (Some(c), _) => format!("exit {c}"),
            (None, Some(s)) => format!("signal {s}"),
            _ => "no status".into(),
        };
        let trunc = |s: &StreamStats| if s.truncated { " (truncated)" } else { "" };
        let output = self
            .output
            .as_ref()
            .map(|o| {
                format!(
                    ", output {} files {} B{}{}",
                    o.files,
                    o.bytes,
                    if o.skipped > 0 {
                        format!(" ({} skipped)", o.skipped)
                    } else {
                        String::new()
                    },
                    if o.limit_reached {
                        format!(" (limit {} reached)", human_bytes(o.limit_bytes))
                    } else {
                        String::new()
                    },
                )
            })
            .unwrap_or_default();
        let hits = if self.limits_hit.is_empty() {
            String::new()
        } else {
            let names: Vec<&str> = self.limits_hit.iter().map(|h| h.name()).collect();
            format!(" (limits hit: {})", names.join(", "))
        };
        let weaker: Vec<String> = self
            .enforcement
            .iter()
            .filter(|e| e.by != EnforcedBy::Cgroup)
            .map(|e| match e.by {
                EnforcedBy::Rlimit => format!("{} by rlimit", e.limit),
                _ => format!("{} not enforced", e.limit),
            })
            .collect();
        let enforcement = if weaker.is_empty() {
            String::new()
        } else {
            format!("; no cgroup: {} (see the report)", weaker.join(", "))
        };
        format!(
            "vsbx: {status}{hits} ({how}) wall {} ms, cpu {}+{} ms, peak mem {}, peak pids {}, stdout {} B{}, stderr {} B{}{output}{enforcement}",
            self.wall_ms,
            self.cpu_user_ms,
            self.cpu_system_ms,
            human_bytes(self.peak_memory_bytes),
            self.peak_pids,
            self.stdout.bytes,
            trunc(&self.stdout),
            self.stderr.bytes,
            trunc(&self.stderr),
        )
    }
}

pub fn human_bytes(b: u64) -> String {
    const UNITS: &[&str] = &["B", "KiB", "MiB", "GiB"];
    let mut v = b as f64;
    let mut i = 0;
    while v >= 1024.0 && i + 1 < UNITS.len() {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{b} B")
    } else {
        format!("{v:.1} {}", UNITS[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_and_exit_code() {
        let r = Report {
            id: "x".into(),
            status: Outcome::OomKilled,
            exit_code: None,
            signal: Some(9),
            wall_ms: 12,
            cpu_user_ms: 3,
            cpu_system_ms: 4,
            peak_memory_bytes: 64 << 20,
            peak_pids: 2,
            stdout: StreamStats {
                bytes: 5,
                truncated: false,
            },
            stderr: StreamStats {
                bytes: 0,
                truncated: false,
            },
            timeout_ms: Some(30_000),
            host_uid: Some(2_000_000_000),
            output: None,
            limits_hit: Vec::new(),
            enforcement: Vec::new(),
        };
        assert_eq!(r.exit_code_for_shell(), 137);
        let s = r.summary();
        assert!(
            s.contains("oom_killed") && s.contains("64.0 MiB") && s.contains("signal 9"),
            "{s}"
        );
        let j = serde_json::to_value(&r).unwrap();
        assert_eq!(j["status"], "oom_killed");
        assert!(j.get("exit_code").is_none());
        assert_eq!(j["timeout_ms"], 30_000);
        assert_eq!(j["host_uid"], 2_000_000_000u32);
        assert_eq!(j["limits_hit"], serde_json::json!([]));
        assert!(!s.contains("limits hit"), "{s}");
    }

    #[test]
    fn limits_hit_are_named_in_order_once() {
        let mut r = Report {
            id: "x".into(),
            status: Outcome::Ok,
            exit_code: Some(0),
            signal: None,
            wall_ms: 1,
            cpu_user_ms: 0,
            cpu_system_ms: 0,
            peak_memory_bytes: 0,
            peak_pids: 16,
            stdout: StreamStats::default(),
            stderr: StreamStats::default(),
            timeout_ms: None,
            host_uid: None,
            output: None,
            limits_hit: Vec::new(),
            enforcement: Vec::new(),
        };
        for hit in [LimitHit::StdoutCap, LimitHit::Pids, LimitHit::StdoutCap] {
            r.add_limit_hit(hit);
        }
        assert!(
            r.summary()
                .starts_with("vsbx: ok (limits hit: pids, stdout_cap) (exit 0)"),
            "{}",
            r.summary()
        );
        let j = serde_json::to_value(&r).unwrap();
        assert_eq!(j["limits_hit"], serde_json::json!(["pids", "stdout_cap"]));
    }
}
