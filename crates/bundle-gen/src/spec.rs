//! The config.json of a bundle: a plain OCI base spec (read-only root, the usual /proc, a /dev
//! tmpfs made read-only once its nodes are in, /dev/pts, /dev/shm, /dev/mqueue and read-only
//! /sys mounts), the policy fragment applied on top, then the runner's and the caller's binds,
//! environment, args and cwd.

use std::collections::BTreeMap;
use std::path::PathBuf;

use oci_spec::runtime::{LinuxIdMappingBuilder, Mount, MountBuilder, Spec};
use serde_json::json;
use vsbx_policy::{FragmentOptions, Profile};

use crate::request::{EnvVar, UserNamespace};
use crate::runner::WORK_DIR;
use crate::Result;

/// The OCI runtime-spec version the generated configs follow.
pub const OCI_VERSION: &str = "1.0.2";
/// The sandbox's hostname.
pub const HOSTNAME: &str = "vsbx";

/// Annotation keys the generator writes next to the policy's.
pub const ANNOTATION_RUNNER: &str = "org.vsbx.bundle.runner";
pub const ANNOTATION_KIND: &str = "org.vsbx.bundle.kind";
pub const ANNOTATION_TIMEOUT: &str = "org.vsbx.bundle.timeout";
pub const ANNOTATION_NETWORK: &str = "org.vsbx.bundle.network";

/// The environment every sandbox starts with; the runner's and the caller's entries override it.
const BASE_ENV: &[(&str, &str)] = &[
    ("PATH", "/usr/local/bin:/usr/bin:/bin"),
    ("HOME", "/tmp"),
    ("TMPDIR", "/tmp"),
    ("LANG", "C.UTF-8"),
];

/// A bind mount of a host path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BindMount {
    pub source: PathBuf,
    pub destination: String,
    pub read_only: bool,
    /// Forbid executing files from it (/output).
    pub no_exec: bool,
}

impl BindMount {
    pub fn read_only(source: impl Into<PathBuf>, destination: impl Into<String>) -> BindMount {
        BindMount {
            source: source.into(),
            destination: destination.into(),
            read_only: true,
            no_exec: false,
        }
    }

    /// Non-recursive: submounts of the source stay hidden.
    fn to_mount(&self) -> Result<Mount> {
        let mut options = vec!["bind", "nosuid", "nodev"];
        if self.no_exec {
            options.push("noexec");
        }
        options.push(if self.read_only { "ro" } else { "rw" });
        Ok(MountBuilder::default()
            .destination(&self.destination)
            .typ("bind")
            .source(&self.source)
            .options(options.into_iter().map(String::from).collect::<Vec<_>>())
            .build()?)
    }
}

/// Everything one config.json is made of.
pub struct SpecInputs<'a> {
    pub profile: &'a Profile,
    pub options: FragmentOptions,
    pub args: Vec<String>,
    /// Applied in order over the base environment; a later key replaces an earlier one.
    pub env: Vec<EnvVar>,
    /// Binds in mount order (the runner's rootfs binds first).
    pub binds: Vec<BindMount>,
    /// Replaces the profile's /output tmpfs with this bind.
    pub output: Option<BindMount>,
    pub user_namespace: Option<UserNamespace>,
    /// Host uid/gid of the sandbox user in place of the profile's 65534 (process.user and
    /// the owner of the /output tmpfs).
    pub run_as: Option<(u32, u32)>,
    /// `rootfs`, or `../rootfs` for a build bundle that shares the run bundle's rootfs.
    pub root_path: String,
    pub annotations: BTreeMap<String, String>,
}

