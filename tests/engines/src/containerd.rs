//! A private containerd (own root, state and sockets under a temp dir) for Docker and for the
//! `ctr` tests, stopped when dropped.

use crate::command::run;
use crate::runtime::which;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

/// The containerd namespace the `ctr` tests use.
pub const NAMESPACE: &str = "vsbx-engines";

pub struct Containerd {
    child: Child,
    sock: PathBuf,
    log: PathBuf,
}

impl Containerd {
    /// Starts containerd with its state under `dir` and waits until it answers.
    pub fn start(dir: &Path) -> Containerd {
        let bin = which("containerd");
        which("containerd-shim-runc-v2");
        let sock = dir.join("containerd.sock");
        let config = dir.join("containerd.toml");
        fs::write(
            &config,
            format!(
                r#"version = 2
root = "{root}"
state = "{state}"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "{sock}"
[ttrpc]
  address = "{sock}.ttrpc"
[debug]
  address = "{dir}/containerd-debug.sock"
"#,
                root = dir.join("containerd-root").display(),
                state = dir.join("containerd-state").display(),
                sock = sock.display(),
                dir = dir.display(),
            ),
        )
        .expect("write containerd.toml");
        let log = dir.join("containerd.log");
        let child = Command::new(&bin)
            .current_dir(dir)
            .arg("--config")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(File::create(&log).expect("create containerd.log"))
            .stderr(File::create(&log).expect("create containerd.log"))
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", bin.display()));
        let mut c = Containerd { child, sock, log };
        let mut probe = c.ctr();
        probe.arg("version");
        wait_until_answering(
            "containerd",
            &mut c.child,
            &c.sock,
            &mut probe,
            Duration::from_secs(30),
            &c.log,
        );
        c
    }

    pub fn sock(&self) -> &Path {
        &self.sock
    }

    /// `ctr --address SOCK --namespace vsbx-engines`.
    pub fn ctr(&self) -> Command {
        let mut c = Command::new("ctr");
        c.arg("--address")
            .arg(&self.sock)
            .args(["--namespace", NAMESPACE]);
        c
    }

    pub fn log_text(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// Waits until a daemon just started answers `probe` (a `version` command) on `sock`; fails the
/// test, with the daemon's log, when the daemon exits first or does not answer within `limit`.
pub fn wait_until_answering(
    name: &str,
    child: &mut Child,
    sock: &Path,
    probe: &mut Command,
    limit: Duration,
    log: &Path,
) {
    let log_text = || fs::read_to_string(log).unwrap_or_default();
    let start = Instant::now();
    while !(sock.exists() && run(probe).ok()) {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{name} exited ({status}) at start:\n{}", log_text());
        }
        if start.elapsed() > limit {
            panic!(
                "{name} did not answer on {} within {limit:?}:\n{}",
                sock.display(),
                log_text()
            );
        }
        sleep(Duration::from_millis(50));
    }
}

/// Sends SIGTERM, waits up to `grace`, then SIGKILLs.
pub fn stop_child(child: &mut Child, grace: Duration) {
    if let Ok(Some(_)) = child.try_wait() {
        return;
    }
    // SAFETY: kill(2) on the pid of a child we spawned and have not reaped.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    let start = Instant::now();
    while start.elapsed() < grace {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}

impl Drop for Containerd {
    fn drop(&mut self) {
        // Tasks left by a failed test: kill and delete them so no shim outlives the daemon.
        let tasks = run(self.ctr().args(["task", "ls", "-q"]));
        for id in tasks.stdout.split_whitespace() {
            let _ = run(self.ctr().args(["task", "kill", "-s", "SIGKILL", id]));
            let _ = run(self.ctr().args(["task", "delete", "-f", id]));
        }
        let containers = run(self.ctr().args(["container", "ls", "-q"]));
        for id in containers.stdout.split_whitespace() {
            let _ = run(self.ctr().args(["container", "delete", id]));
        }
        stop_child(&mut self.child, Duration::from_secs(10));
    }
}

/// A private containerd with the busybox image imported (`ctr image import` of an OCI archive
/// built by [`crate::image::oci_archive`]), for the `ctr` tests.
pub struct Ctr {
    // Dropped in this order: containerd stops before its directory goes.
    containerd: Containerd,
    dir: crate::TempDir,
}

impl Ctr {
    pub fn start() -> Ctr {
        which("ctr");
        let dir = crate::TempDir::new("ctr");
        let containerd = Containerd::start(dir.path());
        let archive = crate::image::oci_archive(dir.path(), crate::IMAGE);
        let c = Ctr { containerd, dir };
        run(c.ctr().args(["image", "import"]).arg(&archive))
            .check()
            .unwrap_or_else(|e| panic!("ctr image import of the busybox OCI archive: {e}"));
        c
    }

    /// `ctr --address SOCK --namespace vsbx-engines`.
    pub fn ctr(&self) -> Command {
        self.containerd.ctr()
    }

    /// `ctr run --runc-binary PATH --seccomp` (containerd's default seccomp profile): the
    /// io.containerd.runc.v2 shim runs the given runtime instead of runc. Options, image, id
    /// and command follow.
    pub fn run(&self, rt: &crate::Runtime) -> Command {
        let mut c = self.ctr();
        c.args(["run", "--runc-binary"])
            .arg(&rt.path)
            .arg("--seccomp");
        c
    }

    /// A file path under the private directory, as a `file://` URI for `--log-uri`.
    pub fn log_uri(&self, name: &str) -> (PathBuf, String) {
        let p = self.dir.join(name);
        let uri = format!("file://{}", p.display());
        (p, uri)
    }

    pub fn log_text(&self) -> String {
        self.containerd.log_text()
    }
}
