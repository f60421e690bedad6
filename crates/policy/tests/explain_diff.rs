//! explain and diff name the right syscalls.

use vsbx_policy::{diff, explain, Profile};

fn builtin(name: &str) -> Profile {
    Profile::builtin(name).expect("builtin")
}

#[test]
fn explain_groups_allowed_syscalls_with_reasons_and_lists_denials() {
    let text = explain(&builtin("compute"));
    assert!(
        text.starts_with("profile compute v1 (builtin:compute)"),
        "{text}"
    );
    assert!(text.contains("extends: minimal v1 > io v1"), "{text}");
    assert!(
        text.contains(" from minimal:") && text.contains(" from compute:"),
        "{text}"
    );
    assert!(
        text.contains("[unix sockets] socket when arg0 == 0x1"),
        "{text}"
    );
    assert!(
        text.contains("clone when (arg0 & 0x7e020000) == 0x0"),
        "{text}"
    );
    assert!(text.contains("clone3 -> ENOSYS"), "{text}");
    assert!(text.contains("ptrace: denied"), "{text}");
    assert!(
        text.contains("clone: only when (arg0 & 0x7e020000) == 0x0"),
        "{text}"
    );
    assert!(text.contains("why: "), "{text}");
    assert!(text.contains("everything else: fails with EPERM"), "{text}");
}

#[test]
fn explain_unrestricted_says_there_is_no_allowlist() {
    let text = explain(&builtin("unrestricted"));
    assert!(text.contains("NO ALLOWLIST"), "{text}");
    assert!(text.contains("ptrace: ALLOWED"), "{text}");
}

#[test]
fn diff_lists_added_removed_and_changed() {
    let text = diff(&builtin("minimal"), &builtin("io"));
    assert!(text.starts_with("diff minimal v1 -> io v1"), "{text}");
    assert!(text.contains("+ unlinkat (any arguments)"), "{text}");
    assert!(
        text.contains("~ openat: (arg2 & 0x400040) == 0x0  ->  any arguments"),
        "{text}"
    );
    assert!(
        text.contains("+ mknodat ((arg2 & 0xf000) == 0x1000)"),
        "{text}"
    );
    assert!(!text.contains("+ read "), "{text}");
    assert!(text.contains("limit /output: none -> 64M"), "{text}");

    let text = diff(&builtin("compute"), &builtin("network"));
    assert!(text.contains("~ socket: arg0 == 0x1  ->  arg0 == 0x1 | arg0 == 0x10 && arg2 == 0x0 | arg0 == 0x2 | arg0 == 0xa"), "{text}");
    assert!(text.contains("network: "), "{text}");

    let text = diff(&builtin("io"), &builtin("minimal"));
    assert!(text.contains("- unlinkat"), "{text}");

    let tightened = Profile::from_toml_str(
        "name = \"t\"\nversion = 1\nextends = \"compute\"\ndeny = [\"kill\"]\n",
        "t.toml",
    )
    .expect("loads");
    let text = diff(&builtin("compute"), &tightened);
    assert!(
        text.contains("allowed only in compute (-1):\n  - kill"),
        "{text}"
    );

    let text = diff(&builtin("io"), &builtin("io"));
    assert!(text.contains("no differences"), "{text}");
}
