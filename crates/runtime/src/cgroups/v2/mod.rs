//! cgroup v2: the controllers a container's cgroup needs enabled from the root down,
//! and linux.resources written to the v2 control files (names and units converted
//! from the OCI v1 ones as runc converts them, so a spec means the same thing under
//! either runtime).

use std::fs;
use std::path::Path;

use oci_spec::runtime::LinuxResources;

use super::common::{self, set, Target};
use crate::error::{Error, Result};

mod cpu;
mod io;
mod memory;
pub(super) mod stats;

const CONTROLLERS: &[&str] = &[
    "memory", "cpu", "cpuset", "pids", "io", "hugetlb", "rdma", "misc",
];

/// Controllers (v2 names) that `r` needs enabled in the parents' subtree_control.
pub fn controllers(r: &LinuxResources) -> Vec<&'static str> {
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
        if common::wants_cpuset(c) {
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
        if let Some(name) = CONTROLLERS.iter().find(|c| **c == ctrl) {
            if !out.contains(name) {
                out.push(name);
            }
        }
    }
    out
}

/// The open directory to give clone3 CLONE_INTO_CGROUP for a process that must end up in
/// `dir` (`linux::clone::clone_in_cgroup`), where being born there is right on this kernel
/// (see [`clone_into_keeps_cpuset`]); None: clone it anywhere and move it by cgroup.procs.
pub fn birth_dir(dir: &Path) -> Option<fs::File> {
    clone_into_keeps_cpuset(dir)
        .then(|| fs::File::open(dir).ok())
        .flatten()
}

/// Whether a process born in `dir` by clone3 CLONE_INTO_CGROUP gets the CPU and memory-node
/// masks of the cpuset that governs `dir` on any kernel. Before Linux 6.2 ("cgroup/cpuset:
/// Make cpuset_fork() handle CLONE_INTO_CGROUP properly") such a child kept its parent's
/// masks, where a move by cgroup.procs applies the cpuset. So it is true only where ours
/// already equal that cpuset's effective masks: those of the nearest directory from `dir` up
/// with a cpuset.cpus.effective (none: no cpuset is in force, nothing to get wrong).
pub fn clone_into_keeps_cpuset(dir: &Path) -> bool {
    let Ok(status) = fs::read_to_string("/proc/self/status") else {
        return false;
    };
    let ours = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .map(str::trim)
            .map(str::to_owned)
    };
    let (Some(cpus), Some(mems)) = (ours("Cpus_allowed_list:"), ours("Mems_allowed_list:")) else {
        return false;
    };
    let mut cur = Some(dir);
    // Up to the hierarchy's root: the last directory with a cgroup.procs.
    while let Some(d) = cur.filter(|d| d.join("cgroup.procs").exists()) {
        if let Ok(effective) = fs::read_to_string(d.join("cpuset.cpus.effective")) {
            let mems_effective =
                fs::read_to_string(d.join("cpuset.mems.effective")).unwrap_or_default();
            return effective.trim() == cpus && mems_effective.trim() == mems;
        }
        cur = d.parent();
    }
    true
}

/// Enables `controllers` in cgroup.subtree_control of every directory from `root`
/// down to the parent of `dir` (v2 only lets a cgroup use what its parent enabled).
pub fn enable_controllers(root: &Path, dir: &Path, controllers: &[&str]) -> Result<()> {
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
        io::apply(t, b)?;
    }
    for h in r.hugepage_limits().iter().flatten() {
        t.write(
            &format!("hugetlb.{}.max", h.page_size()),
            &common::limit_v2(h.limit()),
            "linux.resources.hugepageLimits",
        )?;
    }
    if r.network().is_some() {
        return Err(Error::invalid(
            "linux.resources.network: net_cls and net_prio do not exist on cgroup v2",
        ));
    }
    for (k, v) in r.unified().iter().flatten() {
        if k.contains('/') || k.starts_with('.') {
            return Err(Error::invalid(format!(
                "linux.resources.unified: invalid key {k:?}"
            )));
        }
        t.write(k, v, &format!("linux.resources.unified[{k}]"))?;
    }
    common::refuse_rdma(r)
}

