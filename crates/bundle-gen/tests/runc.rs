//! Generated bundles run unchanged under Debian's runc (`runc run --bundle B id`): stdout and
//! exit status of a tiny program per runner. Needs root and runc (the test suite's caller
//! installs runc, busybox-static, python3, nodejs, golang-go); a missing runc or interpreter is
//! reported loudly and that case is skipped.

mod common;

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{generate_ok, Workspace};
use vsbx_bundle_gen::{BundleRequest, PolicySource, RunnerCatalog, StepKind};

const RUN_LIMIT: Duration = Duration::from_secs(180);

fn skip(why: &str) {
    eprintln!("\n!!!!!!!! SKIPPED: {why} !!!!!!!!\n");
}

/// True when runc can run bundles here (root and runc installed); says why not otherwise.
fn runc_ready() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        skip("runc tests need root");
        return false;
    }
    if Command::new("runc").arg("--version").output().is_err() {
        skip("runc is not installed (apt-get install -y runc)");
        return false;
    }
    true
}

struct Outcome {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn read_all(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = pipe.read_to_string(&mut text);
        text
    })
}

/// `runc run --bundle DIR ID` with stdin closed, killed after RUN_LIMIT.
fn runc_run(bundle_dir: &Path, name: &str) -> Outcome {
    let id = format!("vsbx-bundlegen-{}-{name}", std::process::id());
    let mut child = Command::new("runc")
        .arg("run")
        .arg("--bundle")
        .arg(bundle_dir)
        .arg(&id)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn runc");
    let stdout = read_all(child.stdout.take().expect("stdout"));
    let stderr = read_all(child.stderr.take().expect("stderr"));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait runc") {
            break Some(status);
        }
        if started.elapsed() > RUN_LIMIT {
            let _ = Command::new("runc")
                .args(["delete", "--force", &id])
                .status();
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Outcome {
        code: status.and_then(|s| s.code()),
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    }
}

/// Generates `request`, runs its steps in order, and returns the outcome of the run step.
fn run_bundle(request: &BundleRequest, catalog: &RunnerCatalog, name: &str) -> Outcome {
    let bundle = generate_ok(request, catalog);
    for step in bundle.steps() {
        let outcome = runc_run(
            step.bundle_dir,
            &format!("{name}-{:?}", step.kind).to_lowercase(),
        );
        if step.kind == StepKind::Build {
            assert_eq!(
                outcome.code,
                Some(0),
                "{name}: build failed: {}{}",
                outcome.stdout,
                outcome.stderr
            );
        } else {
            return outcome;
        }
    }
    unreachable!("the last step is the run")
}

fn assert_outcome(outcome: &Outcome, code: i32, stdout: &str, what: &str) {
    assert_eq!(
        (outcome.code, outcome.stdout.as_str()),
        (Some(code), stdout),
        "{what}: stderr: {}",
        outcome.stderr
    );
}

fn interpreter_present(path: &str, package: &str) -> bool {
    let present = Path::new(path).is_file();
    if !present {
        skip(&format!("{path} is missing (apt-get install -y {package})"));
    }
    present
}

#[test]
fn shell_script_runs_under_runc_with_its_exit_status() {
    if !runc_ready() {
        return;
    }
    let ws = Workspace::new();
    let Some(rootfs) = common::make_busybox_rootfs(ws.path()) else {
        skip("busybox-static is missing: cannot make the shell rootfs");
        return;
    };
    let catalog = common::catalog_with_shell_rootfs(&rootfs);
    let script = "echo \"hello $(echo from) $(hostname)\"\necho x > /tmp/f && cat /tmp/f\n\
                  (echo y > /work/z) 2>/dev/null || echo work-ro\nid -u\nexit 3\n";
    let mut request = ws.request("hello.sh", script);
    request.limits.memory_bytes = Some(64 << 20);
    request.limits.cpu_millis = Some(500);
    request.limits.pids = Some(64);
    request.limits.tmp_bytes = Some(16 << 20);
    let outcome = run_bundle(&request, &catalog, "shell");
    assert_outcome(&outcome, 3, "hello from vsbx\nx\nwork-ro\n65534\n", "shell");
}

/// The identity `vsbx run` gives each run (a host uid of its own, no user namespace) keeps
/// the bundle plain OCI: runc runs it as that uid, with /output writable.
#[test]
fn shell_runs_under_runc_as_its_own_uid() {
    if !runc_ready() {
        return;
    }
    let ws = Workspace::new();
    let Some(rootfs) = common::make_busybox_rootfs(ws.path()) else {
        skip("busybox-static is missing: cannot make the shell rootfs");
        return;
    };
    let catalog = common::catalog_with_shell_rootfs(&rootfs);
    let mut request = ws.request(
        "id.sh",
        "id -u\nid -g\necho x > /output/f && cat /output/f\n",
    );
    request.run_as = Some((2_000_000_123, 2_000_000_123));
    let outcome = run_bundle(&request, &catalog, "shell-run-as");
    assert_outcome(
        &outcome,
        0,
        "2000000123\n2000000123\nx\n",
        "shell as its own uid",
    );
}

