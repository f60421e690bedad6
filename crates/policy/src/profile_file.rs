//! The on-disk format of a profile (TOML), exactly as written; [`crate::loader`] validates it and
//! merges it onto its parent. Unknown keys are errors (`deny_unknown_fields`), and syscall names
//! keep their position in the file so an unknown name can be reported with its line.

use serde::Deserialize;
use toml::Spanned;

use crate::profile::NetworkAccess;
use crate::rules::Operator;

/// One profile file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ProfileFile {
    /// The profile's name (reports record it).
    pub name: String,
    /// The profile's revision; bump it whenever what the profile allows changes.
    pub version: u32,
    /// The built-in profile this one starts from.
    pub extends: Option<String>,
    #[serde(default)]
    pub description: String,
    /// `none` (own network namespace, no interface in use) or `loopback`.
    pub network: Option<NetworkAccess>,
    /// `false` turns the syscall allowlist off (only the built-in `unrestricted` may).
    pub seccomp_allowlist: Option<bool>,
    #[serde(default)]
    pub limits: LimitsTable,
    #[serde(default)]
    pub allow: Vec<AllowEntry>,
    #[serde(default)]
    pub errno: Vec<ErrnoEntry>,
    /// Syscalls removed from what the parent allows (tightening).
    #[serde(default)]
    pub deny: Vec<Spanned<String>>,
}

/// `[limits]`: every key optional; absent keys keep the parent's value.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LimitsTable {
    pub memory: Option<String>,
    pub cpus: Option<f64>,
    pub pids: Option<u64>,
    pub open_files: Option<u64>,
    pub tmp: Option<String>,
    pub shm: Option<String>,
    pub output: Option<String>,
}

/// `[[allow]]`: a group of syscalls allowed for one reason.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AllowEntry {
    #[serde(default)]
    pub group: String,
    pub syscalls: Vec<Spanned<String>>,
    pub reason: String,
    #[serde(default)]
    pub when: Vec<ConditionEntry>,
}

/// One `when` condition: `{ arg = 0, op = "eq", value = 1 }` or
/// `{ arg = 0, op = "masked_eq", mask = 0x7E020000, value = 0 }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConditionEntry {
    pub arg: u8,
    pub op: Operator,
    pub value: u64,
    pub mask: Option<u64>,
}

/// `[[errno]]`: syscalls answered with an errno instead of running.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ErrnoEntry {
    pub syscalls: Vec<Spanned<String>>,
    pub errno: String,
    pub reason: String,
}

/// Parses the text of a profile file; `origin` names it in errors.
pub(crate) fn parse(origin: &str, text: &str) -> crate::Result<ProfileFile> {
    toml::from_str(text).map_err(|error| crate::PolicyError::Parse {
        origin: origin.to_string(),
        message: error.to_string().trim_end().to_string(),
    })
}

/// The 1-based line of a byte offset in `text`.
pub(crate) fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}
