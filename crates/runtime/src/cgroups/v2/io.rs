//! linux.resources.blockIO on v2: the io controller's weights and io.max.

use oci_spec::runtime::LinuxBlockIo;

use super::super::common::{blkio_to_io_weight, set, Target};
use crate::error::{Error, Result};

pub(super) fn apply(t: &mut Target, b: &LinuxBlockIo) -> Result<()> {
    if let Some(w) = set(b.weight()) {
        let file = ["io.bfq.weight", "io.weight"]
            .into_iter()
            .find(|f| t.find(f).is_some())
            .ok_or_else(|| {
                Error::invalid("linux.resources.blockIO.weight: no blkio/io weight file on this host (the kernel's I/O scheduler has no weights)")
            })?;
        // io.bfq.weight takes the v1 scale (1..1000); io.weight its own.
        let v = if file == "io.weight" {
            blkio_to_io_weight(w)
        } else {
            w as u64
        };
        t.write(file, &v.to_string(), "linux.resources.blockIO.weight")?;
    }
    if set(b.leaf_weight()).is_some() {
        return Err(Error::invalid(
            "linux.resources.blockIO.leafWeight: not available on cgroup v2",
        ));
    }
    for d in b.weight_device().iter().flatten() {
        if let Some(w) = d.weight() {
            t.write(
                "io.bfq.weight",
                &format!("{}:{} {w}", d.major(), d.minor()),
                "linux.resources.blockIO.weightDevice",
            )?;
        }
        if d.leaf_weight().is_some() {
            return Err(Error::invalid(
                "linux.resources.blockIO.weightDevice.leafWeight: not available on cgroup v2",
            ));
        }
    }
    let throttles = [
        (
            b.throttle_read_bps_device(),
            "rbps",
            "throttleReadBpsDevice",
        ),
        (
            b.throttle_write_bps_device(),
            "wbps",
            "throttleWriteBpsDevice",
        ),
        (
            b.throttle_read_iops_device(),
            "riops",
            "throttleReadIOPSDevice",
        ),
        (
            b.throttle_write_iops_device(),
            "wiops",
            "throttleWriteIOPSDevice",
        ),
    ];
    for (list, key, name) in throttles {
        for d in list.iter().flatten() {
            t.write(
                "io.max",
                &format!("{}:{} {key}={}", d.major(), d.minor(), d.rate()),
                &format!("linux.resources.blockIO.{name}"),
            )?;
        }
    }
    Ok(())
}
