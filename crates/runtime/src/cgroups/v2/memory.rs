//! linux.resources.memory on v2: memory.max, memory.low and memory.swap.max.

use oci_spec::runtime::LinuxMemory;

use super::super::common::{self, limit_v2, set, Target};
use crate::error::{Error, Result};

pub(super) fn apply(t: &mut Target, m: &LinuxMemory) -> Result<()> {
    common::warn_kernel_memory(t, m);
    if set(m.kernel_tcp()).is_some() {
        t.warnings.push(common::KERNEL_TCP_IGNORED.into());
    }
    if let Some(s) = m.swappiness() {
        common::check_swappiness(s)?;
        t.warnings
            .push("linux.resources.memory.swappiness is ignored on cgroup v2".into());
    }
    common::check_swap(m)?;
    if let Some(r) = set(m.reservation()) {
        t.write(
            "memory.low",
            &limit_v2(r),
            "linux.resources.memory.reservation",
        )?;
    }
    if let Some(l) = set(m.limit()) {
        t.write("memory.max", &limit_v2(l), "linux.resources.memory.limit")?;
    }
    if let Some(s) = set(m.swap()) {
        // OCI swap is memory+swap; memory.swap.max is swap alone.
        let v = match (s, set(m.limit())) {
            (s, _) if s < 0 => "max".to_string(),
            (s, Some(l)) if l >= 0 => (s - l).to_string(),
            (s, _) => s.to_string(),
        };
        t.write("memory.swap.max", &v, "linux.resources.memory.swap")?;
    }
    if m.disable_oom_killer() == Some(true) {
        return Err(Error::invalid(
            "linux.resources.memory.disableOOMKiller: not available on cgroup v2",
        ));
    }
    Ok(())
}
