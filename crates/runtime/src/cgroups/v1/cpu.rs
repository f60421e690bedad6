//! linux.resources.cpu on v1: CFS and realtime bandwidth in the cpu hierarchy, cpus
//! and mems in the cpuset one.

use oci_spec::runtime::LinuxCpu;

use super::super::common::{self, set, Target};
use crate::error::Result;

pub(super) fn apply(t: &mut Target, c: &LinuxCpu) -> Result<()> {
    if let Some(s) = set(c.shares()) {
        t.write("cpu.shares", &s.to_string(), "linux.resources.cpu.shares")?;
    }
    if let Some(p) = set(c.period()) {
        t.write(
            "cpu.cfs_period_us",
            &p.to_string(),
            "linux.resources.cpu.period",
        )?;
    }
    if let Some(q) = set(c.quota()) {
        t.write(
            "cpu.cfs_quota_us",
            &q.to_string(),
            "linux.resources.cpu.quota",
        )?;
    }
    if let Some(p) = set(c.realtime_period()) {
        t.write(
            "cpu.rt_period_us",
            &p.to_string(),
            "linux.resources.cpu.realtimePeriod",
        )?;
    }
    if let Some(r) = set(c.realtime_runtime()) {
        t.write(
            "cpu.rt_runtime_us",
            &r.to_string(),
            "linux.resources.cpu.realtimeRuntime",
        )?;
    }
    if let Some(b) = set(c.burst()) {
        t.write(
            "cpu.cfs_burst_us",
            &b.to_string(),
            "linux.resources.cpu.burst",
        )?;
    }
    common::cpu_idle_and_cpuset(t, c)
}
