//! The `Sandbox` builder: user files + runner + policy + limits -> a generated bundle
//! (vsbx-bundle-gen), run through the runtime in this process (build step first for
//! compiled runners), reported, audited, and cleaned up.

use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::json;
use vsbx_bundle_gen::{generate, RequestArgs, StepKind};

use crate::audit::AuditLog;
use crate::report::Outcome;
use crate::supervise::{run_bundle, RunOptions, RunResult};
use crate::Error;

/// Where the runtime keeps the state of sandbox containers (under `scratch_base`).
pub const STATE_DIR_NAME: &str = "vsbx-sandbox";
/// Default cap on each output stream.
pub const DEFAULT_OUTPUT_CAP: u64 = 1 << 20;
/// Wall-clock limit of a compile step when the run has none.
pub const BUILD_TIMEOUT: Duration = Duration::from_secs(300);

/// A configured sandbox; `run_file` / `run` execute one program each.
#[derive(Debug, Clone)]
pub struct Sandbox {
    pub request: RequestArgs,
    pub stdin: Option<PathBuf>,
    pub output_cap: u64,
    pub stream: bool,
    pub sample_every: Duration,
    pub audit: AuditLog,
    pub state_root: PathBuf,
    /// See `RunOptions::interrupt`.
    pub interrupt: Option<std::os::fd::RawFd>,
}

impl Default for Sandbox {
    fn default() -> Self {
        Sandbox {
            request: RequestArgs::default(),
            stdin: None,
            output_cap: DEFAULT_OUTPUT_CAP,
            stream: false,
            sample_every: Duration::from_millis(100),
            audit: AuditLog::default(),
            state_root: scratch_base().join(STATE_DIR_NAME),
            interrupt: None,
        }
    }
}

/// Builds a `Sandbox`: `Sandbox::builder().policy("compute").memory("64M").timeout(..)`.
#[derive(Debug, Clone, Default)]
pub struct Builder(Sandbox);

impl Sandbox {
    pub fn builder() -> Builder {
        Builder(Sandbox::default())
    }

    /// Runs `files` (the first is the program; its extension picks the runner).
    pub fn run_file(&self, file: impl AsRef<Path>) -> Result<RunResult, Error> {
        self.run_files(vec![file.as_ref().to_path_buf()])
    }

    /// Runs a command line with the shell runner (busybox), e.g. `["sh", "-c", "echo hi"]`.
    pub fn run(&self, cmd: &[&str]) -> Result<RunResult, Error> {
        if cmd.is_empty() {
            return Err(Error::Invalid("run: empty command".into()));
        }
        let dir = tempdir("cmd")?;
        let script = dir.join("command.sh");
        let quoted: Vec<String> = cmd
            .iter()
            .map(|a| format!("'{}'", a.replace('\'', "'\\''")))
            .collect();
        std::fs::write(&script, format!("exec {}\n", quoted.join(" ")))
            .map_err(|e| Error::Io("writing the command script".into(), e))?;
        let mut me = self.clone();
        if me.request.runner.is_none() {
            me.request.runner = Some("shell".into());
        }
        let r = me.run_files(vec![script]);
        let _ = std::fs::remove_dir_all(&dir);
        r
    }

    /// Generates the bundle(s), runs them, removes them. Build failures end the run
    /// with the build's report.
    pub fn run_files(&self, files: Vec<PathBuf>) -> Result<RunResult, Error> {
        // Inputs that can be checked before anything exists (and before any audit event).
        if let Some(p) = &self.stdin {
            std::fs::File::open(p).map_err(|e| Error::Io(format!("--stdin {}", p.display()), e))?;
        }
        let work = tempdir("bundle")?;
        let result = self.run_in(&work, files);
        let _ = std::fs::remove_dir_all(&work);
        result
    }

