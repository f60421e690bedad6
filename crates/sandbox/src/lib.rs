//! vsbx sandbox: one-shot runs of untrusted code with limits and a report.
//!
//! The runtime runs in this process (no exec of vsbx-runtime): `supervise::run_bundle`
//! creates the container, streams its output, enforces the wall clock and reads usage.

pub mod audit;
pub mod escape;
pub mod identity;
pub mod outdir;
pub mod plot;
pub mod private_dir;
pub mod report;
pub mod rootless;
pub mod sandbox;
pub mod supervise;
pub mod usage;

pub use report::{LimitHit, Outcome, Report};
pub use sandbox::{Builder, Sandbox};
pub use supervise::{run_bundle, RunOptions, RunResult};

/// Re-executes the current program, once, from a copy of its binary that no sandboxed
/// program can write (the CVE-2019-5736 class: a sandbox's processes are clones of this
/// one). Call it first thing in `main`, while single-threaded; running a sandbox from a
/// writable binary is refused.
pub fn protect_binary() -> Result<(), Error> {
    vsbx_runtime::sealed_exe::ensure()
        .map(|_| ())
        .map_err(Error::Runtime)
}

/// The path this program was started from (its runners are found from it:
/// `PREFIX/bin/vsbx` -> `PREFIX/share/vsbx/runners`). After [`protect_binary`]'s re-exec,
/// `/proc/self/exe` names the protected copy instead, so the path is the one the first
/// process recorded before it re-executed itself.
pub fn installed_exe() -> Option<std::path::PathBuf> {
    vsbx_runtime::sealed_exe::original_exe()
}

/// The runner directory: `dir` if given, else `$VSBX_RUNNERS`, the installed
/// `share/vsbx/runners` beside this program, or the source tree's (see
/// `RunnerCatalog::find_dir`).
pub fn runners_dir(dir: Option<std::path::PathBuf>) -> Result<std::path::PathBuf, Error> {
    match dir {
        Some(dir) => Ok(dir),
        None => vsbx_bundle_gen::RunnerCatalog::find_dir(installed_exe().as_deref())
            .map_err(|e| Error::Invalid(e.to_string())),
    }
}

/// Errors of a sandboxed run, each one line.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Runtime(vsbx_runtime::Error),
    #[error("{0}: {1}")]
    Io(String, #[source] std::io::Error),
    #[error("{0}")]
    Invalid(String),
    /// A directory in a shared place that is not private to us (see `private_dir`).
    #[error("refusing to use {}: {reason}", path.display())]
    UnsafeDir {
        path: std::path::PathBuf,
        reason: String,
    },
}
