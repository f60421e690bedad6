//! User profile files: extending, tightening, and the errors a mistake produces.

use vsbx_policy::{PolicyError, Profile};

fn load(text: &str) -> Result<Profile, PolicyError> {
    Profile::from_toml_str(text, "my.toml")
}

fn error_of(text: &str) -> PolicyError {
    match load(text) {
        Ok(profile) => panic!("expected an error, loaded {}", profile.name()),
        Err(error) => error,
    }
}

#[test]
fn extending_adds_syscalls_with_their_reason() {
    let profile = load(
        r#"
name = "compute-plus"
version = 3
extends = "compute"

[[allow]]
group = "numa"
syscalls = ["get_mempolicy"]
reason = "the numpy build in this image queries the NUMA policy"
"#,
    )
    .expect("loads");
    assert_eq!(profile.name(), "compute-plus");
    assert_eq!(profile.version(), 3);
    assert!(profile.allows("get_mempolicy"));
    assert!(profile.allows("futex"), "keeps what compute allows");
    let permission = &profile.permissions("get_mempolicy")[0];
    assert_eq!(permission.granted_by, "compute-plus");
    assert!(permission.reason.contains("numpy"));
    let ancestors: Vec<_> = profile
        .ancestors()
        .iter()
        .map(|id| id.name.as_str())
        .collect();
    assert_eq!(ancestors, ["minimal", "io", "compute"]);
}

#[test]
fn tightening_removes_syscalls_and_keeps_limits_overrides() {
    let profile = load(
        r#"
name = "no-subprocesses"
version = 1
extends = "compute"
deny = ["execveat", "fork", "vfork", "socket"]

[limits]
memory = "64M"
pids = 16
"#,
    )
    .expect("loads");
    let compute = Profile::builtin("compute").expect("compute");
    assert!(!profile.allows("vfork") && !profile.allows("socket"));
    assert_eq!(
        profile.allowed_syscalls().len(),
        compute.allowed_syscalls().len() - 4
    );
    assert_eq!(
        profile.removed_syscalls().get("fork").map(String::as_str),
        Some("no-subprocesses")
    );
    assert_eq!(profile.limits().memory_bytes, 64 << 20);
    assert_eq!(profile.limits().pids, 16);
    assert_eq!(profile.limits().cpu_millis, compute.limits().cpu_millis);
}

