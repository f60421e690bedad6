//! `generate`: runner + policy + limits + files -> an OCI bundle on disk (config.json and
//! rootfs/), plus, for compiled runners, a build bundle. On any error nothing is left behind.
//!
//! Layout of a bundle directory:
//!
//! ```text
//! BUNDLE/config.json         the run: the user's program (or the built binary) under the profile
//! BUNDLE/rootfs/             runner filesystem or skeleton, /work with the user's files (0444)
//! BUNDLE/build/config.json   compiled runners: the build, root.path = ../rootfs
//! BUNDLE/artifacts/          compiled runners: read-write at /build in the build, read-only in the run
//! ```

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use oci_spec::runtime::Spec;
use vsbx_policy::{NetworkAccess, Profile, ProfileId, SANDBOX_GID, SANDBOX_UID};

use crate::request::{BundleRequest, NetworkMode, PolicySource, UserNamespace};
use crate::rootfs;
use crate::runner::{expand, Launch, Runner, RunnerCatalog, BUILD_DIR};
use crate::spec::{
    self, BindMount, SpecInputs, ANNOTATION_KIND, ANNOTATION_NETWORK, ANNOTATION_RUNNER,
    ANNOTATION_TIMEOUT,
};
use crate::{BundleError, Result};

/// Names inside a bundle directory.
pub const CONFIG_NAME: &str = "config.json";
pub const ROOTFS_NAME: &str = "rootfs";
pub const BUILD_BUNDLE_NAME: &str = "build";
pub const ARTIFACTS_NAME: &str = "artifacts";

/// A generated bundle: what to run, and for compiled runners the build to run first.
#[derive(Clone, Debug)]
pub struct Bundle {
    /// The bundle directory (`runc run --bundle DIR`).
    pub dir: PathBuf,
    pub spec: Spec,
    pub runner: String,
    pub profile: ProfileId,
    pub network: NetworkMode,
    /// Wall-clock limit the orchestrator should enforce (also in the annotations).
    pub timeout: Option<Duration>,
    /// For compiled runners: the build bundle that must succeed before this one runs.
    pub build: Option<BuildPlan>,
}

/// The build step of a compiled runner, as its own bundle sharing the run bundle's rootfs.
#[derive(Clone, Debug)]
pub struct BuildPlan {
    /// The build bundle's directory (BUNDLE/build).
    pub dir: PathBuf,
    pub spec: Spec,
    pub profile: ProfileId,
    /// Host directory the build writes (at /build) and the run reads (at /build, read-only).
    pub artifacts: PathBuf,
}

/// Which of a bundle's steps a [`Step`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepKind {
    Build,
    Run,
}

/// One container to run, in order; a failed build means the run must not start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Step<'a> {
    pub kind: StepKind,
    pub bundle_dir: &'a Path,
    /// The config.json written into `bundle_dir`.
    pub spec: &'a Spec,
}

impl Bundle {
    /// The containers to run, in order: the build (if any), then the run.
    pub fn steps(&self) -> Vec<Step<'_>> {
        let mut steps = Vec::with_capacity(2);
        if let Some(build) = &self.build {
            steps.push(Step {
                kind: StepKind::Build,
                bundle_dir: &build.dir,
                spec: &build.spec,
            });
        }
        steps.push(Step {
            kind: StepKind::Run,
            bundle_dir: &self.dir,
            spec: &self.spec,
        });
        steps
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir.join(CONFIG_NAME)
    }

    pub fn rootfs_path(&self) -> PathBuf {
        self.dir.join(ROOTFS_NAME)
    }
}

/// Removes what generation created unless `keep` is called: the whole directory when we created
/// it, else everything inside it (it was empty before).
struct BundleDirGuard {
    dir: PathBuf,
    created: bool,
    keep: bool,
}

impl BundleDirGuard {
    fn open(dir: &Path) -> Result<BundleDirGuard> {
        let invalid = |message: String| BundleError::BundleDir {
            path: dir.to_path_buf(),
            message,
        };
        match fs::symlink_metadata(dir) {
            Ok(meta) if !meta.is_dir() => Err(invalid("exists and is not a directory".into())),
            Ok(_) => {
                let mut entries = fs::read_dir(dir).map_err(|e| invalid(e.to_string()))?;
                if entries.next().is_some() {
                    return Err(invalid("exists and is not empty".into()));
                }
                Ok(BundleDirGuard {
                    dir: dir.to_path_buf(),
                    created: false,
                    keep: false,
                })
            }
            Err(_) => {
                fs::create_dir(dir).map_err(|e| invalid(format!("cannot create it: {e}")))?;
                Ok(BundleDirGuard {
                    dir: dir.to_path_buf(),
                    created: true,
                    keep: false,
                })
            }
        }
    }

    fn keep(mut self) {
        self.keep = true;
    }
}

