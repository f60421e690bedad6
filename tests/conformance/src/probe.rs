//! Static C probes: small programs compiled at test time (`gcc -static`) and copied into a
//! bundle's rootfs, for checks that need exact syscalls the busybox tools cannot make.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Compiles `source` with `gcc -static -O1` into `dir/name` and returns the binary's path, or
/// fails the test with what is missing.
#[track_caller]
pub fn build_static_c(dir: &Path, name: &str, source: &str) -> PathBuf {
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
