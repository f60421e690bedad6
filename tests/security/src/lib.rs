//! Helpers for the exploit suite in `tests/*.rs`.
//!
//! Each test file is one published runc or crun container-escape CVE. A test runs the attack
//! itself, as its authors published it: a static program (`exploits/*.c`, built here with
//! `gcc -static`) inside the container, racing where the original races, and then checks what
//! the host kept. The runtime under test is chosen as in the conformance suite
//! (`VSBX_TEST_RUNTIME`: a path or a name on PATH; default `target/debug/vsbx-runtime`), and
//! every test also runs against Debian's runc 1.1.5. Where runc 1.1.5 is still vulnerable, the
//! test says so and expects the attack to succeed there.

pub use vsbx_conformance::*;

pub mod attack;

use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The directory holding the C sources of the attack programs.
pub fn exploits_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("exploits")
}

/// Builds `exploits/NAME.c` as a static binary (once per test process) and returns its path.
/// Panics with what is missing when gcc or the static libc is not installed.
pub fn exploit(name: &str) -> PathBuf {
    static BUILD: Mutex<()> = Mutex::new(());
    let _guard = BUILD.lock().unwrap_or_else(|e| e.into_inner());
    let src = exploits_dir().join(format!("{name}.c"));
    let out_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/security-exploits");
    std::fs::create_dir_all(&out_dir).expect("mkdir the exploit build dir");
    let bin = out_dir.join(name);
    let fresh = |b: &Path| {
        let (Ok(b), Ok(s)) = (b.metadata(), src.metadata()) else {
            return false;
        };
        matches!((b.modified(), s.modified()), (Ok(b), Ok(s)) if b >= s)
    };
    if !fresh(&bin) {
        // Built under a per-process name, then moved into place: tests in other processes
        // may be running the previous build.
        let source =
            std::fs::read_to_string(&src).unwrap_or_else(|e| panic!("read {}: {e}", src.display()));
        let tmp = build_static_c(
            &out_dir,
            &format!("{name}.tmp{}", std::process::id()),
            &source,
        );
        std::fs::rename(&tmp, &bin).expect("move the built exploit into place");
        let _ = std::fs::remove_file(out_dir.join(format!("{name}.tmp{}.c", std::process::id())));
    }
    bin
}

// CVE-2019-5736 helpers (a private copy of the runtime binary; host libraries for a rootfs).
mod binary_copy;
pub use binary_copy::{file_hash, install_libs, RuntimeCopy};
