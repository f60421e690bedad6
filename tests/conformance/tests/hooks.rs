//! OCI hooks: the six kinds, their order and the state each receives on stdin, their env and
//! args, and what a failing or hanging hook does to the lifecycle.
//!
//! Every hook is `/bin/sh -c SCRIPT arg0` with env `FOO=bar`; it appends
//! `KIND STATUS ID $FOO $0` to a log file, STATUS and ID taken from the state JSON on its stdin.
//! startContainer runs inside the container (its /bin/sh is the busybox rootfs's) and writes
//! through the /out bind mount; the others run on the host and write to the same file directly.

use serde_json::{json, Value};
use std::fs;
use std::process::Command;
use std::time::{Duration, Instant};
use vsbx_conformance::*;

const KINDS: [&str; 6] = [
    "prestart",
    "createRuntime",
    "createContainer",
    "startContainer",
    "poststart",
    "poststop",
];

/// A hook that logs `KIND STATUS ID $FOO $0` to `log`.
fn logging_hook(kind: &str, log: &str) -> Value {
    let script = format!(
        "s=$(cat); \
         st=$(echo \"$s\" | sed -n 's/.*\"status\" *: *\"\\([a-z]*\\)\".*/\\1/p'); \
         id=$(echo \"$s\" | sed -n 's/.*\"id\" *: *\"\\([^\"]*\\)\".*/\\1/p'); \
         echo \"{kind} $st $id $FOO $0\" >> {log}"
    );
    json!({"path": "/bin/sh", "args": ["sh", "-c", script, "arg0"], "env": ["FOO=bar"]})
}

/// A bundle with one logging hook of every kind; the process logs `process`.
fn hooked(name: &str) -> Bundle {
    let mut b = Bundle::new(name);
    let out = b.out_dir();
    let host_log = out.join("log");
    let mut hooks = serde_json::Map::new();
    for kind in KINDS {
        let log = if kind == "startContainer" {
            "/out/log".to_string()
        } else {
            host_log.display().to_string()
        };
        hooks.insert(kind.to_string(), json!([logging_hook(kind, &log)]));
    }
    b.config()["hooks"] = Value::Object(hooks);
    b.sh("echo process >> /out/log");
    b
}

