//! The building blocks of a syscall allowlist: a permission (one reason to allow a syscall,
//! optionally only for some argument values), its argument conditions, and errno answers.

use std::fmt;

use serde::Deserialize;

/// How an argument is compared. Mirrors the OCI/libseccomp operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operator {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    /// `(arg & mask) == value`.
    MaskedEq,
}

/// One condition on one syscall argument. Conditions of one permission must all hold (AND).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ArgCondition {
    /// Argument index, 0..=5.
    pub index: u8,
    pub op: Operator,
    /// The value compared with (for `MaskedEq`: the value `arg & mask` must equal).
    pub value: u64,
    /// Only for `MaskedEq`.
    pub mask: Option<u64>,
}

impl ArgCondition {
    /// True when `arg` satisfies the condition (used by the guards of the dangerous list).
    pub fn holds_for(&self, arg: u64) -> bool {
        match self.op {
            Operator::Eq => arg == self.value,
            Operator::Ne => arg != self.value,
            Operator::Lt => arg < self.value,
            Operator::Le => arg <= self.value,
            Operator::Gt => arg > self.value,
            Operator::Ge => arg >= self.value,
            Operator::MaskedEq => arg & self.mask.unwrap_or(u64::MAX) == self.value,
        }
    }
}

impl fmt::Display for ArgCondition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let arg = format!("arg{}", self.index);
        match self.op {
            Operator::Eq => write!(f, "{arg} == {:#x}", self.value),
            Operator::Ne => write!(f, "{arg} != {:#x}", self.value),
            Operator::Lt => write!(f, "{arg} < {:#x}", self.value),
            Operator::Le => write!(f, "{arg} <= {:#x}", self.value),
            Operator::Gt => write!(f, "{arg} > {:#x}", self.value),
            Operator::Ge => write!(f, "{arg} >= {:#x}", self.value),
            Operator::MaskedEq => write!(
                f,
                "({arg} & {:#x}) == {:#x}",
                self.mask.unwrap_or(u64::MAX),
                self.value
            ),
        }
    }
}

/// One reason a syscall is allowed. With no conditions the syscall is allowed for any arguments;
/// with conditions, only when all of them hold. Several permissions for one syscall are
/// alternatives (OR).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Permission {
    /// Short name of the group the syscall was listed with ("stdio", "unix sockets").
    pub group: String,
    /// Why the workload needs it.
    pub reason: String,
    pub conditions: Vec<ArgCondition>,
    /// Name of the profile that granted it (for explain/diff).
    pub granted_by: String,
}

impl Permission {
    pub fn is_unconditional(&self) -> bool {
        self.conditions.is_empty()
    }

    /// The conditions as one readable expression, e.g. `arg0 == 0x1 && arg2 == 0x0`.
    pub fn conditions_text(&self) -> String {
        self.conditions
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(" && ")
    }
}

/// A syscall answered with a fixed errno instead of running (e.g. clone3 -> ENOSYS).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErrnoAnswer {
    pub errno_name: String,
    pub errno: u32,
    pub reason: String,
    pub granted_by: String,
}

/// The errno names a profile may use in `[[errno]]`, with their x86_64 values.
pub const KNOWN_ERRNOS: &[(&str, u32)] = &[
    ("EPERM", 1),
    ("ENOENT", 2),
    ("EACCES", 13),
    ("EINVAL", 22),
    ("ENOSYS", 38),
    ("EAFNOSUPPORT", 97),
    ("EOPNOTSUPP", 95),
];

/// The value of an errno name from [`KNOWN_ERRNOS`].
pub fn errno_value(name: &str) -> Option<u32> {
    KNOWN_ERRNOS
        .iter()
        .find(|(known, _)| *known == name)
        .map(|(_, value)| *value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masked_eq_checks_only_the_masked_bits() {
        let no_namespaces = ArgCondition {
            index: 0,
            op: Operator::MaskedEq,
            value: 0,
            mask: Some(0x7E02_0000),
        };
        assert!(no_namespaces.holds_for(0x003d_0f00)); // pthread_create's flags
        assert!(!no_namespaces.holds_for(0x1000_0000)); // CLONE_NEWUSER
        assert_eq!(no_namespaces.to_string(), "(arg0 & 0x7e020000) == 0x0");
    }

    #[test]
    fn errno_names_resolve() {
        assert_eq!(errno_value("ENOSYS"), Some(38));
        assert_eq!(errno_value("EWHATEVER"), None);
    }
}
