//! cgroup v1: which hierarchies a container joins, and linux.resources written to
//! the v1 control files (names and units as the v1 controllers have them).

use std::fs;
use std::path::PathBuf;

use oci_spec::runtime::LinuxResources;

use super::common::{self, Target};
use crate::error::{Error, Result};

mod blkio;
mod cpu;
mod memory;
pub(super) mod stats;

/// v1 hierarchies every container joins: `devices` enforces the device rules, `freezer`
/// backs pause and lists the container's processes for `kill --all`, `ps` and
/// `delete`. The others are joined only when linux.resources uses them
/// (`extra_controllers`): each hierarchy costs a mkdir, a migration and an rmdir,
/// about a fifth of a `run` on this kind of host. runc joins every hierarchy.
pub(super) const ALWAYS: &[&str] = &["devices", "freezer"];

/// v1 hierarchies a spec needs beyond the always-joined ones.
pub fn extra_controllers(r: Option<&LinuxResources>) -> Vec<&'static str> {
    let mut out = Vec::new();
    let Some(r) = r else { return out };
    if r.memory().is_some() {
        out.push("memory");
    }
    if r.pids().is_some() {
        out.push("pids");
    }
    if let Some(c) = r.cpu() {
        let bandwidth = c.shares().is_some()
            || c.quota().is_some()
            || c.period().is_some()
            || c.realtime_runtime().is_some()
            || c.realtime_period().is_some()
            || c.burst().is_some()
            || c.idle().is_some();
        if bandwidth {
            // cpuacct comes along: whoever limits CPU wants to read what was used.
            out.extend(["cpu", "cpuacct"]);
        }
        if common::wants_cpuset(c) {
            out.push("cpuset");
        }
    }
    if r.block_io().is_some() {
        out.push("blkio");
    }
    if r.hugepage_limits().as_ref().is_some_and(|h| !h.is_empty()) {
        out.push("hugetlb");
    }
    if let Some(n) = r.network() {
        if n.class_id().is_some() {
            out.push("net_cls");
        }
        if n.priorities().as_ref().is_some_and(|p| !p.is_empty()) {
            out.push("net_prio");
        }
    }
    out
}

/// A new v1 cpuset cgroup starts with empty cpus and mems, and no task may join it
/// until they are set: copy them from the parent.
pub fn init_cpusets(dirs: &[PathBuf]) -> Result<()> {
    for d in dirs.iter().filter(|d| d.join("cpuset.cpus").exists()) {
        for file in ["cpuset.cpus", "cpuset.mems"] {
            let mine = d.join(file);
            if fs::read_to_string(&mine)
                .map(|s| !s.trim().is_empty())
                .unwrap_or(false)
            {
                continue;
            }
            if let Some(parent) = d.parent() {
                let v = fs::read_to_string(parent.join(file)).unwrap_or_default();
                fs::write(&mine, v.trim())
                    .map_err(|e| Error::path("cannot initialise", &mine, e))?;
            }
        }
    }
    Ok(())
}

/// Applies every set field. Unset fields are left as they are (so `update` changes
/// only what it names).
pub fn apply(t: &mut Target, r: &LinuxResources) -> Result<()> {
    if let Some(m) = r.memory() {
        memory::apply(t, m)?;
    }
    if let Some(c) = r.cpu() {
        cpu::apply(t, c)?;
    }
    if let Some(p) = r.pids() {
        common::pids(t, p.limit())?;
    }
    if let Some(b) = r.block_io() {
        blkio::apply(t, b)?;
    }
    hugetlb(t, r)?;
    if let Some(n) = r.network() {
        if let Some(id) = n.class_id() {
            t.write(
                "net_cls.classid",
                &id.to_string(),
                "linux.resources.network.classID",
            )?;
        }
        for p in n.priorities().iter().flatten() {
            t.write(
                "net_prio.ifpriomap",
                &format!("{} {}", p.name(), p.priority()),
                "linux.resources.network.priorities",
            )?;
        }
    }
    if r.unified().as_ref().is_some_and(|u| !u.is_empty()) {
        return Err(Error::invalid(
            "linux.resources.unified: needs cgroup v2 (this host has v1)",
        ));
    }
    common::refuse_rdma(r)
}

