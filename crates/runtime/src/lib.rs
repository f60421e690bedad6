//! vsbx-runtime: a runc-compatible OCI runtime.
//!
//! The runtime process is single-threaded. `create`, `run` and `exec` first re-execute it
//! once from a copy of its binary that no container can write (`linux::sealed_exe`); then
//! `create` clones the container init straight into its namespaces (see `linux::init`),
//! talks to it over one socketpair, records state under --root (an intent first, so that a
//! killed create leaves nothing `delete` cannot find: see `state`) and exits.

pub mod attach;
pub mod cgroups;
pub mod container;
pub mod control;
pub mod error;
pub mod events;
pub mod exec;
pub mod features;
#[doc(hidden)]
pub mod fuzz_api;
pub mod hooks;
pub mod linux;
pub mod log;
pub mod proc;
pub mod rootless;
pub mod run;
pub mod spec;
pub mod specgen;
pub mod state;
mod unsupported;

pub use error::{Error, Result};
