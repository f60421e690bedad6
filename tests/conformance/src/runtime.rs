//! The runtime under test with a private `--root`, and the leftover check.

use crate::bundle::{Bundle, TempDir};
use crate::command::{run_with_timeout, spawn_logged, Outcome, Spawned};
use crate::host::{cgroup_leftovers, mounts_under, process_alive, wait_until};
use crate::{runtime, POLL, TIMEOUT};
use serde_json::Value;
use std::cell::RefCell;
use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// The runtime under test with a private state directory (`--root`), which it creates itself.
/// Dropping it force-deletes every container created through it.
pub struct Runtime {
    dir: TempDir,
    root: PathBuf,
    ids: RefCell<Vec<String>>,
    /// The binary to run instead of [`runtime()`] (see [`Runtime::with_binary`]).
    binary: Option<PathBuf>,
}

impl Runtime {
    pub fn new(name: &str) -> Runtime {
        let dir = TempDir::new(&format!("rt-{name}"));
        fs::create_dir(dir.path().join("io")).expect("mkdir io");
        let root = dir.path().join("state");
        Runtime {
            dir,
            root,
            ids: RefCell::new(Vec::new()),
            binary: None,
        }
    }

    /// Like [`Runtime::new`], but every command runs `binary` (e.g. a copy of the runtime under
    /// test that an attack may overwrite without harming the real one).
    pub fn with_binary(name: &str, binary: &Path) -> Runtime {
        let mut rt = Runtime::new(name);
        rt.binary = Some(binary.to_path_buf());
        rt
    }

    /// The binary this runs: [`runtime()`] unless made by [`Runtime::with_binary`].
    pub fn binary(&self) -> &Path {
        self.binary.as_deref().unwrap_or_else(|| runtime())
    }

    /// The `--root` directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// A scratch directory private to this test (not the state dir).
    pub fn scratch(&self) -> &Path {
        self.dir.path()
    }

    fn io_dir(&self) -> PathBuf {
        self.dir.path().join("io")
    }

    /// `runtime --root ROOT ARGS...`, not yet run.
    pub fn command<S: AsRef<OsStr>>(&self, args: &[S]) -> Command {
        let mut c = Command::new(self.binary());
        c.arg("--root").arg(&self.root);
        c.args(args);
        c
    }

    /// Remembers `id` so that drop force-deletes it.
    pub fn track(&self, id: &str) {
        let mut ids = self.ids.borrow_mut();
        if !ids.iter().any(|i| i == id) {
            ids.push(id.to_string());
        }
    }

    /// Runs `runtime --root ROOT ARGS...` to completion.
    #[track_caller]
    pub fn exec<S: AsRef<OsStr>>(&self, args: &[S]) -> Outcome {
        run_with_timeout(&mut self.command(args), &self.io_dir(), "cmd")
    }

    /// Like [`Runtime::exec`] for a prepared command (extra fds, cwd, global flags).
    #[track_caller]
    pub fn exec_command(&self, cmd: &mut Command) -> Outcome {
        run_with_timeout(cmd, &self.io_dir(), "cmd")
    }

    /// Starts a command in the background.
    pub fn spawn<S: AsRef<OsStr>>(&self, args: &[S]) -> Spawned {
        spawn_logged(&mut self.command(args), &self.io_dir(), "bg")
    }

