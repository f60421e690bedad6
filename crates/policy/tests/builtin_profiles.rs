//! The built-in profiles: they load, nest, deny the dangerous list, and cover the workloads they
//! are meant for (syscall sets recorded with strace on this project's machine image).

use vsbx_policy::{Guard, NetworkAccess, PolicyError, Profile, DANGEROUS_SYSCALLS};

const NESTED: [&str; 4] = ["minimal", "io", "compute", "network"];

/// Hard-coded on purpose (not read from the crate's own list): what no sandbox profile may allow.
const MUST_BE_DENIED: &[&str] = &[
    "mount",
    "umount2",
    "pivot_root",
    "chroot",
    "unshare",
    "setns",
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "keyctl",
    "add_key",
    "request_key",
    "bpf",
    "perf_event_open",
    "userfaultfd",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "kexec_load",
    "kexec_file_load",
    "init_module",
    "finit_module",
    "delete_module",
    "reboot",
    "swapon",
    "swapoff",
    "acct",
    "quotactl",
    "syslog",
    "open_by_handle_at",
    "name_to_handle_at",
    "lookup_dcookie",
    "iopl",
    "ioperm",
    "create_module",
    "get_kernel_syms",
    "nfsservctl",
    "uselib",
    "fanotify_init",
    "move_mount",
    "fsopen",
    "fsmount",
    "fsconfig",
    "fspick",
    "open_tree",
    "mount_setattr",
    "pidfd_getfd",
    "kcmp",
    "settimeofday",
    "clock_settime",
    "adjtimex",
    "clock_adjtime",
    "clone3",
    "modify_ldt",
    "sethostname",
    "setdomainname",
];

fn builtin(name: &str) -> Profile {
    Profile::builtin(name).unwrap_or_else(|error| panic!("{name}: {error}"))
}

#[test]
fn every_builtin_loads_with_its_name_and_a_version() {
    assert_eq!(
        Profile::names(),
        ["minimal", "io", "compute", "network", "unrestricted"]
    );
    for name in Profile::names() {
        let profile = builtin(name);
        assert_eq!(profile.name(), *name);
        assert!(profile.version() >= 1);
        assert_eq!(profile.origin(), format!("builtin:{name}"));
        assert!(!profile.description().is_empty());
    }
}

#[test]
fn unknown_builtin_is_a_clear_error() {
    let error = Profile::builtin("gpu").expect_err("no such profile");
    assert!(matches!(error, PolicyError::UnknownProfile { .. }));
    let message = error.to_string();
    assert!(
        message.contains("gpu") && message.contains("compute"),
        "{message}"
    );
}

#[test]
fn profiles_nest_minimal_io_compute_network_unrestricted() {
    let profiles: Vec<Profile> = Profile::names().iter().map(|n| builtin(n)).collect();
    for pair in profiles.windows(2) {
        let (smaller, larger) = (&pair[0], &pair[1]);
        let missing: Vec<_> = smaller
            .allowed_syscalls()
            .difference(&larger.allowed_syscalls())
            .cloned()
            .collect();
        assert!(
            missing.is_empty(),
            "{} allows {missing:?} but {} doesn't",
            smaller.name(),
            larger.name()
        );
        // Each step adds syscalls, or (network) widens the argument rules of existing ones.
        let rules = |p: &Profile| -> usize {
            p.allowed_syscalls()
                .iter()
                .map(|s| p.permissions(s).len().max(1))
                .sum()
        };
        assert!(
            rules(larger) > rules(smaller),
            "{} adds nothing to {}",
            larger.name(),
            smaller.name()
        );
        for syscall in smaller.allowed_syscalls() {
            for permission in smaller.permissions(&syscall) {
                assert!(
                    !larger.has_allowlist() || larger.permissions(&syscall).contains(permission),
                    "{} narrows {syscall}",
                    larger.name()
                );
            }
        }
        assert_eq!(
            larger.ancestors().last().map(|id| id.name.as_str()),
            Some(smaller.name())
        );
    }
}

#[test]
fn every_profile_but_unrestricted_denies_the_dangerous_list() {
    for name in NESTED {
        let profile = builtin(name);
        assert!(profile.has_allowlist());
        for syscall in MUST_BE_DENIED {
            assert!(!profile.allows(syscall), "{name} allows {syscall}");
        }
        for entry in DANGEROUS_SYSCALLS {
            if entry.guard == Guard::Never {
                assert!(!profile.allows(entry.name), "{name} allows {}", entry.name);
            }
            for permission in profile.permissions(entry.name) {
                assert!(
                    entry.permits_safely(permission),
                    "{name}: unsafe {} rule",
                    entry.name
                );
            }
        }
    }
    let unrestricted = builtin("unrestricted");
    assert!(!unrestricted.has_allowlist());
    assert!(unrestricted.allows("ptrace") && unrestricted.allows("mount"));
}

#[test]
fn clone_is_allowed_only_without_namespace_flags_and_clone3_answers_enosys() {
    for name in ["compute", "network"] {
        let profile = builtin(name);
        let clone = profile.permissions("clone");
        assert!(!clone.is_empty(), "{name} must allow threads");
        assert!(clone
            .iter()
            .all(|p| p.conditions.iter().any(|c| !c.holds_for(0x1000_0000))));
        assert!(clone
            .iter()
            .all(|p| p.conditions.iter().all(|c| c.holds_for(0x003d_0f00))));
    }
    for name in NESTED {
        let answers = builtin(name).errno_answers();
        assert_eq!(
            answers.get("clone3").map(|a| a.errno),
            Some(38),
            "{name}: clone3 -> ENOSYS"
        );
    }
    assert!(
        !builtin("minimal").allows("clone"),
        "minimal runs one thread"
    );
}

