//! Loading profiles: the embedded built-in files, user files, and the rules for merging a file
//! onto its parent.
//!
//! The rules, in the order they are checked:
//! - a built-in profile may extend another built-in; a user file must extend a built-in and may
//!   not reuse a built-in's name;
//! - every syscall name must be in the x86_64 table (error names file, line, key and syscall);
//! - `[[allow]]` adds permissions (loosening). A syscall on the dangerous list is refused unless
//!   the permission has the argument guard that makes it safe (clone without namespace flags,
//!   harmless personalities) or the profile extends `unrestricted`, where the allowlist is off;
//! - `deny` removes syscalls (tightening) and is always accepted;
//! - `[[errno]]` answers syscalls with an errno; a syscall cannot be both allowed and answered;
//! - `seccomp_allowlist = false` is reserved to the built-in `unrestricted`.

use std::path::Path;

use toml::Spanned;

use crate::dangerous;
use crate::limits::Limits;
use crate::profile::{NetworkAccess, Profile, ProfileId, SyscallPolicy};
use crate::profile_file::{self, AllowEntry, ConditionEntry, ErrnoEntry, LimitsTable, ProfileFile};
use crate::rules::{errno_value, ArgCondition, ErrnoAnswer, Operator, Permission, KNOWN_ERRNOS};
use crate::{syscall_table, PolicyError, Result};

/// Built-in profile names, least to most permissive.
pub(crate) const BUILTIN_NAMES: &[&str] = &["minimal", "io", "compute", "network", "unrestricted"];

/// The name of the debugging profile without an allowlist.
pub const UNRESTRICTED: &str = "unrestricted";

fn builtin_text(name: &str) -> Option<&'static str> {
    match name {
        "minimal" => Some(include_str!("../profiles/minimal.toml")),
        "io" => Some(include_str!("../profiles/io.toml")),
        "compute" => Some(include_str!("../profiles/compute.toml")),
        "network" => Some(include_str!("../profiles/network.toml")),
        "unrestricted" => Some(include_str!("../profiles/unrestricted.toml")),
        _ => None,
    }
}

fn known_list() -> String {
    BUILTIN_NAMES.join(", ")
}

/// Longest `extends` chain accepted; guards against a cycle between built-in files.
const MAX_DEPTH: usize = 8;

pub(crate) fn load_builtin(name: &str) -> Result<Profile> {
    load_builtin_at_depth(name, 0)
}

fn load_builtin_at_depth(name: &str, depth: usize) -> Result<Profile> {
    let text = builtin_text(name).ok_or_else(|| PolicyError::UnknownProfile {
        name: name.to_string(),
        known: known_list(),
    })?;
    let origin = format!("builtin:{name}");
    let file = profile_file::parse(&origin, text)?;
    let source = Source {
        origin: &origin,
        text,
        builtin: true,
    };
    if file.name != name {
        return Err(source.invalid("name", format!("expected `{name}`, found `{}`", file.name)));
    }
    if depth >= MAX_DEPTH {
        return Err(source.invalid("extends", "the extends chain is too long (a cycle?)".into()));
    }
    let parent = match &file.extends {
        Some(parent) if builtin_text(parent).is_some() => {
            Some(load_builtin_at_depth(parent, depth + 1)?)
        }
        Some(parent) => return Err(source.unknown_parent(parent)),
        None => None,
    };
    merge(parent, file, &source)
}

