//! Fields of config.json that this build does not honour yet.
//!
//! The runtime fails closed: a field it cannot apply is an error naming that field,
//! never silently dropped. As support lands, entries leave this file.

use oci_spec::runtime::Spec;

use crate::error::{Error, Result};

pub fn check(spec: &Spec) -> Result<()> {
    let refuse = |field: &str| {
        Err(Error::invalid(format!(
            "{field}: not supported by this vsbx-runtime build"
        )))
    };

    if let Some(p) = spec.process() {
        if p.exec_cpu_affinity().is_some() {
            return refuse("process.execCPUAffinity");
        }
    }
    for (i, m) in spec.mounts().iter().flatten().enumerate() {
        if m.uid_mappings().is_some() || m.gid_mappings().is_some() {
            return refuse(&format!("mounts[{i}].uidMappings (idmapped mounts)"));
        }
    }
    let Some(linux) = spec.linux() else {
        return Ok(());
    };
    if linux.intel_rdt().is_some() {
        return refuse("linux.intelRdt");
    }
    if linux.net_devices().as_ref().is_some_and(|d| !d.is_empty()) {
        return refuse("linux.netDevices");
    }
    Ok(())
}
