//! Bad input: one clear error, exit status 2 from the CLI, and nothing left behind.

mod common;

use std::path::Path;
use std::process::Command;

use common::Workspace;
use vsbx_bundle_gen::{generate, BundleError, NetworkMode, PolicySource};

const BIN: &str = env!("CARGO_BIN_EXE_vsbx-bundle-gen");

/// Runs the CLI; returns (exit code, stdout, stderr).
fn cli(args: &[&str]) -> (Option<i32>, String, String) {
    let output = Command::new(BIN)
        .args(args)
        .env("VSBX_RUNNERS", common::runners_dir())
        .output()
        .expect("run vsbx-bundle-gen");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The CLI fails with status 2, one stderr line containing `expected`, and no bundle dir.
fn assert_cli_refuses(ws: &Workspace, args: &[&str], expected: &str) {
    let bundle = ws.bundle_dir();
    let bundle = bundle.to_str().expect("utf-8 path");
    let mut all = vec!["-o", bundle];
    all.extend_from_slice(args);
    let (code, _, stderr) = cli(&all);
    assert_eq!(code, Some(2), "{args:?}: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "{args:?}: one line: {stderr:?}");
    assert!(stderr.starts_with("vsbx-bundle-gen: error: "), "{stderr}");
    assert!(
        stderr.contains(expected),
        "{args:?}: {expected:?} not in {stderr:?}"
    );
    assert!(!Path::new(bundle).exists(), "{args:?} left {bundle} behind");
}

#[test]
fn cli_refuses_bad_input_with_one_line_and_status_2() {
    let ws = Workspace::new();
    let script = ws.file("a.py", "print(1)");
    let script = script.to_str().expect("utf-8");
    let policy_dir = ws.path();
    let unknown_syscall = common::write_file(
        policy_dir,
        "bad-syscall.toml",
        "name = \"x\"\nversion = 1\nextends = \"compute\"\n[[allow]]\ngroup = \"g\"\nsyscalls = [\"no_such_call\"]\nreason = \"r\"\n",
    );
    let unknown_key = common::write_file(
        policy_dir,
        "bad-key.toml",
        "name = \"y\"\nversion = 1\nextends = \"compute\"\ncolour = \"red\"\n",
    );
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec!["--runner".into(), "cobol".into(), script.into()],
            "unknown runner `cobol`",
        ),
        (
            vec![ws.file("a.cob", "").display().to_string()],
            "no runner for",
        ),
        (
            vec!["--policy".into(), "paranoid".into(), script.into()],
            "unknown profile `paranoid`",
        ),
        (
            vec!["--memory".into(), "64Q".into(), script.into()],
            "--memory 64Q",
        ),
        (
            vec!["--tmp-size".into(), "lots".into(), script.into()],
            "--tmp-size lots",
        ),
        (
            vec!["--cpus".into(), "-1".into(), script.into()],
            "--cpus -1",
        ),
        (vec!["--pids".into(), "0".into(), script.into()], "--pids 0"),
        (
            vec!["--timeout".into(), "5 parsecs".into(), script.into()],
            "--timeout 5 parsecs",
        ),
        (
            vec!["--net".into(), "bridge".into(), script.into()],
            "--net bridge",
        ),
        (
            vec!["--net".into(), "host".into(), script.into()],
            "cannot create IP sockets",
        ),
        (
            vec!["--env".into(), "NOVALUE".into(), script.into()],
            "--env NOVALUE",
        ),
        (
            vec![
                "--mount".into(),
                "/no/such/vsbx:/data".into(),
                script.into(),
            ],
            "does not exist",
        ),
        (
            vec!["--mount".into(), "/usr:/proc".into(), script.into()],
            "/proc is managed",
        ),
        (
            vec!["/no/such/vsbx/file.py".into()],
            "input file /no/such/vsbx/file.py",
        ),
        (
            vec![
                "--policy".into(),
                "minimal".into(),
                "--output".into(),
                "/tmp".into(),
                script.into(),
            ],
            "has no /output",
        ),
        (
            vec!["--output".into(), "/no/such/vsbx-out".into(), script.into()],
            "--output /no/such/vsbx-out",
        ),
        (
            vec![
                "--policy".into(),
                unknown_syscall.display().to_string(),
                script.into(),
            ],
            "unknown syscall `no_such_call`",
        ),
        (
            vec![
                "--policy".into(),
                unknown_key.display().to_string(),
                script.into(),
            ],
            "colour",
        ),
        (
            vec!["--userns".into(), "root".into(), script.into()],
            "--userns root",
        ),
        (vec!["--frobnicate".into(), script.into()], "--frobnicate"),
    ];
    for (args, expected) in &cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        assert_cli_refuses(&ws, &args, expected);
    }
}

