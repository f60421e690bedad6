//! Bad input: one line on stderr starting with `vsbx: error:` that names what is wrong,
//! exit status 2, nothing on stdout, and nothing left behind (checked by vsbx_run:
//! no vsbx-bundle-<pid>-* scratch dir, no state, no cgroup).

use std::path::Path;

use crate::support::{audit_events, program, temp_file, vsbx_run, vsbx_with, Opts, Run};

/// The checks every bad-input case must pass; returns what failed.
fn bad_input_problems(run: &Run, mentions: &str) -> Vec<String> {
    let mut p = Vec::new();
    if run.code != Some(2) {
        p.push(format!("exit status {:?}, expected 2", run.code));
    }
    let lines: Vec<&str> = run.stderr.lines().collect();
    if lines.len() != 1 {
        p.push(format!("{} lines on stderr, expected 1", lines.len()));
    }
    if !run.stderr.starts_with("vsbx: error: ") {
        p.push("stderr does not start with `vsbx: error: `".into());
    }
    if !run.stderr.contains(mentions) {
        p.push(format!("stderr does not mention `{mentions}`"));
    }
    if !run.stdout.is_empty() {
        p.push("output on stdout".into());
    }
    if run.report.is_some() {
        p.push("a report was written".into());
    }
    p
}

#[test]
fn bad_input_is_one_error_line_and_exit_2() {
    let hello = program("hello.py");
    let (_k1, odd) = temp_file("data.xyz", "x\n");
    let (_k2, bad_syscall) = temp_file(
        "bad-syscall.toml",
        "name = \"bad-syscall\"\nversion = 1\nextends = \"compute\"\ndeny = [\"notasyscall\"]\n",
    );
    let (_k3, bad_key) = temp_file(
        "bad-key.toml",
        "name = \"bad-key\"\nversion = 1\nextends = \"compute\"\nbogus_key = 1\n",
    );
    let (_k4, bad_allow) = temp_file(
        "bad-allow.toml",
        "name = \"bad-allow\"\nversion = 1\nextends = \"compute\"\n\n[[allow]]\ngroup = \"x\"\n\
         syscalls = [\"nosuchcall\"]\nreason = \"test\"\n",
    );
    // vsbx never replaces files in --output DIR: it must be empty.
    let not_empty = tempfile::Builder::new()
        .prefix("vsbx-clitest-full-")
        .tempdir()
        .unwrap();
    std::fs::write(not_empty.path().join("old.txt"), "x").unwrap();
    let ne = not_empty.path().to_str().unwrap().to_owned();
    let missing = "/nonexistent-vsbx-test/missing.py".to_owned();
    let cases: Vec<(&str, Vec<&str>, &str)> = vec![
        ("unknown runner", vec!["--runner", "cobol", &hello], "cobol"),
        ("unknown extension", vec![odd.to_str().unwrap()], ".xyz"),
        (
            "unknown profile",
            vec!["--policy", "paranoid", &hello],
            "paranoid",
        ),
        ("malformed size", vec!["--memory", "12Q", &hello], "12Q"),
        (
            "malformed duration",
            vec!["--timeout", "5parsecs", &hello],
            "5parsecs",
        ),
        ("malformed cpus", vec!["--cpus", "lots", &hello], "lots"),
        ("malformed pids", vec!["--pids", "-3", &hello], "-3"),
        (
            "malformed output cap",
            vec!["--output-cap", "3X", &hello],
            "3X",
        ),
        ("missing FILE", vec![&missing], "missing.py"),
        ("no FILE", vec![], "FILE"),
        (
            "--output not empty",
            vec!["--output", &ne, &hello],
            "not empty",
        ),
        (
            "--output under minimal",
            vec!["--policy", "minimal", "--output", "/tmp", &hello],
            "/output",
        ),
        (
            "--net host under compute",
            vec!["--net", "host", &hello],
            "host",
        ),
        (
            "policy with an unknown syscall",
            vec!["--policy", bad_syscall.to_str().unwrap(), &hello],
            "notasyscall",
        ),
        (
            "policy with an unknown allowed syscall",
            vec!["--policy", bad_allow.to_str().unwrap(), &hello],
            "nosuchcall",
        ),
        (
            "policy with an unknown key",
            vec!["--policy", bad_key.to_str().unwrap(), &hello],
            "bogus_key",
        ),
        (
            "missing policy file",
            vec!["--policy", "/nonexistent-vsbx-test/p.toml", &hello],
            "p.toml",
        ),
        (
            "mount source missing",
            vec!["--mount", "/nonexistent-vsbx-test:/data", &hello],
            "/nonexistent-vsbx-test",
        ),
        (
            "mount over /proc",
            vec!["--mount", "/tmp:/proc/x", &hello],
            "/proc",
        ),
        (
            "--stdin missing",
            vec!["--stdin", "/nonexistent-vsbx-test/in.txt", &hello],
            "in.txt",
        ),
        ("unknown flag", vec!["--frobnicate", &hello], "--frobnicate"),
    ];
    let mut failed = Vec::new();
    for (what, args, mentions) in &cases {
        let run = vsbx_run(args);
        let problems = bad_input_problems(&run, mentions);
        if !problems.is_empty() {
            failed.push(format!(
                "{what} {args:?}: {}\n{}",
                problems.join("; "),
                run.context()
            ));
        }
    }
    assert!(
        failed.is_empty(),
        "{} of {} cases:\n\n{}",
        failed.len(),
        cases.len(),
        failed.join("\n\n")
    );
}

