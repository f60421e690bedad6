//! `linux.seccomp`: validating the OCI section and compiling it to one classic-BPF program.
//!
//! # The scheme
//!
//! seccompiler builds filters with one match action and one mismatch action each, while OCI
//! rules each carry their own action. [`compile`] groups the rules by action (ERRNO and TRACE
//! also by their errno value) and builds with seccompiler:
//!
//! - one *group filter* per non-ALLOW group: match = that group's syscalls with their argument
//!   conditions -> the group's action, mismatch = ALLOW;
//! - one *default filter*: match = the syscalls of the ALLOW rules with their conditions ->
//!   ALLOW, mismatch = `defaultAction`.
//!
//! Instead of installing them as separate filters (the kernel runs every installed filter on
//! every syscall, each with its own architecture check), the bodies are **chained into a single
//! program**: the group filters in descending kernel precedence (KILL_PROCESS, KILL_THREAD,
//! TRAP, ERRNO, TRACE, LOG), each `ret ALLOW` of a group body rewritten as a forward jump to the
//! next body, and the default filter last. One architecture check heads the program. So the
//! result for a syscall `c` is:
//!
//! 1. the action of the highest-precedence group that has a rule matching `c`; else
//! 2. ALLOW if an ALLOW rule matches `c`; else
//! 3. `defaultAction`.
//!
//! This is exactly what installing the filters separately would give (the kernel returns the
//! highest-precedence action over all filters; a group filter answers non-ALLOW only when one
//! of its rules matches, and the default filter answers `defaultAction` only when no rule
//! matches at all), with one program run per syscall. In particular an ALLOW rule beats an
//! ERRNO `defaultAction` (the syscall never reaches step 3), and an ERRNO rule for `x` under an
//! ALLOW `defaultAction` denies `x` (step 1). Syscalls that are allowed whatever their
//! arguments stay cheap: the kernel's per-syscall action cache (Linux 5.11+) emulates this
//! program, which uses only the instructions the emulator understands.
//!
//! # Compatibility with runc and libseccomp
//!
//! Before grouping, the rules are normalised the way runc 1.1 + libseccomp 2.5 treat them
//! (checked against libseccomp by experiment):
//!
//! - a rule whose action (and errno) equals `defaultAction` is redundant and dropped (runc);
//! - ERRNO and TRACE without `errnoRet` use EPERM (runc);
//! - SCMP_ACT_KILL is KILL_THREAD (libseccomp);
//! - syscall names unknown to the x86_64 table of the `syscalls` crate are skipped (they may be
//!   newer than the table, or belong to another ABI); a rule left without a known name is
//!   dropped (runc logs and skips them too);
//! - conditions in one rule are ANDed; several rules for one syscall are alternatives (ORed).
//!   As in runc, a rule that compares the same argument index twice is split into one rule per
//!   condition (ORed) instead of an AND;
//! - comparisons are unsigned and on all 64 bits; MASKED_EQ is
//!   `arg & value == valueTwo & value` (libseccomp masks the datum: bits of `valueTwo` outside
//!   the mask are ignored, they never make the rule unsatisfiable). The details are in
//!   `args.rs`;
//! - an unconditional rule for a syscall overrides every conditional rule for it, whatever the
//!   order or actions; of several unconditional rules the first one wins (libseccomp);
//! - two rules with identical conditions and different actions are an error (libseccomp
//!   refuses them with EEXIST, so runc fails too);
//! - when `defaultAction` is not ALLOW, LOG or TRACE and not ERRNO(ENOSYS), syscall numbers
//!   above the highest syscall named in the profile return ENOSYS (runc's "-ENOSYS stub"), so
//!   that libc falls back from syscalls newer than the profile.
//!
//! **Corner where vsbx differs from libseccomp:** conditional rules for one syscall whose
//! conditions *overlap* with different actions (e.g. ALLOW if `a0 >= 5` and LOG if `a0 <= 10`,
//! called with 7). libseccomp answers whichever rule its decision tree tests first (observed:
//! it depends on the operators, not on the order or the actions, and can be the weaker one);
//! vsbx answers the highest-precedence action (here LOG before ALLOW; ERRNO before LOG; of two
//! ERRNO groups, the one listed first in the spec). Observed for two ERRNO rules with
//! different errno values under runc 1.1.5 + libseccomp 2.5.4: ERRNO(101) if `a0 == 1` and
//! ERRNO(102) if `a1 == 2`, called with (1, 2), gives 102, and ERRNO(101) if `a0 >= 5` and
//! ERRNO(102) if `a0 <= 10`, called with 7, gives 102 in either order; vsbx gives 101 for
//! both. Only the errno value differs: the call is denied either way. No shipped profile
//! (Docker, podman) has such overlaps.
//!
//! # Foreign ABIs
//!
//! The program targets x86_64 only. Syscalls made through other ABIs cannot bypass it:
//!
//! - i386 (`int 0x80`, AUDIT_ARCH_I386): the program starts with seccompiler's architecture
//!   check, which answers KILL_PROCESS for any architecture but x86_64;
//! - x32 (AUDIT_ARCH_X86_64 with the syscall number's bit 30 set): a hand-written check right
//!   after the architecture check answers KILL_PROCESS for every number >= 0x40000000.
//!
//! Both match what libseccomp does for an architecture missing from the filter (its
//! "bad architecture" action is a kill). `SCMP_ARCH_X86` and `SCMP_ARCH_X32` (and any other
//! architecture) in `architectures` are accepted without error but do **not** enable those
//! ABIs: where runc would filter them with the same rules, vsbx kills the process. 32-bit
//! binaries do not run under a vsbx seccomp profile.
//!
//! # Not supported
//!
//! SCMP_ACT_NOTIFY (and `listenerPath`, `listenerMetadata`, and the
//! SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV flag that only matters with it) is refused with an
//! error: the seccomp-agent protocol is not implemented.
//!
//! # Installing
//!
//! [`Filters::install`] calls seccomp(2) itself rather than seccompiler's `apply_filter`,
//! which would also set no_new_privs: whether to set it is `process.noNewPrivileges`'s call,
//! made by the caller (without no_new_privs the caller must still hold CAP_SYS_ADMIN).