fn hugetlb(t: &Target, r: &LinuxResources) -> Result<()> {
    for h in r.hugepage_limits().iter().flatten() {
        t.write(
            &format!("hugetlb.{}.limit_in_bytes", h.page_size()),
            &h.limit().to_string(),
            "linux.resources.hugepageLimits",
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::common::testing::{fake, pairs, read, res, written};
    use super::*;

    #[test]
    fn v1_names_and_errors() {
        let (_t, dirs) = fake(&[
            "memory.limit_in_bytes",
            "memory.memsw.limit_in_bytes",
            "cpu.cfs_quota_us",
            "cpu.cfs_period_us",
            "cpu.shares",
        ]);
        let mut t = Target::new(&dirs);
        apply(&mut t, &res(r#"{"memory":{"limit":1000,"swap":2000,"kernel":5},"cpu":{"shares":512,"quota":20000,"period":100000}}"#)).unwrap();
        assert_eq!(read(&dirs, "memory.limit_in_bytes"), "1000");
        assert_eq!(read(&dirs, "memory.memsw.limit_in_bytes"), "2000");
        assert_eq!(read(&dirs, "cpu.cfs_quota_us"), "20000");
        assert_eq!(read(&dirs, "cpu.shares"), "512");
        assert_eq!(t.warnings.len(), 1, "{:?}", t.warnings);
        let e = apply(&mut t, &res(r#"{"unified":{"memory.high":"1"}}"#))
            .unwrap_err()
            .to_string();
        assert!(e.contains("unified") && e.contains("v2"), "{e}");
        let e = apply(&mut t, &res(r#"{"blockIO":{"weight":100}}"#))
            .unwrap_err()
            .to_string();
        assert!(e.contains("blockIO.weight"), "{e}");
        let e = apply(&mut t, &res(r#"{"memory":{"limit":3000,"swap":1000}}"#))
            .unwrap_err()
            .to_string();
        assert!(e.contains("swap"), "{e}");
    }

    const V1_FILES: &[&str] = &[
        "memory.limit_in_bytes",
        "memory.soft_limit_in_bytes",
        "memory.memsw.limit_in_bytes",
        "memory.kmem.tcp.limit_in_bytes",
        "memory.swappiness",
        "memory.oom_control",
        "memory.use_hierarchy",
        "cpu.shares",
        "cpu.cfs_quota_us",
        "cpu.cfs_period_us",
        "cpu.cfs_burst_us",
        "cpu.rt_period_us",
        "cpu.rt_runtime_us",
        "cpu.idle",
        "cpuset.cpus",
        "cpuset.mems",
        "pids.max",
        "blkio.weight",
        "blkio.leaf_weight",
        "blkio.weight_device",
        "blkio.leaf_weight_device",
        "blkio.throttle.read_bps_device",
        "blkio.throttle.write_bps_device",
        "blkio.throttle.read_iops_device",
        "blkio.throttle.write_iops_device",
        "hugetlb.2MB.limit_in_bytes",
        "net_cls.classid",
        "net_prio.ifpriomap",
    ];

    #[test]
    fn every_field_goes_to_its_v1_file() {
        let (_t, dirs) = fake(V1_FILES);
        let mut t = Target::new(&dirs);
        let r = res(r#"{
            "memory":{"limit":1000,"reservation":500,"swap":-1,"kernelTCP":64,"swappiness":10,
                      "disableOOMKiller":true,"useHierarchy":false},
            "cpu":{"shares":512,"quota":-1,"period":50000,"burst":1000,"realtimePeriod":1000000,
                   "realtimeRuntime":950000,"idle":1,"cpus":"0","mems":"0"},
            "pids":{"limit":0},
            "blockIO":{"weight":300,"leafWeight":200,
                       "weightDevice":[{"major":8,"minor":0,"weight":100,"leafWeight":50}],
                       "throttleReadBpsDevice":[{"major":8,"minor":0,"rate":1000}],
                       "throttleWriteIOPSDevice":[{"major":8,"minor":16,"rate":10}]},
            "hugepageLimits":[{"pageSize":"2MB","limit":4194304}],
            "network":{"classID":1048577,"priorities":[{"name":"eth0","priority":5}]},
            "unified":{}
        }"#);
        apply(&mut t, &r).unwrap();
        assert_eq!(
            written(&dirs),
            pairs(&[
                ("memory.limit_in_bytes", "1000"),
                ("memory.soft_limit_in_bytes", "500"),
                ("memory.memsw.limit_in_bytes", "-1"),
                ("memory.kmem.tcp.limit_in_bytes", "64"),
                ("memory.swappiness", "10"),
                ("memory.oom_control", "1"),
                ("memory.use_hierarchy", "0"),
                ("cpu.shares", "512"),
                ("cpu.cfs_quota_us", "-1"),
                ("cpu.cfs_period_us", "50000"),
                ("cpu.cfs_burst_us", "1000"),
                ("cpu.rt_period_us", "1000000"),
                ("cpu.rt_runtime_us", "950000"),
                ("cpu.idle", "1"),
                ("cpuset.cpus", "0"),
                ("cpuset.mems", "0"),
                ("pids.max", "max"),
                ("blkio.weight", "300"),
                ("blkio.leaf_weight", "200"),
                ("blkio.weight_device", "8:0 100"),
                ("blkio.leaf_weight_device", "8:0 50"),
                ("blkio.throttle.read_bps_device", "8:0 1000"),
                ("blkio.throttle.write_iops_device", "8:16 10"),
                ("hugetlb.2MB.limit_in_bytes", "4194304"),
                ("net_cls.classid", "1048577"),
                ("net_prio.ifpriomap", "eth0 5"),
            ])
        );
        assert!(t.warnings.is_empty(), "{:?}", t.warnings);
    }

    #[test]
    fn v1_fallbacks_and_refusals() {
        // No kmem.tcp file: a warning. No blkio.weight: the bfq file.
        let (_t, dirs) = fake(&["blkio.bfq.weight", "memory.limit_in_bytes"]);
        let mut t = Target::new(&dirs);
        apply(
            &mut t,
            &res(r#"{"memory":{"kernelTCP":64},"blockIO":{"weight":300}}"#),
        )
        .unwrap();
        assert_eq!(written(&dirs), pairs(&[("blkio.bfq.weight", "300")]));
        assert_eq!(t.warnings.len(), 1, "{:?}", t.warnings);
        assert!(t.warnings[0].contains("kernelTCP"), "{:?}", t.warnings);
        let e = apply(&mut t, &res(r#"{"memory":{"swappiness":101}}"#))
            .unwrap_err()
            .to_string();
        assert!(e.contains("linux.resources.memory.swappiness: 101"), "{e}");
        let e = apply(&mut t, &res(r#"{"rdma":{"mlx5_0":{"hcaHandles":3}}}"#))
            .unwrap_err()
            .to_string();
        assert!(e.contains("linux.resources.rdma"), "{e}");
        let e = apply(&mut t, &res(r#"{"pids":{"limit":10}}"#))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("linux.resources.pids.limit: pids.max"), "{e}");
    }

    #[test]
    fn cpusets_start_from_the_parent() {
        let tmp = tempfile::tempdir().unwrap();
        let child = tmp.path().join("c");
        fs::create_dir(&child).unwrap();
        fs::write(tmp.path().join("cpuset.cpus"), "0-1\n").unwrap();
        fs::write(tmp.path().join("cpuset.mems"), "0\n").unwrap();
        fs::write(child.join("cpuset.cpus"), "\n").unwrap();
        fs::write(child.join("cpuset.mems"), "").unwrap();
        init_cpusets(std::slice::from_ref(&child)).unwrap();
        assert_eq!(
            fs::read_to_string(child.join("cpuset.cpus")).unwrap(),
            "0-1"
        );
        assert_eq!(fs::read_to_string(child.join("cpuset.mems")).unwrap(), "0");
    }

    #[test]
    fn extra_hierarchies_follow_the_spec() {
        assert!(extra_controllers(None).is_empty());
        let r = res(
            r#"{"memory":{},"cpu":{"shares":2,"cpus":"0"},"blockIO":{},"network":{"classID":1}}"#,
        );
        assert_eq!(
            extra_controllers(Some(&r)),
            ["memory", "cpu", "cpuacct", "cpuset", "blkio", "net_cls"]
        );
    }
}