    fn run_in(&self, work: &Path, files: Vec<PathBuf>) -> Result<RunResult, Error> {
        let request = self
            .request
            .to_request(work.join("bundle"), files)
            .map_err(|e| Error::Invalid(e.to_string()))?;
        let catalog = self
            .request
            .catalog()
            .map_err(|e| Error::Invalid(e.to_string()))?;
        let bundle = generate(&request, &catalog).map_err(|e| Error::Invalid(e.to_string()))?;
        let base_id = format!("vsbx-{}-{}", std::process::id(), unique());
        let context = json!({
            "runner": bundle.runner,
            "profile": bundle.profile.name,
            "limits": {
                "memory": self.request.memory, "cpus": self.request.cpus, "pids": self.request.pids,
                "timeout": bundle.timeout.map(|t| humantime::format_duration(t).to_string()),
            },
        });
        let mut last = None;
        for step in bundle.steps() {
            let build = step.kind == StepKind::Build;
            let id = if build {
                format!("{base_id}-build")
            } else {
                base_id.clone()
            };
            let opts = RunOptions {
                bundle: step.bundle_dir.to_path_buf(),
                id: id.clone(),
                root: self.state_root.clone(),
                timeout: if build {
                    Some(bundle.timeout.unwrap_or(BUILD_TIMEOUT).max(BUILD_TIMEOUT))
                } else {
                    bundle.timeout
                },
                stdin: if build { None } else { self.stdin.clone() },
                output_cap: self.output_cap,
                stream: self.stream,
                sample_every: self.sample_every,
                interrupt: self.interrupt,
            };
            self.audit.event(
                "created",
                &id,
                json!({"step": if build { "build" } else { "run" }, "context": context}),
            )?;
            self.audit.event("started", &id, json!({}))?;
            let r = run_bundle(&opts)?;
            let event = match r.report.status {
                Outcome::Ok | Outcome::ExitNonzero => "exited",
                Outcome::Timeout => "timeout",
                Outcome::OomKilled => "oom",
                Outcome::KilledBySignal => "killed",
                Outcome::PolicyViolation => "policy_violation",
                Outcome::Interrupted => "killed",
            };
            self.audit.event(event, &id, json!({"result": r.report}))?;
            self.audit.event("deleted", &id, json!({}))?;
            let failed_build = build && r.report.status != Outcome::Ok;
            let interrupted = r.report.status == Outcome::Interrupted;
            last = Some(r);
            if failed_build || interrupted {
                break;
            }
        }
        last.ok_or_else(|| Error::Invalid("the bundle has no step to run".into()))
    }
}

impl Builder {
    pub fn runner(mut self, name: &str) -> Self {
        self.0.request.runner = Some(name.into());
        self
    }
    pub fn policy(mut self, name_or_file: &str) -> Self {
        self.0.request.policy = Some(name_or_file.into());
        self
    }
    /// A size such as "64M".
    pub fn memory(mut self, size: &str) -> Self {
        self.0.request.memory = Some(size.into());
        self
    }
    pub fn cpus(mut self, cpus: &str) -> Self {
        self.0.request.cpus = Some(cpus.into());
        self
    }
    pub fn pids(mut self, n: u64) -> Self {
        self.0.request.pids = Some(n.to_string());
        self
    }
    pub fn timeout(mut self, t: Duration) -> Self {
        self.0.request.timeout = Some(format!("{}ms", t.as_millis()));
        self
    }
    /// A bind: "SRC:DST" or "SRC:DST:ro".
    pub fn mount(mut self, spec: &str) -> Self {
        self.0.request.mounts.push(spec.into());
        self
    }
    pub fn env(mut self, kv: &str) -> Self {
        self.0.request.env.push(kv.into());
        self
    }
    pub fn stdin(mut self, file: impl Into<PathBuf>) -> Self {
        self.0.stdin = Some(file.into());
        self
    }
    pub fn output_cap(mut self, bytes: u64) -> Self {
        self.0.output_cap = bytes;
        self
    }
    pub fn stream(mut self, on: bool) -> Self {
        self.0.stream = on;
        self
    }
    pub fn audit_log(mut self, path: impl Into<PathBuf>) -> Self {
        self.0.audit.path = Some(path.into());
        self
    }
    pub fn build(self) -> Sandbox {
        self.0
    }
    pub fn run_file(self, file: impl AsRef<Path>) -> Result<RunResult, Error> {
        self.0.run_file(file)
    }
    pub fn run(self, cmd: &[&str]) -> Result<RunResult, Error> {
        self.0.run(cmd)
    }
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() as u64)
        .unwrap_or(0);
    (t << 8) | (N.fetch_add(1, Ordering::Relaxed) & 0xff)
}

/// Where generated bundles and sandbox state live: /dev/shm when it is a tmpfs (a run
/// writes and removes a few dozen files; on a disk filesystem with a journal that costs
/// more than the container itself), else the system temp directory.
pub fn scratch_base() -> PathBuf {
    const TMPFS_MAGIC: i64 = 0x0102_1994;
    let shm = std::path::Path::new("/dev/shm");
    match nix::sys::statfs::statfs(shm) {
        Ok(st) if st.filesystem_type().0 == TMPFS_MAGIC => shm.to_path_buf(),
        _ => std::env::temp_dir(),
    }
}

fn tempdir(what: &str) -> Result<PathBuf, Error> {
    let dir = scratch_base().join(format!("vsbx-{what}-{}-{}", std::process::id(), unique()));
    // create_dir, not create_dir_all: a name someone else made first is an error, and
    // the directory is private to root.
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(&dir)
        .map_err(|e| Error::Io(format!("creating {}", dir.display()), e))?;
    Ok(dir)
}
