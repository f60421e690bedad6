//! linux.resources -> cgroup files, for v1 and v2. Each value goes to the directory
//! (among the container's) that has the control file; a file missing everywhere means
//! the controller is not available there, which is an error naming the field.
//! v1 and v2 differ in names and units; the v2 conversions follow runc's so a spec
//! means the same thing under either runtime.

use std::fs;
use std::path::{Path, PathBuf};

use oci_spec::runtime::{LinuxBlockIo, LinuxCpu, LinuxMemory, LinuxResources};

use crate::error::{Error, Result};

/// Where resource writes go.
pub struct Target<'a> {
    pub dirs: &'a [PathBuf],
    pub v2: bool,
    /// Non-fatal notes (e.g. limits the kernel dropped), for the log.
    pub warnings: Vec<String>,
}

impl<'a> Target<'a> {
    pub fn new(dirs: &'a [PathBuf], v2: bool) -> Self {
        Target {
            dirs,
            v2,
            warnings: Vec::new(),
        }
    }

    fn find(&self, file: &str) -> Option<PathBuf> {
        super::candidates(self.dirs, file)
            .map(|d| d.join(file))
            .find(|p| p.exists())
    }

    fn write(&self, file: &str, value: &str, field: &str) -> Result<()> {
        let p = self
            .find(file)
            .ok_or_else(|| Error::invalid(format!("{field}: {file} is not available on this host (controller missing or not supported by the kernel)")))?;
        fs::write(&p, value)
            .map_err(|e| Error::os(format!("{field}: writing {value:?} to {}", p.display()), e))
    }

    fn read(&self, file: &str) -> Option<String> {
        self.find(file)
            .and_then(|p| fs::read_to_string(p).ok())
            .map(|s| s.trim().to_owned())
    }
}

/// -1 means unlimited: "max" on v2, "-1" on v1.
fn limit_v2(v: i64) -> String {
    if v < 0 {
        "max".into()
    } else {
        v.to_string()
    }
}

/// runc's conversion of cpu.shares (2..262144) to cpu.weight (1..10000).
pub fn shares_to_weight(shares: u64) -> u64 {
    if shares == 0 {
        return 0;
    }
    1 + ((shares.clamp(2, 262144) - 2) * 9999) / 262142
}

/// runc's conversion of blkio.weight (10..1000) to io.weight (1..10000).
pub fn blkio_to_io_weight(w: u16) -> u64 {
    if w == 0 {
        return 0;
    }
    1 + ((w.clamp(10, 1000) as u64 - 10) * 9999) / 990
}

/// A value of 0 means "not set" for these fields, as runc reads them: engines written
/// in Go send zeroes for what the user left alone (e.g. Docker's blockIO.weight 0).
fn set<T: Copy + PartialEq + Default>(v: Option<T>) -> Option<T> {
    v.filter(|x| *x != T::default())
}

