//! `events --stats` on v2: cpu.stat, memory.stat, memory.events and the counters,
//! in runc's JSON layout.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::{json, Value};

use super::super::stats::{keyed, limit, num, read_in};

pub(crate) fn stats(dirs: &[PathBuf]) -> Value {
    let cpu = keyed(&read_in(dirs, "cpu.stat").unwrap_or_default());
    let mem_stat = keyed(&read_in(dirs, "memory.stat").unwrap_or_default());
    let events = keyed(&read_in(dirs, "memory.events").unwrap_or_default());
    let g = |m: &BTreeMap<String, u64>, k: &str| m.get(k).copied().unwrap_or(0);
    json!({
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
    })
}