mod args;

use crate::error::{Error, Result};
use args::{split_repeated_indices, Cond};
use oci_spec::runtime::{LinuxSeccomp, LinuxSeccompAction, LinuxSeccompFilterFlag};
use seccompiler::{sock_filter, BpfProgram, SeccompAction, SeccompFilter, SeccompRule, TargetArch};
use std::collections::BTreeMap;
use std::io;
use std::str::FromStr;
use syscalls::x86_64::Sysno;

// Classic BPF opcodes (linux/bpf_common.h) for the instructions written by hand here.
const BPF_LD_W_ABS: u16 = 0x20; // BPF_LD | BPF_W | BPF_ABS
const BPF_JMP_JA: u16 = 0x05;
const BPF_JMP_JGT_K: u16 = 0x05 | 0x20;
const BPF_JMP_JGE_K: u16 = 0x05 | 0x30;
const BPF_JMP_JEQ_K: u16 = 0x05 | 0x10;
const BPF_RET_K: u16 = 0x06;

/// Offsets in `struct seccomp_data`.
const DATA_NR: u32 = 0;
const DATA_ARCH: u32 = 4;

/// linux/audit.h: EM_X86_64 | __AUDIT_ARCH_64BIT | __AUDIT_ARCH_LE.
const AUDIT_ARCH_X86_64: u32 = 62 | 0x8000_0000 | 0x4000_0000;
/// asm/unistd.h: x32 syscall numbers have this bit set.
const X32_SYSCALL_BIT: u32 = 0x4000_0000;

/// The kernel's limit on one classic-BPF program (BPF_MAXINSNS).
const MAX_INSNS: usize = 4096;

const SECCOMP_FILTER_FLAG_TSYNC: libc::c_ulong = 1;
const SECCOMP_FILTER_FLAG_LOG: libc::c_ulong = 2;
const SECCOMP_FILTER_FLAG_SPEC_ALLOW: libc::c_ulong = 4;

/// What the kernel does with a syscall, in the kernel's precedence order: a variant listed
/// earlier wins over a later one when several filters (or chained groups) answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Action {
    KillProcess,
    KillThread,
    Trap,
    Errno(u16),
    Trace(u16),
    Log,
    Allow,
}

impl Action {
    /// Lower is stronger (kernel precedence).
    fn rank(self) -> u8 {
        match self {
            Action::KillProcess => 0,
            Action::KillThread => 1,
            Action::Trap => 2,
            Action::Errno(_) => 3,
            Action::Trace(_) => 4,
            Action::Log => 5,
            Action::Allow => 6,
        }
    }

