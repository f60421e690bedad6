//! Argument conditions (`linux.seccomp.syscalls[].args`): validating them and compiling them to
//! seccompiler conditions with the semantics runc 1.1 + libseccomp 2.5 give them.
//!
//! What libseccomp does, observed operator by operator against runc (the conformance test
//! `tests/conformance/tests/seccomp_operators.rs` checks both runtimes against one table):
//!
//! - every comparison is unsigned and on all 64 bits of the argument register: the high half
//!   decides unless it is equal, then the low half does. There is no 32-bit view: a rule
//!   `EQ 0xffffffff` does not match a register holding `0xffffffffffffffff` (an `int` -1 that
//!   the caller sign-extended), and `LT 1` does not match it either;
//! - MASKED_EQ compares `arg & value` with `valueTwo & value`: libseccomp masks the datum when
//!   the rule is added, so bits of `valueTwo` outside the mask are ignored (never "the rule
//!   can't match"). Two MASKED_EQ conditions whose datums differ only outside the mask are the
//!   same condition (which matters for the duplicate-rule check);
//! - conditions of one rule are ANDed, except that runc splits a rule that compares one
//!   argument index more than once into one rule per condition (ORed): see
//!   [`split_repeated_indices`].

use crate::error::{Error, Result};
use oci_spec::runtime::{LinuxSeccompArg, LinuxSeccompOperator};
use seccompiler::{SeccompCmpArgLen, SeccompCmpOp, SeccompCondition};

/// The comparison of one argument with its datum.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Cmp {
    Ne(u64),
    Lt(u64),
    Le(u64),
    Eq(u64),
    Ge(u64),
    Gt(u64),
    /// `arg & mask == datum`, with `datum` already masked (see [`Cmp::masked_eq`]).
    MaskedEq {
        mask: u64,
        datum: u64,
    },
}

impl Cmp {
    /// MASKED_EQ as libseccomp applies it: the datum's bits outside the mask are dropped.
    pub(super) fn masked_eq(mask: u64, datum: u64) -> Cmp {
        Cmp::MaskedEq {
            mask,
            datum: datum & mask,
        }
    }
}

/// One argument comparison, as validated from the spec.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Cond {
    /// The argument, 0 to 5.
    pub(super) index: u8,
    pub(super) cmp: Cmp,
}

impl Cond {
    /// Validates `linux.seccomp.syscalls[i].args[j]` (`field` names it in errors).
    pub(super) fn parse(arg: &LinuxSeccompArg, field: &str) -> Result<Cond> {
        let index = u8::try_from(arg.index())
            .ok()
            .filter(|i| *i <= 5)
            .ok_or_else(|| {
                Error::invalid(format!(
                    "{field}.index: {} is not a syscall argument (0 to 5)",
                    arg.index()
                ))
            })?;
        let value = arg.value();
        let cmp = match arg.op() {
            LinuxSeccompOperator::ScmpCmpNe => Cmp::Ne(value),
            LinuxSeccompOperator::ScmpCmpLt => Cmp::Lt(value),
            LinuxSeccompOperator::ScmpCmpLe => Cmp::Le(value),
            LinuxSeccompOperator::ScmpCmpEq => Cmp::Eq(value),
            LinuxSeccompOperator::ScmpCmpGe => Cmp::Ge(value),
            LinuxSeccompOperator::ScmpCmpGt => Cmp::Gt(value),
            // A missing valueTwo is 0: engines written in Go drop a zero valueTwo from the JSON
            // (omitempty), so Docker's `clone` rule (flags & CLONE_NEW* == 0) arrives without it.
            LinuxSeccompOperator::ScmpCmpMaskedEq => {
                Cmp::masked_eq(value, arg.value_two().unwrap_or(0))
            }
        };
        Ok(Cond { index, cmp })
    }

    /// The seccompiler condition: a 64-bit (Qword) comparison, which seccompiler compiles to
    /// a test of the high half and then, when it is equal, of the low half.
    pub(super) fn to_seccompiler(self) -> Result<SeccompCondition> {
        let (op, datum) = match self.cmp {
            Cmp::Ne(v) => (SeccompCmpOp::Ne, v),
            Cmp::Lt(v) => (SeccompCmpOp::Lt, v),
            Cmp::Le(v) => (SeccompCmpOp::Le, v),
            Cmp::Eq(v) => (SeccompCmpOp::Eq, v),
            Cmp::Ge(v) => (SeccompCmpOp::Ge, v),
            Cmp::Gt(v) => (SeccompCmpOp::Gt, v),
            Cmp::MaskedEq { mask, datum } => (SeccompCmpOp::MaskedEq(mask), datum),
        };
        SeccompCondition::new(self.index, SeccompCmpArgLen::Qword, op, datum)
            .map_err(|e| Error::other(format!("linux.seccomp: building a condition: {e}")))
    }
}

/// The condition sets one spec rule stands for (ORed): the rule's conditions ANDed, or, when
/// the rule compares one argument index more than once, one set per condition. runc 1.1 does
/// this split before libseccomp sees the rule ("revert to old behavior"), so
/// `[a0 >= 5, a0 <= 10]` matches every a0 rather than 5..=10.
pub(super) fn split_repeated_indices(conds: Vec<Cond>) -> Vec<Vec<Cond>> {
    let mut seen = [false; 6];
    let repeated = conds
        .iter()
        .any(|c| std::mem::replace(&mut seen[usize::from(c.index)], true));
    if repeated {
        conds.into_iter().map(|c| vec![c]).collect()
    } else {
        vec![conds]
    }
}
