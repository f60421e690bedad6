//! Entry points for the fuzz targets in `fuzz/` (see README.md, "Fuzzing").
//!
//! Not a stable API. Each function runs the code path the runtime itself runs, minus
//! anything with a side effect, so that arbitrary input can be thrown at it: errors are
//! the expected answer, a panic is a bug.

use std::path::Path;

/// The device-rule machinery, for the integration test that runs the compiled eBPF
/// program against the kernel's own v1 device controller (tests/device_program.rs).
pub use crate::cgroups::devices;
pub use crate::cgroups::find_mount;
/// clone3 into a cgroup v2 directory, for tests/clone_in_cgroup.rs.
pub use crate::linux::clone::{clone_in_cgroup, Forked};

use nix::sched::CloneFlags;
use oci_spec::runtime::{LinuxSeccomp, Process, Spec};

use crate::error::{Error, Result};
use crate::exec::ExecOptions;
use crate::linux::namespaces::flag;

/// One classic-BPF instruction: (code, jt, jf, k).
pub type Insn = (u16, u8, u8, u32);

/// Everything `create` checks of a config.json before it makes anything: parsing, the
/// plan's checks of the config (`plan::Checked::of`), linux.resources' values (accepted by
/// the v2 or the v1 writer), sysctl keys.
///
/// Namespaces to join are not opened (a FIFO at such a path would block the fuzzer);
/// the new ones decide which sysctls are allowed, as in `create`.
pub fn check_config(bundle_dir: &Path, text: &[u8]) -> Result<()> {
    let spec = crate::spec::parse(text).map_err(Error::invalid)?;
    crate::plan::Checked::of(bundle_dir, &spec)?;
    if let Some(r) = spec.linux().as_ref().and_then(|l| l.resources().as_ref()) {
        crate::cgroups::check_resources(true, r)
            .or_else(|_| crate::cgroups::check_resources(false, r))?;
    }
    let linux = spec.linux().as_ref();
    let new = linux
        .and_then(|l| l.namespaces().as_ref())
        .into_iter()
        .flatten()
        .filter(|ns| ns.path().is_none())
        .fold(CloneFlags::empty(), |acc, ns| acc | flag(ns.typ()));
    if let Some(sysctl) = linux.and_then(|l| l.sysctl().as_ref()) {
        crate::linux::sysctl::check(sysctl, new)?;
    }
    Ok(())
}

/// Compiles `linux.seccomp` as `create` does and returns the programs to install.
pub fn compile_seccomp(s: &LinuxSeccomp) -> Result<Vec<Vec<Insn>>> {
    let filters = crate::linux::seccomp::compile(s)?;
    Ok(filters
        .programs()
        .iter()
        .map(|p| p.iter().map(|i| (i.code, i.jt, i.jf, i.k)).collect())
        .collect())
}

/// The process `exec` would run for these options and the bundle's `config`
/// (`o.process_file` is read from disk when set: leave it `None`).
pub fn exec_process(o: &ExecOptions, config: &Spec) -> Result<Process> {
    crate::exec::build_process(o, config)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fuzz target must reach past validation: the default spec passes every check.
    #[test]
    fn default_spec_passes_every_check() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("rootfs")).unwrap();
        let text = serde_json::to_vec(&crate::specgen::default_spec(false, 0, 0)).unwrap();
        check_config(dir.path(), &text).unwrap();
        let e = check_config(dir.path(), b"{").unwrap_err().to_string();
        assert!(e.contains("invalid JSON"), "{e}");
    }

    #[test]
    fn seccomp_program_ends_in_a_return() {
        let s: LinuxSeccomp = serde_json::from_str(
            r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW"}]}"#,
        )
        .unwrap();
        let programs = compile_seccomp(&s).unwrap();
        assert_eq!(programs.len(), 1);
        assert_eq!(programs[0].last().map(|i| i.0), Some(0x06));
    }
}
