//! Human-readable text about profiles: `explain` (what a profile allows, grouped with reasons,
//! and what it denies) and `diff` (what changes from one profile to another).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use crate::dangerous::{Guard, DANGEROUS_SYSCALLS};
use crate::limits::{format_size, Limits};
use crate::profile::{NetworkAccess, Profile};

fn network_text(network: NetworkAccess) -> &'static str {
    match network {
        NetworkAccess::None => "own network namespace; no IP sockets can be created",
        NetworkAccess::Loopback => {
            "own network namespace with loopback only (host network only on explicit request)"
        }
    }
}

fn limits_lines(limits: &Limits) -> Vec<(&'static str, String)> {
    vec![
        ("memory", format_size(limits.memory_bytes)),
        ("cpus", format!("{}", limits.cpu_millis as f64 / 1000.0)),
        ("pids", limits.pids.to_string()),
        ("open files", limits.open_files.to_string()),
        ("/tmp", format_size(limits.tmp_bytes)),
        ("/dev/shm", format_size(limits.shm_bytes)),
        (
            "/output",
            limits
                .output_bytes
                .map(format_size)
                .unwrap_or_else(|| "none".into()),
        ),
    ]
}

/// How a syscall is allowed: "any arguments" or the alternatives of its conditions.
fn rule_text(profile: &Profile, syscall: &str) -> String {
    let permissions = profile.permissions(syscall);
    if permissions.is_empty() || permissions.iter().any(|p| p.is_unconditional()) {
        return "any arguments".into();
    }
    let alternatives: BTreeSet<String> = permissions.iter().map(|p| p.conditions_text()).collect();
    alternatives.into_iter().collect::<Vec<_>>().join(" | ")
}

/// What `profile` allows, grouped with the reasons, and what it denies.
pub fn explain(profile: &Profile) -> String {
    let mut out = String::new();
    // Writing into a String cannot fail; the results of writeln! are ignored for that reason.
    let _ = writeln!(
        out,
        "profile {} v{} ({})",
        profile.name(),
        profile.version(),
        profile.origin()
    );
    if !profile.description().is_empty() {
        let _ = writeln!(out, "  {}", profile.description());
    }
    if !profile.ancestors().is_empty() {
        let chain: Vec<String> = profile
            .ancestors()
            .iter()
            .map(|id| format!("{} v{}", id.name, id.version))
            .collect();
        let _ = writeln!(out, "  extends: {}", chain.join(" > "));
    }
    let _ = writeln!(out, "  network: {}", network_text(profile.network()));
    let limits: Vec<String> = limits_lines(&profile.limits())
        .into_iter()
        .map(|(key, value)| format!("{key} {value}"))
        .collect();
    let _ = writeln!(out, "  limits: {}", limits.join(", "));
    let _ = writeln!(out, "  always: no capabilities, no_new_privileges, read-only root, uid/gid 65534, pid/net/ipc/uts/mount/cgroup namespaces, x86_64 ABI only");

    if profile.has_allowlist() {
        explain_allowlist(profile, &mut out);
    } else {
        let _ = writeln!(
            out,
            "\nseccomp: NO ALLOWLIST (debugging only): every x86_64 syscall runs"
        );
    }
    if !profile.removed_syscalls().is_empty() {
        let _ = writeln!(out, "\nremoved by deny:");
        for (syscall, by) in profile.removed_syscalls() {
            let _ = writeln!(out, "  {syscall} (denied by {by})");
        }
    }
    explain_dangerous(profile, &mut out);
    if profile.has_allowlist() {
        let _ = writeln!(out, "\neverything else: fails with EPERM");
    }
    out
}