    fn bundle_args(&self, cmd: &str, id: &str, bundle: &Bundle, extra: &[&str]) -> Vec<String> {
        bundle.save();
        self.track(id);
        let mut args = vec![
            cmd.to_string(),
            "--bundle".into(),
            bundle.path().display().to_string(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        args.push(id.to_string());
        args
    }

    /// `create --bundle B [EXTRA...] ID`. The container's stdout/stderr are the files behind
    /// the returned outcome (see [`Outcome::stdout_now`]).
    #[track_caller]
    pub fn create(&self, id: &str, bundle: &Bundle) -> Outcome {
        self.create_with(id, bundle, &[])
    }

    #[track_caller]
    pub fn create_with(&self, id: &str, bundle: &Bundle, extra: &[&str]) -> Outcome {
        self.exec(&self.bundle_args("create", id, bundle, extra))
    }

    /// `run --bundle B [EXTRA...] ID`, attached unless EXTRA has `--detach`: the outcome's
    /// stdout/exit code are the container's.
    #[track_caller]
    pub fn run(&self, id: &str, bundle: &Bundle, extra: &[&str]) -> Outcome {
        self.exec(&self.bundle_args("run", id, bundle, extra))
    }

    /// `run` in the background (attached), for tests that act on the container meanwhile.
    pub fn spawn_run(&self, id: &str, bundle: &Bundle, extra: &[&str]) -> Spawned {
        self.spawn(&self.bundle_args("run", id, bundle, extra))
    }

    #[track_caller]
    pub fn start(&self, id: &str) -> Outcome {
        self.exec(&["start", id])
    }

    #[track_caller]
    pub fn state(&self, id: &str) -> Outcome {
        self.exec(&["state", id])
    }

    #[track_caller]
    pub fn kill(&self, id: &str, signal: &str) -> Outcome {
        self.exec(&["kill", id, signal])
    }

    #[track_caller]
    pub fn delete(&self, id: &str) -> Outcome {
        self.exec(&["delete", id])
    }

    #[track_caller]
    pub fn delete_force(&self, id: &str) -> Outcome {
        self.exec(&["delete", "--force", id])
    }

    /// `state ID` parsed; fails the test if the command fails.
    #[track_caller]
    pub fn state_json(&self, id: &str) -> Value {
        let out = self.state(id);
        out.assert_ok();
        serde_json::from_str(&out.stdout)
            .unwrap_or_else(|e| panic!("state is not JSON ({e}): {out}"))
    }

    /// The container's status, or None when `state` fails (no such container).
    pub fn status(&self, id: &str) -> Option<String> {
        let out = self.state(id);
        if !out.ok() {
            return None;
        }
        let v: Value = serde_json::from_str(&out.stdout).ok()?;
        v["status"].as_str().map(str::to_string)
    }

    /// The host pid of the container's init (from `state`).
    #[track_caller]
    pub fn pid(&self, id: &str) -> i32 {
        let st = self.state_json(id);
        let pid = st["pid"]
            .as_i64()
            .unwrap_or_else(|| panic!("state has no pid: {st}"));
        pid as i32
    }

    /// Polls `state` until the status is `want` and returns that state; fails after
    /// [`TIMEOUT`]. A container that does not exist yet (a `run` in the background) is waited
    /// for too.
    #[track_caller]
    pub fn wait_status(&self, id: &str, want: &str) -> Value {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let out = self.state(id);
            let st: Option<Value> = if out.ok() {
                serde_json::from_str(&out.stdout).ok()
            } else {
                None
            };
            if let Some(st) = &st {
                if st["status"] == want {
                    return st.clone();
                }
            }
            assert!(
                Instant::now() < deadline,
                "container {id} never became {want:?}: last {out}"
            );
            std::thread::sleep(POLL);
        }
    }

    /// create + start, asserting both succeed; returns the init's host pid.
    #[track_caller]
    pub fn create_and_start(&self, id: &str, bundle: &Bundle) -> i32 {
        self.create(id, bundle).assert_ok();
        let pid = self.pid(id);
        self.start(id).assert_ok();
        pid
    }

    /// Runs the bundle attached, asserting exit 0; returns the container's stdout.
    #[track_caller]
    pub fn run_ok(&self, id: &str, bundle: &Bundle) -> String {
        let out = self.run(id, bundle, &[]);
        out.assert_ok();
        out.stdout
    }

    /// `list -q` as a list of IDs.
    #[track_caller]
    pub fn list_ids(&self) -> Vec<String> {
        let out = self.exec(&["list", "-q"]);
        out.assert_ok();
        out.stdout
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect()
    }

    /// Asserts that nothing of container `id` is left: `state` fails, `list` lacks it, the
    /// state dir has no entry naming it, `pid` (if given) is not alive, nothing is mounted under
    /// the bundle, and no cgroup directory for it exists (see [`cgroup_leftovers`]).
    #[track_caller]
    pub fn assert_gone(&self, id: &str, bundle: &Bundle, pid: Option<i32>) {
        let st = self.state(id);
        assert!(!st.ok(), "container {id} should not exist any more: {st}");
        assert!(
            !self.list_ids().contains(&id.to_string()),
            "list still shows {id}"
        );
        if let Ok(entries) = fs::read_dir(&self.root) {
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                assert!(!name.contains(id), "state dir still has {name} for {id}");
            }
        }
        if let Some(pid) = pid {
            assert!(
                wait_until(|| !process_alive(pid)),
                "container process {pid} is still alive"
            );
        }
        let mounted = mounts_under(bundle.path());
        assert!(
            mounted.is_empty(),
            "mounts left under the bundle: {mounted:?}"
        );
        let cgroups = cgroup_leftovers(id, None);
        assert!(
            cgroups.is_empty(),
            "cgroup directories left for {id}: {cgroups:?}"
        );
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        for id in self.ids.borrow().iter() {
            let mut cmd = self.command(&["delete", "--force", id.as_str()]);
            let s = spawn_logged(&mut cmd, &self.io_dir(), "cleanup");
            // Not `wait` with a panic: we may already be unwinding.
            let mut child = s.child;
            let deadline = Instant::now() + TIMEOUT;
            while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(POLL);
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