pub(crate) fn load_user_file(path: &Path) -> Result<Profile> {
    let text = std::fs::read_to_string(path).map_err(|source| PolicyError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    load_user_text(&text, &path.display().to_string())
}

pub(crate) fn load_user_text(text: &str, origin: &str) -> Result<Profile> {
    let file = profile_file::parse(origin, text)?;
    let source = Source {
        origin,
        text,
        builtin: false,
    };
    if builtin_text(&file.name).is_some() {
        return Err(source.invalid(
            "name",
            format!(
                "`{}` is a built-in profile's name; choose another",
                file.name
            ),
        ));
    }
    let parent = match &file.extends {
        Some(parent) if builtin_text(parent).is_some() => load_builtin(parent)?,
        Some(parent) => return Err(source.unknown_parent(parent)),
        None => {
            return Err(source.invalid(
                "extends",
                format!(
                    "a user profile must extend a built-in profile ({})",
                    known_list()
                ),
            ))
        }
    };
    merge(Some(parent), file, &source)
}

/// The file being merged, for error messages.
struct Source<'a> {
    origin: &'a str,
    text: &'a str,
    builtin: bool,
}

impl Source<'_> {
    fn invalid(&self, key: &str, message: String) -> PolicyError {
        PolicyError::Invalid {
            origin: self.origin.to_string(),
            key: key.to_string(),
            message,
        }
    }

    fn unknown_parent(&self, parent: &str) -> PolicyError {
        PolicyError::UnknownParent {
            origin: self.origin.to_string(),
            parent: parent.to_string(),
            known: known_list(),
        }
    }

    fn line(&self, name: &Spanned<String>) -> usize {
        profile_file::line_of(self.text, name.span().start)
    }

    /// Checks that a syscall name is in the x86_64 table.
    fn known_syscall<'n>(&self, key: &str, name: &'n Spanned<String>) -> Result<&'n str> {
        if syscall_table::is_known(name.get_ref()) {
            Ok(name.get_ref())
        } else {
            Err(PolicyError::UnknownSyscall {
                origin: self.origin.to_string(),
                line: self.line(name),
                key: key.to_string(),
                syscall: name.get_ref().clone(),
            })
        }
    }
}

fn merge(parent: Option<Profile>, file: ProfileFile, source: &Source<'_>) -> Result<Profile> {
    if file.version == 0 {
        return Err(source.invalid("version", "versions start at 1".into()));
    }
    let mut profile = match parent {
        Some(parent) => {
            let mut ancestors = parent.ancestors.clone();
            ancestors.push(parent.id.clone());
            Profile {
                ancestors,
                ..parent
            }
        }
        None => Profile {
            id: ProfileId {
                name: String::new(),
                version: 0,
            },
            description: String::new(),
            origin: String::new(),
            ancestors: Vec::new(),
            network: NetworkAccess::None,
            limits: Limits::default(),
            syscalls: SyscallPolicy::Allowlist {
                allowed: Default::default(),
                answered: Default::default(),
            },
            removed: Default::default(),
        },
    };
    profile.id = ProfileId {
        name: file.name.clone(),
        version: file.version,
    };
    profile.description = file.description.clone();
    profile.origin = source.origin.to_string();
    if let Some(network) = file.network {
        profile.network = network;
    }
    apply_limits(&mut profile.limits, &file.limits, source)?;
    apply_allowlist_switch(&mut profile, &file, source)?;
    for (index, entry) in file.errno.iter().enumerate() {
        apply_errno(&mut profile, index, entry, source)?;
    }
    for (index, entry) in file.allow.iter().enumerate() {
        apply_allow(&mut profile, index, entry, source)?;
    }
    apply_deny(&mut profile, &file, source)?;
    Ok(profile)
}

fn apply_allowlist_switch(
    profile: &mut Profile,
    file: &ProfileFile,
    source: &Source<'_>,
) -> Result<()> {
    match file.seccomp_allowlist {
        Some(false) if source.builtin && file.name == UNRESTRICTED => {
            profile.syscalls = SyscallPolicy::AllowAll;
            Ok(())
        }
        Some(false) => Err(source.invalid(
            "seccomp_allowlist",
            format!("only the built-in `{UNRESTRICTED}` profile may turn the allowlist off; write `extends = \"{UNRESTRICTED}\"` instead"),
        )),
        Some(true) if !profile.has_allowlist() => Err(source.invalid(
            "seccomp_allowlist",
            format!("a profile extending `{UNRESTRICTED}` cannot turn an allowlist back on; extend `network` instead"),
        )),
        _ => Ok(()),
    }
}