impl Drop for BundleDirGuard {
    fn drop(&mut self) {
        if self.keep {
            return;
        }
        // Best effort: the error being reported matters more than a failed cleanup.
        if self.created {
            let _ = crate::rootfs::remove_tree(&self.dir);
        } else if let Ok(entries) = fs::read_dir(&self.dir) {
            for entry in entries.flatten() {
                let path = entry.path();
                let _ = match entry.file_type() {
                    Ok(kind) if kind.is_dir() => crate::rootfs::remove_tree(&path),
                    _ => fs::remove_file(&path),
                };
            }
        }
    }
}

fn check_files(files: &[PathBuf]) -> Result<()> {
    if files.is_empty() {
        return Err(BundleError::NoFiles);
    }
    for file in files {
        rootfs::open_input(file)?;
    }
    Ok(())
}

/// The network mode: the caller's if it fits the profile, else the profile's default.
fn resolve_network(requested: Option<NetworkMode>, profile: &Profile) -> Result<NetworkMode> {
    let has_ip = profile.network() == NetworkAccess::Loopback;
    let mode = requested.unwrap_or(if has_ip {
        NetworkMode::Loopback
    } else {
        NetworkMode::None
    });
    let mismatch = |message: String| BundleError::flag("--net", mode.as_str(), message);
    match (mode, has_ip) {
        (NetworkMode::None, true) => Err(mismatch(format!(
            "profile `{}` can create IP sockets; --net none needs a profile without them (compute or below)",
            profile.name()
        ))),
        (NetworkMode::Loopback | NetworkMode::Host, false) => Err(mismatch(format!(
            "profile `{}` cannot create IP sockets; use --policy network",
            profile.name()
        ))),
        _ => Ok(mode),
    }
}

/// The host uid/gid the sandbox user (65534 in the container, or `run_as`) has.
fn sandbox_host_ids(
    userns: Option<UserNamespace>,
    run_as: Option<(u32, u32)>,
) -> Result<(u32, u32)> {
    match (userns, run_as) {
        (None, None) => Ok((SANDBOX_UID, SANDBOX_GID)),
        (None, Some(ids)) => Ok(ids),
        (Some(map), Some(_)) => Err(BundleError::flag(
            "--userns",
            map.host_uid.to_string(),
            "a user namespace and a host uid of its own for the run exclude each other",
        )),
        (Some(map), None) => map.host_ids(SANDBOX_UID, SANDBOX_GID).ok_or_else(|| {
            BundleError::flag(
                "--userns",
                map.host_uid.to_string(),
                "the mapping must cover the sandbox user (container id 65534) within the host's u32 range",
            )
        }),
    }
}

/// --output DIR: an existing directory the sandbox user can write, for profiles with /output.
fn check_output(output: &Path, profile: &Profile, uid: u32, gid: u32) -> Result<BindMount> {
    let invalid = |message: String| BundleError::OutputDir {
        path: output.to_path_buf(),
        message,
    };
    if profile.limits().output_bytes.is_none() {
        return Err(invalid(format!(
            "profile `{}` has no /output; use --policy io or above",
            profile.name()
        )));
    }
    let meta = fs::metadata(output).map_err(|e| invalid(e.to_string()))?;
    if !meta.is_dir() {
        return Err(invalid("is not a directory".into()));
    }
    let mode = meta.mode();
    let writable = (meta.uid() == uid && mode & 0o300 == 0o300)
        || (meta.gid() == gid && mode & 0o030 == 0o030)
        || mode & 0o003 == 0o003;
    if !writable {
        return Err(invalid(format!(
            "not writable by the sandbox user (host uid {uid}); chown it to {uid} or chmod 1777"
        )));
    }
    let source = output.canonicalize().map_err(|e| invalid(e.to_string()))?;
    Ok(BindMount {
        source,
        destination: "/output".into(),
        read_only: false,
        no_exec: true,
    })
}

fn annotations(
    runner: &Runner,
    kind: &str,
    network: NetworkMode,
    timeout: Option<Duration>,
) -> BTreeMap<String, String> {
    let mut map = BTreeMap::from([
        (ANNOTATION_RUNNER.to_string(), runner.name.clone()),
        (ANNOTATION_KIND.to_string(), kind.to_string()),
        (ANNOTATION_NETWORK.to_string(), network.as_str().to_string()),
    ]);
    if let Some(timeout) = timeout {
        map.insert(
            ANNOTATION_TIMEOUT.to_string(),
            humantime::format_duration(timeout).to_string(),
        );
    }
    map
}

fn write_config(dir: &Path, spec: &Spec) -> Result<()> {
    let path = dir.join(CONFIG_NAME);
    let text = serde_json::to_string_pretty(spec)?;
    fs::write(&path, text + "\n").map_err(BundleError::io("writing", path))
}

