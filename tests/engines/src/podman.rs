//! A private podman: its own --root, --runroot, --tmpdir and containers.conf (CONTAINERS_CONF)
//! under a temp dir, so tests don't touch the host's containers or each other's.

use crate::command::run;
use crate::docker_cli::DockerCli;
use crate::image::rootfs_tar;
use crate::runtime::{vsbx, which, Runtime};
use crate::tempdir::TempDir;
use crate::IMAGE;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

pub struct Podman {
    podman: PathBuf,
    conf: PathBuf,
    dir: TempDir,
}

/// The machine-specific part of the tests' containers.conf: cgroupfs (no systemd here), file
/// events, and rlimits this host can set without CAP_SYS_RESOURCE.
const TEST_CONF: &str = r#"[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
log_driver = "k8s-file"

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
"#;

impl Podman {
    /// A fresh podman with the busybox image imported (`podman import`).
    #[allow(clippy::new_without_default)] // it starts things: no Default
    pub fn new() -> Podman {
        let podman = which("podman");
        which("conmon");
        let dir = TempDir::new("podman");
        // The vsbx entry comes from the install step users run (scripts/engines/podman-conf.sh),
        // written to stdout here instead of /etc/containers/containers.conf.d/.
        let script =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/engines/podman-conf.sh");
        let vsbx_path = match crate::runtime::runtimes()
            .into_iter()
            .find(|r| !r.is_runc())
        {
            Some(r) => r.path,
            None => vsbx().path,
        };
        let entry = run(Command::new(&script).arg(&vsbx_path).arg("-"))
            .check()
            .unwrap_or_else(|e| panic!("podman-conf.sh: {e}"));
        let conf = dir.join("containers.conf");
        fs::write(&conf, format!("{TEST_CONF}\n{}", entry.stdout)).expect("write containers.conf");
        let p = Podman { podman, conf, dir };
        run(p.cmd().arg("import").arg(rootfs_tar()).arg(IMAGE))
            .check()
            .unwrap_or_else(|e| panic!("podman import of the busybox rootfs: {e}"));
        p
    }

    /// `podman` with the private store and configuration, no runtime chosen.
    pub fn cmd(&self) -> Command {
        let mut c = Command::new(&self.podman);
        // conmon inherits the cwd and leaves files there (an `oom` marker): keep it private.
        c.current_dir(self.dir.path())
            .env("CONTAINERS_CONF", &self.conf)
            .arg("--root")
            .arg(self.dir.join("root"))
            .arg("--runroot")
            .arg(self.dir.join("runroot"))
            .arg("--tmpdir")
            .arg(self.dir.join("tmp"))
            .args(["--cgroup-manager=cgroupfs", "--events-backend=file"]);
        c
    }

    /// The containers.conf the tests use (with the `vsbx` runtime entry).
    pub fn conf(&self) -> &Path {
        &self.conf
    }
}

impl DockerCli for Podman {
    fn engine(&self) -> &'static str {
        "podman"
    }

    /// `podman --runtime PATH run --network none`.
    fn run(&self, rt: &Runtime) -> Command {
        let mut c = self.with(rt);
        c.args(["run", "--network", "none"]);
        c
    }

    /// `podman --runtime PATH`: podman looks a container's runtime up by the one it is given.
    fn with(&self, rt: &Runtime) -> Command {
        let mut c = self.cmd();
        c.arg("--runtime").arg(&rt.path);
        c
    }

    /// AIX format descriptors.
    fn top_pid_args(&self) -> &'static [&'static str] {
        &["pid", "args"]
    }

    fn rm_now_opts(&self) -> &'static [&'static str] {
        &["--force", "--time", "0"]
    }
}

impl Drop for Podman {
    fn drop(&mut self) {
        // Remove containers (each with the runtime it was created with), then the storage
        // (unmounts the overlay layers), then the directory.
        let _ = run(self.cmd().args(["rm", "--all", "--force", "--time", "0"]));
        let _ = run(self.cmd().args(["system", "reset", "--force"]));
    }
}