#[cfg(test)]
mod tests {
    use super::super::common::testing::{fake, pairs, read, res, written};
    use super::*;

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
        let mut t = Target::new(&dirs);
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
        assert_eq!(controllers(&r), vec!["memory", "cpu", "pids"]);
    }

    #[test]
    fn v2_unlimited_and_unified() {
        let (_t, dirs) = fake(&["memory.max", "cpu.max", "memory.high"]);
        let mut t = Target::new(&dirs);
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
    fn v2_subtree_control_is_enabled_down_the_path() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        fs::create_dir_all(root.join("a/b/c")).unwrap();
        for d in ["", "a", "a/b"] {
            fs::write(root.join(d).join("cgroup.subtree_control"), "").unwrap();
        }
        enable_controllers(root, &root.join("a/b/c"), &["memory", "pids"]).unwrap();
        for d in ["", "a", "a/b"] {
            assert_eq!(
                fs::read_to_string(root.join(d).join("cgroup.subtree_control")).unwrap(),
                "+memory +pids"
            );
        }
    }

    const V2_FILES: &[&str] = &[
        "memory.max",
        "memory.low",
        "memory.swap.max",
        "cpu.weight",
        "cpu.max",
        "cpu.max.burst",
        "cpu.idle",
        "cpuset.cpus",
        "cpuset.mems",
        "pids.max",
        "io.weight",
        "io.max",
        "hugetlb.2MB.max",
        "misc.max",
    ];

    #[test]
    fn every_field_goes_to_its_v2_file() {
        let (_t, dirs) = fake(V2_FILES);
        let mut t = Target::new(&dirs);
        let r = res(r#"{
            "memory":{"limit":1000,"reservation":-1,"swap":3000,"kernel":1,"kernelTCP":64,"swappiness":10},
            "cpu":{"shares":2,"period":50000,"burst":1000,"idle":0,"cpus":"0","mems":"0"},
            "pids":{"limit":-1},
            "blockIO":{"weight":1000,
                       "throttleReadBpsDevice":[{"major":8,"minor":0,"rate":1000}]},
            "hugepageLimits":[{"pageSize":"2MB","limit":-1}],
            "unified":{"misc.max":"x 1"}
        }"#);
        apply(&mut t, &r).unwrap();
        assert_eq!(
            written(&dirs),
            pairs(&[
                ("memory.max", "1000"),
                ("memory.low", "max"),
                ("memory.swap.max", "2000"),
                ("cpu.weight", "1"),
                ("cpu.max", "max 50000"),
                ("cpu.max.burst", "1000"),
                ("cpu.idle", "0"),
                ("cpuset.cpus", "0"),
                ("cpuset.mems", "0"),
                ("pids.max", "max"),
                ("io.weight", "10000"),
                ("io.max", "8:0 rbps=1000"),
                ("hugetlb.2MB.max", "max"),
                ("misc.max", "x 1"),
            ])
        );
        // kernel, kernelTCP and swappiness have no v2 file.
        assert_eq!(t.warnings.len(), 3, "{:?}", t.warnings);
        assert_eq!(
            controllers(&r),
            ["memory", "cpu", "cpuset", "pids", "io", "hugetlb", "misc"]
        );
    }

    #[test]
    fn v2_bfq_weights_and_refusals() {
        let (_t, dirs) = fake(&["io.bfq.weight", "io.weight"]);
        let mut t = Target::new(&dirs);
        // io.bfq.weight is preferred, and takes the v1 scale as it is.
        apply(&mut t, &res(r#"{"blockIO":{"weight":500}}"#)).unwrap();
        assert_eq!(written(&dirs), pairs(&[("io.bfq.weight", "500")]));
        for (json, field) in [
            (r#"{"network":{}}"#, "linux.resources.network"),
            (
                r#"{"blockIO":{"leafWeight":10}}"#,
                "linux.resources.blockIO.leafWeight",
            ),
            (
                r#"{"blockIO":{"weightDevice":[{"major":8,"minor":0,"leafWeight":10}]}}"#,
                "linux.resources.blockIO.weightDevice.leafWeight",
            ),
            (
                r#"{"cpu":{"realtimeRuntime":10}}"#,
                "linux.resources.cpu.realtimeRuntime",
            ),
            (
                r#"{"memory":{"disableOOMKiller":true}}"#,
                "linux.resources.memory.disableOOMKiller",
            ),
            (r#"{"unified":{"../x":"1"}}"#, "linux.resources.unified"),
            (
                r#"{"unified":{"memory.high":"1"}}"#,
                "linux.resources.unified[memory.high]",
            ),
        ] {
            let e = apply(&mut t, &res(json)).unwrap_err().to_string();
            assert!(e.starts_with(field), "{json}: {e}");
        }
    }
}

#[cfg(test)]
mod clone_into_tests {
    use super::clone_into_keeps_cpuset;
    use std::fs;
    use std::path::Path;

    fn ours(key: &str) -> String {
        fs::read_to_string("/proc/self/status")
            .unwrap()
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .unwrap()
            .trim()
            .to_owned()
    }

    /// A cgroup tree in a temporary directory: root/a/b, each with a cgroup.procs; the
    /// cpuset files go where each case puts them.
    fn tree() -> (tempfile::TempDir, std::path::PathBuf) {
        let tmp = tempfile::tempdir().unwrap();
        let b = tmp.path().join("root/a/b");
        fs::create_dir_all(&b).unwrap();
        for d in ["root", "root/a", "root/a/b"] {
            fs::write(tmp.path().join(d).join("cgroup.procs"), "").unwrap();
        }
        (tmp, b)
    }

    fn cpuset(dir: &Path, cpus: &str, mems: &str) {
        fs::write(dir.join("cpuset.cpus.effective"), format!("{cpus}\n")).unwrap();
        fs::write(dir.join("cpuset.mems.effective"), format!("{mems}\n")).unwrap();
    }

    #[test]
    fn the_nearest_cpuset_up_the_tree_decides() {
        let (cpus, mems) = (ours("Cpus_allowed_list:"), ours("Mems_allowed_list:"));
        // No cpuset anywhere: nothing to get wrong.
        let (_t, b) = tree();
        assert!(clone_into_keeps_cpuset(&b));
        // The governing cpuset (here the root's, b and a have none) equals our masks.
        let (t, b) = tree();
        cpuset(&t.path().join("root"), &cpus, &mems);
        assert!(clone_into_keeps_cpuset(&b));
        // b's own cpuset is narrower than ours (linux.resources.cpu.cpus): a child born
        // there on an older kernel would keep our CPUs.
        cpuset(&b, "1000", &mems);
        assert!(!clone_into_keeps_cpuset(&b));
        // Other memory nodes than ours, the CPUs the same.
        cpuset(&b, &cpus, "1000");
        assert!(!clone_into_keeps_cpuset(&b));
        // a's cpuset governs b when b has none; the root's is never reached.
        let (t, b) = tree();
        cpuset(&t.path().join("root"), &cpus, &mems);
        cpuset(&t.path().join("root/a"), "1000", &mems);
        assert!(!clone_into_keeps_cpuset(&b));
    }
}