    /// runc adds the -ENOSYS stub only when the default action is not permissive.
    fn is_permissive(self) -> bool {
        matches!(self, Action::Allow | Action::Log | Action::Trace(_))
    }

    fn to_seccompiler(self) -> SeccompAction {
        match self {
            Action::KillProcess => SeccompAction::KillProcess,
            Action::KillThread => SeccompAction::KillThread,
            Action::Trap => SeccompAction::Trap,
            Action::Errno(e) => SeccompAction::Errno(u32::from(e)),
            Action::Trace(e) => SeccompAction::Trace(u32::from(e)),
            Action::Log => SeccompAction::Log,
            Action::Allow => SeccompAction::Allow,
        }
    }

    fn ret(self) -> u32 {
        u32::from(self.to_seccompiler())
    }
}

/// One normalised rule for one syscall: `conds` ANDed (empty = unconditional).
#[derive(Clone, Debug)]
struct Rule {
    action: Action,
    conds: Vec<Cond>,
    /// Index in `linux.seccomp.syscalls`, for ordering and messages.
    origin: usize,
}

/// The compiled filter, ready to install. Built before clone so that errors are cheap.
/// The actions, operators and flags this module implements (for `features`).
pub const ACTIONS: &[&str] = &[
    "SCMP_ACT_ALLOW",
    "SCMP_ACT_ERRNO",
    "SCMP_ACT_KILL",
    "SCMP_ACT_KILL_PROCESS",
    "SCMP_ACT_KILL_THREAD",
    "SCMP_ACT_LOG",
    "SCMP_ACT_TRACE",
    "SCMP_ACT_TRAP",
];
pub const OPERATORS: &[&str] = &[
    "SCMP_CMP_EQ",
    "SCMP_CMP_GE",
    "SCMP_CMP_GT",
    "SCMP_CMP_LE",
    "SCMP_CMP_LT",
    "SCMP_CMP_MASKED_EQ",
    "SCMP_CMP_NE",
];
pub const FLAGS: &[&str] = &[
    "SECCOMP_FILTER_FLAG_TSYNC",
    "SECCOMP_FILTER_FLAG_LOG",
    "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
];

#[derive(Clone, Debug)]
pub struct Filters {
    /// Installed in order. [`compile`] makes exactly one.
    programs: Vec<BpfProgram>,
    /// SECCOMP_FILTER_FLAG_* for seccomp(2).
    flags: libc::c_ulong,
}

impl Filters {
    /// Installs the filter on the calling thread (all threads with SECCOMP_FILTER_FLAG_TSYNC).
    /// Call it last, right before execve, after no_new_privs or while holding CAP_SYS_ADMIN.
    /// Does not allocate unless it fails.
    pub fn install(&self) -> Result<()> {
        for prog in &self.programs {
            let len = u16::try_from(prog.len()).map_err(|_| {
                Error::other(format!(
                    "linux.seccomp: the filter has {} BPF instructions, more than 65535",
                    prog.len()
                ))
            })?;
            // seccompiler's sock_filter is #[repr(C)] with libc's layout (u16, u8, u8, u32).
            let fprog = libc::sock_fprog {
                len,
                filter: prog.as_ptr() as *mut libc::sock_filter,
            };
            // SAFETY: fprog points at a live program of `len` instructions; the kernel copies
            // it and keeps no reference.
            let rc = unsafe {
                libc::syscall(
                    libc::SYS_seccomp,
                    libc::SECCOMP_SET_MODE_FILTER,
                    self.flags,
                    &fprog as *const libc::sock_fprog,
                )
            };
            if rc < 0 {
                let err = io::Error::last_os_error();
                let what = if err.raw_os_error() == Some(libc::EACCES) {
                    "installing the seccomp filter (needs no_new_privs or CAP_SYS_ADMIN)"
                } else {
                    "installing the seccomp filter"
                };
                return Err(Error::os(what, err));
            }
            if rc > 0 {
                return Err(Error::other(format!(
                    "installing the seccomp filter: thread {rc} could not be synchronized (TSYNC)"
                )));
            }
        }
        Ok(())
    }

    /// The SECCOMP_FILTER_FLAG_* bits passed to seccomp(2).
    #[cfg(test)]
    pub fn flags(&self) -> libc::c_ulong {
        self.flags
    }