fn size(value: &Option<String>, key: &str, source: &Source<'_>) -> Result<Option<u64>> {
    match value {
        None => Ok(None),
        Some(text) => match vsbx_size::parse(text) {
            Ok(bytes) if bytes > 0 => Ok(Some(bytes)),
            Ok(_) => Err(source.invalid(key, format!("`{text}` must be greater than zero"))),
            Err(e) => Err(source.invalid(key, format!("`{text}` is {e}"))),
        },
    }
}

fn positive(value: Option<u64>, key: &str, source: &Source<'_>) -> Result<Option<u64>> {
    match value {
        Some(0) => Err(source.invalid(key, "must be at least 1".into())),
        other => Ok(other),
    }
}

fn apply_limits(limits: &mut Limits, table: &LimitsTable, source: &Source<'_>) -> Result<()> {
    if let Some(bytes) = size(&table.memory, "limits.memory", source)? {
        limits.memory_bytes = bytes;
    }
    if let Some(cpus) = table.cpus {
        if !(cpus > 0.0 && cpus <= 1024.0) {
            return Err(source.invalid("limits.cpus", format!("{cpus} is not between 0 and 1024")));
        }
        // In range 0..=1024, so the rounded product fits in u64 and is at least 1 after max.
        limits.cpu_millis = ((cpus * 1000.0).round() as u64).max(1);
    }
    if let Some(pids) = positive(table.pids, "limits.pids", source)? {
        limits.pids = pids;
    }
    if let Some(open_files) = positive(table.open_files, "limits.open_files", source)? {
        limits.open_files = open_files;
    }
    if let Some(bytes) = size(&table.tmp, "limits.tmp", source)? {
        limits.tmp_bytes = bytes;
    }
    if let Some(bytes) = size(&table.shm, "limits.shm", source)? {
        limits.shm_bytes = bytes;
    }
    if let Some(bytes) = size(&table.output, "limits.output", source)? {
        limits.output_bytes = Some(bytes);
    }
    Ok(())
}

fn apply_errno(
    profile: &mut Profile,
    index: usize,
    entry: &ErrnoEntry,
    source: &Source<'_>,
) -> Result<()> {
    let key = format!("errno[{index}]");
    let reason = required_reason(&entry.reason, &key, source)?;
    let errno = errno_value(&entry.errno).ok_or_else(|| {
        let known: Vec<_> = KNOWN_ERRNOS.iter().map(|(name, _)| *name).collect();
        source.invalid(
            &format!("{key}.errno"),
            format!(
                "unknown errno `{}`; known: {}",
                entry.errno,
                known.join(", ")
            ),
        )
    })?;
    let name = profile.id.name.clone();
    for syscall in &entry.syscalls {
        let syscall = source.known_syscall(&format!("{key}.syscalls"), syscall)?;
        if let SyscallPolicy::Allowlist { allowed, answered } = &mut profile.syscalls {
            if allowed.contains_key(syscall) {
                return Err(source.invalid(
                    &format!("{key}.syscalls"),
                    format!(
                        "`{syscall}` is allowed, so it cannot also be answered with {}",
                        entry.errno
                    ),
                ));
            }
            answered.insert(
                syscall.to_string(),
                ErrnoAnswer {
                    errno_name: entry.errno.clone(),
                    errno,
                    reason: reason.clone(),
                    granted_by: name.clone(),
                },
            );
        }
    }
    Ok(())
}

fn required_reason(reason: &str, key: &str, source: &Source<'_>) -> Result<String> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(source.invalid(
            &format!("{key}.reason"),
            "say why the workload needs these syscalls".into(),
        ));
    }
    Ok(reason.to_string())
}