fn log_lines(b: &Bundle) -> Vec<String> {
    let p = b.path().join("out/log");
    fs::read_to_string(p)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

fn position(lines: &[String], kind: &str) -> usize {
    lines
        .iter()
        .position(|l| l.split(' ').next() == Some(kind))
        .unwrap_or_else(|| panic!("{kind} never ran: {lines:#?}"))
}

#[test]
fn all_six_hooks_in_order_with_state_env_and_args() {
    let rt = Runtime::new("hooks-all");
    let b = hooked("hooks-all");
    let id = unique_id("hooks-all");

    rt.create(&id, &b).assert_ok();
    let after_create = log_lines(&b);
    // runc 1.1.5 runs poststart hooks at the end of `create` (libcontainer's start(), fixed in
    // runc 1.2), when the status is still "created". The spec has them run by `start`, after
    // the user process has started.
    let create_kinds: &[&str] = if is_runc() {
        &["prestart", "createRuntime", "createContainer", "poststart"]
    } else {
        &["prestart", "createRuntime", "createContainer"]
    };
    let kinds: Vec<&str> = after_create
        .iter()
        .map(|l| l.split(' ').next().unwrap())
        .collect();
    assert_eq!(
        kinds, create_kinds,
        "hooks run by create: {after_create:#?}"
    );

    rt.start(&id).assert_ok();
    rt.wait_status(&id, "stopped");
    // poststart may log after the process (it runs once the process has started).
    assert!(
        wait_until(|| log_lines(&b).iter().any(|l| l.starts_with("poststart "))),
        "poststart ran: {:#?}",
        log_lines(&b)
    );
    rt.delete(&id).assert_ok();
    rt.assert_gone(&id, &b, None);

    let lines = log_lines(&b);
    assert_eq!(
        lines.len(),
        7,
        "six hooks and the process, once each: {lines:#?}"
    );
    let status = |kind: &str| {
        let line = &lines[position(&lines, kind)];
        let f: Vec<&str> = line.split(' ').collect();
        assert_eq!(f.len(), 5, "KIND STATUS ID FOO ARG0: {line:?}");
        assert_eq!(f[2], id, "state id given to {kind}: {line:?}");
        assert_eq!(f[3], "bar", "env of {kind}: {line:?}");
        assert_eq!(f[4], "arg0", "args of {kind}: {line:?}");
        f[1].to_string()
    };
    assert_eq!(status("prestart"), "creating");
    assert_eq!(status("createRuntime"), "creating");
    assert_eq!(status("createContainer"), "creating");
    // The create operation has finished when start runs the startContainer hooks: "created".
    assert_eq!(status("startContainer"), "created");
    if is_runc() {
        assert_eq!(
            status("poststart"),
            "created",
            "runc runs poststart at create"
        );
    } else {
        assert_eq!(status("poststart"), "running");
    }
    assert_eq!(status("poststop"), "stopped");

    let at = |k: &str| position(&lines, k);
    assert!(at("prestart") < at("createContainer"));
    assert!(at("createRuntime") < at("createContainer"));
    assert!(at("createContainer") < at("startContainer"));
    assert!(
        at("startContainer") < at("process"),
        "startContainer before the process"
    );
    if !is_runc() {
        assert!(at("startContainer") < at("poststart"));
    }
    assert_eq!(at("poststop"), lines.len() - 1, "poststop last: {lines:#?}");
}

/// A bundle whose `kind` hook is `sh -c SCRIPT` (plus the given timeout) and whose process
/// marks /out/ran.
fn one_hook(name: &str, kind: &str, hooks: Value) -> Bundle {
    let mut b = Bundle::new(name);
    b.out_dir();
    b.config()["hooks"] = json!({ kind: hooks });
    b.sh("echo ran > /out/ran; exec sleep 1000");
    b
}

fn sh_hook(script: &str) -> Value {
    json!({"path": "/bin/sh", "args": ["sh", "-c", script]})
}

#[test]
fn failing_create_hooks_fail_create_and_leave_nothing() {
    for kind in ["prestart", "createRuntime", "createContainer"] {
        let rt = Runtime::new("hook-fail");
        let b = one_hook("hook-fail", kind, json!([sh_hook("echo oops >&2; exit 3")]));
        let id = unique_id("hook-fail");
        let out = rt.create(&id, &b);
        assert_eq!(out.code(), Some(1), "{kind}: {out}");
        // runc: "error running hook #0: error running hook: exit status 3, stdout: , stderr:
        // oops\n" on one line.
        let error_lines: Vec<&str> = out
            .stderr
            .lines()
            .filter(|l| l.contains("level=error"))
            .collect();
        assert_eq!(error_lines.len(), 1, "{kind}: one error line: {out}");
        assert!(
            error_lines[0].to_lowercase().contains("hook"),
            "{kind}: names the hook: {out}"
        );
        rt.assert_gone(&id, &b, None);
        assert!(
            !b.path().join("out/ran").exists(),
            "{kind}: the process never ran"
        );
    }
}

#[test]
fn failing_poststart_hook() {
    let rt = Runtime::new("poststart-fail");
    // The second hook marks a file in the test's scratch dir on the host.
    let second = rt.scratch().join("second");
    let b = one_hook(
        "poststart-fail",
        "poststart",
        json!([
            sh_hook("exit 4"),
            {"path": "/bin/sh", "args": ["sh", "-c", "echo second > \"$0\"", second]},
        ]),
    );
    let id = unique_id("poststart-fail");
    let out = rt.create(&id, &b);
    if is_runc() {
        // runc 1.1.5 runs poststart hooks inside `create` and treats a failure as fatal:
        // create fails ("error running hook #0: ... exit status 4") and the container is
        // removed; the later hooks do not run.
        out.assert_error("hook");
        rt.assert_gone(&id, &b, None);
        assert!(!second.exists());
        return;
    }
    // The spec: "If a poststart hook fails, the runtime MUST log a warning, but the remaining
    // hooks and lifecycle continue as if the hook had succeeded."
    out.assert_ok();
    let start = rt.start(&id);
    start.assert_ok();
    assert!(
        start.stderr.contains("poststart") && start.stderr.contains("warn"),
        "a warning names the hook: {start}"
    );
    assert!(second.exists(), "the next poststart hook ran");
    let ran = b.path().join("out/ran");
    assert!(wait_until(|| ran.exists()), "the process ran");
    assert_eq!(rt.state_json(&id)["status"], "running");
    rt.delete_force(&id).assert_ok();
    rt.assert_gone(&id, &b, None);
}

/// Exit 1 with one error line saying the hook timed out ("timeout" or "timed out").
#[track_caller]
fn assert_timeout_error(out: &Outcome) {
    assert_eq!(out.code(), Some(1), "{out}");
    out.assert_one_line_error();
    let e = out.stderr.to_lowercase();
    assert!(
        e.contains("timeout") || e.contains("timed out"),
        "says it timed out: {out}"
    );
}

#[test]
fn hook_timeout_fails_create_quickly() {
    let rt = Runtime::new("hook-timeout");
    let mut hook = sh_hook("exec sleep 10");
    hook["timeout"] = json!(1);
    let b = one_hook("hook-timeout", "createRuntime", json!([hook]));
    let id = unique_id("hook-timeout");
    let started = Instant::now();
    let out = rt.create(&id, &b);
    let took = started.elapsed();
    // runc: "error running hook #0: hook ran past specified timeout of 1.0s".
    assert_timeout_error(&out);
    assert!(
        took < Duration::from_secs(6),
        "create took {took:?} with a 1s hook timeout"
    );
    rt.assert_gone(&id, &b, None);

    // A hook whose child outlives it. runc 1.1.5 kills the hook on timeout but then waits for
    // its stdout/stderr pipes to close, i.e. for the orphaned `sleep 10`: create takes the full
    // 10 s. vsbx must not wait for the hook's descendants.
    if is_runc() {
        return;
    }
    let rt = Runtime::new("hook-timeout-child");
    let mut hook = sh_hook("sleep 10; true");
    hook["timeout"] = json!(1);
    let b = one_hook("hook-timeout-child", "createRuntime", json!([hook]));
    let id = unique_id("hook-timeout-child");
    let started = Instant::now();
    let out = rt.create(&id, &b);
    let took = started.elapsed();
    assert_timeout_error(&out);
    assert!(
        took < Duration::from_secs(6),
        "create took {took:?} with a 1s hook timeout"
    );
    rt.assert_gone(&id, &b, None);
}

/// `env` as sorted lines, less what busybox's sh exports of its own (PWD, SHLVL; it adds a
/// PATH only where none was given, so every environment below but the empty one has one).
fn env_lines(text: &str) -> Vec<String> {
    let mut v: Vec<String> = text
        .lines()
        .filter(|l| {
            let key = l.split('=').next().unwrap_or("");
            !matches!(key, "PWD" | "OLDPWD" | "SHLVL" | "_")
        })
        .map(str::to_string)
        .collect();
    v.sort();
    v
}

#[test]
fn in_container_hooks_get_the_process_env_unless_they_have_their_own() {
    // runc 1.1.5 runs createContainer and startContainer hooks from its init, whose environment
    // is then exactly process.env (by startContainer, plus HOME when it is unset): a hook
    // without `env` gets that environment, a hook with `env` gets its own and nothing else,
    // even when it is empty. (The hooks runc runs on the host, prestart, createRuntime,
    // poststart and poststop, get runc's own environment instead; vsbx gives them none.)
    let rt = Runtime::new("hook-start-env");
    let mut b = Bundle::new("hook-start-env");
    b.out_dir();
    b.config()["process"]["env"] = json!([
        "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
        "FOO=from-process",
        "WITH_SPACE=a b"
    ]);
    // createContainer runs before pivot_root, with the host's /bin/sh: it writes to the host
    // path of /out.
    let cc_out = b.path().join("out/hook-create-container");
    let cc = format!("/bin/env > {}", cc_out.display());
    b.config()["hooks"] = json!({
        "createContainer": [{"path": "/bin/sh", "args": ["sh", "-c", cc]}],
        "startContainer": [
        {"path": "/bin/sh", "args": ["sh", "-c", "/bin/env > /out/hook-inherit"]},
        {"path": "/bin/sh", "args": ["sh", "-c", "/bin/env > /out/hook-own"],
         "env": ["FOO=from-hook", "PATH=/bin"]},
        {"path": "/bin/sh", "args": ["sh", "-c", "/bin/env > /out/hook-empty"], "env": []},
    ]});
    b.sh("/bin/env > /out/process; exec sleep 1000");
    let id = unique_id("hook-start-env");
    b.save();
    rt.track(&id);
    let path = b.path().display().to_string();
    // A variable of the runtime's own environment must not reach the hooks.
    rt.exec_command(
        rt.command(&["create", "--bundle", &path, &id])
            .env("VSBX_HOOK_MARKER", "from-the-runtime"),
    )
    .assert_ok();
    rt.start(&id).assert_ok();
    let done = b.path().join("out/process");
    assert!(wait_until(
        || done.exists() && !b.read_out("process").is_empty()
    ));

    let process = env_lines(&b.read_out("process"));
    assert!(
        process.contains(&"FOO=from-process".to_string()),
        "{process:#?}"
    );
    assert!(
        process.iter().any(|l| l.starts_with("HOME=")),
        "{process:#?}"
    );
    // createContainer too, before the runtime adds HOME: process.env as it is.
    assert_eq!(
        env_lines(&b.read_out("hook-create-container")),
        vec![
            "FOO=from-process".to_string(),
            "PATH=/usr/sbin:/usr/bin:/sbin:/bin".to_string(),
            "WITH_SPACE=a b".to_string(),
        ],
        "a createContainer hook without env gets process.env"
    );
    let inherit = env_lines(&b.read_out("hook-inherit"));
    assert_eq!(
        inherit, process,
        "a hook without env gets the process's env"
    );
    assert_eq!(
        env_lines(&b.read_out("hook-own")),
        vec!["FOO=from-hook".to_string(), "PATH=/bin".to_string()],
        "a hook with env gets only its own"
    );
    let empty = env_lines(&b.read_out("hook-empty"));
    assert!(
        empty.iter().all(|l| l.starts_with("PATH=")),
        "a hook with an empty env gets none (but the PATH its shell sets): {empty:#?}"
    );
    rt.delete_force(&id).assert_ok();
    rt.assert_gone(&id, &b, None);
}

#[test]
fn bad_hook_paths_and_timeouts_fail_create() {
    // A relative path, in a hook create runs and in one it never reaches.
    for kind in ["createRuntime", "poststop"] {
        let rt = Runtime::new("hook-relative");
        let marker = rt.scratch().join("ran");
        let b = one_hook(
            "hook-relative",
            kind,
            json!([{"path": "hook.sh", "args": ["hook.sh", marker]}]),
        );
        fs::write(b.path().join("hook.sh"), "#!/bin/sh\necho ran > \"$1\"\n").unwrap();
        Command::new("chmod")
            .arg("755")
            .arg(b.path().join("hook.sh"))
            .status()
            .unwrap();
        b.save();
        let id = unique_id("hook-relative");
        let out = rt.create(&id, &b);
        if is_runc() {
            // runc 1.1.5 checks no hook path; it runs them from the bundle directory, so a
            // relative path names a file there.
            out.assert_ok();
            assert_eq!(marker.exists(), kind == "createRuntime", "{kind}: {out}");
            rt.delete_force(&id).assert_ok();
            continue;
        }
        // vsbx is deliberately stricter: the spec says a hook's path MUST be absolute, and a
        // relative one would be looked up wherever the runtime happens to run. create refuses
        // it before making anything, whichever kind it is.
        assert_eq!(out.code(), Some(1), "{kind}: {out}");
        out.assert_one_line_error();
        assert!(
            out.stderr.contains(&format!("hooks.{kind}[0].path")),
            "{kind}: names the field: {out}"
        );
        assert!(!marker.exists(), "{kind}: the hook never ran");
        rt.assert_gone(&id, &b, None);
    }

    // A timeout of zero or below: runc 1.1.5 runs the hook and fails create ("hook ran past
    // specified timeout of 0.0s"); vsbx refuses the config naming the field, before it runs.
    for timeout in [0, -1] {
        let rt = Runtime::new("hook-timeout-zero");
        let marker = rt.scratch().join("ran");
        let b = one_hook(
            "hook-timeout-zero",
            "createRuntime",
            json!([{"path": "/bin/sh", "args": ["sh", "-c", "echo ran > \"$0\"", marker],
                    "timeout": timeout}]),
        );
        let id = unique_id("hook-timeout-zero");
        let out = rt.create(&id, &b);
        assert_eq!(out.code(), Some(1), "timeout {timeout}: {out}");
        out.assert_one_line_error();
        if is_runc() {
            assert!(out.stderr.contains("timeout"), "{out}");
        } else {
            assert!(
                out.stderr.contains("hooks.createRuntime[0].timeout"),
                "names the field: {out}"
            );
            assert!(!marker.exists(), "the hook never ran");
        }
        rt.assert_gone(&id, &b, None);
    }
}