#[test]
fn unknown_syscall_names_file_line_key_and_syscall() {
    let error = error_of(
        r#"name = "typo"
version = 1
extends = "io"

[[allow]]
syscalls = ["read",
  "opnat"]
reason = "typo"
"#,
    );
    assert!(
        matches!(error, PolicyError::UnknownSyscall { line: 7, .. }),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(message.contains("my.toml:7"), "{message}");
    assert!(message.contains("allow[0].syscalls"), "{message}");
    assert!(message.contains("opnat"), "{message}");

    let error = error_of("name = \"d\"\nversion = 1\nextends = \"io\"\ndeny = [\"ptrcae\"]\n");
    assert!(
        error
            .to_string()
            .contains("my.toml:4: deny: unknown syscall `ptrcae`"),
        "{error}"
    );
}

#[test]
fn unknown_key_is_an_error_with_its_line() {
    let error = error_of("name = \"x\"\nversion = 1\nextends = \"io\"\nalow = []\n");
    let message = error.to_string();
    assert!(matches!(error, PolicyError::Parse { .. }));
    assert!(
        message.contains("my.toml") && message.contains("alow") && message.contains("line 4"),
        "{message}"
    );

    let error =
        error_of("name = \"x\"\nversion = 1\nextends = \"io\"\n[limits]\nmemroy = \"1G\"\n");
    assert!(error.to_string().contains("memroy"), "{error}");
}

#[test]
fn unknown_or_missing_parent_is_an_error() {
    let error = error_of("name = \"x\"\nversion = 1\nextends = \"computer\"\n");
    assert!(matches!(error, PolicyError::UnknownParent { .. }));
    assert!(error.to_string().contains("computer") && error.to_string().contains("compute"));

    let error = error_of("name = \"x\"\nversion = 1\n");
    assert!(
        error.to_string().contains("must extend a built-in"),
        "{error}"
    );
}

#[test]
fn allowing_a_dangerous_syscall_is_refused() {
    let error = error_of(
        "name = \"x\"\nversion = 1\nextends = \"network\"\n[[allow]]\nsyscalls = [\"ptrace\"]\nreason = \"debugger\"\n",
    );
    assert!(
        matches!(error, PolicyError::DangerousSyscall { line: 5, .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("ptrace"), "{error}");
    assert!(error.to_string().contains("unrestricted"), "{error}");
}

#[test]
fn clone_without_the_namespace_guard_is_refused() {
    let error = error_of(
        "name = \"x\"\nversion = 1\nextends = \"compute\"\n[[allow]]\nsyscalls = [\"clone\"]\nreason = \"threads\"\n",
    );
    assert!(
        matches!(error, PolicyError::DangerousSyscall { .. }),
        "{error:?}"
    );
    // The guarded form is fine (it is what compute already has).
    load("name = \"x\"\nversion = 1\nextends = \"io\"\n[[allow]]\nsyscalls = [\"clone\"]\nreason = \"threads\"\nwhen = [{ arg = 0, op = \"masked_eq\", mask = 0x7E020000, value = 0 }]\n")
        .expect("guarded clone loads");
    let error = error_of(
        "name = \"x\"\nversion = 1\nextends = \"io\"\n[[allow]]\nsyscalls = [\"personality\"]\nreason = \"no aslr\"\nwhen = [{ arg = 0, op = \"eq\", value = 0x0040000 }]\n",
    );
    assert!(
        matches!(error, PolicyError::DangerousSyscall { .. }),
        "{error:?}"
    );
}

#[test]
fn extending_unrestricted_may_allow_anything_and_deny_some() {
    let profile = load(
        "name = \"debug\"\nversion = 1\nextends = \"unrestricted\"\ndeny = [\"io_uring_setup\"]\n[[allow]]\nsyscalls = [\"ptrace\"]\nreason = \"strace inside the sandbox\"\n",
    )
    .expect("loads");
    assert!(profile.allows("ptrace"));
    assert!(!profile.allows("io_uring_setup"));
}

#[test]
fn only_builtin_unrestricted_may_turn_the_allowlist_off() {
    let error =
        error_of("name = \"x\"\nversion = 1\nextends = \"compute\"\nseccomp_allowlist = false\n");
    assert!(error.to_string().contains("seccomp_allowlist"), "{error}");
}

#[test]
fn other_mistakes_are_named() {
    let cases = [
        ("name = \"compute\"\nversion = 1\nextends = \"io\"\n", "built-in profile's name"),
        ("name = \"x\"\nversion = 0\nextends = \"io\"\n", "version"),
        ("name = \"x\"\nversion = 1\nextends = \"io\"\n[[allow]]\nsyscalls = [\"sync\"]\nreason = \"  \"\n", "allow[0].reason"),
        ("name = \"x\"\nversion = 1\nextends = \"io\"\n[limits]\nmemory = \"lots\"\n", "limits.memory"),
        ("name = \"x\"\nversion = 1\nextends = \"io\"\n[[allow]]\nsyscalls = [\"sync\"]\nreason = \"r\"\ndeny = []\n", "deny"),
        ("name = \"x\"\nversion = 1\nextends = \"io\"\ndeny = [\"sync\"]\n[[allow]]\nsyscalls = [\"sync\"]\nreason = \"flush\"\n", "both allowed and denied"),
        ("name = \"x\"\nversion = 1\nextends = \"io\"\n[[allow]]\nsyscalls = [\"clone3\"]\nreason = \"r\"\n", "clone3"),
        ("name = \"x\"\nversion = 1\nextends = \"io\"\n[[allow]]\nsyscalls = [\"ioctl\"]\nreason = \"r\"\nwhen = [{ arg = 6, op = \"eq\", value = 1 }]\n", "arg 6"),
        ("name = \"x\"\nversion = 1\nextends = \"io\"\n[[allow]]\nsyscalls = [\"ioctl\"]\nreason = \"r\"\nwhen = [{ arg = 1, op = \"masked_eq\", value = 1 }]\n", "mask"),
        ("name = \"x\"\nversion = 1\nextends = \"io\"\n[[allow]]\nsyscalls = [\"ioctl\"]\nreason = \"r\"\nwhen = [{ arg = 1, op = \"eq\", value = 1 }, { arg = 1, op = \"eq\", value = 2 }]\n", "already constrained"),
        ("name = \"x\"\nversion = 1\nextends = \"io\"\n[[errno]]\nsyscalls = [\"sync\"]\nerrno = \"EWHAT\"\nreason = \"r\"\n", "unknown errno"),
        ("name = \"x\"\nversion = 1\nextends = \"io\"\n[[errno]]\nsyscalls = [\"read\"]\nerrno = \"ENOSYS\"\nreason = \"r\"\n", "is allowed"),
    ];
    for (text, expected) in cases {
        let message = error_of(text).to_string();
        assert!(
            message.contains(expected),
            "expected `{expected}` in: {message}"
        );
    }
}

#[test]
fn from_file_reads_and_names_the_path() {
    let dir = std::env::temp_dir().join(format!("vsbx-policy-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("mine.toml");
    std::fs::write(
        &path,
        "name = \"mine\"\nversion = 1\nextends = \"io\"\ndeny = [\"nope\"]\n",
    )
    .expect("write");
    let error = Profile::from_file(&path).expect_err("unknown syscall");
    assert!(
        error.to_string().contains(&path.display().to_string()),
        "{error}"
    );
    std::fs::write(
        &path,
        "name = \"mine\"\nversion = 2\nextends = \"io\"\ndeny = [\"link\"]\n",
    )
    .expect("write");
    let profile = Profile::from_file(&path).expect("loads");
    assert_eq!(profile.origin(), path.display().to_string());
    assert!(!profile.allows("link"));
    let missing = Profile::from_file(dir.join("absent.toml")).expect_err("no file");
    assert!(matches!(missing, PolicyError::Read { .. }));
    std::fs::remove_dir_all(&dir).ok();
}
