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
//!   condition (ORed) instead of an unsatisfiable AND;
//! - comparisons are unsigned and 64-bit; MASKED_EQ is `arg & value == valueTwo` (a `valueTwo`
//!   with bits outside the mask can never match, as in libseccomp);
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
//! ERRNO groups, the one listed first in the spec). No shipped profile (Docker, podman) has
//! such overlaps.
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

use crate::error::{Error, Result};
use oci_spec::runtime::{
    LinuxSeccomp, LinuxSeccompAction, LinuxSeccompArg, LinuxSeccompFilterFlag, LinuxSeccompOperator,
};
use seccompiler::{
    sock_filter, BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition,
    SeccompFilter, SeccompRule, TargetArch,
};
use std::collections::BTreeMap;
use std::io;
use std::str::FromStr;
use syscalls::x86_64::Sysno;

// Classic BPF opcodes (linux/bpf_common.h) for the instructions written by hand here.
const BPF_LD_W_ABS: u16 = 0x00 | 0x00 | 0x20;
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

/// One argument comparison, as validated from the spec.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Cond {
    index: u8,
    op: u8, // LinuxSeccompOperator as u32, for ordering
    value: u64,
    value_two: u64,
}

impl Cond {
    /// libseccomp's MASKED_EQ never matches when the datum has bits outside the mask.
    fn satisfiable(&self) -> bool {
        self.op != LinuxSeccompOperator::ScmpCmpMaskedEq as u8 || self.value_two & !self.value == 0
    }

