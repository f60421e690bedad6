//! The x86_64 syscall table: names are checked against the `syscalls` crate (generated from the
//! kernel's own table), never against a hand-written list. Profiles are x86_64-only whatever the
//! build host is, so the x86_64 table is used explicitly.

use std::str::FromStr;

use syscalls::x86_64::Sysno;

/// True when `name` is a syscall of the x86_64 ABI.
pub fn is_known(name: &str) -> bool {
    Sysno::from_str(name).is_ok()
}

/// Every syscall name of the x86_64 ABI, in number order.
pub fn all_names() -> impl Iterator<Item = &'static str> {
    Sysno::iter().map(|sysno| sysno.name())
}

/// The syscall number of `name` on x86_64, if it exists.
pub fn number_of(name: &str) -> Option<usize> {
    Sysno::from_str(name).ok().map(|sysno| sysno.id() as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knows_common_and_rejects_made_up_names() {
        assert!(is_known("read"));
        assert!(is_known("clone3"));
        assert!(is_known("io_uring_setup"));
        assert!(!is_known("vm86"), "vm86 is 32-bit x86 only");
        assert!(!is_known("reed"));
        assert_eq!(number_of("read"), Some(0));
        assert_eq!(number_of("exit_group"), Some(231));
        assert!(all_names().count() > 300);
    }
}
