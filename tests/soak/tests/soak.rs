//! Soak and crash safety: after many lifecycles, parallel runs, and each command killed with
//! SIGKILL at a random point (as an engine does on a timeout, or the OOM killer), followed by
//! `delete --force`, the host keeps nothing: no state entry, no cgroup directory in any
//! hierarchy, no mount, no container process.
//!
//! `make soak` runs the full size (`VSBX_SOAK=full`: 1000 lifecycles, 2x100 runs, 100 kills of
//! each command); `make test` runs a short one. `VSBX_SOAK_SEED` replays the kill points of a
//! run (the seed is printed). Against runc (VSBX_TEST_RUNTIME=runc) the leftovers are reported,
//! not asserted: runc 1.1.5 leaks cgroups of killed creates (issue 14 counted 245 in 100).

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use vsbx_conformance::{is_runc, Bundle, Runtime};
use vsbx_soak::{reap, Rng, Scale, Snapshot};

struct Soak {
    rt: Runtime,
    prefix: String,
    n: usize,
    /// /bin/true.
    quick: Bundle,
    /// sleep 1000: a container that is running when a command is killed.
    sleeper: Bundle,
    rng: Rng,
    before: Snapshot,
    failures: Vec<String>,
    figures: Vec<String>,
}

impl Soak {
    fn new() -> Soak {
        nix::sys::prctl::set_child_subreaper(true).expect("PR_SET_CHILD_SUBREAPER");
        vsbx_soak::start_reaper();
        let rt = Runtime::new("soak");
        let prefix = format!("soak{}", std::process::id());
        let mut quick = Bundle::new("soak-true");
        quick.args(&["/bin/true"]);
        quick.save();
        let mut sleeper = Bundle::new("soak-sleep");
        sleeper.args(&["/bin/sleep", "1000"]);
        sleeper.save();
        std::fs::create_dir_all(rt.root()).unwrap();
        // One run before the baseline: as root, vsbx-runtime keeps one read-only bind of its
        // own binary per version under /run/vsbx-exe (the CVE-2019-5736 defence), made by
        // the first command that needs it. That mount belongs to the binary, not to any
        // container; everything made after the baseline must still go.
        let warm = format!("{prefix}-warm");
        let out = run(
            rt.binary(),
            rt.root(),
            &["run", "--bundle", &Self::bundle_path(&quick), &warm],
        );
        assert!(
            out.status.success(),
            "warm-up run failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let before = Snapshot::take(rt.root(), &prefix);
        Soak {
            rt,
            prefix,
            n: 0,
            quick,
            sleeper,
            rng: Rng::new(),
            before,
            failures: Vec::new(),
            figures: Vec::new(),
        }
    }

    fn id(&mut self) -> String {
        self.n += 1;
        format!("{}-{}", self.prefix, self.n)
    }

    fn cmd(&self, args: &[&str]) -> Command {
        command(self.rt.binary(), self.rt.root(), args)
    }

    fn run(&self, args: &[&str]) -> Output {
        run(self.rt.binary(), self.rt.root(), args)
    }

    fn must(&mut self, what: &str, args: &[&str]) -> bool {
        let out = self.run(args);
        if !out.status.success() {
            self.failures.push(format!(
                "{what}: {args:?} failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        out.status.success()
    }

    fn bundle_path(b: &Bundle) -> String {
        b.path().display().to_string()
    }

    /// A container created from the sleeper and started.
    fn running(&mut self) -> Option<String> {
        let id = self.id();
        let b = Self::bundle_path(&self.sleeper);
        if !self.must("setup", &["create", "--bundle", &b, &id]) {
            return None;
        }
        if !self.must("setup", &["start", &id]) {
            return None;
        }
        Some(id)
    }

    fn spawn(&self, args: &[&str]) -> Child {
        self.cmd(args)
            .spawn()
            .unwrap_or_else(|e| panic!("spawning the runtime: {e}"))
    }

    fn kill_after(&mut self, mut child: Child, max: Duration) {
        std::thread::sleep(self.rng.delay(max));
        let _ = child.kill();
        let _ = child.wait();
    }

    /// After a phase: everything must be gone; records the phase's figures.
    fn check(&mut self, phase: &str, started: Instant, rounds: usize) {
        let left = Snapshot::leftovers_since(&self.before, self.rt.root(), &self.prefix);
        self.figures.push(format!(
            "{phase}: {rounds} rounds in {:.1} s, {} left",
            started.elapsed().as_secs_f64(),
            left.len()
        ));
        if !left.is_empty() {
            self.failures
                .push(format!("after {phase}, left behind: {left:#?}"));
        }
    }

    fn lifecycles(&mut self, n: usize) {
        let t = Instant::now();
        let b = Self::bundle_path(&self.quick);
        for _ in 0..n {
            let id = self.id();
            if !self.must("lifecycle", &["create", "--bundle", &b, &id]) {
                continue;
            }
            self.must("lifecycle", &["start", &id]);
            let deadline = Instant::now() + Duration::from_secs(10);
            while !self.stopped(&id) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(1));
            }
            self.must("lifecycle", &["delete", &id]);
        }
        self.check("sequential lifecycles", t, n);
    }

    /// `state ID`'s JSON ("" if it failed). Only `state` may have its stdout piped: an
    /// init inherits create's, and would hold the pipe open.
    fn state(&self, id: &str) -> (bool, String) {
        let out = self
            .cmd(&["state", id])
            .stdout(Stdio::piped())
            .output()
            .expect("spawning the runtime");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    }

    fn stopped(&self, id: &str) -> bool {
        let (ok, out) = self.state(id);
        !ok || out.contains("\"stopped\"")
    }

    fn created(&self, id: &str) -> bool {
        self.state(id).1.contains("\"created\"")
    }

    fn parallel_runs(&mut self, per_thread: usize) {
        let t = Instant::now();
        let b = Self::bundle_path(&self.quick);
        let ids: Vec<Vec<String>> = (0..2)
            .map(|_| (0..per_thread).map(|_| self.id()).collect())
            .collect();
        let failed: Vec<String> = std::thread::scope(|s| {
            let handles: Vec<_> = ids
                .iter()
                .map(|batch| {
                    let b = &b;
                    let (bin, root) = (self.rt.binary(), self.rt.root());
                    s.spawn(move || {
                        let mut failed = Vec::new();
                        for id in batch {
                            let out = run(bin, root, &["run", "--bundle", b, id]);
                            if !out.status.success() {
                                failed.push(format!(
                                    "run {id}: {}",
                                    String::from_utf8_lossy(&out.stderr).trim()
                                ));
                            }
                        }
                        failed
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap())
                .collect()
        });
        self.failures.extend(failed);
        self.check("2 threads of attached runs", t, 2 * per_thread);
    }

    fn killed_creates(&mut self, n: usize) {
        let t = Instant::now();
        let b = Self::bundle_path(&self.sleeper);
        for i in 0..n {
            let id = self.id();
            let child = self.spawn(&["create", "--bundle", &b, &id]);
            self.kill_after(child, Duration::from_millis(30));
            if i % 2 == 1 {
                // The id must stay usable: a new create cleans what the killed one left.
                let out = self.run(&["create", "--bundle", &b, &id]);
                let err = String::from_utf8_lossy(&out.stderr);
                // "already exists" is right only if the killed create had finished.
                let refused_rightly = err.contains("already exists") && self.created(&id);
                if !(out.status.success() || refused_rightly) {
                    self.failures.push(format!(
                        "create of {id} after a killed create failed: {}",
                        err.trim()
                    ));
                }
            }
            self.must("cleanup", &["delete", "--force", &id]);
        }
        self.check("killed create", t, n);
    }

    /// Kills `args` (`ID` replaced by a running container's id) at a random point, then
    /// `delete --force`.
    fn killed(&mut self, phase: &str, n: usize, args: &[&str], max: Duration) {
        let t = Instant::now();
        for _ in 0..n {
            let Some(id) = self.running() else { continue };
            let full: Vec<&str> = args
                .iter()
                .map(|a| if *a == "ID" { id.as_str() } else { a })
                .collect();
            let child = self.spawn(&full);
            self.kill_after(child, max);
            self.must("cleanup", &["delete", "--force", &id]);
        }
        self.check(phase, t, n);
    }

    fn killed_start(&mut self, n: usize) {
        let t = Instant::now();
        let b = Self::bundle_path(&self.sleeper);
        for _ in 0..n {
            let id = self.id();
            if !self.must("setup", &["create", "--bundle", &b, &id]) {
                continue;
            }
            let child = self.spawn(&["start", &id]);
            self.kill_after(child, Duration::from_millis(10));
            self.must("cleanup", &["delete", "--force", &id]);
        }
        self.check("killed start", t, n);
    }

    fn killed_delete(&mut self, n: usize) {
        let t = Instant::now();
        for _ in 0..n {
            let Some(id) = self.running() else { continue };
            let child = self.spawn(&["delete", "--force", &id]);
            self.kill_after(child, Duration::from_millis(20));
            self.must("cleanup", &["delete", "--force", &id]);
        }
        self.check("killed delete", t, n);
    }
}

/// `RUNTIME --root ROOT ARGS`, with no stdio of ours: a container's init inherits the
/// runtime's, and a pipe it holds would keep a reader waiting for the container's end.
fn command(bin: &Path, root: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(bin);
    c.arg("--root")
        .arg(root)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    c
}

/// Runs a command to its end; its stderr (the runtime's log lines) in the output. The
/// global `--log` takes it, so that no container inherits it.
fn run(bin: &Path, root: &Path, args: &[&str]) -> Output {
    static N: AtomicUsize = AtomicUsize::new(0);
    let log = root.with_file_name(format!("log-{}", N.fetch_add(1, Ordering::Relaxed)));
    let mut c = command(bin, root, &[]);
    c.arg("--log").arg(&log).args(args);
    let mut out = c
        .output()
        .unwrap_or_else(|e| panic!("spawning the runtime: {e}"));
    out.stderr = std::fs::read(&log).unwrap_or_default();
    let _ = std::fs::remove_file(&log);
    out
}

#[test]
fn nothing_is_left_after_lifecycles_runs_and_kills() {
    let scale = Scale::from_env();
    let mut s = Soak::new();
    s.lifecycles(scale.lifecycles);
    s.parallel_runs(scale.parallel_runs);
    s.killed_creates(scale.kills);
    s.killed_start(scale.kills);
    s.killed(
        "killed exec",
        scale.kills,
        &["exec", "--detach", "ID", "/bin/sleep", "1000"],
        Duration::from_millis(30),
    );
    s.killed_delete(scale.kills);
    s.killed(
        "killed update",
        scale.kills,
        &[
            "update",
            "--memory",
            "67108864",
            "--pids-limit",
            "100",
            "ID",
        ],
        Duration::from_millis(20),
    );
    s.killed(
        "killed pause",
        scale.kills,
        &["pause", "ID"],
        Duration::from_millis(20),
    );
    reap();
    for f in &s.figures {
        eprintln!("soak: {f}");
    }
    if is_runc() {
        eprintln!(
            "note: runc 1.1.5 is not held to this suite (it leaks cgroups of killed creates); \
             what it left: {:#?}",
            s.failures
        );
        return;
    }
    assert!(s.failures.is_empty(), "{:#?}", s.failures);
}
