//! The systemd cgroup driver (`--systemd-cgroup`): the container's cgroup is a transient
//! scope unit that systemd makes, as runc's systemd driver does on cgroup v2.
//!
//! - `Unit::parse` reads linux.cgroupsPath in the driver's `slice:prefix:name` form (empty:
//!   `:vsbx:<id>`): the unit is `prefix-name.scope` in `slice` (default `system.slice`, or
//!   `user.slice` for a rootless runtime, which talks to the user's own systemd).
//! - `properties` turns linux.resources into the unit properties systemd knows, so that
//!   systemd's view of the unit agrees with the files (a `daemon-reload` re-applies the
//!   unit's properties); the v2 writer then sets every field in the files as for cgroupfs.
//! - `bus` talks to the manager over D-Bus (zbus). The scope is started with the init's pid
//!   after the init is cloned: D-Bus starts threads, and the runtime clones with one.
//!
//! Only the unified hierarchy is supported: systemd hosts with cgroup v1 are on their way
//! out, and a v1 host is refused by name.

use std::path::{Path, PathBuf};

use oci_spec::runtime::LinuxResources;
use serde::{Deserialize, Serialize};
use zbus::zvariant::{OwnedValue, Value};

use super::common::shares_to_weight;
use crate::error::{Error, Result};

mod bus;

pub use bus::{host_uid, wait_placed, Bus};

/// The prefix of a unit named from the container id (runc uses "runc").
const DEFAULT_PREFIX: &str = "vsbx";

/// A container's unit, as the record keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unit {
    /// e.g. "libpod-0123abcd.scope".
    pub name: String,
    /// The parent slice, e.g. "machine.slice".
    pub slice: String,
    /// True: the unit belongs to the user's systemd instance (rootless), not PID 1's.
    #[serde(default)]
    pub user: bool,
}

impl Unit {
    /// The unit for linux.cgroupsPath `path` (None or empty: derived from `id`).
    pub fn parse(path: Option<&Path>, id: &str, user: bool) -> Result<Unit> {
        let text = match path {
            None => String::new(),
            Some(p) => p
                .to_str()
                .ok_or_else(|| Error::invalid("linux.cgroupsPath: not valid UTF-8"))?
                .to_owned(),
        };
        let (slice, prefix, name) = if text.is_empty() {
            (String::new(), DEFAULT_PREFIX.to_owned(), id.to_owned())
        } else {
            let parts: Vec<&str> = text.split(':').collect();
            let [slice, prefix, name] = parts[..] else {
                return Err(Error::invalid(format!(
                    "linux.cgroupsPath: {text:?} is not of the form \"slice:prefix:name\" that \
                     the systemd cgroup driver takes"
                )));
            };
            (slice.to_owned(), prefix.to_owned(), name.to_owned())
        };
        let slice = match slice.as_str() {
            "" if user => "user.slice".to_owned(),
            "" => "system.slice".to_owned(),
            "-" => "-.slice".to_owned(),
            s => s.to_owned(),
        };
        check_slice(&slice)?;
        if name.is_empty() {
            return Err(Error::invalid(format!(
                "linux.cgroupsPath: {text:?} has an empty unit name"
            )));
        }
        if name.ends_with(".slice") {
            return Err(Error::invalid(format!(
                "linux.cgroupsPath: {text:?}: a slice as the container's own unit is not \
                 supported; name a scope (slice:prefix:name)"
            )));
        }
        let name = if prefix.is_empty() {
            format!("{name}.scope")
        } else {
            format!("{prefix}-{name}.scope")
        };
        check_unit_name(&name)?;
        Ok(Unit { name, slice, user })
    }

    /// Where systemd puts the unit's cgroup, relative to the root of the hierarchy of the
    /// manager (for the user's manager, below its own cgroup).
    pub fn relative_dir(&self) -> PathBuf {
        slice_dir(&self.slice).join(&self.name)
    }
}

/// A slice name systemd accepts: `[a-zA-Z0-9:_.\\-]`, ends in ".slice", no empty parts
/// between dashes.
fn check_slice(slice: &str) -> Result<()> {
    let bad = || {
        Error::invalid(format!(
            "linux.cgroupsPath: {slice:?} is not a valid systemd slice name"
        ))
    };
    let Some(stem) = slice.strip_suffix(".slice") else {
        return Err(bad());
    };
    if slice == "-.slice" {
        return Ok(());
    }
    if stem.is_empty()
        || stem.starts_with('-')
        || stem.ends_with('-')
        || stem.contains("--")
        || slice.contains('/')
        || !slice.chars().all(unit_char)
    {
        return Err(bad());
    }
    Ok(())
}

