//! `Profile`: a resolved policy (a built-in or a user file merged onto its parents): which
//! syscalls are allowed and why, which are answered with an errno, the network access and the
//! default limits. Loading lives in [`crate::loader`], OCI output in [`crate::oci`].

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::Deserialize;

use crate::limits::Limits;
use crate::rules::{ErrnoAnswer, Permission};
use crate::{loader, syscall_table, Result};

/// What the sandbox's network namespace offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NetworkAccess {
    /// Own network namespace; the profile cannot create IP sockets at all.
    None,
    /// Own network namespace with the loopback interface only (host networking is a separate,
    /// explicit option of [`crate::FragmentOptions`]).
    Loopback,
}

/// How syscalls are filtered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SyscallPolicy {
    /// Only the listed syscalls run; everything else gets the default action (EPERM).
    Allowlist {
        /// Syscall name -> the permissions that allow it (alternatives).
        allowed: BTreeMap<String, Vec<Permission>>,
        /// Syscalls answered with a fixed errno (clone3 -> ENOSYS).
        answered: BTreeMap<String, ErrnoAnswer>,
    },
    /// Every syscall runs except those removed by a `deny` list (the `unrestricted` profile).
    AllowAll,
}

/// Name and version of a profile, as recorded in reports and annotations.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProfileId {
    pub name: String,
    pub version: u32,
}

/// A resolved profile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Profile {
    pub(crate) id: ProfileId,
    pub(crate) description: String,
    /// Where it came from: `builtin:NAME` or a file path.
    pub(crate) origin: String,
    /// The profiles it extends, nearest last (minimal, io, ... parent).
    pub(crate) ancestors: Vec<ProfileId>,
    pub(crate) network: NetworkAccess,
    pub(crate) limits: Limits,
    pub(crate) syscalls: SyscallPolicy,
    /// Syscalls removed by a `deny` list -> the profile whose file denied them.
    pub(crate) removed: BTreeMap<String, String>,
}

impl Profile {
    /// The names of the built-in profiles, least to most permissive.
    pub fn names() -> &'static [&'static str] {
        loader::BUILTIN_NAMES
    }

    /// One of the built-in profiles (`minimal`, `io`, `compute`, `network`, `unrestricted`).
    pub fn builtin(name: &str) -> Result<Profile> {
        loader::load_builtin(name)
    }

    /// A user profile file that extends a built-in profile.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Profile> {
        loader::load_user_file(path.as_ref())
    }

    /// A user profile from text; `origin` names it in error messages.
    pub fn from_toml_str(text: &str, origin: &str) -> Result<Profile> {
        loader::load_user_text(text, origin)
    }

    pub fn name(&self) -> &str {
        &self.id.name
    }

    pub fn version(&self) -> u32 {
        self.id.version
    }

    pub fn id(&self) -> &ProfileId {
        &self.id
    }

    pub fn description(&self) -> &str {
        &self.description
    }

    /// `builtin:NAME` or the path of the file it was loaded from.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The profiles this one extends, outermost first.
    pub fn ancestors(&self) -> &[ProfileId] {
        &self.ancestors
    }

    pub fn network(&self) -> NetworkAccess {
        self.network
    }

    /// The default limits of this profile.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    pub fn syscall_policy(&self) -> &SyscallPolicy {
        &self.syscalls
    }

    /// True when a syscall allowlist is enforced (every profile but `unrestricted`).
    pub fn has_allowlist(&self) -> bool {
        matches!(self.syscalls, SyscallPolicy::Allowlist { .. })
    }

    /// The names of every syscall that can run (for some or all arguments).
    pub fn allowed_syscalls(&self) -> BTreeSet<String> {
        match &self.syscalls {
            SyscallPolicy::Allowlist { allowed, .. } => allowed.keys().cloned().collect(),
            SyscallPolicy::AllowAll => syscall_table::all_names()
                .filter(|name| !self.removed.contains_key(*name))
                .map(str::to_string)
                .collect(),
        }
    }

    /// True when `syscall` can run for some arguments.
    pub fn allows(&self, syscall: &str) -> bool {
        match &self.syscalls {
            SyscallPolicy::Allowlist { allowed, .. } => allowed.contains_key(syscall),
            SyscallPolicy::AllowAll => {
                syscall_table::is_known(syscall) && !self.removed.contains_key(syscall)
            }
        }
    }

    /// The permissions that allow `syscall` (empty when it is not on the allowlist, and for
    /// `unrestricted`, which needs none).
    pub fn permissions(&self, syscall: &str) -> &[Permission] {
        match &self.syscalls {
            SyscallPolicy::Allowlist { allowed, .. } => {
                allowed.get(syscall).map(Vec::as_slice).unwrap_or(&[])
            }
            SyscallPolicy::AllowAll => &[],
        }
    }

    /// Syscalls answered with a fixed errno instead of running.
    pub fn errno_answers(&self) -> BTreeMap<String, ErrnoAnswer> {
        match &self.syscalls {
            SyscallPolicy::Allowlist { answered, .. } => answered.clone(),
            SyscallPolicy::AllowAll => BTreeMap::new(),
        }
    }

    /// Syscalls removed by a `deny` list, with the profile that removed them.
    pub fn removed_syscalls(&self) -> &BTreeMap<String, String> {
        &self.removed
    }
}
