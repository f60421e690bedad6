//! Runs busybox bundles through `run_bundle` and checks the report against what the
//! program did, and that nothing is left on the host afterwards. Needs root.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::{json, Value};
use vsbx_sandbox::{run_bundle, Outcome, RunOptions, RunResult, Sandbox};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A bundle with a busybox rootfs and `args`, plus extra linux.resources.
fn bundle(dir: &Path, args: &[&str], resources: Value) -> PathBuf {
    let b = dir.join("bundle");
    std::fs::create_dir_all(&b).unwrap();
    let st = Command::new(workspace().join("examples/bundles/mkrootfs.sh"))
        .arg(b.join("rootfs"))
        .status()
        .unwrap();
    assert!(st.success(), "mkrootfs failed");
    let mut cfg: Value = serde_json::from_str(
        &std::fs::read_to_string(workspace().join("examples/bundles/hello/config.json")).unwrap(),
    )
    .unwrap();
    cfg["process"]["args"] = json!(args);
    if let Some(obj) = resources.as_object() {
        for (k, v) in obj {
            cfg["linux"]["resources"][k] = v.clone();
        }
    }
    std::fs::write(
        b.join("config.json"),
        serde_json::to_vec_pretty(&cfg).unwrap(),
    )
    .unwrap();
    b
}

fn run(
    name: &str,
    args: &[&str],
    resources: Value,
    timeout: Option<Duration>,
    cap: u64,
) -> RunResult {
    let tmp = tempfile::tempdir().unwrap();
    let b = bundle(tmp.path(), args, resources);
    let id = format!("sbx-test-{name}-{}", std::process::id());
    let root = tmp.path().join("state");
    let r = run_bundle(&RunOptions {
        bundle: b,
        id: id.clone(),
        root: root.clone(),
        timeout,
        stdin: None,
        output_cap: cap,
        stream: false,
        sample_every: Duration::from_millis(20),
        interrupt: None,
        raw_output: false,
        keep_dir: None,
    })
    .unwrap_or_else(|e| panic!("{name}: {e}"));
    // Nothing left behind: state, cgroups, processes.
    assert!(!root.join(&id).exists(), "{name}: state dir left");
    for ctrl in ["freezer", "pids", "devices"] {
        assert!(
            !Path::new("/sys/fs/cgroup").join(ctrl).join(&id).exists(),
            "{name}: {ctrl} cgroup left"
        );
    }
    r
}

