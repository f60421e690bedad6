//! Every runner runs a hello program; compiled runners build first, report the run step,
//! and a compile error ends the run with the build step's status and the compiler's words.

use crate::support::{audit_events, program, temp_file, vsbx_run};

fn hello(file: &str, expected: &str) -> crate::support::Run {
    let run = vsbx_run(&[file]);
    assert_eq!(run.code, Some(0), "{}", run.context());
    assert_eq!(run.stdout_str(), expected, "{}", run.context());
    assert_eq!(run.status(), "ok", "{}", run.context());
    assert_eq!(run.report()["exit_code"], 0);
    assert!(
        run.summary_unthrottled().starts_with("vsbx: ok (exit 0)"),
        "{}",
        run.context()
    );
    run
}

/// The report is the run step's; the audit log shows the build step, then the run step.
fn check_build_then_run(run: &crate::support::Run) {
    let id = run.report()["id"].as_str().unwrap().to_owned();
    assert!(
        id.starts_with(&format!("vsbx-{}-", run.pid)),
        "report id {id}"
    );
    assert!(
        !id.ends_with("-build"),
        "the report is the build step's: {id}"
    );
    let build = format!("{id}-build");
    let events = audit_events(run);
    let expected: Vec<(String, String)> = [
        ("created", &build),
        ("started", &build),
        ("exited", &build),
        ("deleted", &build),
        ("created", &id),
        ("started", &id),
        ("exited", &id),
        ("deleted", &id),
    ]
    .iter()
    .map(|(e, i)| (e.to_string(), i.to_string()))
    .collect();
    assert_eq!(events, expected, "{}", run.context());
    assert_eq!(run.audit[0]["step"], "build");
    assert_eq!(run.audit[4]["step"], "run");
}

#[test]
fn python_hello() {
    hello(&program("hello.py"), "hello from python\n");
}

#[test]
fn node_hello() {
    hello(&program("hello.js"), "hello from node\n");
}

#[test]
fn shell_hello() {
    hello(&program("hello.sh"), "hello from sh\n");
}

#[test]
fn rust_hello_builds_then_runs() {
    let run = hello(&program("hello.rs"), "hello from rust\n");
    check_build_then_run(&run);
}

#[test]
fn go_hello_builds_then_runs() {
    let run = hello(&program("hello.go"), "hello from go\n");
    check_build_then_run(&run);
}

/// A compile error: non-zero exit, the build step's report, the compiler's message on
/// stderr, and no run step.
fn compile_error(file: &str, message: &str) {
    let run = vsbx_run(&[file]);
    assert!(matches!(run.code, Some(c) if c != 0), "{}", run.context());
    assert_eq!(run.status(), "exit_nonzero", "{}", run.context());
    let id = run.report()["id"].as_str().unwrap();
    assert!(
        id.ends_with("-build"),
        "the report should be the build step's: {id}"
    );
    assert_eq!(
        run.report()["exit_code"].as_i64().map(|c| c as i32),
        run.code
    );
    assert!(
        run.stderr.contains(message),
        "compiler message missing\n{}",
        run.context()
    );
    assert!(run.stdout.is_empty(), "{}", run.context());
    let events = audit_events(&run);
    assert!(
        events.iter().all(|(_, i)| i.ends_with("-build")),
        "a run step followed a failed build: {events:?}"
    );
    assert_eq!(events.len(), 4, "{events:?}");
}

#[test]
fn rust_compile_error_is_reported() {
    compile_error(&program("broken.rs"), "error[E0308]: mismatched types");
}

#[test]
fn go_compile_error_is_reported() {
    compile_error(&program("broken.go"), "undefined: undefinedFunction");
}

/// --runner picks the runner whatever the extension.
#[test]
fn runner_flag_overrides_the_extension() {
    let (_k, f) = temp_file("script.txt", "print('picked by --runner')\n");
    let run = vsbx_run(&["--runner", "python", f.to_str().unwrap()]);
    assert_eq!(run.code, Some(0), "{}", run.context());
    assert_eq!(run.stdout_str(), "picked by --runner\n");
}
