//! The dangerous list: syscalls that no profile but `unrestricted` may allow. It holds everything
//! Docker's default profile denies to a container without capabilities, and more. A deny is
//! expressed by absence from the allowlist (the default action answers EPERM); this list is what
//! the loader refuses to let any profile file, built-in or user, put on the allowlist.
//!
//! Two entries are allowed only in a safe form (a guard on their arguments): `clone` when no
//! CLONE_NEW* bit is set, and `personality` for the harmless personas. The 32-bit syscalls
//! (`vm86`, `vm86old`, ...) are not in the x86_64 table at all: the filter lists only
//! SCMP_ARCH_X86_64, so the whole i386 and x32 ABIs are denied.

use crate::rules::{Operator, Permission};

/// The namespace bits of clone's flags: CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS |
/// CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET. (CLONE_NEWTIME, 0x80, overlaps
/// the exit-signal byte of clone and can only be requested through clone3 or unshare.)
pub const CLONE_NAMESPACE_FLAGS: u64 = 0x7E02_0000;

/// personality(2) values that change nothing dangerous: PER_LINUX, and 0xffffffff (query).
pub const SAFE_PERSONALITIES: &[u64] = &[0, 0xffff_ffff];

/// When a dangerous syscall may nevertheless be allowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Guard {
    /// Never allowed.
    Never,
    /// Allowed only with a `masked_eq` condition on `arg` whose mask covers `bits` and whose
    /// value has none of them set: the call cannot carry any of those bits.
    NoneOfTheseBits { arg: u8, bits: u64 },
    /// Allowed only with an `eq` condition on `arg` equal to one of `values`.
    OneOfTheseValues { arg: u8, values: &'static [u64] },
}

/// One entry of the dangerous list.
#[derive(Clone, Copy, Debug)]
pub struct DangerousSyscall {
    pub name: &'static str,
    pub why: &'static str,
    pub guard: Guard,
}

impl DangerousSyscall {
    /// True when `permission` allows this syscall only in its safe form.
    pub fn permits_safely(&self, permission: &Permission) -> bool {
        match self.guard {
            Guard::Never => false,
            Guard::NoneOfTheseBits { arg, bits } => permission.conditions.iter().any(|c| {
                c.index == arg
                    && c.op == Operator::MaskedEq
                    && c.mask.unwrap_or(0) & bits == bits
                    && c.value & bits == 0
            }),
            Guard::OneOfTheseValues { arg, values } => permission
                .conditions
                .iter()
                .any(|c| c.index == arg && c.op == Operator::Eq && values.contains(&c.value)),
        }
    }
}

const fn never(name: &'static str, why: &'static str) -> DangerousSyscall {
    DangerousSyscall {
        name,
        why,
        guard: Guard::Never,
    }
}