    /// The programs, in the order they are installed (for the fuzz targets' checks).
    pub(crate) fn programs(&self) -> &[BpfProgram] {
        &self.programs
    }

    /// Number of BPF instructions over all programs (for the recording fake).
    #[cfg(test)]
    pub fn instructions(&self) -> usize {
        self.programs.iter().map(Vec::len).sum()
    }
}

/// Validates and compiles `linux.seccomp`. Every error names the offending field.
pub fn compile(s: &LinuxSeccomp) -> Result<Filters> {
    if s.listener_path().is_some() {
        return Err(Error::invalid(
            "linux.seccomp.listenerPath: SCMP_ACT_NOTIFY is not supported by this build",
        ));
    }
    if s.listener_metadata().is_some() {
        return Err(Error::invalid(
            "linux.seccomp.listenerMetadata: SCMP_ACT_NOTIFY is not supported by this build",
        ));
    }
    let flags = parse_flags(s.flags().as_deref().unwrap_or(&[]))?;
    let default = parse_action(
        s.default_action(),
        s.default_errno_ret(),
        "linux.seccomp.defaultAction",
        "linux.seccomp.defaultErrnoRet",
    )?;
    // `architectures` is accepted whatever it lists: only x86_64 is ever filtered, every other
    // ABI is killed (see the module docs).

    let (per_syscall, max_nr) = collect_rules(s, default)?;
    let per_syscall = normalise(per_syscall)?;
    let program = build_program(&per_syscall, default, max_nr)?;
    Ok(Filters {
        programs: vec![program],
        flags,
    })
}

fn parse_flags(list: &[LinuxSeccompFilterFlag]) -> Result<libc::c_ulong> {
    let mut flags = 0;
    for (i, f) in list.iter().enumerate() {
        flags |= match f {
            LinuxSeccompFilterFlag::SeccompFilterFlagTsync => SECCOMP_FILTER_FLAG_TSYNC,
            LinuxSeccompFilterFlag::SeccompFilterFlagLog => SECCOMP_FILTER_FLAG_LOG,
            LinuxSeccompFilterFlag::SeccompFilterFlagSpecAllow => SECCOMP_FILTER_FLAG_SPEC_ALLOW,
            LinuxSeccompFilterFlag::SeccompFilterFlagWaitKillableRecv => {
                return Err(Error::invalid(format!(
                    "linux.seccomp.flags[{i}]: SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV only applies \
                     to SCMP_ACT_NOTIFY, which is not supported by this build"
                )))
            }
        };
    }
    Ok(flags)
}

fn parse_action(
    action: LinuxSeccompAction,
    errno_ret: Option<u32>,
    action_field: &str,
    errno_field: &str,
) -> Result<Action> {
    let data = |what: &str| -> Result<u16> {
        match errno_ret {
            None => Ok(libc::EPERM as u16),
            Some(v) => u16::try_from(v).map_err(|_| {
                Error::invalid(format!(
                    "{errno_field}: {v} does not fit the 16-bit {what} data of a seccomp filter"
                ))
            }),
        }
    };
    let action = match action {
        LinuxSeccompAction::ScmpActKill | LinuxSeccompAction::ScmpActKillThread => {
            Action::KillThread
        }
        LinuxSeccompAction::ScmpActKillProcess => Action::KillProcess,
        LinuxSeccompAction::ScmpActTrap => Action::Trap,
        LinuxSeccompAction::ScmpActErrno => return Ok(Action::Errno(data("ERRNO")?)),
        LinuxSeccompAction::ScmpActTrace => return Ok(Action::Trace(data("TRACE")?)),
        LinuxSeccompAction::ScmpActLog => Action::Log,
        LinuxSeccompAction::ScmpActAllow => Action::Allow,
        LinuxSeccompAction::ScmpActNotify => {
            return Err(Error::invalid(format!(
                "{action_field}: SCMP_ACT_NOTIFY is not supported by this build"
            )))
        }
    };
    if let Some(v) = errno_ret {
        return Err(Error::invalid(format!(
            "{errno_field}: {v} is only meaningful with SCMP_ACT_ERRNO or SCMP_ACT_TRACE"
        )));
    }
    Ok(action)
}

