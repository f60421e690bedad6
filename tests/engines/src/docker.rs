//! A private Docker: containerd and dockerd started by the test with their own roots and
//! sockets under a temp dir (`--iptables=false --bridge=none`, vsbx added with
//! `--add-runtime`), stopped when dropped, also when the test fails.

use crate::command::run;
use crate::containerd::{stop_child, wait_until_answering, Containerd};
use crate::docker_cli::DockerCli;
use crate::image::rootfs_tar;
use crate::runtime::{require, runtimes, which, Runtime};
use crate::tempdir::TempDir;
use crate::IMAGE;
use std::fs::{self, File};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The docker.io client (/usr/bin/docker), not any other docker on PATH.
const CLIENT: &str = "/usr/bin/docker";

pub struct Docker {
    dockerd: Child,
    sock: PathBuf,
    log: PathBuf,
    // Dropped after dockerd is stopped, in this order.
    #[allow(dead_code)] // held only to be stopped (dropped) after dockerd
    containerd: Containerd,
    dir: TempDir,
}

impl Docker {
    /// Starts containerd + dockerd and imports the busybox image (`docker import`).
    pub fn start() -> Docker {
        let dockerd = which("dockerd");
        require(CLIENT);
        let dir = TempDir::new("docker");
        let containerd = Containerd::start(dir.path());
        let sock = dir.join("docker.sock");
        let log = dir.join("dockerd.log");
        fs::write(dir.join("daemon.json"), "{}\n").expect("write daemon.json");
        let mut cmd = Command::new(&dockerd);
        cmd.args([
            "--iptables=false",
            "--ip6tables=false",
            "--bridge=none",
            "--ip-forward=false",
            "--ip-masq=false",
        ])
        .arg("--data-root")
        .arg(dir.join("data"))
        .arg("--exec-root")
        .arg(dir.join("exec"))
        .arg("--pidfile")
        .arg(dir.join("dockerd.pid"))
        .arg("--config-file")
        .arg(dir.join("daemon.json"))
        .arg("--host")
        .arg(format!("unix://{}", sock.display()))
        .arg("--containerd")
        .arg(containerd.sock())
        // No CAP_SYS_RESOURCE on this machine: keep rlimits within the hard limits.
        .args([
            "--default-ulimit",
            "nofile=1024:1024",
            "--default-ulimit",
            "nproc=1024:1024",
        ]);
        for rt in runtimes().iter().filter(|r| !r.is_runc()) {
            cmd.arg("--add-runtime")
                .arg(format!("{}={}", rt.name, rt.path.display()));
        }
        let child = cmd
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(File::create(&log).expect("create dockerd.log"))
            .stderr(File::create(&log).expect("create dockerd.log"))
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", dockerd.display()));
        let mut d = Docker {
            dockerd: child,
            sock,
            log,
            containerd,
            dir,
        };
        let mut probe = d.cmd();
        probe.arg("version");
        wait_until_answering(
            "dockerd",
            &mut d.dockerd,
            &d.sock,
            &mut probe,
            Duration::from_secs(60),
            &d.log,
        );
        run(d.cmd().arg("import").arg(rootfs_tar()).arg(IMAGE))
            .check()
            .unwrap_or_else(|e| panic!("docker import of the busybox rootfs: {e}"));
        d
    }

    /// `docker -H unix://SOCK` (client config private too).
    pub fn cmd(&self) -> Command {
        let mut c = Command::new(CLIENT);
        c.env("DOCKER_CONFIG", self.dir.join("client"))
            .arg("--host")
            .arg(format!("unix://{}", self.sock.display()));
        c
    }

    pub fn log_text(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl DockerCli for Docker {
    fn engine(&self) -> &'static str {
        "docker"
    }

    /// `docker run --runtime NAME --network none`: runc is dockerd's built-in `runc`, vsbx the
    /// `--add-runtime` entry.
    fn run(&self, rt: &Runtime) -> Command {
        let mut c = self.cmd();
        c.args(["run", "--runtime", rt.name, "--network", "none"]);
        c
    }

    /// `docker`: dockerd keeps the runtime of each container.
    fn with(&self, _rt: &Runtime) -> Command {
        self.cmd()
    }

    /// Options of the host's `ps`, which dockerd runs and filters by the container's pids.
    fn top_pid_args(&self) -> &'static [&'static str] {
        &["-o", "pid,args"]
    }

    /// `docker rm --force` kills with SIGKILL (it has no `--time`).
    fn rm_now_opts(&self) -> &'static [&'static str] {
        &["--force"]
    }
}

impl Drop for Docker {
    fn drop(&mut self) {
        let ids = run(self.cmd().args(["ps", "-aq"]));
        for id in ids.stdout.split_whitespace() {
            let _ = run(self.cmd().args(["rm", "-f", id]));
        }
        stop_child(&mut self.dockerd, Duration::from_secs(20));
        if std::thread::panicking() {
            let log = self.log_text();
            let tail: Vec<&str> = log.lines().rev().take(30).collect();
            eprintln!(
                "--- dockerd.log (last lines)\n{}",
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            );
        }
    }
}