/// Generates the bundle `request` asks for, using the runners of `catalog`.
pub fn generate(request: &BundleRequest, catalog: &RunnerCatalog) -> Result<Bundle> {
    check_files(&request.files)?;
    let runner = match &request.runner {
        Some(name) => catalog.get(name)?,
        None => catalog.for_file(&request.files[0])?,
    };
    let policy = request
        .policy
        .clone()
        .unwrap_or_else(|| PolicySource::Builtin(runner.profile.clone()));
    let profile = policy.load()?;
    let network = resolve_network(request.network, &profile)?;
    let (sandbox_uid, sandbox_gid) = sandbox_host_ids(request.user_namespace, request.run_as)?;
    let output = request
        .output
        .as_deref()
        .map(|dir| check_output(dir, &profile, sandbox_uid, sandbox_gid))
        .transpose()?;
    for mount in &request.mounts {
        if fs::symlink_metadata(&mount.source).is_err() {
            return Err(BundleError::flag(
                "--mount",
                mount.source.display().to_string(),
                "the source does not exist",
            ));
        }
    }
    let mut options = profile.default_options();
    options.limits = request.limits.applied_to(options.limits);
    options.host_network = network == NetworkMode::Host;
    options.user_namespace = request.user_namespace.is_some();
    options.enforcement = request.enforcement;

    let guard = BundleDirGuard::open(&request.bundle_dir)?;
    let dir = request.bundle_dir.clone();
    let rootfs_dir = dir.join(ROOTFS_NAME);
    fs::create_dir(&rootfs_dir).map_err(BundleError::io("creating", &rootfs_dir))?;
    let runner_binds = rootfs::populate(&rootfs_dir, runner)?;
    rootfs::add_skeleton(&rootfs_dir)?;
    let work_files = rootfs::copy_work_files(&rootfs_dir, &request.files)?;

    let user_binds = request.mounts.iter().map(|m| BindMount {
        source: m.source.clone(),
        destination: m.destination.clone(),
        read_only: m.read_only,
        no_exec: false,
    });
    let mut run_binds = runner_binds.clone();
    let mut build = None;
    if let Launch::Compile { build: step, .. } = &runner.launch {
        let artifacts = dir.join(ARTIFACTS_NAME);
        fs::create_dir(&artifacts).map_err(BundleError::io("creating", &artifacts))?;
        rootfs::make_writable_for(&artifacts, sandbox_uid, sandbox_gid)?;
        run_binds.push(BindMount::read_only(&artifacts, BUILD_DIR));

        let build_profile = Profile::builtin(&step.profile)?;
        let mut build_options = build_profile.default_options();
        build_options.limits = step.limits.applied_to(build_options.limits);
        build_options.user_namespace = options.user_namespace;
        let build_network = resolve_network(None, &build_profile)?;
        let mut build_binds = runner_binds.clone();
        build_binds.push(BindMount {
            source: artifacts.clone(),
            destination: BUILD_DIR.into(),
            read_only: false,
            no_exec: false,
        });
        let build_spec = spec::compose(SpecInputs {
            profile: &build_profile,
            options: build_options,
            args: expand(&step.command, &work_files),
            env: runner.env.iter().chain(&step.env).cloned().collect(),
            binds: build_binds,
            output: None,
            user_namespace: request.user_namespace,
            run_as: request.run_as,
            root_path: format!("../{ROOTFS_NAME}"),
            annotations: annotations(runner, "build", build_network, None),
        })?;
        let build_dir = dir.join(BUILD_BUNDLE_NAME);
        fs::create_dir(&build_dir).map_err(BundleError::io("creating", &build_dir))?;
        rootfs::create_mount_points(&rootfs_dir, build_spec.mounts().as_deref().unwrap_or(&[]))?;
        write_config(&build_dir, &build_spec)?;
        build = Some(BuildPlan {
            dir: build_dir,
            spec: build_spec,
            profile: build_profile.id().clone(),
            artifacts,
        });
    }
    run_binds.extend(user_binds);

    let run_spec = spec::compose(SpecInputs {
        profile: &profile,
        options,
        args: runner.run_args(&work_files),
        env: runner.env.iter().chain(&request.env).cloned().collect(),
        binds: run_binds,
        output,
        user_namespace: request.user_namespace,
        run_as: request.run_as,
        root_path: ROOTFS_NAME.into(),
        annotations: annotations(runner, "run", network, request.timeout),
    })?;
    rootfs::create_mount_points(&rootfs_dir, run_spec.mounts().as_deref().unwrap_or(&[]))?;
    write_config(&dir, &run_spec)?;
    guard.keep();
    Ok(Bundle {
        dir,
        spec: run_spec,
        runner: runner.name.clone(),
        profile: profile.id().clone(),
        network,
        timeout: request.timeout,
        build,
    })
}
