//! What the v1 and v2 resource writers share: the target directories and how a value
//! finds its file, the OCI conventions for unset and unlimited values, the conversions
//! from v1 units to v2 ones, and the checks and writes that do not depend on the version.

use std::fs;
use std::path::PathBuf;

use oci_spec::runtime::{LinuxCpu, LinuxMemory, LinuxResources};

use crate::error::{Error, Result};

/// Where resource writes go: each value goes to the directory (among the container's)
/// that has the control file; a file missing everywhere means the controller is not
/// available there, which is an error naming the field.
pub struct Target<'a> {
    pub dirs: &'a [PathBuf],
    /// Non-fatal notes (e.g. limits the kernel dropped), for the log.
    pub warnings: Vec<String>,
    /// A dry run (see [`Target::dry`]): every file is taken to exist, nothing is
    /// written or read.
    dry: bool,
}

impl<'a> Target<'a> {
    pub fn new(dirs: &'a [PathBuf]) -> Self {
        Target {
            dirs,
            warnings: Vec::new(),
            dry: false,
        }
    }

    /// A target that writes nothing: running a version's writer on it performs every
    /// check of the values (ranges, fields the version lacks) before any cgroup exists.
    /// What only the host can tell (a controller missing there) is left to the real run.
    pub fn dry() -> Target<'static> {
        Target {
            dirs: &[],
            warnings: Vec::new(),
            dry: true,
        }
    }

    pub(super) fn find(&self, file: &str) -> Option<PathBuf> {
        if self.dry {
            return Some(PathBuf::from(file));
        }
        super::candidates(self.dirs, file)
            .map(|d| d.join(file))
            .find(|p| p.exists())
    }

    pub(super) fn write(&self, file: &str, value: &str, field: &str) -> Result<()> {
        if self.dry {
            return Ok(());
        }
        let p = self
            .find(file)
            .ok_or_else(|| Error::invalid(format!("{field}: {file} is not available on this host (controller missing or not supported by the kernel)")))?;
        fs::write(&p, value)
            .map_err(|e| Error::os(format!("{field}: writing {value:?} to {}", p.display()), e))
    }

    pub(super) fn read(&self, file: &str) -> Option<String> {
        if self.dry {
            return None;
        }
        self.find(file)
            .and_then(|p| fs::read_to_string(p).ok())
            .map(|s| s.trim().to_owned())
    }
}

/// -1 means unlimited: "max" on v2 (v1 takes the "-1" as it is).
pub fn limit_v2(v: i64) -> String {
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
pub(super) fn set<T: Copy + PartialEq + Default>(v: Option<T>) -> Option<T> {
    v.filter(|x| *x != T::default())
}

/// True if the spec names cpus or mems (an empty string means unset, as in runc).
pub fn wants_cpuset(c: &LinuxCpu) -> bool {
    c.cpus().as_deref().is_some_and(|v| !v.is_empty())
        || c.mems().as_deref().is_some_and(|v| !v.is_empty())
}

/// The kernel dropped kernel memory limits on both versions: a warning, never a write.
pub(super) fn warn_kernel_memory(t: &mut Target, m: &LinuxMemory) {
    if set(m.kernel()).is_some() {
        t.warnings.push("linux.resources.memory.kernel is ignored: kernel memory limits were removed from Linux".into());
    }
}

pub(super) const KERNEL_TCP_IGNORED: &str =
    "linux.resources.memory.kernelTCP is ignored: not available on this kernel";

/// swappiness is a percentage.
pub(super) fn check_swappiness(s: u64) -> Result<()> {
    if s > 100 {
        return Err(Error::invalid(format!(
            "linux.resources.memory.swappiness: {s} is above 100"
        )));
    }
    Ok(())
}

/// OCI swap counts memory plus swap: it cannot be below the memory limit.
pub(super) fn check_swap(m: &LinuxMemory) -> Result<()> {
    if let (Some(limit), Some(swap)) = (set(m.limit()), set(m.swap())) {
        if limit >= 0 && swap >= 0 && swap < limit {
            return Err(Error::invalid(format!(
                "linux.resources.memory.swap: {swap} is below limit {limit} (swap counts memory plus swap)"
            )));
        }
    }
    Ok(())
}

/// pids.max has the same name and syntax on both versions.
pub(super) fn pids(t: &Target, limit: i64) -> Result<()> {
    let v = if limit > 0 {
        limit.to_string()
    } else {
        "max".to_owned()
    };
    t.write("pids.max", &v, "linux.resources.pids.limit")
}

/// cpu.idle and the cpuset files have the same names on both versions; they come
/// after the version's own cpu writes.
pub(super) fn cpu_idle_and_cpuset(t: &Target, c: &LinuxCpu) -> Result<()> {
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

/// No version has an rdma writer in this build.
pub(super) fn refuse_rdma(r: &LinuxResources) -> Result<()> {
    if r.rdma().as_ref().is_some_and(|m| !m.is_empty()) {
        return Err(Error::invalid(
            "linux.resources.rdma: not supported by this vsbx-runtime build",
        ));
    }
    Ok(())
}

/// Fake cgroup directories for the writers' tests: control files are plain files.
#[cfg(test)]
pub(super) mod testing {
    use std::fs;
    use std::path::PathBuf;

    use oci_spec::runtime::LinuxResources;

    /// One directory holding empty `files`.
    pub fn fake(files: &[&str]) -> (tempfile::TempDir, Vec<PathBuf>) {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("c");
        fs::create_dir_all(&dir).unwrap();
        for f in files {
            fs::write(dir.join(f), "").unwrap();
        }
        (tmp, vec![dir])
    }

    pub fn res(json: &str) -> LinuxResources {
        serde_json::from_str(json).unwrap()
    }

    pub fn read(dirs: &[PathBuf], f: &str) -> String {
        fs::read_to_string(dirs[0].join(f)).unwrap()
    }

    /// Every non-empty control file of the first directory, as (name, value) pairs
    /// sorted by name: what a writer wrote, and nothing else.
    pub fn written(dirs: &[PathBuf]) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = fs::read_dir(&dirs[0])
            .unwrap()
            .map(|e| e.unwrap())
            .map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                (name, fs::read_to_string(e.path()).unwrap())
            })
            .filter(|(_, v)| !v.is_empty())
            .collect();
        out.sort();
        out
    }

    pub fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = p
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        v.sort();
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions_match_runc() {
        assert_eq!(shares_to_weight(2), 1);
        assert_eq!(shares_to_weight(262144), 10000);
        assert_eq!(shares_to_weight(1024), 39);
        assert_eq!(blkio_to_io_weight(10), 1);
        assert_eq!(blkio_to_io_weight(1000), 10000);
    }

    #[test]
    fn unlimited_and_unset() {
        assert_eq!(limit_v2(-1), "max");
        assert_eq!(limit_v2(4096), "4096");
        assert_eq!(set(Some(0u64)), None);
        assert_eq!(set(Some(5i64)), Some(5));
        assert_eq!(set::<i64>(None), None);
    }
}