fn explain_allowlist(profile: &Profile, out: &mut String) {
    let lineage: Vec<&str> = profile
        .ancestors()
        .iter()
        .map(|id| id.name.as_str())
        .chain(std::iter::once(profile.name()))
        .collect();
    // (rank of the granting profile, group, reason, conditions) -> syscalls
    let mut groups: BTreeMap<(usize, String, String, String), Vec<String>> = BTreeMap::new();
    let allowed = profile.allowed_syscalls();
    for syscall in &allowed {
        for permission in profile.permissions(syscall) {
            let rank = lineage
                .iter()
                .position(|name| *name == permission.granted_by)
                .unwrap_or(lineage.len());
            let key = (
                rank,
                permission.group.clone(),
                permission.reason.clone(),
                permission.conditions_text(),
            );
            groups.entry(key).or_default().push(syscall.clone());
        }
    }
    let _ = writeln!(out, "\nallowed ({} syscalls):", allowed.len());
    let mut last_rank = usize::MAX;
    for ((rank, group, reason, conditions), syscalls) in &groups {
        if *rank != last_rank {
            let from = lineage.get(*rank).copied().unwrap_or("?");
            let _ = writeln!(out, " from {from}:");
            last_rank = *rank;
        }
        let when = if conditions.is_empty() {
            String::new()
        } else {
            format!(" when {conditions}")
        };
        let _ = writeln!(out, "  [{group}] {}{when}", syscalls.join(", "));
        let _ = writeln!(out, "      why: {reason}");
    }
    let answers = profile.errno_answers();
    if !answers.is_empty() {
        let _ = writeln!(out, "\nanswered with an errno (never run):");
        for (syscall, answer) in &answers {
            let _ = writeln!(out, "  {syscall} -> {}", answer.errno_name);
            let _ = writeln!(out, "      why: {}", answer.reason);
        }
    }
}

fn explain_dangerous(profile: &Profile, out: &mut String) {
    let _ = writeln!(out, "\ndenied (dangerous list):");
    for entry in DANGEROUS_SYSCALLS {
        let status = match (profile.allows(entry.name), entry.guard) {
            (false, _) => "denied".to_string(),
            (true, Guard::Never) => "ALLOWED (no allowlist)".to_string(),
            (true, _) if !profile.has_allowlist() => "ALLOWED (no allowlist)".to_string(),
            (true, _) => format!("only when {}", rule_text(profile, entry.name)),
        };
        let _ = writeln!(out, "  {}: {status} — {}", entry.name, entry.why);
    }
}

/// What changes from profile `a` to profile `b`: syscalls added and removed, rules whose
/// argument conditions differ, errno answers, network access and limits.
pub fn diff(a: &Profile, b: &Profile) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "diff {} v{} -> {} v{}",
        a.name(),
        a.version(),
        b.name(),
        b.version()
    );
    let in_a = a.allowed_syscalls();
    let in_b = b.allowed_syscalls();
    let added: Vec<&String> = in_b.difference(&in_a).collect();
    let removed: Vec<&String> = in_a.difference(&in_b).collect();
    if !added.is_empty() {
        let _ = writeln!(out, "allowed only in {} (+{}):", b.name(), added.len());
        for syscall in &added {
            let _ = writeln!(out, "  + {syscall} ({})", rule_text(b, syscall));
        }
    }
    if !removed.is_empty() {
        let _ = writeln!(out, "allowed only in {} (-{}):", a.name(), removed.len());
        for syscall in &removed {
            let _ = writeln!(out, "  - {syscall} ({})", rule_text(a, syscall));
        }
    }
    let mut changed = Vec::new();
    for syscall in in_a.intersection(&in_b) {
        let (rule_a, rule_b) = (rule_text(a, syscall), rule_text(b, syscall));
        if rule_a != rule_b {
            changed.push(format!("  ~ {syscall}: {rule_a}  ->  {rule_b}"));
        }
    }
    if !changed.is_empty() {
        let _ = writeln!(out, "argument rules changed:");
        for line in changed {
            let _ = writeln!(out, "{line}");
        }
    }
    let (answers_a, answers_b) = (a.errno_answers(), b.errno_answers());
    for (syscall, answer) in &answers_b {
        if answers_a.get(syscall).map(|x| x.errno) != Some(answer.errno) {
            let _ = writeln!(out, "  + {syscall} answered with {}", answer.errno_name);
        }
    }
    for syscall in answers_a.keys() {
        if !answers_b.contains_key(syscall) {
            let _ = writeln!(out, "  - {syscall} no longer answered with an errno");
        }
    }
    if a.has_allowlist() != b.has_allowlist() {
        let state = |p: &Profile| {
            if p.has_allowlist() {
                "allowlist"
            } else {
                "no allowlist"
            }
        };
        let _ = writeln!(out, "seccomp: {} -> {}", state(a), state(b));
    }
    if a.network() != b.network() {
        let _ = writeln!(
            out,
            "network: {} -> {}",
            network_text(a.network()),
            network_text(b.network())
        );
    }
    for ((key, value_a), (_, value_b)) in limits_lines(&a.limits())
        .into_iter()
        .zip(limits_lines(&b.limits()))
    {
        if value_a != value_b {
            let _ = writeln!(out, "limit {key}: {value_a} -> {value_b}");
        }
    }
    if added.is_empty() && removed.is_empty() && out.lines().count() == 1 {
        let _ = writeln!(out, "no differences");
    }
    out
}