/// A run that fails on bad input does not create the --report file.
#[test]
fn bad_input_creates_no_report_file() {
    let dir = tempfile::Builder::new()
        .prefix("vsbx-clitest-rep-")
        .tempdir()
        .unwrap();
    let report = dir.path().join("report.json");
    let run = vsbx_with(
        &["run"],
        &[
            "--report",
            report.to_str().unwrap(),
            "/nonexistent-vsbx-test/missing.py",
        ],
        Opts {
            bare: true,
            ..Opts::default()
        },
    );
    assert_eq!(run.code, Some(2), "{}", run.context());
    assert!(
        !report.exists(),
        "--report {} was left behind ({} bytes) by a run that never started",
        report.display(),
        std::fs::metadata(&report).map(|m| m.len()).unwrap_or(0)
    );
}

/// The audit log never says a run was created without saying it was deleted, also when
/// the run fails on bad input.
#[test]
fn bad_input_leaves_no_dangling_audit_events() {
    let hello = program("hello.py");
    let cases: Vec<Vec<&str>> = vec![
        vec!["--stdin", "/nonexistent-vsbx-test/in.txt", &hello],
        vec!["--memory", "12Q", &hello],
        vec!["--policy", "paranoid", &hello],
    ];
    let mut failed = Vec::new();
    for args in &cases {
        let run = vsbx_run(args);
        assert_eq!(run.code, Some(2), "{}", run.context());
        let events = audit_events(&run);
        let created: Vec<&String> = events
            .iter()
            .filter(|(e, _)| e == "created")
            .map(|(_, i)| i)
            .collect();
        for id in created {
            if !events.iter().any(|(e, i)| e == "deleted" && i == id) {
                failed.push(format!(
                    "{args:?}: audit has `created` for {id} but no `deleted`: {events:?}"
                ));
            }
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}

#[test]
fn plot_of_a_missing_or_malformed_monitor_file_is_an_error() {
    let (_k, junk) = temp_file("junk.json", "{not json");
    for input in ["/nonexistent-vsbx-test/m.json", junk.to_str().unwrap()] {
        let out = Path::new(input).with_extension("svg");
        let run = vsbx_with(
            &["plot", input, "-o"],
            &[out.to_str().unwrap()],
            Opts::default(),
        );
        assert_eq!(run.code, Some(2), "{}", run.context());
        assert!(run.stderr.starts_with("vsbx: error: "), "{}", run.context());
        assert_eq!(run.stderr.lines().count(), 1, "{}", run.context());
        assert!(!out.exists(), "{} written for bad input", out.display());
    }
}