fn check_unit_name(name: &str) -> Result<()> {
    if name.len() > 255 || !name.chars().all(unit_char) || name.contains('/') {
        return Err(Error::invalid(format!(
            "linux.cgroupsPath: {name:?} is not a valid systemd unit name"
        )));
    }
    Ok(())
}

fn unit_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, ':' | '_' | '.' | '-' | '\\' | '@')
}

/// The cgroup directory of a slice: each dash opens a level ("a-b-c.slice" is
/// a.slice/a-b.slice/a-b-c.slice); the root slice is the root.
pub fn slice_dir(slice: &str) -> PathBuf {
    let mut dir = PathBuf::new();
    if slice == "-.slice" {
        return dir;
    }
    let stem = slice.strip_suffix(".slice").unwrap_or(slice);
    let mut prefix = String::new();
    for part in stem.split('-') {
        if !prefix.is_empty() {
            prefix.push('-');
        }
        prefix.push_str(part);
        dir.push(format!("{prefix}.slice"));
    }
    dir
}

/// One unit property: its name and D-Bus value.
pub type Property = (&'static str, OwnedValue);

fn prop<'a>(name: &'static str, v: impl Into<Value<'a>>) -> Property {
    // A Value without file descriptors always converts.
    let owned = OwnedValue::try_from(v.into()).unwrap_or_else(|_| OwnedValue::from(0u8));
    (name, owned)
}

/// "max" or a number, as the unified files take them.
fn unified_u64(field: &str, v: &str) -> Result<u64> {
    let v = v.trim();
    if v == "max" {
        return Ok(u64::MAX);
    }
    v.parse().map_err(|_| {
        Error::invalid(format!(
            "linux.resources.unified.\"{field}\": {v:?} is not a number or \"max\""
        ))
    })
}

/// -1 (or any negative) is unlimited.
fn limit(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(u64::MAX)
}

/// systemd takes a CPU quota per second of wall time; it keeps whole percents, so round
/// up to 10 ms as runc does (the exact value goes into cpu.max afterwards).
fn quota_per_sec(quota: i64, period: u64) -> u64 {
    if quota < 0 || period == 0 {
        return u64::MAX;
    }
    let per_sec = (quota as u64).saturating_mul(1_000_000) / period;
    per_sec.div_ceil(10_000) * 10_000
}

/// A cpuset list ("0-3,8") as the byte mask AllowedCPUs/AllowedMemoryNodes take.
fn cpu_mask(field: &str, list: &str) -> Result<Vec<u8>> {
    let bad = || Error::invalid(format!("{field}: {list:?} is not a list like \"0-3,8\""));
    let mut mask = Vec::new();
    for part in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (lo, hi) = match part.split_once('-') {
            Some((a, b)) => (a.parse::<usize>(), b.parse::<usize>()),
            None => (part.parse(), part.parse()),
        };
        let (Ok(lo), Ok(hi)) = (lo, hi) else {
            return Err(bad());
        };
        if lo > hi || hi >= 8192 {
            return Err(bad());
        }
        for bit in lo..=hi {
            if mask.len() <= bit / 8 {
                mask.resize(bit / 8 + 1, 0);
            }
            mask[bit / 8] |= 1 << (bit % 8);
        }
    }
    Ok(mask)
}

