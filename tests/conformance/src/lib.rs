//! Helpers for the differential OCI conformance suite.
//!
//! The tests in `tests/*.rs` drive an OCI runtime through its runc-compatible command line. Which
//! runtime is chosen by `VSBX_TEST_RUNTIME` (a path, or a name looked up on `PATH`); the default
//! is `target/debug/vsbx-runtime` of this workspace. The same tests must pass against runc: that
//! is what makes the suite differential.
//!
//! Run it (as root; against runc, or with VSBX_TEST_RUNTIME unset for vsbx-runtime):
//!
//! ```text
//! cd /work/main && VSBX_TEST_RUNTIME=runc CARGO_TARGET_DIR=/work/target-conf \
//!     cargo test -p vsbx-conformance --no-fail-fast -- --test-threads=2
//! ```
//!
//! Where runc 1.1.5 knowingly differs from what vsbx must do, a test branches on [`is_runc`]
//! and says why in a comment; everywhere else both runtimes must behave the same.
//!
//! The pieces:
//! - [`Bundle`]: a temporary bundle directory with a busybox rootfs and a `config.json` made by
//!   `<runtime> spec`, editable as JSON.
//! - [`Runtime`]: the runtime binary with a private `--root` per test. Every command it runs has a
//!   timeout and its stdout/stderr go to files (a container started by `create` or `run --detach`
//!   inherits them, so pipes would never reach EOF). Dropping it force-deletes every container
//!   the test created, whatever happened.
//! - [`Runtime::assert_gone`]: checks that nothing of a container is left on the host: no state
//!   entry, no process, no mount under the bundle, no cgroup directory.
//! - [`ConsoleSocket`]: receives the pty master that the runtime sends over `--console-socket`.

mod bundle;
mod command;
mod console;
mod fixtures;
mod host;
mod probe;
mod profiles;
mod runtime;

pub use bundle::{Bundle, TempDir};
pub use command::{pass_fd, run_with_timeout, spawn_logged, Outcome, Spawned};
pub use console::{read_pty, ConsoleSocket};
pub use fixtures::{exec_in, running, status_field};
pub use host::{
    cgroup_dir_of, cgroup_hierarchies, cgroup_leftovers, cgroup_value, mountinfo, mounts_under,
    ns_inode, parse_mountinfo, process_alive, unified_host, wait_until, MountInfo,
};
pub use probe::build_static_c;
pub use profiles::podman_profile;
pub use runtime::Runtime;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

/// How long any single runtime command or wait may take before the test fails. Generous because
/// the suite runs tests in parallel on a 2-core machine.
pub const TIMEOUT: Duration = Duration::from_secs(30);

/// Poll interval for waits. Waits poll a condition; a fixed sleep is never an assertion.
pub(crate) const POLL: Duration = Duration::from_millis(20);

/// The runtime binary under test.
pub fn runtime() -> &'static Path {
    static RUNTIME: OnceLock<PathBuf> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        let chosen = std::env::var_os("VSBX_TEST_RUNTIME");
        let path = match &chosen {
            Some(v) if !v.is_empty() => resolve_program(Path::new(v)),
            _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/debug/vsbx-runtime"),
        };
        assert!(
            path.is_file(),
            "runtime under test not found: {} (set VSBX_TEST_RUNTIME to a path or a name on PATH, \
             or build vsbx-runtime with `cargo build -p vsbx-runtime`)",
            path.display()
        );
        path
    })
}

/// A path with a `/` is taken as is (made absolute); a bare name is looked up on PATH.
fn resolve_program(p: &Path) -> PathBuf {
    if p.components().count() > 1 || p.is_absolute() {
        return std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    }
    let path_var = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path_var)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")])
        .map(|dir| dir.join(p))
        .find(|c| c.is_file())
        .unwrap_or_else(|| p.to_path_buf())
}

/// Whether the runtime under test is runc. Used ONLY where runc 1.1.5 knowingly deviates from
/// what vsbx must do; each use says why.
pub fn is_runc() -> bool {
    static IS_RUNC: OnceLock<bool> = OnceLock::new();
    *IS_RUNC.get_or_init(|| {
        if runtime().file_name() == Some(OsStr::new("runc")) {
            return true;
        }
        Command::new(runtime())
            .arg("--version")
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).starts_with("runc version"))
            .unwrap_or(false)
    })
}

/// A container ID unique to this test and process: `vc-<name>-<pid>-<n>`.
pub fn unique_id(name: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "vc-{name}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}
