//! Static C probes: small programs (the sources in `tests/conformance/probes/`) compiled at
//! test time (`gcc -static`) and copied into a bundle's rootfs, for checks that need exact
//! syscalls the busybox tools cannot make.
//!
//! A host without gcc (the VM test bed's guest) runs prebuilt ones: with `VSBX_PROBE_DIR` set,
//! `$VSBX_PROBE_DIR/NAME` is the binary, built from `$VSBX_PROBE_DIR/NAME.c`, which must be
//! the source the test has (scripts/vm/conformance.sh builds them on the host).

use std::path::{Path, PathBuf};
use std::process::Command;

/// The environment variable naming a directory of prebuilt probes.
pub const PROBE_DIR_ENV: &str = "VSBX_PROBE_DIR";

/// Compiles `source` with `gcc -static -O1` into `dir/name` and returns the binary's path, or
/// fails the test with what is missing. With `VSBX_PROBE_DIR` set, returns the prebuilt
/// `$VSBX_PROBE_DIR/name` instead, after checking that it was built from `source`.
#[track_caller]
pub fn build_static_c(dir: &Path, name: &str, source: &str) -> PathBuf {
    if let Some(prebuilt) = std::env::var_os(PROBE_DIR_ENV).filter(|v| !v.is_empty()) {
        return prebuilt_probe(Path::new(&prebuilt), name, source);
    }
    let src = dir.join(format!("{name}.c"));
    let bin = dir.join(name);
    std::fs::write(&src, source).unwrap_or_else(|e| panic!("write {}: {e}", src.display()));
    let out = Command::new("gcc")
        .args(["-static", "-O1", "-Wall", "-o"])
        .arg(&bin)
        .arg(&src)
        .output()
        .unwrap_or_else(|e| panic!("this test needs gcc to build a static probe: {e}"));
    assert!(
        out.status.success(),
        "`gcc -static` failed for {name}.c (install gcc and libc6-dev for libc.a): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    bin
}

#[track_caller]
fn prebuilt_probe(dir: &Path, name: &str, source: &str) -> PathBuf {
    let src = dir.join(format!("{name}.c"));
    let built_from = std::fs::read_to_string(&src)
        .unwrap_or_else(|e| panic!("{PROBE_DIR_ENV}={}: no source {name}.c: {e}", dir.display()));
    assert!(
        built_from == source,
        "{PROBE_DIR_ENV}={}: {name} was built from another {name}.c than this test's \
         (rebuild the probes)",
        dir.display()
    );
    let bin = dir.join(name);
    assert!(
        bin.is_file(),
        "{PROBE_DIR_ENV}={}: no prebuilt {name}",
        dir.display()
    );
    bin
}