/// The unit properties for linux.resources (what systemd can express; every field is
/// also written to the cgroup's files afterwards).
pub fn properties(r: &LinuxResources) -> Result<Vec<Property>> {
    let mut p = Vec::new();
    if let Some(m) = r.memory() {
        if let Some(l) = m.limit() {
            p.push(prop("MemoryMax", limit(l)));
        }
        if let Some(l) = m.reservation() {
            p.push(prop("MemoryLow", limit(l)));
        }
        if let (Some(swap), Some(l)) = (m.swap(), m.limit()) {
            let v = if swap < 0 || l < 0 {
                u64::MAX
            } else {
                limit(swap.saturating_sub(l))
            };
            p.push(prop("MemorySwapMax", v));
        }
    }
    if let Some(c) = r.cpu() {
        if let Some(s) = c.shares().filter(|s| *s > 0) {
            p.push(prop("CPUWeight", shares_to_weight(s)));
        }
        if let Some(q) = c.quota() {
            let period = c.period().unwrap_or(100_000);
            p.push(prop("CPUQuotaPerSecUSec", quota_per_sec(q, period)));
            if c.period().is_some() {
                p.push(prop("CPUQuotaPeriodUSec", period));
            }
        }
        if let Some(cpus) = c.cpus().as_deref().filter(|s| !s.is_empty()) {
            p.push(prop(
                "AllowedCPUs",
                cpu_mask("linux.resources.cpu.cpus", cpus)?,
            ));
        }
        if let Some(mems) = c.mems().as_deref().filter(|s| !s.is_empty()) {
            p.push(prop(
                "AllowedMemoryNodes",
                cpu_mask("linux.resources.cpu.mems", mems)?,
            ));
        }
    }
    if let Some(pids) = r.pids() {
        let l = pids.limit();
        p.push(prop("TasksMax", if l <= 0 { u64::MAX } else { l as u64 }));
    }
    for (key, value) in r.unified().iter().flatten() {
        let name = match key.as_str() {
            "memory.max" => "MemoryMax",
            "memory.high" => "MemoryHigh",
            "memory.low" => "MemoryLow",
            "memory.min" => "MemoryMin",
            "memory.swap.max" => "MemorySwapMax",
            "pids.max" => "TasksMax",
            "cpu.weight" => "CPUWeight",
            "cpuset.cpus" => {
                p.push(prop(
                    "AllowedCPUs",
                    cpu_mask("linux.resources.unified.\"cpuset.cpus\"", value)?,
                ));
                continue;
            }
            "cpuset.mems" => {
                p.push(prop(
                    "AllowedMemoryNodes",
                    cpu_mask("linux.resources.unified.\"cpuset.mems\"", value)?,
                ));
                continue;
            }
            "cpu.max" => {
                let mut it = value.split_whitespace();
                let quota = it.next().unwrap_or("max");
                let period = match it.next() {
                    Some(s) => s.parse().map_err(|_| {
                        Error::invalid(format!(
                            "linux.resources.unified.\"cpu.max\": {value:?} is not \"QUOTA [PERIOD]\""
                        ))
                    })?,
                    None => 100_000,
                };
                let q = if quota == "max" {
                    -1
                } else {
                    quota.parse().map_err(|_| {
                        Error::invalid(format!(
                            "linux.resources.unified.\"cpu.max\": {value:?} is not \"QUOTA [PERIOD]\""
                        ))
                    })?
                };
                p.push(prop("CPUQuotaPerSecUSec", quota_per_sec(q, period)));
                p.push(prop("CPUQuotaPeriodUSec", period));
                continue;
            }
            _ => continue,
        };
        p.push(prop(name, unified_u64(key, value)?));
    }
    Ok(p)
}