/// Every syscall a sandboxed workload must not run, with why.
pub const DANGEROUS_SYSCALLS: &[DangerousSyscall] = &[
    // Mounts and the filesystem tree.
    never("mount", "changes the mount table; escape and host-file exposure"),
    never("umount2", "unmounts masked or read-only overlays, exposing what they hide"),
    never("pivot_root", "changes the root filesystem"),
    never("chroot", "changes the root directory; a classic escape primitive with open fds"),
    never("move_mount", "new mount API: moves mounts"),
    never("open_tree", "new mount API: clones mount trees"),
    never("fsopen", "new mount API: creates a filesystem context"),
    never("fsconfig", "new mount API: configures a filesystem context"),
    never("fsmount", "new mount API: creates a mount"),
    never("fspick", "new mount API: reconfigures an existing mount"),
    never("mount_setattr", "changes mount attributes (e.g. drops read-only)"),
    never("open_by_handle_at", "opens files by handle, bypassing path checks (the 'shocker' escape)"),
    never("name_to_handle_at", "produces file handles for open_by_handle_at; leaks inode identities"),
    // Namespaces.
    never("unshare", "creates namespaces; unprivileged user namespaces open a large kernel attack surface"),
    never("setns", "joins other namespaces"),
    never("clone3", "its flags live in memory seccomp cannot read, so namespace bits cannot be filtered; answered with ENOSYS so libc falls back to clone"),
    DangerousSyscall {
        name: "clone",
        why: "with CLONE_NEW* flags it creates namespaces; allowed only with a condition that no namespace bit is set",
        guard: Guard::NoneOfTheseBits { arg: 0, bits: CLONE_NAMESPACE_FLAGS },
    },
    // Other processes' memory and state.
    never("ptrace", "inspects and controls other processes; bypasses seccomp on old kernels"),
    never("process_vm_readv", "reads another process's memory"),
    never("process_vm_writev", "writes another process's memory"),
    never("process_madvise", "acts on another process's memory"),
    never("kcmp", "compares kernel objects of other processes; an information leak"),
    never("pidfd_getfd", "steals a descriptor from another process"),
    // Kernel keyrings.
    never("keyctl", "kernel keyrings are not namespaced"),
    never("add_key", "kernel keyrings are not namespaced"),
    never("request_key", "kernel keyrings are not namespaced"),
    // Large kernel attack surfaces.
    never("bpf", "loads programs into the kernel"),
    never("perf_event_open", "performance counters leak host information and have a history of exploits"),
    never("userfaultfd", "stalls kernel page faults at will; a staple of kernel exploits"),
    never("io_uring_setup", "io_uring bypasses seccomp for the operations it performs and has a long CVE history"),
    never("io_uring_enter", "io_uring bypasses seccomp for the operations it performs"),
    never("io_uring_register", "io_uring bypasses seccomp for the operations it performs"),
    never("modify_ldt", "16-bit segments; a history of kernel bugs"),
    never("lookup_dcookie", "profiling interface that leaks kernel state"),
    // The kernel itself.
    never("kexec_load", "loads a new kernel"),
    never("kexec_file_load", "loads a new kernel"),
    never("init_module", "loads a kernel module"),
    never("finit_module", "loads a kernel module"),
    never("delete_module", "unloads a kernel module"),
    never("create_module", "obsolete module interface"),
    never("get_kernel_syms", "obsolete module interface"),
    never("query_module", "obsolete module interface"),
    never("reboot", "reboots the host or enables ctrl-alt-del"),
    never("swapon", "changes host swap"),
    never("swapoff", "changes host swap"),
    never("acct", "switches process accounting for the host"),
    never("quotactl", "manipulates filesystem quotas"),
    never("quotactl_fd", "manipulates filesystem quotas"),
    never("syslog", "reads or clears the kernel log; leaks kernel addresses"),
    never("_sysctl", "obsolete sysctl interface"),
    never("nfsservctl", "obsolete NFS server interface"),
    never("uselib", "obsolete shared-library loading with a history of bugs"),
    never("ustat", "obsolete; leaks host filesystem information"),
    never("sysfs", "obsolete; leaks host filesystem information"),
    never("fanotify_init", "watches filesystem events across mounts"),
    never("iopl", "raises I/O privilege level: direct hardware port access"),
    never("ioperm", "direct hardware port access"),
    never("vhangup", "hangs up the controlling terminal"),
    // Host-wide state: clocks, names, memory placement.
    never("settimeofday", "sets the host clock; time is not namespaced"),
    never("clock_settime", "sets the host clock; time is not namespaced"),
    never("adjtimex", "adjusts the host clock"),
    never("clock_adjtime", "adjusts the host clock"),
    never("sethostname", "changes the hostname"),
    never("setdomainname", "changes the NIS domain name"),
    never("move_pages", "moves pages between NUMA nodes; can target other processes"),
    never("migrate_pages", "moves another process's pages between NUMA nodes"),
    never("mbind", "binds memory to NUMA nodes; cpuset bypass"),
    never("set_mempolicy", "NUMA policy; cpuset bypass"),
    DangerousSyscall {
        name: "personality",
        why: "personas such as ADDR_NO_RANDOMIZE and READ_IMPLIES_EXEC disable ASLR or W^X; allowed only for PER_LINUX and the query value 0xffffffff",
        guard: Guard::OneOfTheseValues { arg: 0, values: SAFE_PERSONALITIES },
    },
];

/// The dangerous-list entry for `name`, if it has one.
pub fn lookup(name: &str) -> Option<&'static DangerousSyscall> {
    DANGEROUS_SYSCALLS.iter().find(|entry| entry.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::ArgCondition;
    use crate::syscall_table;

    #[test]
    fn every_dangerous_name_is_a_real_x86_64_syscall() {
        for entry in DANGEROUS_SYSCALLS {
            assert!(
                syscall_table::is_known(entry.name),
                "{} is not in the table",
                entry.name
            );
        }
    }

    #[test]
    fn no_duplicates() {
        let mut names: Vec<_> = DANGEROUS_SYSCALLS.iter().map(|e| e.name).collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(before, names.len());
    }

    fn permission(conditions: Vec<ArgCondition>) -> Permission {
        Permission {
            group: "g".into(),
            reason: "r".into(),
            conditions,
            granted_by: "test".into(),
        }
    }

    #[test]
    fn clone_is_safe_only_with_the_namespace_mask() {
        let clone = lookup("clone").expect("clone is listed");
        assert!(!clone.permits_safely(&permission(vec![])));
        let masked = |mask, value| ArgCondition {
            index: 0,
            op: Operator::MaskedEq,
            value,
            mask: Some(mask),
        };
        assert!(clone.permits_safely(&permission(vec![masked(CLONE_NAMESPACE_FLAGS, 0)])));
        assert!(clone.permits_safely(&permission(vec![masked(u64::MAX, 0x0001_0000)])));
        // A mask that misses CLONE_NEWUSER lets user namespaces through.
        assert!(!clone.permits_safely(&permission(vec![masked(0x6E02_0000, 0)])));
        assert!(!clone.permits_safely(&permission(vec![masked(
            CLONE_NAMESPACE_FLAGS,
            0x1000_0000
        )])));
    }

    #[test]
    fn personality_is_safe_only_for_listed_values() {
        let personality = lookup("personality").expect("personality is listed");
        let eq = |value| ArgCondition {
            index: 0,
            op: Operator::Eq,
            value,
            mask: None,
        };
        assert!(personality.permits_safely(&permission(vec![eq(0)])));
        assert!(!personality.permits_safely(&permission(vec![eq(0x0040_0000)])));
        assert!(!personality.permits_safely(&permission(vec![])));
    }
}