#[test]
fn shell_runs_under_the_minimal_profile() {
    if !runc_ready() {
        return;
    }
    let ws = Workspace::new();
    let Some(rootfs) = common::make_busybox_rootfs(ws.path()) else {
        skip("busybox-static is missing: cannot make the shell rootfs");
        return;
    };
    let catalog = common::catalog_with_shell_rootfs(&rootfs);
    let mut request = ws.request("min.sh", "echo minimal\n");
    request.policy = Some(PolicySource::Builtin("minimal".into()));
    let outcome = run_bundle(&request, &catalog, "shell-minimal");
    assert_outcome(&outcome, 0, "minimal\n", "shell under minimal");
}

#[test]
fn python_prints_under_runc_with_limits_and_output_dir() {
    if !runc_ready() || !interpreter_present("/usr/bin/python3", "python3") {
        return;
    }
    let ws = Workspace::new();
    let out = ws.path().join("out");
    std::fs::create_dir(&out).expect("out");
    std::fs::set_permissions(&out, std::os::unix::fs::PermissionsExt::from_mode(0o1777))
        .expect("chmod");
    let program =
        "import sys, threading\nt = threading.Thread(target=lambda: None); t.start(); t.join()\n\
                   open('/output/result.txt', 'w').write('done')\nprint(2+2)\nsys.exit(7)\n";
    let mut request = ws.request("hello.py", program);
    request.limits.memory_bytes = Some(64 << 20);
    request.limits.cpu_millis = Some(500);
    request.limits.pids = Some(64);
    request.output = Some(out.clone());
    let outcome = run_bundle(&request, &common::example_catalog(), "python");
    assert_outcome(&outcome, 7, "4\n", "python");
    assert_eq!(
        std::fs::read_to_string(out.join("result.txt"))
            .ok()
            .as_deref(),
        Some("done")
    );
}

#[test]
fn node_prints_under_runc() {
    if !runc_ready() || !interpreter_present("/usr/bin/node", "nodejs") {
        return;
    }
    let ws = Workspace::new();
    let program = "const { execFileSync } = require('child_process');\n\
                   execFileSync('/bin/true');\nconsole.log(2 + 2);\nprocess.exitCode = 4;\n";
    let request = ws.request("hello.js", program);
    let outcome = run_bundle(&request, &common::example_catalog(), "node");
    assert_outcome(&outcome, 4, "4\n", "node");
}

#[test]
fn python_with_a_user_namespace_runs_under_runc() {
    if !runc_ready() || !interpreter_present("/usr/bin/python3", "python3") {
        return;
    }
    let ws = Workspace::new();
    let mut request = ws.request("userns.py", "import os\nprint(os.getuid())\n");
    request.user_namespace = Some(vsbx_bundle_gen::UserNamespace::with_host_base(200_000));
    let outcome = run_bundle(&request, &common::example_catalog(), "python-userns");
    assert_outcome(&outcome, 0, "65534\n", "python in a user namespace");
}

#[test]
fn rust_builds_then_runs_under_runc() {
    if !runc_ready() {
        return;
    }
    let catalog = common::example_catalog();
    let toolchain = &catalog.get("rust").expect("rust").binds[0].source;
    if !toolchain.join("bin/rustc").is_file() {
        skip(&format!("no rust toolchain at {}", toolchain.display()));
        return;
    }
    let ws = Workspace::new();
    let program = "fn main() {\n    let t = std::thread::spawn(|| 2 + 2);\n    \
                   println!(\"{}\", t.join().unwrap());\n    std::process::exit(5);\n}\n";
    let outcome = run_bundle(&ws.request("main.rs", program), &catalog, "rust");
    assert_outcome(&outcome, 5, "4\n", "rust");

    // The build is static, so a plain program also runs under minimal.
    let ws = Workspace::new();
    let mut request = ws.request("plain.rs", "fn main() { println!(\"plain\"); }\n");
    request.policy = Some(PolicySource::Builtin("minimal".into()));
    let outcome = run_bundle(&request, &catalog, "rust-minimal");
    assert_outcome(&outcome, 0, "plain\n", "rust under minimal");
}

#[test]
fn go_builds_then_runs_under_runc() {
    if !runc_ready() || !interpreter_present("/usr/bin/go", "golang-go") {
        return;
    }
    let ws = Workspace::new();
    let program = "package main\n\nimport (\n\t\"fmt\"\n\t\"os\"\n)\n\nfunc main() {\n\tfmt.Println(2 + 2)\n\tos.Exit(6)\n}\n";
    let outcome = run_bundle(
        &ws.request("main.go", program),
        &common::example_catalog(),
        "go",
    );
    assert_outcome(&outcome, 6, "4\n", "go");
}