/// The properties every container scope gets (besides its resources).
pub fn base_properties(unit: &Unit, id: &str, pid: u32) -> Vec<Property> {
    vec![
        prop("Description", format!("vsbx container {id}")),
        prop("Slice", unit.slice.clone()),
        // The container owns its subtree; systemd leaves what is below alone.
        prop("Delegate", true),
        prop("PIDs", vec![pid]),
        // Not ordered after basic.target, not stopped at shutdown before the engine.
        prop("DefaultDependencies", false),
        prop("MemoryAccounting", true),
        prop("CPUAccounting", true),
        prop("IOAccounting", true),
        prop("TasksAccounting", true),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cgroups::common::testing::res;

    fn names(p: &[Property]) -> Vec<&str> {
        p.iter().map(|(n, _)| *n).collect()
    }

    fn value(p: &[Property], name: &str) -> u64 {
        let v = &p.iter().find(|(n, _)| *n == name).unwrap().1;
        u64::try_from(v.try_clone().unwrap()).unwrap()
    }

    #[test]
    fn cgroups_path_names_the_unit_as_runc_does() {
        let u = Unit::parse(Some(Path::new("machine.slice:libpod:abc")), "x", false).unwrap();
        assert_eq!(u.name, "libpod-abc.scope");
        assert_eq!(u.slice, "machine.slice");
        assert_eq!(
            u.relative_dir(),
            Path::new("machine.slice/libpod-abc.scope")
        );
        let u = Unit::parse(None, "c1", false).unwrap();
        assert_eq!(
            (u.name.as_str(), u.slice.as_str()),
            ("vsbx-c1.scope", "system.slice")
        );
        let u = Unit::parse(Some(Path::new("")), "c1", true).unwrap();
        assert_eq!(u.slice, "user.slice");
        let u = Unit::parse(Some(Path::new("::c2")), "x", false).unwrap();
        assert_eq!(u.name, "c2.scope");
        let u = Unit::parse(Some(Path::new("-:p:n")), "x", false).unwrap();
        assert_eq!(u.relative_dir(), Path::new("p-n.scope"));
        let u = Unit::parse(Some(Path::new("user-1000.slice:p:n")), "x", false).unwrap();
        assert_eq!(
            u.relative_dir(),
            Path::new("user.slice/user-1000.slice/p-n.scope")
        );
    }

    #[test]
    fn bad_cgroups_paths_are_refused_by_name() {
        for (path, says) in [
            ("/machine.slice/foo", "slice:prefix:name"),
            ("a:b", "slice:prefix:name"),
            ("a.slice:b:c:d", "slice:prefix:name"),
            ("machine:libpod:x", "not a valid systemd slice"),
            ("a/b.slice:p:n", "not a valid systemd slice"),
            ("a--b.slice:p:n", "not a valid systemd slice"),
            ("machine.slice:p:", "empty unit name"),
            ("machine.slice:p:x y", "not a valid systemd unit"),
            (
                "machine.slice:p:sub.slice",
                "slice as the container's own unit",
            ),
        ] {
            let e = Unit::parse(Some(Path::new(path)), "id", false).unwrap_err();
            assert!(e.to_string().contains(says), "{path}: {e}");
            assert!(e.to_string().contains("linux.cgroupsPath"), "{e}");
        }
    }

    #[test]
    fn resources_become_the_properties_systemd_knows() {
        let r = res(
            r#"{"memory":{"limit":67108864,"reservation":1048576,"swap":134217728},
            "cpu":{"shares":1024,"quota":50000,"period":100000,"cpus":"0-1,3"},
            "pids":{"limit":64}}"#,
        );
        let p = properties(&r).unwrap();
        assert_eq!(
            names(&p),
            [
                "MemoryMax",
                "MemoryLow",
                "MemorySwapMax",
                "CPUWeight",
                "CPUQuotaPerSecUSec",
                "CPUQuotaPeriodUSec",
                "AllowedCPUs",
                "TasksMax"
            ]
        );
        assert_eq!(value(&p, "MemoryMax"), 67108864);
        assert_eq!(value(&p, "MemorySwapMax"), 134217728 - 67108864);
        assert_eq!(value(&p, "CPUWeight"), shares_to_weight(1024));
        assert_eq!(value(&p, "CPUQuotaPerSecUSec"), 500_000);
        assert_eq!(value(&p, "TasksMax"), 64);
        let mask = &p.iter().find(|(n, _)| *n == "AllowedCPUs").unwrap().1;
        assert_eq!(
            Vec::<u8>::try_from(mask.try_clone().unwrap()).unwrap(),
            [0b1011]
        );

        let p = properties(&res(r#"{"pids":{"limit":-1},"memory":{"limit":-1}}"#)).unwrap();
        assert_eq!(value(&p, "TasksMax"), u64::MAX);
        assert_eq!(value(&p, "MemoryMax"), u64::MAX);
        // A quota that is not a whole percent is rounded up, as runc does.
        let p = properties(&res(r#"{"cpu":{"quota":12345,"period":100000}}"#)).unwrap();
        assert_eq!(value(&p, "CPUQuotaPerSecUSec"), 130_000);
    }

    #[test]
    fn unified_keys_map_and_bad_values_are_named() {
        let p = properties(&res(
            r#"{"unified":{"memory.high":"max","memory.min":"4096","cpu.max":"20000 50000","io.max":"8:0 rbps=1"}}"#,
        ))
        .unwrap();
        assert_eq!(value(&p, "MemoryHigh"), u64::MAX);
        assert_eq!(value(&p, "MemoryMin"), 4096);
        assert_eq!(value(&p, "CPUQuotaPerSecUSec"), 400_000);
        assert_eq!(value(&p, "CPUQuotaPeriodUSec"), 50_000);
        assert!(
            !names(&p).contains(&"IOReadBandwidthMax"),
            "io.max goes to the file only"
        );
        let e = properties(&res(r#"{"unified":{"memory.max":"lots"}}"#)).unwrap_err();
        assert!(e.to_string().contains("\"memory.max\""), "{e}");
        let e = properties(&res(r#"{"cpu":{"cpus":"3-1"}}"#)).unwrap_err();
        assert!(e.to_string().contains("linux.resources.cpu.cpus"), "{e}");
    }
}
