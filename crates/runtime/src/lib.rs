//! vsbx-runtime: a runc-compatible OCI runtime.
//!
//! The runtime process is single-threaded. `create`, `run` and `exec` first re-execute it
//! once from a copy of its binary that no container can write ([`sealed_exe`]); then
//! `create` clones the container init straight into its namespaces (`linux::init`),
//! talks to it over one socketpair (`linux::protocol`), records state under --root (an
//! intent first, so that a killed create leaves nothing `delete` cannot find: [`state`])
//! and exits.
//!
//! # Map
//!
//! What other crates use:
//!
//! - [`Container`]: the handle for a program that runs containers itself (`vsbx run`):
//!   create, start, try_wait, kill, usage and limits, destroy (also on drop).
//! - The commands, one module each, as the `vsbx-runtime` binary calls them:
//!   [`container`] (create, start, state, kill, delete), [`run`], [`exec`], [`control`]
//!   (pause, resume, ps, update), [`events`], [`features`], [`specgen`]
//!   (`spec`); [`state`] (the --root directory and its records), [`rootless`] (running
//!   without root), [`log`] (the process's one logger, in runc's formats), [`error`].
//!
//! Inside (private):
//!
//! - `plan`: config.json and the command line parsed and checked once into a
//!   `ContainerPlan`, before anything exists (every error names its field); `create`
//!   and the init only carry it out. `spec` reads config.json and holds the spec's own
//!   rules, `unsupported` refuses what this build cannot honour, `hooks` runs OCI hooks.
//! - `linux`: the mechanics. `init` is the container init's setup, in order; `protocol`
//!   is the create protocol (both sides, with its sequence diagram); `sys` is the seam
//!   around the syscalls the setup makes (a recording fake tests the order rules without
//!   root); `rootfs`, `fdmount`, `resolve`, `dev` and `procfs` make the mounts;
//!   `namespaces`, `clone`, `process` (identity, capabilities, rlimits), `seccomp`,
//!   `apparmor`, `console`, `sealed_exe`.
//! - `cgroups`: `Manager` (make and configure a container's cgroup) and `Cgroup` (an
//!   existing one: join, pids, freeze, stats, usage, remove), with one module per
//!   version (`v1`, `v2`), the `systemd` driver (transient scopes over D-Bus) and
//!   `devices` (rules, the v1 model, the v2 eBPF program).
//! - `attach` is the attached `run`'s supervisor; `proc` reads /proc.
//! - `fuzz_api` (hidden) exposes side-effect-free entry points to the fuzz targets and
//!   the device-program test; it is not a stable API.

pub(crate) mod attach;
pub(crate) mod cgroups;
pub mod container;
pub mod control;
pub mod error;
pub mod events;
pub mod exec;
pub mod features;
#[doc(hidden)]
pub mod fuzz_api;
mod handle;
pub(crate) mod hooks;
pub(crate) mod linux;
pub mod log;
mod plan;
pub(crate) mod proc;
pub mod rootless;
pub mod run;
pub(crate) mod spec;
pub mod specgen;
pub mod state;
mod unsupported;

pub use cgroups::{LimitsHit, Usage};
pub use error::{Error, Result};
pub use handle::{Container, Exit};
pub use linux::process::check_preserved_fds;

/// The CVE-2019-5736 defence for a program that runs containers (see
/// `linux::sealed_exe`): re-executes it once from a copy of its binary that no
/// container can write. Call it first thing in `main`, before any thread starts.
pub mod sealed_exe {
    pub use crate::linux::sealed_exe::{ensure, original_exe, Protection};
}