#[test]
fn cli_refuses_an_unwritable_bundle_dir() {
    let ws = Workspace::new();
    let script = ws.file("a.py", "print(1)");
    let (code, _, stderr) = cli(&["-o", "/proc/vsbx-bundle", script.to_str().expect("utf-8")]);
    assert_eq!(code, Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("bundle directory /proc/vsbx-bundle: cannot create it"),
        "{stderr}"
    );
    let (code, _, stderr) = cli(&["-o", "/no/such/parent/b", script.to_str().expect("utf-8")]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("/no/such/parent/b"), "{stderr}");
}

#[test]
fn cli_refuses_a_non_empty_bundle_dir_and_keeps_its_content() {
    let ws = Workspace::new();
    std::fs::create_dir(ws.bundle_dir()).expect("mkdir");
    let keep = common::write_file(&ws.bundle_dir(), "keep.txt", "mine");
    let script = ws.file("a.py", "print(1)");
    let bundle = ws.bundle_dir();
    let (code, _, stderr) = cli(&[
        "-o",
        bundle.to_str().expect("utf-8"),
        script.to_str().expect("utf-8"),
    ]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("exists and is not empty"), "{stderr}");
    assert_eq!(std::fs::read_to_string(keep).ok().as_deref(), Some("mine"));
}

