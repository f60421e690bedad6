//! Typed errors of the policy crate. Every error that comes from a profile file names the file
//! (`origin`: a path, or `builtin:NAME` for the embedded profiles) and, where it can, the line.

use std::path::PathBuf;

/// Result alias used throughout the crate.
pub type Result<T, E = PolicyError> = std::result::Result<T, E>;

/// Everything that can go wrong while loading a profile or turning it into OCI configuration.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("cannot read profile file {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// Bad TOML, a missing key or an unknown key; the message carries line and column.
    #[error("{origin}: {message}")]
    Parse { origin: String, message: String },

    #[error(
        "{origin}:{line}: {key}: unknown syscall `{syscall}` (not in the x86_64 syscall table)"
    )]
    UnknownSyscall {
        origin: String,
        line: usize,
        key: String,
        syscall: String,
    },

    #[error("unknown profile `{name}`; the built-in profiles are: {known}")]
    UnknownProfile { name: String, known: String },

    #[error("{origin}: `extends = \"{parent}\"` names no built-in profile; the built-in profiles are: {known}")]
    UnknownParent {
        origin: String,
        parent: String,
        known: String,
    },

    #[error("{origin}:{line}: {key}: `{syscall}` is on the dangerous list and cannot be allowed ({why}); only a profile extending `unrestricted` may run it")]
    DangerousSyscall {
        origin: String,
        line: usize,
        key: String,
        syscall: String,
        why: String,
    },

    #[error("{origin}: {key}: {message}")]
    Invalid {
        origin: String,
        key: String,
        message: String,
    },

    #[error("profile `{profile}` has no network access; host networking needs a profile with network = \"loopback\" (e.g. `network`)")]
    HostNetworkNotAllowed { profile: String },

    #[error("serializing the OCI configuration: {0}")]
    Json(#[from] serde_json::Error),

    #[error("building the OCI configuration: {0}")]
    Oci(#[from] oci_spec::OciSpecError),
}
