//! The `Sandbox` builder: user files + runner + policy + limits -> a generated bundle
//! (vsbx-bundle-gen), run through the runtime in this process (build step first for
//! compiled runners), reported, audited, and cleaned up.

use std::path::{Path, PathBuf};
use std::time::Duration;

use oci_spec::runtime::PosixRlimitType;
use serde_json::json;
use vsbx_bundle_gen::{generate, RequestArgs, StepKind};
use vsbx_policy::Enforcement;

use crate::audit::AuditLog;
use crate::identity::{self, RunIdentity};
use crate::outdir::{copy_out, open_host_dir};
use crate::private_dir::private_dir;
use crate::report::{Enforced, EnforcedBy, LimitHit, Outcome};
use crate::supervise::{run_bundle, RunOptions, RunResult};
use crate::Error;

/// Where the runtime keeps the state of sandbox containers (under `scratch_base`).
pub const STATE_DIR_NAME: &str = "vsbx-sandbox";
/// Default cap on each output stream.
pub const DEFAULT_OUTPUT_CAP: u64 = 1 << 20;
/// Wall-clock limit of a compile step (at least; longer if the run's limit is).
pub const BUILD_TIMEOUT: Duration = Duration::from_secs(300);
/// Wall-clock limit of a run without `--timeout`: far above what a script or test program
/// needs (most finish in well under a second), yet a forgotten loop or a blocked read ends
/// in half a minute instead of holding a cgroup, memory and a uid slot forever.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Where the program's files appear for `--output DIR` (a tmpfs of `--output-size`).
pub const OUTPUT_DIR: &str = "/output";

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
    /// Echo escape sequences to a terminal as they are (see `escape`).
    pub raw_output: bool,
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
            state_root: default_state_root(),
            interrupt: None,
            raw_output: false,
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
        let _ = vsbx_bundle_gen::remove_tree(&dir);
        r
    }

    /// Generates the bundle(s), runs them, removes them. Build failures end the run
    /// with the build's report.
    pub fn run_files(&self, files: Vec<PathBuf>) -> Result<RunResult, Error> {
        // Inputs that can be checked before anything exists (and before any audit event).
        if let Some(p) = &self.stdin {
            vsbx_bundle_gen::open_input(p).map_err(|e| Error::Invalid(format!("--stdin: {e}")))?;
        }
        private_dir(&self.state_root, false)?;
        let work = tempdir("bundle")?;
        let result = self.run_in(&work, files);
        let _ = vsbx_bundle_gen::remove_tree(&work);
        result
    }

    fn run_in(&self, work: &Path, files: Vec<PathBuf>) -> Result<RunResult, Error> {
        let mut request = self
            .request
            .to_request(work.join("bundle"), files)
            .map_err(|e| Error::Invalid(e.to_string()))?;
        // /output stays the bundle's size-limited tmpfs; its files are copied out after.
        request.output = None;
        // Without root: a user namespace of the run's own instead of a host uid of its own.
        let rootless = vsbx_runtime::rootless::is_rootless();
        if rootless && request.user_namespace.is_none() {
            let uid = nix::unistd::getuid();
            let name = nix::unistd::User::from_uid(uid)
                .ok()
                .flatten()
                .map(|u| u.name);
            request.user_namespace = Some(crate::rootless::user_namespace(
                uid.as_raw(),
                nix::unistd::getgid().as_raw(),
                name.as_deref(),
            ));
        }
        let identity: Option<RunIdentity> = match request.user_namespace {
            None => Some(identity::allocate(&self.state_root)?),
            Some(_) => None,
        };
        request.run_as = identity.as_ref().map(|i| (i.uid, i.gid));
        let host_uid = match (&identity, request.user_namespace) {
            (Some(i), _) => i.uid,
            (None, Some(map)) => map
                .host_ids(vsbx_policy::SANDBOX_UID, vsbx_policy::SANDBOX_GID)
                .map_or(vsbx_policy::SANDBOX_UID, |(uid, _)| uid),
            (None, None) => vsbx_policy::SANDBOX_UID,
        };
        let base_id = format!("vsbx-{}-{}", std::process::id(), unique());
        // No cgroup to be had (rootless, no delegated subtree): rlimits stand in.
        if !vsbx_runtime::container::cgroups_available(&base_id) {
            request.enforcement = Enforcement::Rlimits {
                wall_clock: request.timeout.unwrap_or(DEFAULT_TIMEOUT),
            };
        }
        let catalog = self
            .request
            .catalog_of(crate::installed_exe().as_deref())
            .map_err(|e| Error::Invalid(e.to_string()))?;
        let bundle = generate(&request, &catalog).map_err(|e| Error::Invalid(e.to_string()))?;
        let timeout = bundle.timeout.unwrap_or(DEFAULT_TIMEOUT);
        let output_size = output_tmpfs_size(&bundle.spec);
        let output = match (&self.request.output, output_size) {
            (Some(dir), None) => {
                return Err(Error::Invalid(format!(
                    "--output {}: profile `{}` has no /output; use --policy io or above",
                    dir.display(),
                    bundle.profile.name
                )))
            }
            (Some(dir), Some(_)) => Some((dir.clone(), open_host_dir(dir)?)),
            (None, _) => None,
        };
        let context = json!({
            "runner": bundle.runner,
            "profile": bundle.profile.name,
            "limits": {
                "memory": self.request.memory, "cpus": self.request.cpus, "pids": self.request.pids,
                "timeout": humantime::format_duration(timeout).to_string(),
            },
            "host_uid": host_uid,
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
                timeout: Some(if build {
                    timeout.max(BUILD_TIMEOUT)
                } else {
                    timeout
                }),
                stdin: if build { None } else { self.stdin.clone() },
                output_cap: self.output_cap,
                stream: self.stream,
                sample_every: self.sample_every,
                interrupt: self.interrupt,
                raw_output: self.raw_output,
                keep_dir: (!build && output.is_some()).then(|| OUTPUT_DIR.to_string()),
            };
            self.audit.event(
                "created",
                &id,
                json!({"step": if build { "build" } else { "run" }, "context": context}),
            )?;
            self.audit.event("started", &id, json!({}))?;
            let mut r = run_bundle(&opts)?;
            r.report.host_uid = Some(host_uid);
            r.report.enforcement = enforcement_of(step.spec);
            if let (Some((dir, to)), Some(from)) = (&output, r.kept_dir.take()) {
                let stats = copy_out(&from, to, dir, output_size.unwrap_or(0))?;
                if stats.limit_reached {
                    r.report.add_limit_hit(LimitHit::OutputSize);
                }
                r.report.output = Some(stats);
            }
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

/// The state root `vsbx run` uses without `--state-root`: one shared by root's runs, one
/// of each ordinary user's own (see `rootless::state_root`).
pub fn default_state_root() -> PathBuf {
    if vsbx_runtime::rootless::is_rootless() {
        crate::rootless::state_root(&scratch_base(), nix::unistd::geteuid().as_raw())
    } else {
        scratch_base().join(STATE_DIR_NAME)
    }
}

/// How the spec enforces the memory, pids and CPU limits: a cgroup, an rlimit, or not.
pub fn enforcement_of(spec: &oci_spec::runtime::Spec) -> Vec<Enforced> {
    let resources = spec.linux().as_ref().and_then(|l| l.resources().as_ref());
    let rlimit = |t: PosixRlimitType| {
        spec.process()
            .as_ref()
            .and_then(|p| p.rlimits().as_ref())
            .and_then(|r| r.iter().find(|r| r.typ() == t))
            .map(|r| r.soft())
    };
    let cgroup = |limit: &'static str, file: &str| Enforced {
        limit,
        by: EnforcedBy::Cgroup,
        detail: format!("{file} of the run's cgroup, for all its processes together"),
    };
    let memory = match (
        resources.and_then(|r| r.memory().as_ref()),
        rlimit(PosixRlimitType::RlimitData),
    ) {
        (Some(_), _) => cgroup("memory", "memory.max"),
        (None, Some(bytes)) => Enforced {
            limit: "memory",
            by: EnforcedBy::Rlimit,
            detail: format!(
                "RLIMIT_DATA {} per process (no cgroup: not a total, tmpfs files not counted; \
                 an allocation past it fails instead of an OOM kill)",
                crate::report::human_bytes(bytes)
            ),
        },
        (None, None) => Enforced::none("memory"),
    };
    let pids = match (
        resources.and_then(|r| r.pids().as_ref()),
        rlimit(PosixRlimitType::RlimitNproc),
    ) {
        (Some(_), _) => cgroup("pids", "pids.max"),
        (None, Some(n)) => Enforced {
            limit: "pids",
            by: EnforcedBy::Rlimit,
            detail: format!(
                "RLIMIT_NPROC {n}: tasks of the sandbox user in the run's user namespace"
            ),
        },
        (None, None) => Enforced::none("pids"),
    };
    let cpu = match (resources.and_then(|r| r.cpu().as_ref()), rlimit(PosixRlimitType::RlimitCpu)) {
        (Some(_), _) => cgroup("cpu", "the CPU quota"),
        (None, Some(secs)) => Enforced {
            limit: "cpu",
            by: EnforcedBy::Rlimit,
            detail: format!(
                "the CPU share is not enforced (a rate needs a cgroup); RLIMIT_CPU {secs} s per process"
            ),
        },
        (None, None) => Enforced::none("cpu"),
    };
    vec![memory, pids, cpu]
}

/// Where generated bundles and sandbox state live: /dev/shm when it is a tmpfs (a run
/// writes and removes a few dozen files; on a disk filesystem with a journal that costs
/// more than the container itself), else the system temp directory.
pub fn scratch_base() -> PathBuf {
    let shm = std::path::Path::new("/dev/shm");
    match nix::sys::statfs::statfs(shm) {
        Ok(st) if st.filesystem_type() == nix::sys::statfs::TMPFS_MAGIC => shm.to_path_buf(),
        _ => std::env::temp_dir(),
    }
}

fn tempdir(what: &str) -> Result<PathBuf, Error> {
    let dir = scratch_base().join(format!("vsbx-{what}-{}-{}", std::process::id(), unique()));
    // A new name only (someone else's directory or symlink there is an error), mode 0700,
    // checked on its fd.
    private_dir(&dir, true)?;
    Ok(dir)
}

/// The size of the /output tmpfs of `spec`, if it has one.
fn output_tmpfs_size(spec: &oci_spec::runtime::Spec) -> Option<u64> {
    spec.mounts()
        .as_deref()?
        .iter()
        .find(|m| m.destination() == Path::new(OUTPUT_DIR) && m.typ().as_deref() == Some("tmpfs"))?
        .options()
        .as_deref()?
        .iter()
        .find_map(|o| o.strip_prefix("size=")?.parse().ok())
}
