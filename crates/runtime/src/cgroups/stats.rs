//! Reading a container's cgroup for `events`: usage statistics (per version, see
//! `v1::stats` and `v2::stats`) and the OOM kill count, from the files that exist.

use std::collections::BTreeMap;
use std::fs;
use std::path::PathBuf;

use serde_json::Value;

/// The content of `file` from the first directory that has it.
pub(super) fn read_in(dirs: &[PathBuf], file: &str) -> Option<String> {
    super::candidates(dirs, file).find_map(|d| fs::read_to_string(d.join(file)).ok())
}

/// A counter file; 0 when missing or unreadable.
pub(super) fn num(dirs: &[PathBuf], file: &str) -> u64 {
    read_in(dirs, file)
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

/// "key value" lines (memory.stat, cpu.stat, cpuacct.stat, memory.events).
pub(super) fn keyed(text: &str) -> BTreeMap<String, u64> {
    text.lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            Some((it.next()?.to_owned(), it.next()?.parse().ok()?))
        })
        .collect()
}

/// A limit file: "max" or a huge v1 number means unlimited, reported as runc does
/// (the largest value).
pub(super) fn limit(dirs: &[PathBuf], file: &str) -> u64 {
    match read_in(dirs, file).map(|s| s.trim().to_owned()) {
        Some(s) if s == "max" => u64::MAX,
        Some(s) => s.parse().unwrap_or(0),
        None => 0,
    }
}

/// The stats of one container as runc's `events --stats` prints them.
pub(super) fn stats(dirs: &[PathBuf]) -> Value {
    let v2 = dirs.iter().any(|d| d.join("cgroup.controllers").exists());
    if v2 {
        return super::v2::stats::stats(dirs);
    }
    super::v1::stats::stats(dirs)
}

/// Count of OOM kills so far (v1 memory.oom_control, v2 memory.events).
pub(super) fn oom_kills(dirs: &[PathBuf]) -> u64 {
    for file in ["memory.events", "memory.oom_control"] {
        if let Some(t) = read_in(dirs, file) {
            if let Some(n) = keyed(&t).get("oom_kill") {
                return *n;
            }
        }
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake(files: &[(&str, &str)]) -> (tempfile::TempDir, Vec<PathBuf>) {
        let tmp = tempfile::tempdir().unwrap();
        for (f, v) in files {
            fs::write(tmp.path().join(f), v).unwrap();
        }
        let dirs = vec![tmp.path().to_path_buf()];
        (tmp, dirs)
    }

    #[test]
    fn v2_stats_and_ooms() {
        let (_t, dirs) = fake(&[
            ("cgroup.controllers", "cpu memory pids"),
            (
                "cpu.stat",
                "usage_usec 10\nuser_usec 6\nsystem_usec 4\nnr_throttled 1\n",
            ),
            ("memory.current", "4096\n"),
            ("memory.max", "max\n"),
            ("memory.stat", "file 512\nanon 1024\n"),
            ("memory.events", "low 0\nmax 3\noom 1\noom_kill 2\n"),
            ("pids.current", "5\n"),
            ("pids.max", "64\n"),
        ]);
        let s = stats(&dirs);
        assert_eq!(s["cpu"]["usage"]["total"], 10_000);
        assert_eq!(s["cpu"]["usage"]["kernel"], 4_000);
        assert_eq!(s["cpu"]["throttling"]["throttled_periods"], 1);
        assert_eq!(s["memory"]["cache"], 512);
        assert_eq!(s["memory"]["usage"]["usage"], 4096);
        assert_eq!(s["memory"]["usage"]["limit"], u64::MAX);
        assert_eq!(s["memory"]["usage"]["failcnt"], 3);
        assert_eq!(s["memory"]["raw"]["anon"], 1024);
        assert_eq!(s["pids"]["current"], 5);
        assert_eq!(s["pids"]["limit"], 64);
        assert_eq!(oom_kills(&dirs), 2);
    }

    #[test]
    fn v1_stats_and_ooms() {
        let (_t, dirs) = fake(&[
            ("cpuacct.usage", "123\n"),
            ("cpuacct.usage_percpu", "100 23 \n"),
            ("memory.usage_in_bytes", "4096\n"),
            ("memory.limit_in_bytes", "9223372036854771712\n"),
            ("memory.stat", "cache 7\nrss 9\n"),
            (
                "memory.oom_control",
                "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n",
            ),
            ("pids.max", "max\n"),
        ]);
        let s = stats(&dirs);
        assert_eq!(s["cpu"]["usage"]["total"], 123);
        assert_eq!(s["cpu"]["usage"]["percpu"], serde_json::json!([100, 23]));
        assert_eq!(s["memory"]["cache"], 7);
        assert_eq!(s["memory"]["usage"]["limit"], 9223372036854771712u64);
        assert_eq!(s["pids"]["current"], 0);
        assert_eq!(s["pids"]["limit"], u64::MAX);
        assert_eq!(oom_kills(&dirs), 1);
        let (_t, none) = fake(&[]);
        assert_eq!(oom_kills(&none), 0);
    }
}