/// The OCI base every bundle starts from, before the policy fragment.
pub fn base_spec(root_path: &str) -> Result<Spec> {
    let base = json!({
        "ociVersion": OCI_VERSION,
        "process": {
            "terminal": false,
            "user": { "uid": 0, "gid": 0 },
            "args": ["/bin/false"],
            "env": [],
            "cwd": WORK_DIR,
        },
        "root": { "path": root_path, "readonly": true },
        "hostname": HOSTNAME,
        "mounts": [
            { "destination": "/proc", "type": "proc", "source": "proc",
              "options": ["nosuid", "noexec", "nodev"] },
            { "destination": "/dev", "type": "tmpfs", "source": "tmpfs",
              "options": ["nosuid", "strictatime", "mode=755", "size=65536k", "ro"] },
            { "destination": "/dev/pts", "type": "devpts", "source": "devpts",
              "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"] },
            { "destination": "/dev/shm", "type": "tmpfs", "source": "shm",
              "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"] },
            { "destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
              "options": ["nosuid", "noexec", "nodev"] },
            { "destination": "/sys", "type": "sysfs", "source": "sysfs",
              "options": ["nosuid", "noexec", "nodev", "ro"] },
        ],
        "linux": {
            "resources": { "devices": [{ "allow": false, "access": "rwm" }] },
        },
    });
    Ok(serde_json::from_value(base)?)
}

/// `BASE_ENV`, then `env` in order, a later key replacing an earlier one in place.
pub fn merged_env(env: &[EnvVar]) -> Vec<String> {
    let mut merged: Vec<EnvVar> = BASE_ENV
        .iter()
        .map(|(key, value)| EnvVar {
            key: key.to_string(),
            value: value.to_string(),
        })
        .collect();
    for var in env {
        match merged.iter_mut().find(|existing| existing.key == var.key) {
            Some(existing) => existing.value = var.value.clone(),
            None => merged.push(var.clone()),
        }
    }
    merged.iter().map(EnvVar::entry).collect()
}

/// Builds the full spec: base, policy fragment, swap = memory, binds, /output, process.
pub fn compose(inputs: SpecInputs<'_>) -> Result<Spec> {
    let mut spec = base_spec(&inputs.root_path)?;
    let fragment = inputs.profile.to_oci(&inputs.options)?;
    fragment.apply_to(&mut spec)?;

    let mut mounts = spec.mounts().clone().unwrap_or_default();
    if let Some((uid, gid)) = inputs.run_as {
        for mount in mounts
            .iter_mut()
            .filter(|m| m.typ().as_deref() == Some("tmpfs"))
        {
            if let Some(options) = mount.options().clone() {
                let options = options
                    .into_iter()
                    .map(|o| {
                        if o.starts_with("uid=") {
                            format!("uid={uid}")
                        } else if o.starts_with("gid=") {
                            format!("gid={gid}")
                        } else {
                            o
                        }
                    })
                    .collect::<Vec<_>>();
                mount.set_options(Some(options));
            }
        }
    }
    if let Some(output) = &inputs.output {
        mounts.retain(|m| m.destination().as_path() != std::path::Path::new(&output.destination));
    }
    for bind in inputs.binds.iter().chain(inputs.output.iter()) {
        mounts.push(bind.to_mount()?);
    }
    spec.set_mounts(Some(mounts));

    let mut process = spec.process().clone().unwrap_or_default();
    process.set_args(Some(inputs.args));
    process.set_env(Some(merged_env(&inputs.env)));
    process.set_cwd(WORK_DIR.into());
    if let Some((uid, gid)) = inputs.run_as {
        let mut user = process.user().clone();
        user.set_uid(uid);
        user.set_gid(gid);
        process.set_user(user);
    }
    spec.set_process(Some(process));

    let mut linux = spec.linux().clone().unwrap_or_default();
    let mut resources = linux.resources().clone().unwrap_or_default();
    // Swap equal to the memory limit: the sandbox cannot swap out to get around the limit.
    if let Some(mut memory) = *resources.memory() {
        memory.set_swap(memory.limit());
        resources.set_memory(Some(memory));
    }
    linux.set_resources(Some(resources));
    if let Some(userns) = inputs.user_namespace {
        let [uids, gids] = userns.maps().map(|lines| {
            lines
                .into_iter()
                .map(|(container, host, size)| {
                    LinuxIdMappingBuilder::default()
                        .container_id(container)
                        .host_id(host)
                        .size(size)
                        .build()
                })
                .collect::<std::result::Result<Vec<_>, _>>()
        });
        linux.set_uid_mappings(Some(uids?));
        linux.set_gid_mappings(Some(gids?));
    }
    spec.set_linux(Some(linux));

    let mut annotations = spec.annotations().clone().unwrap_or_default();
    annotations.extend(inputs.annotations);
    spec.set_annotations(Some(annotations));
    Ok(spec)
}
