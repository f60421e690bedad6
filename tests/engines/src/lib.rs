//! Engine integration tests for vsbx-runtime: podman, Docker and containerd drive the runtime
//! for real, and every scenario runs once with runc and once with vsbx-runtime so the two can be
//! compared (exit codes, output, limits the container sees).
//!
//! The engines come from Debian's packages (`scripts/engines/install.sh`); a missing engine is a
//! test failure that says how to install it, never a skip.

pub mod command;
pub mod compare;
pub mod containerd;
pub mod docker;
pub mod docker_cli;
pub mod host;
pub mod image;
pub mod podman;
pub mod runtime;
pub mod scenarios;
pub mod tempdir;

pub use command::{cmdline, run, run_tty, want, want_all, Out};
pub use compare::{differential, Obs};
pub use docker_cli::DockerCli;
pub use runtime::{runtimes, Runtime};
pub use tempdir::TempDir;

use std::time::Duration;

/// Longest any single engine command may take before the test fails.
pub const TIMEOUT: Duration = Duration::from_secs(90);

/// The image every engine imports from the busybox rootfs tarball.
pub const IMAGE: &str = "localhost/vsbx-busybox:latest";