    fn to_seccompiler(self) -> Result<SeccompCondition> {
        let (op, value) = match self.op {
            x if x == LinuxSeccompOperator::ScmpCmpNe as u8 => (SeccompCmpOp::Ne, self.value),
            x if x == LinuxSeccompOperator::ScmpCmpLt as u8 => (SeccompCmpOp::Lt, self.value),
            x if x == LinuxSeccompOperator::ScmpCmpLe as u8 => (SeccompCmpOp::Le, self.value),
            x if x == LinuxSeccompOperator::ScmpCmpEq as u8 => (SeccompCmpOp::Eq, self.value),
            x if x == LinuxSeccompOperator::ScmpCmpGe as u8 => (SeccompCmpOp::Ge, self.value),
            x if x == LinuxSeccompOperator::ScmpCmpGt as u8 => (SeccompCmpOp::Gt, self.value),
            _ => (SeccompCmpOp::MaskedEq(self.value), self.value_two),
        };
        SeccompCondition::new(self.index, SeccompCmpArgLen::Qword, op, value)
            .map_err(|e| Error::other(format!("linux.seccomp: building a condition: {e}")))
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
    pub fn flags(&self) -> libc::c_ulong {
        self.flags
    }

    /// Number of BPF instructions over all programs (for diagnostics and benchmarks).
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

fn parse_arg(arg: &LinuxSeccompArg, field: &str) -> Result<Cond> {
    let index = u8::try_from(arg.index())
        .ok()
        .filter(|i| *i <= 5)
        .ok_or_else(|| {
            Error::invalid(format!(
                "{field}.index: {} is not a syscall argument (0 to 5)",
                arg.index()
            ))
        })?;
    let op = arg.op();
    if op == LinuxSeccompOperator::ScmpCmpMaskedEq && arg.value_two().is_none() {
        return Err(Error::invalid(format!(
            "{field}.valueTwo: SCMP_CMP_MASKED_EQ needs valueTwo (value is the mask)"
        )));
    }
    Ok(Cond {
        index,
        op: op as u8,
        value: arg.value(),
        value_two: arg.value_two().unwrap_or(0),
    })
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
            conds.push(parse_arg(arg, &format!("{field}.args[{j}]"))?);
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
        // runc: a rule comparing one argument index twice becomes one rule per condition.
        let mut seen = [false; 6];
        let repeated = conds
            .iter()
            .any(|c| std::mem::replace(&mut seen[usize::from(c.index)], true));
        let sets: Vec<Vec<Cond>> = if repeated {
            conds.iter().map(|c| vec![*c]).collect()
        } else {
            vec![conds]
        };
        for mut set in sets {
            if !set.iter().all(Cond::satisfiable) {
                continue;
            }
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
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(v: serde_json::Value) -> LinuxSeccomp {
        serde_json::from_value(v).expect("valid LinuxSeccomp JSON")
    }

    fn err(v: serde_json::Value) -> String {
        match compile(&spec(v)) {
            Ok(_) => panic!("expected an error"),
            Err(e) => e.to_string(),
        }
    }

    fn program(v: serde_json::Value) -> BpfProgram {
        let f = compile(&spec(v)).expect("compiles");
        assert_eq!(f.programs.len(), 1);
        f.programs[0].clone()
    }

    const I386: u32 = 3 | 0x4000_0000; // AUDIT_ARCH_I386

    /// A classic-BPF interpreter for the instructions seccomp programs use, run over
    /// `struct seccomp_data`. Panics on anything malformed, like the kernel's checker would
    /// refuse it.
    fn run(prog: &[sock_filter], arch: u32, nr: u32, args: [u64; 6]) -> u32 {
        let mut data = vec![nr, arch, 0, 0];
        for a in args {
            data.push(a as u32);
            data.push((a >> 32) as u32);
        }
        let mut acc: u32 = 0;
        let mut pc = 0usize;
        loop {
            let i = &prog[pc];
            pc += 1;
            match i.code {
                BPF_LD_W_ABS => acc = data[i.k as usize / 4],
                0x54 => acc &= i.k, // BPF_ALU | BPF_AND | BPF_K
                BPF_JMP_JA => pc += i.k as usize,
                BPF_JMP_JEQ_K | BPF_JMP_JGT_K | BPF_JMP_JGE_K => {
                    let t = match i.code {
                        BPF_JMP_JEQ_K => acc == i.k,
                        BPF_JMP_JGT_K => acc > i.k,
                        _ => acc >= i.k,
                    };
                    pc += usize::from(if t { i.jt } else { i.jf });
                }
                BPF_RET_K => return i.k,
                c => panic!("unexpected BPF opcode {c:#x} at {}", pc - 1),
            }
        }
    }

    fn nr(name: &str) -> u32 {
        Sysno::from_str(name).unwrap().id() as u32
    }

    /// Runs an x86_64 syscall through the program.
    fn call(p: &[sock_filter], name: &str, args: [u64; 6]) -> u32 {
        run(p, AUDIT_ARCH_X86_64, nr(name), args)
    }

    const ALLOW: u32 = 0x7fff_0000;
    const LOG: u32 = 0x7ffc_0000;
    const KILL_PROCESS: u32 = 0x8000_0000;
    const KILL_THREAD: u32 = 0;
    const TRAP: u32 = 0x0003_0000;
    fn errno(e: u32) -> u32 {
        0x0005_0000 | e
    }
    fn trace(e: u32) -> u32 {
        0x7ff0_0000 | e
    }
    const A0: [u64; 6] = [0; 6];
    fn a0(v: u64) -> [u64; 6] {
        [v, 0, 0, 0, 0, 0]
    }

    #[test]
    fn errors_name_the_field() {
        let cases = [
            (
                json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
                    {"names": ["read"], "action": "SCMP_ACT_ERRNO"},
                    {"names": ["write"], "action": "SCMP_ACT_NOTIFY"}]}),
                "linux.seccomp.syscalls[1].action: SCMP_ACT_NOTIFY is not supported by this build",
            ),
            (
                json!({"defaultAction": "SCMP_ACT_NOTIFY"}),
                "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY is not supported by this build",
            ),
            (
                json!({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/run/agent.sock"}),
                "linux.seccomp.listenerPath: SCMP_ACT_NOTIFY is not supported by this build",
            ),
            (
                json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
                    {"names": ["read"], "action": "SCMP_ACT_ERRNO",
                     "args": [{"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]}]}),
                "linux.seccomp.syscalls[0].args[0].index: 6 is not a syscall argument",
            ),
            (
                json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
                    {"names": ["read"], "action": "SCMP_ACT_ERRNO",
                     "args": [{"index": 1, "value": 1, "op": "SCMP_CMP_MASKED_EQ"}]}]}),
                "linux.seccomp.syscalls[0].args[0].valueTwo: SCMP_CMP_MASKED_EQ needs valueTwo",
            ),
            (
                json!({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
                    {"names": ["read"], "action": "SCMP_ACT_ALLOW", "errnoRet": 5}]}),
                "linux.seccomp.syscalls[0].errnoRet: 5 is only meaningful with SCMP_ACT_ERRNO",
            ),
            (
                json!({"defaultAction": "SCMP_ACT_KILL", "defaultErrnoRet": 5}),
                "linux.seccomp.defaultErrnoRet: 5 is only meaningful",
            ),
            (
                json!({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 70000}),
                "linux.seccomp.defaultErrnoRet: 70000 does not fit",
            ),
            (
                json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
                    {"names": ["read", ""], "action": "SCMP_ACT_ERRNO"}]}),
                "linux.seccomp.syscalls[0].names[1]: empty string is not a syscall name",
            ),
            (
                json!({"defaultAction": "SCMP_ACT_ALLOW",
                       "flags": ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]}),
                "linux.seccomp.flags[1]: SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
            ),
            (
                json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
                    {"names": ["personality"], "action": "SCMP_ACT_ERRNO",
                     "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]},
                    {"names": ["personality"], "action": "SCMP_ACT_KILL",
                     "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]}]}),
                "linux.seccomp.syscalls[1]: a rule for personality with the same arguments as \
                 linux.seccomp.syscalls[0] has a different action",
            ),
        ];
        for (v, want) in cases {
            let got = err(v.clone());
            assert!(
                got.starts_with(want),
                "for {v}\n got: {got}\nwant: {want}..."
            );
            assert!(!got.contains('\n'), "one line: {got}");
        }
    }

    #[test]
    fn unknown_names_are_skipped_and_empty_rules_dropped() {
        let with = program(json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
            {"names": ["no_such_syscall_yet", "mkdir"], "action": "SCMP_ACT_ERRNO"},
            {"names": ["also_unknown"], "action": "SCMP_ACT_KILL"},
            {"names": [], "action": "SCMP_ACT_TRAP"}]}));
        let without = program(json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
            {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"}]}));
        assert_eq!(with, without);
        assert_eq!(call(&with, "mkdir", A0), errno(1));
        assert_eq!(call(&with, "getpid", A0), ALLOW);
    }

    #[test]
    fn allowlist_under_errno_default() {
        let p = program(
            json!({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 38,
            "syscalls": [
                {"names": ["read", "write", "exit_group"], "action": "SCMP_ACT_ALLOW"},
                {"names": ["mount"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}),
        );
        assert_eq!(call(&p, "read", A0), ALLOW);
        assert_eq!(call(&p, "exit_group", A0), ALLOW);
        assert_eq!(call(&p, "mount", A0), errno(1));
        assert_eq!(call(&p, "getpid", A0), errno(38));
    }

    #[test]
    fn errno_rule_under_allow_default_with_specific_errno() {
        let p = program(json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
            {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38},
            {"names": ["rmdir"], "action": "SCMP_ACT_ERRNO"}]}));
        assert_eq!(call(&p, "mkdirat", A0), errno(38));
        assert_eq!(call(&p, "mkdir", A0), errno(38));
        assert_eq!(call(&p, "rmdir", A0), errno(1)); // EPERM when errnoRet is absent
        assert_eq!(call(&p, "read", A0), ALLOW);
    }

    #[test]
    fn every_action_maps_to_its_kernel_value() {
        let p = program(json!({"defaultAction": "SCMP_ACT_LOG", "syscalls": [
            {"names": ["read"], "action": "SCMP_ACT_KILL"},
            {"names": ["write"], "action": "SCMP_ACT_KILL_THREAD"},
            {"names": ["open"], "action": "SCMP_ACT_KILL_PROCESS"},
            {"names": ["close"], "action": "SCMP_ACT_TRAP"},
            {"names": ["stat"], "action": "SCMP_ACT_TRACE"},
            {"names": ["fstat"], "action": "SCMP_ACT_TRACE", "errnoRet": 7},
            {"names": ["lstat"], "action": "SCMP_ACT_ALLOW"},
            {"names": ["poll"], "action": "SCMP_ACT_ERRNO", "errnoRet": 0}]}));
        assert_eq!(call(&p, "read", A0), KILL_THREAD);
        assert_eq!(call(&p, "write", A0), KILL_THREAD);
        assert_eq!(call(&p, "open", A0), KILL_PROCESS);
        assert_eq!(call(&p, "close", A0), TRAP);
        assert_eq!(call(&p, "stat", A0), trace(1));
        assert_eq!(call(&p, "fstat", A0), trace(7));
        assert_eq!(call(&p, "lstat", A0), ALLOW);
        assert_eq!(call(&p, "poll", A0), errno(0));
        assert_eq!(call(&p, "getpid", A0), LOG);
    }

    #[test]
    fn args_and_within_a_rule_or_across_rules() {
        let p = program(json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
            {"names": ["kill"], "action": "SCMP_ACT_ERRNO", "args": [
                {"index": 0, "value": 1, "op": "SCMP_CMP_EQ"},
                {"index": 1, "value": 10, "op": "SCMP_CMP_EQ"}]},
            {"names": ["kill"], "action": "SCMP_ACT_ERRNO", "args": [
                {"index": 1, "value": 12, "op": "SCMP_CMP_EQ"}]},
            {"names": ["kill"], "action": "SCMP_ACT_ERRNO", "errnoRet": 75, "args": [
                {"index": 1, "value": 240, "valueTwo": 16, "op": "SCMP_CMP_MASKED_EQ"}]}]}));
        let kill = |pid: u64, sig: u64| call(&p, "kill", [pid, sig, 0, 0, 0, 0]);
        assert_eq!(kill(1, 10), errno(1));
        assert_eq!(kill(2, 10), ALLOW);
        assert_eq!(kill(2, 12), errno(1));
        assert_eq!(kill(1, 18), errno(75)); // 18 & 0xf0 == 0x10
        assert_eq!(kill(1, 31), errno(75));
        assert_eq!(kill(1, 15), ALLOW);
        assert_eq!(kill(2, 0x1_0000_000c), ALLOW); // EQ compares all 64 bits
        assert_eq!(kill(1, 0x1_0000_0012), errno(75)); // the mask has no high bits
    }

    #[test]
    fn operators_compare_unsigned_64_bit() {
        let rule = |op: &str, v: u64| {
            program(json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
                {"names": ["personality"], "action": "SCMP_ACT_KILL_PROCESS",
                 "args": [{"index": 0, "value": v, "op": op}]}]}))
        };
        let big = 0x1_0000_0000u64;
        let table: [(&str, u64, &[(u64, bool)]); 6] = [
            (
                "SCMP_CMP_EQ",
                big,
                &[(big, true), (0, false), (big + 1, false)],
            ),
            ("SCMP_CMP_NE", big, &[(big, false), (0, true), (1, true)]),
            (
                "SCMP_CMP_LT",
                big,
                &[(big - 1, true), (big, false), (u64::MAX, false)],
            ),
            (
                "SCMP_CMP_LE",
                big,
                &[(big, true), (big + 1, false), (0, true)],
            ),
            (
                "SCMP_CMP_GT",
                big,
                &[(big + 1, true), (big, false), (u64::MAX, true)],
            ),
            (
                "SCMP_CMP_GE",
                big,
                &[(big, true), (big - 1, false), (u64::MAX, true)],
            ),
        ];
        for (op, v, probes) in table {
            let p = rule(op, v);
            for (arg, killed) in probes {
                let want = if *killed { KILL_PROCESS } else { ALLOW };
                assert_eq!(
                    call(&p, "personality", a0(*arg)),
                    want,
                    "{op} {v:#x} on {arg:#x}"
                );
            }
        }
        // MASKED_EQ whose datum has bits outside the mask never matches (libseccomp).
        let p = program(json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
            {"names": ["personality"], "action": "SCMP_ACT_KILL_PROCESS",
             "args": [{"index": 0, "value": 0xf, "valueTwo": 0x13, "op": "SCMP_CMP_MASKED_EQ"}]}]}));
        assert_eq!(call(&p, "personality", a0(0x13)), ALLOW);
        assert_eq!(call(&p, "personality", a0(0x3)), ALLOW);
    }

    #[test]
    fn repeated_argument_index_is_ored_like_runc() {
        let p = program(json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
            {"names": ["kill"], "action": "SCMP_ACT_ERRNO", "args": [
                {"index": 1, "value": 3, "op": "SCMP_CMP_EQ"},
                {"index": 1, "value": 4, "op": "SCMP_CMP_EQ"}]}]}));
        assert_eq!(call(&p, "kill", [1, 3, 0, 0, 0, 0]), errno(1));
        assert_eq!(call(&p, "kill", [1, 4, 0, 0, 0, 0]), errno(1));
        assert_eq!(call(&p, "kill", [1, 5, 0, 0, 0, 0]), ALLOW);
    }

    /// The corners checked against libseccomp 2.5.4 by experiment (see the module docs).
    #[test]
    fn mixed_actions_for_one_syscall_match_libseccomp() {
        let base = |rules: serde_json::Value| {
            let mut v = json!({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 38,
                "syscalls": [{"names": ["write"], "action": "SCMP_ACT_ALLOW"}]});
            v["syscalls"]
                .as_array_mut()
                .unwrap()
                .extend(rules.as_array().unwrap().clone());
            program(v)
        };
        let eq = |v: u64| json!([{"index": 0, "value": v, "op": "SCMP_CMP_EQ"}]);
        // Conditional ALLOW + unconditional ERRNO: the unconditional rule wins.
        let p = base(json!([
            {"names": ["personality"], "action": "SCMP_ACT_ALLOW", "args": eq(0xffff_ffff)},
            {"names": ["personality"], "action": "SCMP_ACT_ERRNO"}]));
        assert_eq!(call(&p, "personality", a0(0xffff_ffff)), errno(1));
        assert_eq!(call(&p, "personality", a0(8)), errno(1));
        // Unconditional ALLOW + conditional ERRNO, in both orders: ALLOW always.
        for rules in [
            json!([{"names": ["personality"], "action": "SCMP_ACT_ALLOW"},
                   {"names": ["personality"], "action": "SCMP_ACT_ERRNO", "args": eq(8)}]),
            json!([{"names": ["personality"], "action": "SCMP_ACT_ERRNO", "args": eq(8)},
                   {"names": ["personality"], "action": "SCMP_ACT_ALLOW"}]),
        ] {
            let p = base(rules);
            assert_eq!(call(&p, "personality", a0(8)), ALLOW);
            assert_eq!(call(&p, "personality", a0(3)), ALLOW);
        }
        // Two unconditional rules: the first one wins.
        let p = base(json!([
            {"names": ["personality"], "action": "SCMP_ACT_ERRNO", "errnoRet": 2},
            {"names": ["personality"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]));
        assert_eq!(call(&p, "personality", a0(0)), errno(2));
        // Overlapping conditional ALLOW and ERRNO: ERRNO where both match.
        let p = base(json!([
            {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
             "args": [{"index": 0, "value": 5, "op": "SCMP_CMP_GE"}]},
            {"names": ["personality"], "action": "SCMP_ACT_ERRNO",
             "args": [{"index": 0, "value": 10, "op": "SCMP_CMP_LE"}]}]));
        assert_eq!(call(&p, "personality", a0(7)), errno(1));
        assert_eq!(call(&p, "personality", a0(3)), errno(1));
        assert_eq!(call(&p, "personality", a0(12)), ALLOW);
        // Conditions on different arguments, both matching: ERRNO.
        let p = base(json!([
            {"names": ["personality"], "action": "SCMP_ACT_ALLOW", "args": eq(7)},
            {"names": ["personality"], "action": "SCMP_ACT_ERRNO",
             "args": [{"index": 1, "value": 0, "op": "SCMP_CMP_EQ"}]}]));
        assert_eq!(call(&p, "personality", a0(7)), errno(1));
        assert_eq!(call(&p, "personality", [7, 1, 0, 0, 0, 0]), ALLOW);
        assert_eq!(call(&p, "personality", [6, 1, 0, 0, 0, 0]), errno(38));
    }

    #[test]
    fn rules_equal_to_the_default_are_dropped_like_runc() {
        // runc skips the ERRNO(EPERM) rule (same as the default), so the conditional ALLOW
        // stands alone instead of being overridden by an unconditional rule.
        let p = program(json!({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
            {"names": ["personality"], "action": "SCMP_ACT_ERRNO"},
            {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
             "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_EQ"}]}]}));
        assert_eq!(call(&p, "personality", a0(0)), ALLOW);
        assert_eq!(call(&p, "personality", a0(8)), errno(1));
        // A different errno is not the default: it is kept.
        let p = program(json!({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
            {"names": ["personality"], "action": "SCMP_ACT_ERRNO", "errnoRet": 22},
            {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
             "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_EQ"}]}]}));
        assert_eq!(call(&p, "personality", a0(0)), errno(22));
    }

    #[test]
    fn precedence_across_groups() {
        let ge = |v: u64| json!([{"index": 0, "value": v, "op": "SCMP_CMP_GE"}]);
        let p = program(json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
            {"names": ["personality"], "action": "SCMP_ACT_LOG", "args": ge(1)},
            {"names": ["personality"], "action": "SCMP_ACT_ERRNO", "errnoRet": 5, "args": ge(2)},
            {"names": ["personality"], "action": "SCMP_ACT_ERRNO", "errnoRet": 6, "args": ge(3)},
            {"names": ["personality"], "action": "SCMP_ACT_TRAP", "args": ge(4)},
            {"names": ["personality"], "action": "SCMP_ACT_KILL_PROCESS", "args": ge(5)}]}));
        let got: Vec<u32> = (0..6).map(|v| call(&p, "personality", a0(v))).collect();
        // Of two ERRNO groups, the one listed first wins.
        assert_eq!(got, [ALLOW, LOG, errno(5), errno(5), TRAP, KILL_PROCESS]);
    }

    #[test]
    fn foreign_abis_are_killed() {
        for default in ["SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_LOG"] {
            let p = program(json!({"defaultAction": default, "syscalls": [
                {"names": ["getpid"], "action": "SCMP_ACT_ALLOW"},
                {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"}],
                "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]}));
            // x32: getpid (39) and mkdir (83) with bit 30 set.
            assert_eq!(
                run(&p, AUDIT_ARCH_X86_64, X32_SYSCALL_BIT | 39, A0),
                KILL_PROCESS
            );
            assert_eq!(
                run(&p, AUDIT_ARCH_X86_64, X32_SYSCALL_BIT | 83, A0),
                KILL_PROCESS
            );
            assert_eq!(run(&p, AUDIT_ARCH_X86_64, u32::MAX, A0), KILL_PROCESS);
            // i386 getpid (20) and anything else.
            assert_eq!(run(&p, I386, 20, A0), KILL_PROCESS);
            assert_eq!(run(&p, I386, 39, A0), KILL_PROCESS);
            assert_eq!(call(&p, "getpid", A0), ALLOW);
        }
        // The checks head the program, before any rule.
        let p = program(json!({"defaultAction": "SCMP_ACT_ALLOW"}));
        assert_eq!(p[..3], arch_check()[..]);
        assert_eq!(p[4], jump(BPF_JMP_JGE_K, X32_SYSCALL_BIT, 0, 1));
        assert_eq!(p.len(), 7);
    }

    #[test]
    fn enosys_for_syscalls_newer_than_the_profile() {
        let p = program(json!({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
            {"names": ["read", "openat"], "action": "SCMP_ACT_ALLOW"}]}));
        assert_eq!(call(&p, "openat", A0), ALLOW);
        assert_eq!(call(&p, "mkdir", A0), errno(1)); // 83 < openat (257): the default
        assert_eq!(call(&p, "mkdirat", A0), errno(38)); // 258 > openat: ENOSYS
        assert_eq!(call(&p, "clone3", A0), errno(38));
        // Not when the default is permissive or already ENOSYS.
        for d in [
            json!({"defaultAction": "SCMP_ACT_LOG"}),
            json!({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 38}),
        ] {
            let mut v = d.clone();
            v["syscalls"] = json!([{"names": ["read"], "action": "SCMP_ACT_KILL"}]);
            let p = program(v);
            let want = if d["defaultAction"] == "SCMP_ACT_LOG" {
                LOG
            } else {
                errno(38)
            };
            assert_eq!(call(&p, "clone3", A0), want);
        }
    }

    #[test]
    fn flags() {
        let f = compile(&spec(json!({"defaultAction": "SCMP_ACT_ALLOW", "flags": [
            "SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
            "SECCOMP_FILTER_FLAG_SPEC_ALLOW"]})))
        .unwrap();
        assert_eq!(f.flags(), 7);
    }

    /// podman's profile (the conformance fixture) made OCI for a container without
    /// capabilities on amd64, the way podman does: `includes` must hold, `excludes` must not.
    fn podman_profile() -> serde_json::Value {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/conformance/fixtures/podman-seccomp.json"
        );
        let text = std::fs::read_to_string(path).expect("read podman fixture");
        let p: serde_json::Value = serde_json::from_str(&text).unwrap();
        let mut syscalls = Vec::new();
        for r in p["syscalls"].as_array().unwrap() {
            let inc = &r["includes"];
            let exc = &r["excludes"];
            let has = |v: &serde_json::Value, k: &str| {
                v[k].as_array().map(|a| !a.is_empty()).unwrap_or(false)
            };
            if has(inc, "caps") || has(inc, "minKernel") {
                continue;
            }
            if has(inc, "arches") && !inc["arches"].as_array().unwrap().contains(&json!("amd64")) {
                continue;
            }
            if has(exc, "arches") && exc["arches"].as_array().unwrap().contains(&json!("amd64")) {
                continue;
            }
            let mut r = r.clone();
            let o = r.as_object_mut().unwrap();
            o.remove("includes");
            o.remove("excludes");
            o.remove("comment");
            syscalls.push(r);
        }
        json!({"defaultAction": p["defaultAction"], "defaultErrnoRet": p["defaultErrnoRet"],
               "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
               "syscalls": syscalls})
    }

    #[test]
    fn podman_profile_compiles_small_and_right() {
        let f = compile(&spec(podman_profile())).expect("podman profile compiles");
        let p = &f.programs[0];
        assert!(p.len() < 2500, "{} instructions", p.len());
        assert_eq!(call(p, "read", A0), ALLOW);
        assert_eq!(call(p, "execve", A0), ALLOW);
        assert_eq!(call(p, "mount", A0), ALLOW); // left to capabilities by podman
                                                 // setns is both in the big ALLOW rule and (without CAP_SYS_ADMIN) in an ERRNO rule
                                                 // listed later: the first unconditional rule wins, as in libseccomp.
        assert_eq!(call(p, "setns", A0), ALLOW);
        assert_eq!(call(p, "kexec_load", A0), errno(1));
        assert_eq!(call(p, "personality", a0(8)), ALLOW);
        assert_eq!(call(p, "personality", a0(0xffff_ffff)), ALLOW);
        assert_eq!(call(p, "personality", a0(0x40008)), errno(38));
        assert_eq!(call(p, "swapon", A0), errno(1));
        assert_eq!(call(p, "add_key", A0), errno(38));
        assert_eq!(call(p, "socket", [16, 3, 9, 0, 0, 0]), errno(22)); // NETLINK_AUDIT
        assert_eq!(call(p, "socket", [16, 3, 0, 0, 0, 0]), ALLOW);
        assert_eq!(call(p, "socket", [2, 1, 0, 0, 0, 0]), ALLOW);
    }

    /// Forks, runs `probe` in the child after no_new_privs and `install`, and returns the
    /// child's wait status. The child only makes raw syscalls (async-signal-safe).
    fn in_child(f: &Filters, probe: fn() -> i32) -> i32 {
        // SAFETY: the child calls only prctl, seccomp (install does not allocate on success),
        // raw syscalls and _exit.
        unsafe {
            let pid = libc::fork();
            assert!(pid >= 0, "fork");
            if pid == 0 {
                if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
                    libc::_exit(100);
                }
                if f.install().is_err() {
                    libc::_exit(101);
                }
                libc::_exit(probe());
            }
            let mut status = 0;
            assert_eq!(libc::waitpid(pid, &mut status, 0), pid);
            status
        }
    }

    fn errno_of(ret: libc::c_long) -> i32 {
        if ret < 0 {
            io::Error::last_os_error().raw_os_error().unwrap_or(-1)
        } else {
            0
        }
    }

    #[test]
    fn kernel_accepts_and_enforces_the_program() {
        let f = compile(&spec(
            json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
            {"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 77},
            {"names": ["getpgid"], "action": "SCMP_ACT_ERRNO", "args": [
                {"index": 0, "value": 12345, "op": "SCMP_CMP_EQ"}]},
            {"names": ["getsid"], "action": "SCMP_ACT_KILL_PROCESS"}],
            "flags": ["SECCOMP_FILTER_FLAG_TSYNC"]}),
        ))
        .unwrap();
        fn errno_probe() -> i32 {
            // SAFETY: plain syscalls without pointers.
            let (a, b, c) = unsafe {
                (
                    errno_of(libc::syscall(libc::SYS_getppid)),
                    errno_of(libc::syscall(libc::SYS_getpgid, 12345)),
                    errno_of(libc::syscall(libc::SYS_getpgid, 0)),
                )
            };
            if (a, b, c) == (77, libc::EPERM, 0) {
                0
            } else {
                1
            }
        }
        let st = in_child(&f, errno_probe);
        assert!(
            libc::WIFEXITED(st) && libc::WEXITSTATUS(st) == 0,
            "status {st:#x}"
        );
        fn kill_probe() -> i32 {
            // SAFETY: a plain syscall.
            unsafe { libc::syscall(libc::SYS_getsid, 0) };
            0
        }
        let st = in_child(&f, kill_probe);
        assert!(
            libc::WIFSIGNALED(st) && libc::WTERMSIG(st) == libc::SIGSYS,
            "status {st:#x}"
        );
    }

    #[test]
    fn kernel_kills_x32_and_i386_syscalls() {
        let f = compile(&spec(
            json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
            {"names": ["getpid"], "action": "SCMP_ACT_ERRNO"}]}),
        ))
        .unwrap();
        fn x32_probe() -> i32 {
            // SAFETY: x32 getpid takes no arguments.
            unsafe { libc::syscall(0x4000_0000 | libc::SYS_getpid) };
            0
        }
        fn i386_probe() -> i32 {
            let ret: i32;
            // SAFETY: i386 getpid (20) through int 0x80 takes no arguments and touches no
            // memory; without IA32 emulation it faults with SIGSEGV, which the test reports.
            unsafe {
                std::arch::asm!("int 0x80", inlateout("eax") 20 => ret, options(nostack));
            }
            if ret > 0 {
                0
            } else {
                2
            }
        }
        for (name, probe) in [("x32", x32_probe as fn() -> i32), ("i386", i386_probe)] {
            let st = in_child(&f, probe);
            assert!(
                libc::WIFSIGNALED(st) && libc::WTERMSIG(st) == libc::SIGSYS,
                "{name} syscall was not killed: status {st:#x}"
            );
        }
    }

    #[test]
    fn kernel_accepts_the_podman_profile() {
        let f = compile(&spec(podman_profile())).unwrap();
        fn probe() -> i32 {
            // SAFETY: plain syscalls without pointers.
            unsafe {
                let pid = libc::syscall(libc::SYS_getpid);
                let swap = errno_of(libc::syscall(libc::SYS_swapoff, 0));
                let pers = errno_of(libc::syscall(libc::SYS_personality, 0x40008));
                if pid > 0 && swap == libc::EPERM && pers == libc::ENOSYS {
                    0
                } else {
                    1
                }
            }
        }
        let st = in_child(&f, probe);
        assert!(
            libc::WIFEXITED(st) && libc::WEXITSTATUS(st) == 0,
            "status {st:#x}"
        );
    }
}
