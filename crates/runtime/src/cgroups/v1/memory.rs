//! linux.resources.memory on v1: memory.limit_in_bytes and friends.

use oci_spec::runtime::LinuxMemory;

use super::super::common::{self, set, Target};
use crate::error::Result;

pub(super) fn apply(t: &mut Target, m: &LinuxMemory) -> Result<()> {
    common::warn_kernel_memory(t, m);
    if set(m.kernel_tcp()).is_some() {
        if t.find("memory.kmem.tcp.limit_in_bytes").is_none() {
            t.warnings.push(common::KERNEL_TCP_IGNORED.into());
        } else if let Some(v) = set(m.kernel_tcp()) {
            t.write(
                "memory.kmem.tcp.limit_in_bytes",
                &v.to_string(),
                "linux.resources.memory.kernelTCP",
            )?;
        }
    }
    if let Some(s) = m.swappiness() {
        common::check_swappiness(s)?;
        t.write(
            "memory.swappiness",
            &s.to_string(),
            "linux.resources.memory.swappiness",
        )?;
    }
    common::check_swap(m)?;
    if let Some(r) = set(m.reservation()) {
        t.write(
            "memory.soft_limit_in_bytes",
            &r.to_string(),
            "linux.resources.memory.reservation",
        )?;
    }
    // memory.limit must stay <= memory.memsw.limit at every step: raise memsw first
    // when the new limit is above the current memsw, lower it last otherwise.
    let memsw_now: Option<i64> = t
        .read("memory.memsw.limit_in_bytes")
        .and_then(|s| s.parse().ok());
    let swap_first = match (set(m.limit()), memsw_now) {
        (Some(l), Some(now)) => l < 0 || l > now,
        _ => true,
    };
    let write_swap = |t: &Target| -> Result<()> {
        if let Some(s) = set(m.swap()) {
            t.write(
                "memory.memsw.limit_in_bytes",
                &s.to_string(),
                "linux.resources.memory.swap",
            )?;
        }
        Ok(())
    };
    if swap_first {
        write_swap(t)?;
    }
    if let Some(l) = set(m.limit()) {
        t.write(
            "memory.limit_in_bytes",
            &l.to_string(),
            "linux.resources.memory.limit",
        )?;
    }
    if !swap_first {
        write_swap(t)?;
    }
    if let Some(d) = m.disable_oom_killer() {
        t.write(
            "memory.oom_control",
            if d { "1" } else { "0" },
            "linux.resources.memory.disableOOMKiller",
        )?;
    }
    if let Some(h) = m.use_hierarchy() {
        t.write(
            "memory.use_hierarchy",
            if h { "1" } else { "0" },
            "linux.resources.memory.useHierarchy",
        )?;
    }
    Ok(())
}
