//! `events --stats` on v1: the cpuacct, cpu, memory and pids hierarchies' files, in
//! runc's JSON layout.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::{json, Value};

use super::super::stats::{keyed, limit, num, read_in};

pub(crate) fn stats(dirs: &[PathBuf]) -> Value {
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