fn conditions(
    entries: &[ConditionEntry],
    key: &str,
    source: &Source<'_>,
) -> Result<Vec<ArgCondition>> {
    let mut conditions: Vec<ArgCondition> = Vec::with_capacity(entries.len());
    for (index, entry) in entries.iter().enumerate() {
        let key = format!("{key}.when[{index}]");
        if entry.arg > 5 {
            return Err(source.invalid(&key, format!("arg {} does not exist (0..=5)", entry.arg)));
        }
        match (entry.op, entry.mask) {
            (Operator::MaskedEq, None) => {
                return Err(source.invalid(&key, "masked_eq needs a `mask`".into()))
            }
            (Operator::MaskedEq, Some(_)) | (_, None) => {}
            (_, Some(_)) => {
                return Err(source.invalid(
                    &key,
                    "`mask` is only meaningful with op = \"masked_eq\"".into(),
                ))
            }
        }
        // OCI runtimes read several conditions on one argument as OR (runc) or AND; forbid the
        // ambiguity: write alternatives as separate [[allow]] entries.
        if conditions.iter().any(|c| c.index == entry.arg) {
            return Err(source.invalid(
                &key,
                format!("arg {} is already constrained in this entry; write alternatives as separate [[allow]] entries", entry.arg),
            ));
        }
        conditions.push(ArgCondition {
            index: entry.arg,
            op: entry.op,
            value: entry.value,
            mask: entry.mask,
        });
    }
    Ok(conditions)
}

fn apply_allow(
    profile: &mut Profile,
    index: usize,
    entry: &AllowEntry,
    source: &Source<'_>,
) -> Result<()> {
    let key = format!("allow[{index}]");
    let reason = required_reason(&entry.reason, &key, source)?;
    if entry.syscalls.is_empty() {
        return Err(source.invalid(&format!("{key}.syscalls"), "lists no syscall".into()));
    }
    let conditions = conditions(&entry.when, &key, source)?;
    let granted_by = profile.id.name.clone();
    let SyscallPolicy::Allowlist { allowed, answered } = &mut profile.syscalls else {
        // No allowlist (unrestricted): everything already runs; only validate the names.
        for syscall in &entry.syscalls {
            source.known_syscall(&format!("{key}.syscalls"), syscall)?;
        }
        return Ok(());
    };
    for spanned in &entry.syscalls {
        let syscall_key = format!("{key}.syscalls");
        let syscall = source.known_syscall(&syscall_key, spanned)?;
        let permission = Permission {
            group: entry.group.trim().to_string(),
            reason: reason.clone(),
            conditions: conditions.clone(),
            granted_by: granted_by.clone(),
        };
        if let Some(danger) = dangerous::lookup(syscall) {
            if !danger.permits_safely(&permission) {
                return Err(PolicyError::DangerousSyscall {
                    origin: source.origin.to_string(),
                    line: source.line(spanned),
                    key: syscall_key,
                    syscall: syscall.to_string(),
                    why: danger.why.to_string(),
                });
            }
        }
        if answered.contains_key(syscall) {
            return Err(source.invalid(
                &syscall_key,
                format!("`{syscall}` is answered by an [[errno]] rule and cannot also be allowed"),
            ));
        }
        profile.removed.remove(syscall);
        allowed
            .entry(syscall.to_string())
            .or_default()
            .push(permission);
    }
    Ok(())
}

fn apply_deny(profile: &mut Profile, file: &ProfileFile, source: &Source<'_>) -> Result<()> {
    for spanned in &file.deny {
        let syscall = source.known_syscall("deny", spanned)?;
        let allowed_here = file
            .allow
            .iter()
            .any(|entry| entry.syscalls.iter().any(|s| s.get_ref() == syscall));
        if allowed_here {
            return Err(source.invalid(
                "deny",
                format!("`{syscall}` is both allowed and denied in this file"),
            ));
        }
        if let SyscallPolicy::Allowlist { allowed, .. } = &mut profile.syscalls {
            allowed.remove(syscall);
        }
        profile
            .removed
            .insert(syscall.to_string(), profile.id.name.clone());
    }
    Ok(())
}