#[test]
fn cli_generates_lists_and_explains() {
    let ws = Workspace::new();
    let script = ws.file("a.py", "print(1)");
    let bundle = ws.bundle_dir();
    let (code, stdout, stderr) = cli(&[
        "--memory",
        "64M",
        "--cpus",
        "0.5",
        "--pids",
        "64",
        "--tmp-size",
        "16M",
        "--env",
        "A=1",
        "--timeout",
        "5s",
        "-o",
        bundle.to_str().expect("utf-8"),
        script.to_str().expect("utf-8"),
    ]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stdout.contains("runner python, profile compute"),
        "{stdout}"
    );
    let config = common::config_json(&bundle);
    assert_eq!(config["linux"]["resources"]["memory"]["limit"], 64 << 20);
    assert_eq!(config["linux"]["resources"]["cpu"]["quota"], 50_000);

    let (code, stdout, _) = cli(&["profiles"]);
    assert_eq!(code, Some(0));
    let names: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(
        names,
        ["minimal", "io", "compute", "network", "unrestricted"]
    );
    assert!(
        stdout.lines().all(|l| l.split_whitespace().count() > 2),
        "descriptions: {stdout}"
    );

    let (code, stdout, _) = cli(&["explain", "compute"]);
    assert_eq!(code, Some(0));
    assert!(stdout.starts_with("profile compute"), "{stdout}");
    assert!(stdout.contains("why:"));
    let (code, stdout, _) = cli(&["explain", "io", "--diff", "compute"]);
    assert_eq!(code, Some(0));
    assert!(stdout.starts_with("diff io"), "{stdout}");
    let (code, _, stderr) = cli(&["explain", "paranoid"]);
    assert_eq!(code, Some(2));
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[test]
fn library_errors_leave_an_existing_empty_dir_empty() {
    let ws = Workspace::new();
    std::fs::create_dir(ws.bundle_dir()).expect("mkdir");
    let mut request = ws.request("a.py", "print(1)");
    // Fails late: after the rootfs was populated (duplicate file names in /work).
    request.files.push(request.files[0].clone());
    let err = generate(&request, &common::example_catalog()).expect_err("duplicate names");
    assert!(
        matches!(err, BundleError::DuplicateInputName { .. }),
        "{err}"
    );
    assert!(ws.bundle_dir().is_dir(), "a dir we did not create stays");
    assert_eq!(
        std::fs::read_dir(ws.bundle_dir()).expect("read").count(),
        0,
        "and is empty again"
    );
}

#[test]
fn library_refuses_mismatched_network_and_missing_rootfs() {
    let catalog = common::example_catalog();
    let ws = Workspace::new();
    let mut request = ws.request("a.py", "");
    request.policy = Some(PolicySource::Builtin("network".into()));
    request.network = Some(NetworkMode::None);
    let err = generate(&request, &catalog)
        .expect_err("none with network")
        .to_string();
    assert!(err.contains("--net none"), "{err}");

    // The shell runner's rootfs directory is made by a script, never committed.
    let ws = Workspace::new();
    let request = ws.request("a.sh", "echo hi");
    let shell_rootfs = common::runners_dir().join("shell/rootfs");
    if !shell_rootfs.exists() {
        let err = generate(&request, &catalog)
            .expect_err("no rootfs")
            .to_string();
        assert!(err.contains("mkrootfs.sh"), "{err}");
        assert!(!ws.bundle_dir().exists());
    }

    let ws = Workspace::new();
    let request = vsbx_bundle_gen::BundleRequest::new(ws.bundle_dir(), vec![]);
    assert!(matches!(
        generate(&request, &catalog),
        Err(BundleError::NoFiles)
    ));
    let request =
        vsbx_bundle_gen::BundleRequest::new(ws.bundle_dir(), vec![ws.path().to_path_buf()]);
    let err = generate(&request, &catalog)
        .expect_err("a directory")
        .to_string();
    assert!(err.contains("is not a regular file"), "{err}");
}

#[test]
fn output_dir_not_writable_by_the_sandbox_user_is_refused() {
    let ws = Workspace::new();
    let out = ws.path().join("out");
    std::fs::create_dir(&out).expect("out");
    std::fs::set_permissions(&out, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    let mut request = ws.request("a.py", "");
    request.output = Some(out);
    let err = generate(&request, &common::example_catalog())
        .expect_err("not writable")
        .to_string();
    assert!(err.contains("not writable by the sandbox user"), "{err}");
    assert!(!ws.bundle_dir().exists());
}

/// An input symlink (the program or an extra file) is refused, even when it points at a
/// file the caller could not read: vsbx copies inputs as root.
#[test]
fn symlinked_input_files_are_refused() {
    let ws = Workspace::new();
    let catalog = common::example_catalog();
    let secret = common::write_file(ws.path(), "secret", "TOPSECRET\n");
    std::fs::set_permissions(&secret, std::os::unix::fs::PermissionsExt::from_mode(0o600))
        .expect("chmod");
    let link = ws.path().join("data.txt");
    std::os::unix::fs::symlink(&secret, &link).expect("symlink");
    let script = ws.file("cat.py", "print(open('/work/data.txt').read())\n");
    let script_link = ws.path().join("link.py");
    std::os::unix::fs::symlink(&script, &script_link).expect("symlink");
    for files in [
        vec![script.clone(), link.clone()],
        vec![script_link.clone()],
    ] {
        let request = vsbx_bundle_gen::BundleRequest::new(ws.bundle_dir(), files.clone());
        let err = generate(&request, &catalog)
            .expect_err("a symlinked input")
            .to_string();
        assert!(err.contains("is a symlink"), "{files:?}: {err}");
        assert!(!ws.bundle_dir().exists(), "{files:?}: a bundle was left");
    }
}
