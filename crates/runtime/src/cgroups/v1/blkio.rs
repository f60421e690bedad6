//! linux.resources.blockIO on v1: the blkio hierarchy's weights and throttles.

use oci_spec::runtime::LinuxBlockIo;

use super::super::common::{set, Target};
use crate::error::{Error, Result};

pub(super) fn apply(t: &mut Target, b: &LinuxBlockIo) -> Result<()> {
    if let Some(w) = set(b.weight()) {
        let file = ["blkio.weight", "blkio.bfq.weight"]
            .into_iter()
            .find(|f| t.find(f).is_some())
            .ok_or_else(|| {
                Error::invalid("linux.resources.blockIO.weight: no blkio/io weight file on this host (the kernel's I/O scheduler has no weights)")
            })?;
        t.write(file, &w.to_string(), "linux.resources.blockIO.weight")?;
    }
    if let Some(w) = set(b.leaf_weight()) {
        t.write(
            "blkio.leaf_weight",
            &w.to_string(),
            "linux.resources.blockIO.leafWeight",
        )?;
    }
    for d in b.weight_device().iter().flatten() {
        if let Some(w) = d.weight() {
            t.write(
                "blkio.weight_device",
                &format!("{}:{} {w}", d.major(), d.minor()),
                "linux.resources.blockIO.weightDevice",
            )?;
        }
        if let Some(w) = d.leaf_weight() {
            t.write(
                "blkio.leaf_weight_device",
                &format!("{}:{} {w}", d.major(), d.minor()),
                "linux.resources.blockIO.weightDevice",
            )?;
        }
    }
    let throttles = [
        (
            b.throttle_read_bps_device(),
            "blkio.throttle.read_bps_device",
            "throttleReadBpsDevice",
        ),
        (
            b.throttle_write_bps_device(),
            "blkio.throttle.write_bps_device",
            "throttleWriteBpsDevice",
        ),
        (
            b.throttle_read_iops_device(),
            "blkio.throttle.read_iops_device",
            "throttleReadIOPSDevice",
        ),
        (
            b.throttle_write_iops_device(),
            "blkio.throttle.write_iops_device",
            "throttleWriteIOPSDevice",
        ),
    ];
    for (list, file, name) in throttles {
        for d in list.iter().flatten() {
            t.write(
                file,
                &format!("{}:{} {}", d.major(), d.minor(), d.rate()),
                &format!("linux.resources.blockIO.{name}"),
            )?;
        }
    }
    Ok(())
}