#[test]
fn sockets_are_unix_only_below_network() {
    for name in ["minimal", "io"] {
        assert!(!builtin(name).allows("socket"), "{name} has no sockets");
    }
    let compute = builtin("compute");
    let socket = compute.permissions("socket");
    assert_eq!(socket.len(), 1);
    assert_eq!(socket[0].conditions_text(), "arg0 == 0x1");
    let network = builtin("network");
    let domains: Vec<String> = network
        .permissions("socket")
        .iter()
        .map(|p| p.conditions_text())
        .collect();
    assert!(domains.contains(&"arg0 == 0x2".to_string()), "{domains:?}");
    assert!(domains.contains(&"arg0 == 0xa".to_string()), "{domains:?}");
    assert!(
        domains.contains(&"arg0 == 0x10 && arg2 == 0x0".to_string()),
        "{domains:?}"
    );
    assert_eq!(compute.network(), NetworkAccess::None);
    assert_eq!(network.network(), NetworkAccess::Loopback);
}

#[test]
fn every_allowed_syscall_carries_a_reason() {
    for name in NESTED {
        let profile = builtin(name);
        for syscall in profile.allowed_syscalls() {
            for permission in profile.permissions(&syscall) {
                assert!(
                    permission.reason.len() > 10,
                    "{name}: {syscall} has no real reason"
                );
                assert!(
                    !permission.group.is_empty(),
                    "{name}: {syscall} has no group"
                );
            }
        }
    }
}

fn assert_allows(profile: &str, syscalls: &str) {
    let profile = builtin(profile);
    let answered = profile.errno_answers();
    let missing: Vec<&str> = syscalls
        .split_whitespace()
        .filter(|s| !profile.allows(s) && !answered.contains_key(*s))
        .collect();
    assert!(missing.is_empty(), "{} misses {missing:?}", profile.name());
}

/// strace of a glibc-static `cat` (fread stdin, fwrite stdout), execve included.
#[test]
fn minimal_covers_a_static_binary() {
    assert_allows("minimal", "arch_prctl brk execve exit_group getrandom ioctl mprotect newfstatat prlimit64 read readlink rseq set_robust_list set_tid_address write");
}

/// What runc 1.1 does between installing the filter and exec'ing the workload (found by running
/// bundles under runc): open its exec fifo through /proc/self/fd, statfs and list /proc/self/fd.
#[test]
fn minimal_lets_runc_finish_starting_the_container() {
    assert_allows(
        "minimal",
        "openat statfs fstatfs getdents64 write close fcntl execve",
    );
    let minimal = builtin("minimal");
    let openat = minimal.permissions("openat");
    assert_eq!(openat.len(), 1);
    assert!(
        openat[0].conditions.iter().all(|c| c.holds_for(0x80001)),
        "O_WRONLY|O_CLOEXEC"
    );
    assert!(
        openat[0].conditions.iter().any(|c| !c.holds_for(0x80041)),
        "O_CREAT is refused"
    );
}

/// strace of CPython 3.11 (threads, subprocess, multiprocessing.Pool, asyncio, tempfile, shutil)
/// and Node 20 (fs, child_process, worker_threads, crypto).
#[test]
fn compute_covers_cpython_and_node() {
    assert_allows("compute", "access arch_prctl brk chmod clone clone3 close close_range epoll_create1 epoll_ctl epoll_wait execve exit exit_group fcntl futex getcwd getdents64 getegid geteuid getgid getpid getrandom getsockname gettid getuid ioctl kill link listxattr lseek madvise mkdir mmap mprotect munmap newfstatat openat pipe2 poll pread64 prlimit64 read readlink rename rmdir rseq rt_sigaction rt_sigprocmask sendfile set_robust_list set_tid_address socketpair sysinfo unlink unlinkat utimensat vfork wait4 write");
    assert_allows("compute", "access arch_prctl brk capget clone clone3 close copy_file_range dup2 epoll_create1 epoll_ctl epoll_pwait eventfd2 execve exit exit_group fchmod fcntl fstat ftruncate futex getcwd getdents64 getegid geteuid getgid getpid getrandom gettid getuid ioctl madvise mkdir mmap mprotect munmap newfstatat openat pipe2 pkey_alloc pread64 prlimit64 read readlink rmdir rseq rt_sigaction rt_sigprocmask rt_sigreturn sched_getaffinity set_robust_list set_tid_address shutdown socketpair statx sysinfo uname unlink wait4 write");
}

/// strace of an HTTP server and client over loopback in CPython and Node.
#[test]
fn network_covers_loopback_http() {
    assert_allows("network", "accept4 access arch_prctl bind brk capget clone3 close connect epoll_create1 epoll_ctl epoll_pwait eventfd2 execve exit exit_group fcntl fstat futex getcwd getdents64 getegid geteuid getgid getpeername getpid getrandom getsockname getsockopt gettid getuid ioctl listen lseek madvise mmap mprotect munmap newfstatat openat pipe2 pkey_alloc poll pread64 prlimit64 read readlink recvfrom recvmsg rseq rt_sigaction rt_sigprocmask sched_getaffinity sendto set_robust_list set_tid_address setsockopt shutdown socket statx sysinfo uname write writev");
}

#[test]
fn io_covers_file_work_under_tmp_and_output() {
    assert_allows(
        "io",
        "openat newfstatat getdents64 mkdirat unlinkat renameat2 fsync ftruncate statx",
    );
    assert!(builtin("io").limits().output_bytes.is_some());
    assert!(builtin("minimal").limits().output_bytes.is_none());
}
