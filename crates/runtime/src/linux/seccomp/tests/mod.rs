//! Tests of the seccomp compiler: unit checks, a small BPF interpreter, and real
//! kernel runs in forked children. Argument conditions are in `args.rs`.
use super::*;
use serde_json::json;

mod args;

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
