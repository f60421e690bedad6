//! A profile's syscall policy as an OCI `LinuxSeccomp`.
//!
//! Default action: SCMP_ACT_ERRNO with EPERM. Language runtimes probe for syscalls (glibc tries
//! clone3, faccessat2 and rseq; libuv tries io_uring and statx; Rust's std tries statx) and take a
//! fallback when the probe fails; a KILL default would turn every probe of a syscall outside the
//! list into a dead process. EPERM reads as "not permitted here", which those fallbacks handle.
//! A sandbox that prefers to see violations as a kill (SIGSYS, reported as a policy violation)
//! asks for [`ViolationAction::KillProcess`].
//!
//! Architectures: only SCMP_ARCH_X86_64. Syscalls made through the i386 (`int 0x80`) or x32 ABI
//! don't match the filter's architecture and are refused by the runtime's arch check.

use std::collections::{BTreeMap, BTreeSet};

use oci_spec::runtime::{
    Arch, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompArg, LinuxSeccompArgBuilder,
    LinuxSeccompBuilder, LinuxSeccompOperator, LinuxSyscall, LinuxSyscallBuilder,
};

use crate::profile::{Profile, SyscallPolicy};
use crate::rules::{ArgCondition, Operator};
use crate::Result;

/// The errno returned for syscalls outside the allowlist.
pub const EPERM: u32 = 1;

/// What happens to a syscall the profile does not allow.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ViolationAction {
    /// Fail the syscall with EPERM (the default): programs that probe keep running.
    #[default]
    ReturnEperm,
    /// Kill the whole process with SIGSYS (SCMP_ACT_KILL_PROCESS): every violation is visible.
    KillProcess,
}

/// Builds the OCI seccomp section of `profile`.
pub fn build(profile: &Profile, on_violation: ViolationAction) -> Result<LinuxSeccomp> {
    let mut builder = LinuxSeccompBuilder::default().architectures(vec![Arch::ScmpArchX86_64]);
    let syscalls = match profile.syscall_policy() {
        SyscallPolicy::Allowlist { allowed, answered } => {
            builder = match on_violation {
                ViolationAction::ReturnEperm => builder
                    .default_action(LinuxSeccompAction::ScmpActErrno)
                    .default_errno_ret(EPERM),
                ViolationAction::KillProcess => {
                    builder.default_action(LinuxSeccompAction::ScmpActKillProcess)
                }
            };
            let mut rules = allow_rules(allowed)?;
            let mut by_errno: BTreeMap<u32, Vec<String>> = BTreeMap::new();
            for (name, answer) in answered {
                by_errno.entry(answer.errno).or_default().push(name.clone());
            }
            for (errno, names) in by_errno {
                rules.push(
                    LinuxSyscallBuilder::default()
                        .names(names)
                        .action(LinuxSeccompAction::ScmpActErrno)
                        .errno_ret(errno)
                        .build()?,
                );
            }
            rules
        }
        SyscallPolicy::AllowAll => {
            builder = builder.default_action(LinuxSeccompAction::ScmpActAllow);
            let denied: Vec<String> = profile.removed_syscalls().keys().cloned().collect();
            if denied.is_empty() {
                Vec::new()
            } else {
                let rule = LinuxSyscallBuilder::default().names(denied);
                let rule = match on_violation {
                    ViolationAction::ReturnEperm => rule
                        .action(LinuxSeccompAction::ScmpActErrno)
                        .errno_ret(EPERM),
                    ViolationAction::KillProcess => {
                        rule.action(LinuxSeccompAction::ScmpActKillProcess)
                    }
                };
                vec![rule.build()?]
            }
        }
    };
    Ok(builder.syscalls(syscalls).build()?)
}

/// One ALLOW rule naming every syscall allowed for any arguments, then one rule per distinct
/// argument-conditioned permission. A syscall with an unconditional permission needs no
/// conditioned rules.
fn allow_rules(
    allowed: &BTreeMap<String, Vec<crate::rules::Permission>>,
) -> Result<Vec<LinuxSyscall>> {
    let mut unconditional = Vec::new();
    let mut conditioned: Vec<(String, Vec<ArgCondition>)> = Vec::new();
    for (name, permissions) in allowed {
        if permissions.iter().any(|p| p.is_unconditional()) {
            unconditional.push(name.clone());
            continue;
        }
        let distinct: BTreeSet<Vec<ArgCondition>> =
            permissions.iter().map(|p| p.conditions.clone()).collect();
        conditioned.extend(distinct.into_iter().map(|c| (name.clone(), c)));
    }
    let mut rules = vec![LinuxSyscallBuilder::default()
        .names(unconditional)
        .action(LinuxSeccompAction::ScmpActAllow)
        .build()?];
    for (name, conditions) in conditioned {
        let args = conditions
            .iter()
            .map(oci_arg)
            .collect::<Result<Vec<LinuxSeccompArg>>>()?;
        rules.push(
            LinuxSyscallBuilder::default()
                .names(vec![name])
                .action(LinuxSeccompAction::ScmpActAllow)
                .args(args)
                .build()?,
        );
    }
    Ok(rules)
}

/// OCI writes masked_eq as `value` = mask, `valueTwo` = expected value (libseccomp's datum_a and
/// datum_b).
fn oci_arg(condition: &ArgCondition) -> Result<LinuxSeccompArg> {
    let builder = LinuxSeccompArgBuilder::default().index(usize::from(condition.index));
    let builder = match condition.op {
        Operator::MaskedEq => builder
            .op(LinuxSeccompOperator::ScmpCmpMaskedEq)
            .value(condition.mask.unwrap_or(u64::MAX))
            .value_two(condition.value),
        op => builder
            .op(match op {
                Operator::Eq => LinuxSeccompOperator::ScmpCmpEq,
                Operator::Ne => LinuxSeccompOperator::ScmpCmpNe,
                Operator::Lt => LinuxSeccompOperator::ScmpCmpLt,
                Operator::Le => LinuxSeccompOperator::ScmpCmpLe,
                Operator::Gt => LinuxSeccompOperator::ScmpCmpGt,
                Operator::Ge | Operator::MaskedEq => LinuxSeccompOperator::ScmpCmpGe,
            })
            .value(condition.value),
    };
    Ok(builder.build()?)
}
