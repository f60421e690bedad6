//! vsbx-policy: sandbox profiles as data, turned into fragments of an OCI runtime spec.
//!
//! Built-in profiles live in `profiles/*.toml` (embedded at build time), nested
//! `minimal ⊂ io ⊂ compute ⊂ network`, plus `unrestricted` for debugging. Every allowed syscall
//! carries the reason it is allowed. A user file extends a built-in (`extends = "compute"`),
//! adds syscalls with reasons, or removes some with `deny`.
//!
//! ```
//! use vsbx_policy::{explain, Profile};
//!
//! let profile = Profile::builtin("compute")?;
//! assert!(profile.allows("futex"));
//! assert!(!profile.allows("ptrace"));
//! let fragment = profile.to_oci(&profile.default_options())?;
//! let mut spec = oci_spec::runtime::Spec::default();
//! fragment.apply_to(&mut spec)?;
//! println!("{}", explain(&profile));
//! # Ok::<(), vsbx_policy::PolicyError>(())
//! ```

mod dangerous;
mod error;
mod explain;
mod hardening;
mod limits;
mod loader;
mod oci;
mod profile;
mod profile_file;
mod rules;
mod seccomp;
mod syscall_table;

pub use dangerous::{
    DangerousSyscall, Guard, CLONE_NAMESPACE_FLAGS, DANGEROUS_SYSCALLS, SAFE_PERSONALITIES,
};
pub use error::{PolicyError, Result};
pub use explain::{diff, explain};
pub use hardening::{MASKED_PATHS, READONLY_PATHS, SANDBOX_GID, SANDBOX_UID};
pub use limits::Limits;
pub use loader::UNRESTRICTED;
pub use oci::{
    rlimit_cpu_seconds, Enforcement, FragmentOptions, PolicyFragment, ANNOTATION_ORIGIN,
    ANNOTATION_PROFILE, ANNOTATION_VERSION,
};
pub use profile::{NetworkAccess, Profile, ProfileId, SyscallPolicy};
pub use rules::{ArgCondition, ErrnoAnswer, Operator, Permission};
pub use seccomp::ViolationAction;

/// Syscall-name checks against the x86_64 table (the `syscalls` crate).
pub mod syscall_names {
    pub use crate::syscall_table::{all_names, is_known, number_of};
}