fn cases() -> Vec<(&'static str, fn())> {
    vec![
        ("ok_and_output", || {
            let r = run(
                "ok",
                &["sh", "-c", "echo hello; echo oops >&2"],
                json!({}),
                None,
                1 << 20,
            );
            assert_eq!(r.report.status, Outcome::Ok);
            assert_eq!(r.stdout, b"hello\n");
            assert_eq!(r.stderr, b"oops\n");
            assert_eq!(r.report.stdout.bytes, 6);
        }),
        ("exit_nonzero", || {
            let r = run("exit3", &["sh", "-c", "exit 3"], json!({}), None, 1 << 20);
            assert_eq!(r.report.status, Outcome::ExitNonzero);
            assert_eq!(r.report.exit_code, Some(3));
        }),
        ("timeout_is_prompt", || {
            let r = run(
                "timeout",
                &["sleep", "30"],
                json!({}),
                Some(Duration::from_millis(300)),
                1 << 20,
            );
            assert_eq!(r.report.status, Outcome::Timeout);
            assert!(
                r.report.wall_ms >= 300 && r.report.wall_ms < 500,
                "wall {} ms",
                r.report.wall_ms
            );
        }),
        ("oom_killed", || {
            let hog = "x=$(head -c 200000000 /dev/zero | tr '\\0' a); echo survived";
            let r = run(
                "oom",
                &["sh", "-c", hog],
                json!({"memory": {"limit": 33554432, "swap": 33554432}}),
                Some(Duration::from_secs(20)),
                1 << 20,
            );
            assert_eq!(r.report.status, Outcome::OomKilled, "{:?}", r.report);
            assert!(
                r.report.peak_memory_bytes >= 16 << 20,
                "peak {}",
                r.report.peak_memory_bytes
            );
            assert!(!String::from_utf8_lossy(&r.stdout).contains("survived"));
        }),
        ("output_flood_is_truncated", || {
            let r = run(
                "flood",
                &["sh", "-c", "head -c 5000000 /dev/zero"],
                json!({}),
                Some(Duration::from_secs(20)),
                1 << 20,
            );
            assert_eq!(r.report.status, Outcome::Ok);
            assert!(r.report.stdout.truncated);
            assert_eq!(r.report.stdout.bytes, 5_000_000);
            assert_eq!(r.stdout.len(), 1 << 20);
        }),
        ("fork_bomb_stops_at_pids_limit", || {
            let bomb =
                "i=0; while [ $i -lt 200 ]; do sleep 5 & i=$((i+1)); done; while :; do :; done";
            let r = run(
                "bomb",
                &["sh", "-c", bomb],
                json!({"pids": {"limit": 16}}),
                Some(Duration::from_millis(1500)),
                1 << 20,
            );
            // busybox sh gives up when fork fails at the limit: the bomb ends by itself.
            assert_eq!(r.report.status, Outcome::ExitNonzero, "{:?}", r.report);
            assert!(
                String::from_utf8_lossy(&r.stderr).contains("fork"),
                "{}",
                String::from_utf8_lossy(&r.stderr)
            );
            assert!(
                r.report.peak_pids <= 16 && r.report.peak_pids >= 10,
                "peak pids {}",
                r.report.peak_pids
            );
        }),
        ("state_root_of_another_user_is_refused", || {
            let tmp = tempfile::tempdir().unwrap();
            let root = tmp.path().join("state");
            std::fs::create_dir(&root).unwrap();
            std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o700)).unwrap();
            std::os::unix::fs::chown(&root, Some(65534), Some(65534)).unwrap();
            refused_state_root(&root, &root, "owned by uid 65534");
        }),
        ("state_root_that_is_a_symlink_is_refused", || {
            let tmp = tempfile::tempdir().unwrap();
            let target = tmp.path().join("elsewhere");
            std::fs::create_dir(&target).unwrap();
            std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o700)).unwrap();
            let root = tmp.path().join("state");
            std::os::unix::fs::symlink(&target, &root).unwrap();
            refused_state_root(&root, &target, "symlink");
        }),
    ]
}

/// A sandbox whose state root is `root` refuses to run (naming `why`) and writes nothing
/// into `watched`.
fn refused_state_root(root: &Path, watched: &Path, why: &str) {
    let sandbox = Sandbox {
        state_root: root.to_path_buf(),
        ..Sandbox::default()
    };
    let err = match sandbox.run(&["sh", "-c", "echo ran"]) {
        Ok(r) => panic!("ran with state root {}: {:?}", root.display(), r.report),
        Err(e) => e.to_string(),
    };
    assert!(
        err.contains("refusing to use") && err.contains(why),
        "{err}"
    );
    let written: Vec<_> = std::fs::read_dir(watched).unwrap().flatten().collect();
    assert!(
        written.is_empty(),
        "written into {}: {written:?}",
        watched.display()
    );
}

fn main() {
    // The runtime refuses to clone containers from a writable binary: run from a sealed copy.
    if let Err(e) = vsbx_runtime::sealed_exe::ensure() {
        panic!("cannot protect the test binary: {e}");
    }
    let filter: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let (mut passed, mut failed) = (0, 0);
    for (name, f) in cases() {
        if filter.as_deref().is_some_and(|flt| !name.contains(flt)) {
            continue;
        }
        // A panicking case is a failure; the next case still runs.
        match std::panic::catch_unwind(f) {
            Ok(()) => {
                println!("test {name} ... ok");
                passed += 1;
            }
            Err(_) => {
                println!("test {name} ... FAILED");
                failed += 1;
            }
        }
    }
    println!("{passed} passed, {failed} failed");
    if failed > 0 {
        std::process::exit(1);
    }
}