/// The rules per syscall number, in spec order, with rules equal to the default dropped; and
/// the highest syscall number named anywhere (for the -ENOSYS stub, as runc computes it).
fn collect_rules(s: &LinuxSeccomp, default: Action) -> Result<(BTreeMap<i64, Vec<Rule>>, i64)> {
    let mut per_syscall: BTreeMap<i64, Vec<Rule>> = BTreeMap::new();
    let mut max_nr = 0;
    for (i, sc) in s.syscalls().as_deref().unwrap_or(&[]).iter().enumerate() {
        let field = format!("linux.seccomp.syscalls[{i}]");
        let action = parse_action(
            sc.action(),
            sc.errno_ret(),
            &format!("{field}.action"),
            &format!("{field}.errnoRet"),
        )?;
        let mut conds = Vec::new();
        for (j, arg) in sc.args().as_deref().unwrap_or(&[]).iter().enumerate() {
            conds.push(Cond::parse(arg, &format!("{field}.args[{j}]"))?);
        }
        let mut numbers = Vec::new();
        for (j, name) in sc.names().iter().enumerate() {
            if name.is_empty() {
                return Err(Error::invalid(format!(
                    "{field}.names[{j}]: empty string is not a syscall name"
                )));
            }
            // Unknown names are skipped, as runc does: they may be newer than the table.
            if let Ok(nr) = Sysno::from_str(name) {
                numbers.push(i64::from(nr.id()));
            }
        }
        max_nr = numbers.iter().copied().fold(max_nr, i64::max);
        if action == default {
            continue; // redundant, as in runc
        }
        for mut set in split_repeated_indices(conds) {
            set.sort();
            set.dedup();
            for nr in &numbers {
                per_syscall.entry(*nr).or_default().push(Rule {
                    action,
                    conds: set.clone(),
                    origin: i,
                });
            }
        }
    }
    Ok((per_syscall, max_nr))
}

/// Applies libseccomp's per-syscall semantics: an unconditional rule overrides the rest (the
/// first one wins); identical conditions with different actions are an error.
fn normalise(per_syscall: BTreeMap<i64, Vec<Rule>>) -> Result<BTreeMap<i64, Vec<Rule>>> {
    let mut out = BTreeMap::new();
    for (nr, rules) in per_syscall {
        if let Some(first) = rules.iter().find(|r| r.conds.is_empty()) {
            out.insert(nr, vec![first.clone()]);
            continue;
        }
        let mut kept: Vec<Rule> = Vec::with_capacity(rules.len());
        for r in rules {
            if let Some(k) = kept.iter().find(|k| k.conds == r.conds) {
                if k.action != r.action {
                    return Err(Error::invalid(format!(
                        "linux.seccomp.syscalls[{}]: a rule for {} with the same arguments as \
                         linux.seccomp.syscalls[{}] has a different action",
                        r.origin,
                        syscall_name(nr),
                        k.origin
                    )));
                }
                continue;
            }
            kept.push(r);
        }
        out.insert(nr, kept);
    }
    Ok(out)
}

fn syscall_name(nr: i64) -> String {
    usize::try_from(nr)
        .ok()
        .and_then(Sysno::new)
        .map(|s| s.name().to_string())
        .unwrap_or_else(|| format!("syscall {nr}"))
}

fn stmt(code: u16, k: u32) -> sock_filter {
    sock_filter {
        code,
        jt: 0,
        jf: 0,
        k,
    }
}

fn jump(code: u16, k: u32, jt: u8, jf: u8) -> sock_filter {
    sock_filter { code, jt, jf, k }
}

/// The head of the program: the architecture check, the x32 check and, when runc would add
/// it, the -ENOSYS stub for syscalls newer than the profile.
fn prologue(default: Action, max_nr: i64) -> Vec<sock_filter> {
    let kill = Action::KillProcess.ret();
    let mut p = arch_check();
    p.extend([
        stmt(BPF_LD_W_ABS, DATA_NR),
        jump(BPF_JMP_JGE_K, X32_SYSCALL_BIT, 0, 1),
        stmt(BPF_RET_K, kill),
    ]);
    let enosys = Action::Errno(libc::ENOSYS as u16);
    if !default.is_permissive() && default != enosys && max_nr > 0 {
        // max_nr is a syscall number from the table: far below u32::MAX.
        let max = u32::try_from(max_nr).unwrap_or(u32::MAX);
        p.extend([
            jump(BPF_JMP_JGT_K, max, 0, 1),
            stmt(BPF_RET_K, enosys.ret()),
        ]);
    }
    p
}

