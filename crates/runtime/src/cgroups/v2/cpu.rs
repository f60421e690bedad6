//! linux.resources.cpu on v2: cpu.weight, cpu.max and cpu.max.burst, cpus and mems.

use oci_spec::runtime::LinuxCpu;

use super::super::common::{self, set, shares_to_weight, Target};
use crate::error::{Error, Result};

pub(super) fn apply(t: &mut Target, c: &LinuxCpu) -> Result<()> {
    if let Some(s) = set(c.shares()) {
        t.write(
            "cpu.weight",
            &shares_to_weight(s).to_string(),
            "linux.resources.cpu.shares",
        )?;
    }
    if set(c.quota()).is_some() || set(c.period()).is_some() {
        let quota = match set(c.quota()) {
            Some(q) if q > 0 => q.to_string(),
            _ => "max".to_string(),
        };
        let period = set(c.period()).unwrap_or(100_000);
        t.write(
            "cpu.max",
            &format!("{quota} {period}"),
            "linux.resources.cpu.quota",
        )?;
    }
    if set(c.realtime_runtime()).is_some() || set(c.realtime_period()).is_some() {
        return Err(Error::invalid(
            "linux.resources.cpu.realtimeRuntime: not available on cgroup v2",
        ));
    }
    if let Some(b) = set(c.burst()) {
        t.write("cpu.max.burst", &b.to_string(), "linux.resources.cpu.burst")?;
    }
    common::cpu_idle_and_cpuset(t, c)
}