/// Applies every set field. Unset fields are left as they are (so `update` changes
/// only what it names).
pub fn apply(t: &mut Target, r: &LinuxResources) -> Result<()> {
    if let Some(m) = r.memory() {
        memory(t, m)?;
    }
    if let Some(c) = r.cpu() {
        cpu(t, c)?;
    }
    if let Some(p) = r.pids() {
        let v = if p.limit() > 0 {
            p.limit().to_string()
        } else {
            "max".to_owned()
        };
        t.write("pids.max", &v, "linux.resources.pids.limit")?;
    }
    if let Some(b) = r.block_io() {
        block_io(t, b)?;
    }
    for h in r.hugepage_limits().iter().flatten() {
        let field = "linux.resources.hugepageLimits";
        if t.v2 {
            t.write(
                &format!("hugetlb.{}.max", h.page_size()),
                &limit_v2(h.limit()),
                field,
            )?;
        } else {
            t.write(
                &format!("hugetlb.{}.limit_in_bytes", h.page_size()),
                &h.limit().to_string(),
                field,
            )?;
        }
    }
    if let Some(n) = r.network() {
        if t.v2 {
            return Err(Error::invalid(
                "linux.resources.network: net_cls and net_prio do not exist on cgroup v2",
            ));
        }
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
    if let Some(u) = r.unified() {
        if !u.is_empty() && !t.v2 {
            return Err(Error::invalid(
                "linux.resources.unified: needs cgroup v2 (this host has v1)",
            ));
        }
        for (k, v) in u {
            if k.contains('/') || k.starts_with('.') {
                return Err(Error::invalid(format!(
                    "linux.resources.unified: invalid key {k:?}"
                )));
            }
            t.write(k, v, &format!("linux.resources.unified[{k}]"))?;
        }
    }
    if r.rdma().as_ref().is_some_and(|m| !m.is_empty()) {
        return Err(Error::invalid(
            "linux.resources.rdma: not supported by this vsbx-runtime build",
        ));
    }
    Ok(())
}

fn memory(t: &mut Target, m: &LinuxMemory) -> Result<()> {
    if set(m.kernel()).is_some() {
        t.warnings.push("linux.resources.memory.kernel is ignored: kernel memory limits were removed from Linux".into());
    }
    if set(m.kernel_tcp()).is_some() {
        if t.v2 || t.find("memory.kmem.tcp.limit_in_bytes").is_none() {
            t.warnings.push(
                "linux.resources.memory.kernelTCP is ignored: not available on this kernel".into(),
            );
        } else if let Some(v) = set(m.kernel_tcp()) {
            t.write(
                "memory.kmem.tcp.limit_in_bytes",
                &v.to_string(),
                "linux.resources.memory.kernelTCP",
            )?;
        }
    }
    if let Some(s) = m.swappiness() {
        if s > 100 {
            return Err(Error::invalid(format!(
                "linux.resources.memory.swappiness: {s} is above 100"
            )));
        }
        if t.v2 {
            t.warnings
                .push("linux.resources.memory.swappiness is ignored on cgroup v2".into());
        } else {
            t.write(
                "memory.swappiness",
                &s.to_string(),
                "linux.resources.memory.swappiness",
            )?;
        }
    }
    if let (Some(limit), Some(swap)) = (set(m.limit()), set(m.swap())) {
        if limit >= 0 && swap >= 0 && swap < limit {
            return Err(Error::invalid(format!(
                "linux.resources.memory.swap: {swap} is below limit {limit} (swap counts memory plus swap)"
            )));
        }
    }
    if t.v2 {
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
        return Ok(());
    }
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

fn cpu(t: &mut Target, c: &LinuxCpu) -> Result<()> {
    if let Some(s) = set(c.shares()) {
        if t.v2 {
            t.write(
                "cpu.weight",
                &shares_to_weight(s).to_string(),
                "linux.resources.cpu.shares",
            )?;
        } else {
            t.write("cpu.shares", &s.to_string(), "linux.resources.cpu.shares")?;
        }
    }
    if t.v2 {
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
    } else {
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
    }
    if let Some(b) = set(c.burst()) {
        let file = if t.v2 {
            "cpu.max.burst"
        } else {
            "cpu.cfs_burst_us"
        };
        t.write(file, &b.to_string(), "linux.resources.cpu.burst")?;
    }
    if let Some(i) = c.idle() {
        t.write("cpu.idle", &i.to_string(), "linux.resources.cpu.idle")?;
    }
    if let Some(cpus) = c.cpus().as_deref().filter(|s| !s.is_empty()) {
        t.write("cpuset.cpus", cpus, "linux.resources.cpu.cpus")?;
    }
    if let Some(mems) = c.mems().as_deref().filter(|s| !s.is_empty()) {
        t.write("cpuset.mems", mems, "linux.resources.cpu.mems")?;
    }
    Ok(())
}

fn block_io(t: &mut Target, b: &LinuxBlockIo) -> Result<()> {
    let weight_file = |t: &Target| -> Option<&'static str> {
        let names: &[&'static str] = if t.v2 {
            &["io.bfq.weight", "io.weight"]
        } else {
            &["blkio.weight", "blkio.bfq.weight"]
        };
        names.iter().copied().find(|f| t.find(f).is_some())
    };
    if let Some(w) = set(b.weight()) {
        let file = weight_file(t).ok_or_else(|| {
            Error::invalid("linux.resources.blockIO.weight: no blkio/io weight file on this host (the kernel's I/O scheduler has no weights)")
        })?;
        let v = if t.v2 && file == "io.weight" {
            blkio_to_io_weight(w)
        } else {
            w as u64
        };
        t.write(file, &v.to_string(), "linux.resources.blockIO.weight")?;
    }
    if let Some(w) = set(b.leaf_weight()) {
        if t.v2 {
            return Err(Error::invalid(
                "linux.resources.blockIO.leafWeight: not available on cgroup v2",
            ));
        }
        t.write(
            "blkio.leaf_weight",
            &w.to_string(),
            "linux.resources.blockIO.leafWeight",
        )?;
    }
    for d in b.weight_device().iter().flatten() {
        if let Some(w) = d.weight() {
            let file = if t.v2 {
                "io.bfq.weight"
            } else {
                "blkio.weight_device"
            };
            t.write(
                file,
                &format!("{}:{} {w}", d.major(), d.minor()),
                "linux.resources.blockIO.weightDevice",
            )?;
        }
        if let Some(w) = d.leaf_weight() {
            if t.v2 {
                return Err(Error::invalid(
                    "linux.resources.blockIO.weightDevice.leafWeight: not available on cgroup v2",
                ));
            }
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
            "rbps",
            "throttleReadBpsDevice",
        ),
        (
            b.throttle_write_bps_device(),
            "blkio.throttle.write_bps_device",
            "wbps",
            "throttleWriteBpsDevice",
        ),
        (
            b.throttle_read_iops_device(),
            "blkio.throttle.read_iops_device",
            "riops",
            "throttleReadIOPSDevice",
        ),
        (
            b.throttle_write_iops_device(),
            "blkio.throttle.write_iops_device",
            "wiops",
            "throttleWriteIOPSDevice",
        ),
    ];
    for (list, v1_file, v2_key, name) in throttles {
        for d in list.iter().flatten() {
            let field = format!("linux.resources.blockIO.{name}");
            if t.v2 {
                t.write(
                    "io.max",
                    &format!("{}:{} {v2_key}={}", d.major(), d.minor(), d.rate()),
                    &field,
                )?;
            } else {
                t.write(
                    v1_file,
                    &format!("{}:{} {}", d.major(), d.minor(), d.rate()),
                    &field,
                )?;
            }
        }
    }
    Ok(())
}

/// True if the spec names cpus or mems (an empty string means unset, as in runc).
pub fn wants_cpuset(c: &LinuxCpu) -> bool {
    c.cpus().as_deref().is_some_and(|v| !v.is_empty())
        || c.mems().as_deref().is_some_and(|v| !v.is_empty())
}

const V2_CONTROLLERS: &[&str] = &[
    "memory", "cpu", "cpuset", "pids", "io", "hugetlb", "rdma", "misc",
];

/// Controllers (v2 names) that `r` needs enabled in the parents' subtree_control.
pub fn v2_controllers(r: &LinuxResources) -> Vec<&'static str> {
    let mut out = Vec::new();
    if r.memory().is_some() {
        out.push("memory");
    }
    if let Some(c) = r.cpu() {
        if set(c.shares()).is_some()
            || set(c.quota()).is_some()
            || set(c.period()).is_some()
            || c.idle().is_some()
            || set(c.burst()).is_some()
        {
            out.push("cpu");
        }
        if wants_cpuset(c) {
            out.push("cpuset");
        }
    }
    if r.pids().is_some() {
        out.push("pids");
    }
    if r.block_io().is_some() {
        out.push("io");
    }
    if r.hugepage_limits().as_ref().is_some_and(|h| !h.is_empty()) {
        out.push("hugetlb");
    }
    for k in r.unified().iter().flat_map(|u| u.keys()) {
        let ctrl = k.split('.').next().unwrap_or("");
        if let Some(name) = V2_CONTROLLERS.iter().find(|c| **c == ctrl) {
            if !out.contains(name) {
                out.push(name);
            }
        }
    }
    out
}