/// seccompiler's architecture check, which starts each of its programs.
fn arch_check() -> Vec<sock_filter> {
    vec![
        stmt(BPF_LD_W_ABS, DATA_ARCH),
        jump(BPF_JMP_JEQ_K, AUDIT_ARCH_X86_64, 1, 0),
        stmt(BPF_RET_K, Action::KillProcess.ret()),
    ]
}

/// Compiles one seccompiler filter and returns its body (without the architecture check).
fn body(
    rules: BTreeMap<i64, Vec<SeccompRule>>,
    mismatch: Action,
    matched: Action,
) -> Result<Vec<sock_filter>> {
    let filter = SeccompFilter::new(
        rules,
        mismatch.to_seccompiler(),
        matched.to_seccompiler(),
        TargetArch::x86_64,
    )
    .and_then(BpfProgram::try_from)
    .map_err(|e| Error::invalid(format!("linux.seccomp: {e}")))?;
    let head = arch_check();
    if filter.len() < head.len() || filter[..head.len()] != head[..] {
        return Err(Error::other(
            "linux.seccomp: unexpected program layout from seccompiler (architecture check)",
        ));
    }
    Ok(filter[head.len()..].to_vec())
}

fn seccompiler_rules(rules: &[&Rule]) -> Result<Vec<SeccompRule>> {
    // An unconditional rule is alone after normalise(): an empty list means "match always".
    if rules.iter().any(|r| r.conds.is_empty()) {
        return Ok(Vec::new());
    }
    rules
        .iter()
        .map(|r| {
            let conds = r
                .conds
                .iter()
                .map(|c| c.to_seccompiler())
                .collect::<Result<Vec<_>>>()?;
            SeccompRule::new(conds)
                .map_err(|e| Error::other(format!("linux.seccomp: building a rule: {e}")))
        })
        .collect()
}

fn build_program(
    per_syscall: &BTreeMap<i64, Vec<Rule>>,
    default: Action,
    max_nr: i64,
) -> Result<BpfProgram> {
    // Groups: (action, first origin) in kernel precedence, then spec order.
    let mut groups: Vec<(Action, usize)> = Vec::new();
    for r in per_syscall.values().flatten() {
        match groups.iter_mut().find(|(a, _)| *a == r.action) {
            Some(g) => g.1 = g.1.min(r.origin),
            None => groups.push((r.action, r.origin)),
        }
    }
    groups.sort_by_key(|(a, origin)| (a.rank(), *origin));

    let mut program = prologue(default, max_nr);
    let allow_ret = Action::Allow.ret();
    for (action, _) in groups.iter().filter(|(a, _)| *a != Action::Allow) {
        let mut rules = BTreeMap::new();
        for (nr, list) in per_syscall {
            let mine: Vec<&Rule> = list.iter().filter(|r| r.action == *action).collect();
            if !mine.is_empty() {
                rules.insert(*nr, seccompiler_rules(&mine)?);
            }
        }
        let b = body(rules, Action::Allow, *action)?;
        let start = program.len();
        let next = start + b.len();
        for (i, mut insn) in b.into_iter().enumerate() {
            if insn.code == BPF_RET_K && insn.k == allow_ret {
                // Fall through to the next group instead of allowing. JA takes a 32-bit offset.
                let offset = next - (start + i) - 1;
                insn = stmt(BPF_JMP_JA, u32::try_from(offset).unwrap_or(u32::MAX));
            }
            program.push(insn);
        }
    }
    // The default filter ends the chain.
    let mut allow = BTreeMap::new();
    for (nr, list) in per_syscall {
        let mine: Vec<&Rule> = list.iter().filter(|r| r.action == Action::Allow).collect();
        if !mine.is_empty() {
            allow.insert(*nr, seccompiler_rules(&mine)?);
        }
    }
    if allow.is_empty() || default == Action::Allow {
        program.push(stmt(BPF_RET_K, default.ret()));
    } else {
        program.extend(body(allow, default, Action::Allow)?);
    }
    if program.len() > MAX_INSNS {
        return Err(Error::invalid(format!(
            "linux.seccomp: the profile compiles to {} BPF instructions, more than the kernel's \
             limit of {MAX_INSNS}",
            program.len()
        )));
    }
    Ok(program)
}

#[cfg(test)]
mod tests;