/// Enables `controllers` in cgroup.subtree_control of every directory from `root`
/// down to the parent of `dir` (v2 only lets a cgroup use what its parent enabled).
pub fn enable_v2_controllers(root: &Path, dir: &Path, controllers: &[&str]) -> Result<()> {
    if controllers.is_empty() {
        return Ok(());
    }
    let rel = dir
        .strip_prefix(root)
        .map_err(|_| Error::other(format!("{} is not below {}", dir.display(), root.display())))?;
    let mut cur = root.to_path_buf();
    let parents: Vec<_> = rel.components().collect();
    for comp in &parents[..parents.len().saturating_sub(1)] {
        enable_in(&cur, controllers)?;
        cur.push(comp);
    }
    enable_in(&cur, controllers)
}

fn enable_in(dir: &Path, controllers: &[&str]) -> Result<()> {
    let file = dir.join("cgroup.subtree_control");
    let enabled = fs::read_to_string(&file).unwrap_or_default();
    let missing: Vec<String> = controllers
        .iter()
        .filter(|c| !enabled.split_whitespace().any(|e| e == **c))
        .map(|c| format!("+{c}"))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    fs::write(&file, missing.join(" ")).map_err(|e| {
        Error::os(
            format!("enabling {} in {}", missing.join(" "), file.display()),
            e,
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake(files: &[&str]) -> (tempfile::TempDir, Vec<PathBuf>) {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("c");
        fs::create_dir_all(&dir).unwrap();
        for f in files {
            fs::write(dir.join(f), "").unwrap();
        }
        (tmp, vec![dir])
    }

    fn res(json: &str) -> LinuxResources {
        serde_json::from_str(json).unwrap()
    }

    fn read(dirs: &[PathBuf], f: &str) -> String {
        fs::read_to_string(dirs[0].join(f)).unwrap()
    }

    #[test]
    fn v2_memory_cpu_pids_use_v2_names_and_units() {
        let (_t, dirs) = fake(&[
            "memory.max",
            "memory.low",
            "memory.swap.max",
            "cpu.max",
            "cpu.weight",
            "pids.max",
        ]);
        let mut t = Target::new(&dirs, true);
        let r = res(
            r#"{"memory":{"limit":67108864,"reservation":1024,"swap":134217728},
                        "cpu":{"shares":1024,"quota":50000,"period":100000},"pids":{"limit":64}}"#,
        );
        apply(&mut t, &r).unwrap();
        assert_eq!(read(&dirs, "memory.max"), "67108864");
        assert_eq!(read(&dirs, "memory.low"), "1024");
        assert_eq!(read(&dirs, "memory.swap.max"), "67108864");
        assert_eq!(read(&dirs, "cpu.max"), "50000 100000");
        assert_eq!(read(&dirs, "cpu.weight"), "39");
        assert_eq!(read(&dirs, "pids.max"), "64");
        assert_eq!(v2_controllers(&r), vec!["memory", "cpu", "pids"]);
    }

    #[test]
    fn v2_unlimited_and_unified() {
        let (_t, dirs) = fake(&["memory.max", "cpu.max", "memory.high"]);
        let mut t = Target::new(&dirs, true);
        apply(
            &mut t,
            &res(
                r#"{"memory":{"limit":-1},"cpu":{"quota":-1},"unified":{"memory.high":"1000000"}}"#,
            ),
        )
        .unwrap();
        assert_eq!(read(&dirs, "memory.max"), "max");
        assert_eq!(read(&dirs, "cpu.max"), "max 100000");
        assert_eq!(read(&dirs, "memory.high"), "1000000");
    }

    #[test]
    fn v1_names_and_errors() {
        let (_t, dirs) = fake(&[
            "memory.limit_in_bytes",
            "memory.memsw.limit_in_bytes",
            "cpu.cfs_quota_us",
            "cpu.cfs_period_us",
            "cpu.shares",
        ]);
        let mut t = Target::new(&dirs, false);
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

    #[test]
    fn v2_subtree_control_is_enabled_down_the_path() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        fs::create_dir_all(root.join("a/b/c")).unwrap();
        for d in ["", "a", "a/b"] {
            fs::write(root.join(d).join("cgroup.subtree_control"), "").unwrap();
        }
        enable_v2_controllers(root, &root.join("a/b/c"), &["memory", "pids"]).unwrap();
        for d in ["", "a", "a/b"] {
            assert_eq!(
                fs::read_to_string(root.join(d).join("cgroup.subtree_control")).unwrap(),
                "+memory +pids"
            );
        }
    }

    #[test]
    fn conversions_match_runc() {
        assert_eq!(shares_to_weight(2), 1);
        assert_eq!(shares_to_weight(262144), 10000);
        assert_eq!(shares_to_weight(1024), 39);
        assert_eq!(blkio_to_io_weight(10), 1);
        assert_eq!(blkio_to_io_weight(1000), 10000);
    }
}
