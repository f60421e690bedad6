//! A profile as a fragment of an OCI runtime spec: seccomp, capabilities, no_new_privileges,
//! namespaces, read-only root, masked/read-only paths, tmpfs mounts, cgroup limits, rlimits and
//! the sandbox user. [`PolicyFragment::apply_to`] writes it into a full `Spec`.

use std::collections::{BTreeMap, HashSet};

use oci_spec::runtime::{
    LinuxCapabilities, LinuxCapabilitiesBuilder, LinuxCpuBuilder, LinuxMemoryBuilder,
    LinuxNamespace, LinuxNamespaceBuilder, LinuxPidsBuilder, LinuxResources, LinuxSeccomp, Mount,
    MountBuilder, PosixRlimit, PosixRlimitBuilder, PosixRlimitType, Spec, User, UserBuilder,
};

use crate::hardening::{self, SANDBOX_GID, SANDBOX_UID, SANDBOX_UMASK};
use crate::limits::{Limits, CPU_PERIOD_US};
use crate::profile::{NetworkAccess, Profile, ProfileId};
use crate::seccomp::{self, ViolationAction};
use crate::{PolicyError, Result};

/// Annotation keys written into the spec, so a bundle says which policy made it.
pub const ANNOTATION_PROFILE: &str = "org.vsbx.policy.profile";
pub const ANNOTATION_VERSION: &str = "org.vsbx.policy.version";
pub const ANNOTATION_ORIGIN: &str = "org.vsbx.policy.origin";

/// The choices a caller makes on top of a profile.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FragmentOptions {
    pub limits: Limits,
    /// Share the host's network namespace. Only for profiles with network access; the bundle
    /// generator exposes it as an explicit flag. Note that the host's abstract Unix sockets then
    /// become reachable too.
    pub host_network: bool,
    /// Add a user namespace (the bundle generator must then write uid/gid mappings).
    pub user_namespace: bool,
    pub on_violation: ViolationAction,
    /// How the memory, CPU and pids limits are enforced.
    pub enforcement: Enforcement,
}

/// Where the memory, CPU and pids limits go.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Enforcement {
    /// `linux.resources`: a cgroup holds the whole run to them.
    #[default]
    Cgroup,
    /// No cgroup can be had (an ordinary user without a delegated subtree): per-process
    /// rlimits stand in where they can. RLIMIT_DATA caps each process's private writable
    /// memory (not the run's total, nor tmpfs pages), RLIMIT_NPROC the tasks of the sandbox
    /// user in its own user namespace, and RLIMIT_CPU each process's CPU time to what the
    /// CPU share allows over `wall_clock`; the share itself (a rate) cannot be enforced.
    Rlimits { wall_clock: std::time::Duration },
}

/// A profile rendered as OCI spec pieces.
#[derive(Clone, Debug, PartialEq)]
pub struct PolicyFragment {
    pub profile: ProfileId,
    pub network: NetworkAccess,
    pub host_network: bool,
    pub seccomp: LinuxSeccomp,
    /// All five sets empty.
    pub capabilities: LinuxCapabilities,
    pub no_new_privileges: bool,
    pub namespaces: Vec<LinuxNamespace>,
    pub root_readonly: bool,
    /// tmpfs mounts: /tmp, /dev/shm, and /output when the profile has one.
    pub mounts: Vec<Mount>,
    pub masked_paths: Vec<String>,
    pub readonly_paths: Vec<String>,
    /// memory, cpu and pids; other resources of the spec are left as they are.
    pub resources: LinuxResources,
    pub user: User,
    pub rlimits: Vec<PosixRlimit>,
    pub annotations: BTreeMap<String, String>,
}

impl Profile {
    /// The options used when the caller changes nothing: this profile's limits, own network
    /// namespace, no user namespace, EPERM for violations.
    pub fn default_options(&self) -> FragmentOptions {
        FragmentOptions {
            limits: self.limits(),
            host_network: false,
            user_namespace: false,
            on_violation: ViolationAction::default(),
            enforcement: Enforcement::Cgroup,
        }
    }

    /// Renders the profile as OCI spec pieces.
    pub fn to_oci(&self, options: &FragmentOptions) -> Result<PolicyFragment> {
        if options.host_network && self.network() == NetworkAccess::None {
            return Err(PolicyError::HostNetworkNotAllowed {
                profile: self.name().to_string(),
            });
        }
        let namespaces = hardening::namespaces(options.host_network, options.user_namespace)
            .into_iter()
            .map(|typ| LinuxNamespaceBuilder::default().typ(typ).build())
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let annotations = BTreeMap::from([
            (ANNOTATION_PROFILE.to_string(), self.name().to_string()),
            (ANNOTATION_VERSION.to_string(), self.version().to_string()),
            (ANNOTATION_ORIGIN.to_string(), self.origin().to_string()),
        ]);
        Ok(PolicyFragment {
            profile: self.id().clone(),
            network: self.network(),
            host_network: options.host_network,
            seccomp: seccomp::build(self, options.on_violation)?,
            capabilities: no_capabilities()?,
            no_new_privileges: true,
            namespaces,
            root_readonly: true,
            mounts: tmpfs_mounts(&options.limits)?,
            masked_paths: hardening::MASKED_PATHS
                .iter()
                .map(|(p, _)| p.to_string())
                .collect(),
            readonly_paths: hardening::READONLY_PATHS
                .iter()
                .map(|(p, _)| p.to_string())
                .collect(),
            resources: match options.enforcement {
                Enforcement::Cgroup => resources(&options.limits)?,
                Enforcement::Rlimits { .. } => LinuxResources::default(),
            },
            user: UserBuilder::default()
                .uid(SANDBOX_UID)
                .gid(SANDBOX_GID)
                .umask(SANDBOX_UMASK)
                .additional_gids(Vec::<u32>::new())
                .build()?,
            rlimits: rlimits(&options.limits, options.enforcement)?,
            annotations,
        })
    }
}

fn no_capabilities() -> Result<LinuxCapabilities> {
    Ok(LinuxCapabilitiesBuilder::default()
        .bounding(HashSet::new())
        .effective(HashSet::new())
        .inheritable(HashSet::new())
        .permitted(HashSet::new())
        .ambient(HashSet::new())
        .build()?)
}

fn tmpfs(destination: &str, options: &[&str], size_bytes: u64) -> Result<Mount> {
    let mut options: Vec<String> = options.iter().map(|o| o.to_string()).collect();
    options.push(format!("size={size_bytes}"));
    Ok(MountBuilder::default()
        .destination(destination)
        .typ("tmpfs")
        .source("tmpfs")
        .options(options)
        .build()?)
}

/// /tmp allows exec (compiled-language runners build and run there); /dev/shm and /output don't.
fn tmpfs_mounts(limits: &Limits) -> Result<Vec<Mount>> {
    let mut mounts = vec![
        tmpfs("/tmp", &["nosuid", "nodev", "mode=1777"], limits.tmp_bytes)?,
        tmpfs(
            "/dev/shm",
            &["nosuid", "nodev", "noexec", "mode=1777"],
            limits.shm_bytes,
        )?,
    ];
    if let Some(output_bytes) = limits.output_bytes {
        let uid = format!("uid={SANDBOX_UID}");
        let gid = format!("gid={SANDBOX_GID}");
        mounts.push(tmpfs(
            "/output",
            &["nosuid", "nodev", "noexec", "mode=0755", &uid, &gid],
            output_bytes,
        )?);
    }
    Ok(mounts)
}

fn saturating_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

fn resources(limits: &Limits) -> Result<LinuxResources> {
    let mut resources = LinuxResources::default();
    resources.set_memory(Some(
        LinuxMemoryBuilder::default()
            .limit(saturating_i64(limits.memory_bytes))
            .build()?,
    ));
    resources.set_cpu(Some(
        LinuxCpuBuilder::default()
            .quota(saturating_i64(limits.cpu_quota_us()))
            .period(CPU_PERIOD_US)
            .build()?,
    ));
    resources.set_pids(Some(
        LinuxPidsBuilder::default()
            .limit(saturating_i64(limits.pids))
            .build()?,
    ));
    Ok(resources)
}

/// No core dumps (they would write the sandbox's memory somewhere), the open-file limit, and
/// with `Enforcement::Rlimits` the stand-ins for the cgroup limits.
fn rlimits(limits: &Limits, enforcement: Enforcement) -> Result<Vec<PosixRlimit>> {
    let limit = |typ, soft: u64, hard: u64| {
        PosixRlimitBuilder::default()
            .typ(typ)
            .soft(soft)
            .hard(hard)
            .build()
    };
    let mut out = vec![
        limit(PosixRlimitType::RlimitCore, 0, 0)?,
        limit(
            PosixRlimitType::RlimitNofile,
            limits.open_files,
            limits.open_files,
        )?,
    ];
    if let Enforcement::Rlimits { wall_clock } = enforcement {
        let cpu = rlimit_cpu_seconds(limits, wall_clock);
        out.push(limit(
            PosixRlimitType::RlimitData,
            limits.memory_bytes,
            limits.memory_bytes,
        )?);
        out.push(limit(
            PosixRlimitType::RlimitNproc,
            limits.pids,
            limits.pids,
        )?);
        // SIGXCPU at the soft limit, SIGKILL a second later.
        out.push(limit(PosixRlimitType::RlimitCpu, cpu, cpu + 1)?);
    }
    Ok(out)
}

/// The CPU seconds one process may use: what the CPU share allows over the wall-clock
/// limit, rounded up, at least one.
pub fn rlimit_cpu_seconds(limits: &Limits, wall_clock: std::time::Duration) -> u64 {
    let ms = wall_clock.as_millis() as u64 * limits.cpu_millis / 1000;
    ms.div_ceil(1000).max(1)
}

fn union(existing: Option<Vec<String>>, ours: &[String]) -> Vec<String> {
    let mut paths = existing.unwrap_or_default();
    for path in ours {
        if !paths.contains(path) {
            paths.push(path.clone());
        }
    }
    paths
}

impl PolicyFragment {
    /// Writes the fragment into `spec`. Replaces: the process user, capabilities,
    /// no_new_privileges, the namespace list, seccomp, memory/cpu/pids limits, root.readonly, and
    /// mounts and rlimits of the same destination/type. Adds to: masked and read-only paths,
    /// annotations. Leaves everything else (args, env, devices, other mounts) alone.
    pub fn apply_to(&self, spec: &mut Spec) -> Result<()> {
        let mut process = spec.process().clone().unwrap_or_default();
        process.set_user(self.user.clone());
        process.set_capabilities(Some(self.capabilities.clone()));
        process.set_no_new_privileges(Some(self.no_new_privileges));
        let mut rlimits = process.rlimits().clone().unwrap_or_default();
        rlimits.retain(|old| !self.rlimits.iter().any(|new| new.typ() == old.typ()));
        rlimits.extend(self.rlimits.iter().cloned());
        process.set_rlimits(Some(rlimits));
        spec.set_process(Some(process));

        let mut root = spec.root().clone().unwrap_or_default();
        root.set_readonly(Some(self.root_readonly));
        spec.set_root(Some(root));

        let mut mounts = spec.mounts().clone().unwrap_or_default();
        mounts.retain(|old| {
            !self
                .mounts
                .iter()
                .any(|new| new.destination() == old.destination())
        });
        mounts.extend(self.mounts.iter().cloned());
        spec.set_mounts(Some(mounts));

        let mut linux = spec.linux().clone().unwrap_or_default();
        linux.set_namespaces(Some(self.namespaces.clone()));
        linux.set_seccomp(Some(self.seccomp.clone()));
        let masked = union(linux.masked_paths().clone(), &self.masked_paths);
        linux.set_masked_paths(Some(masked));
        let readonly = union(linux.readonly_paths().clone(), &self.readonly_paths);
        linux.set_readonly_paths(Some(readonly));
        let mut resources = linux.resources().clone().unwrap_or_default();
        resources.set_memory(*self.resources.memory());
        resources.set_cpu(self.resources.cpu().clone());
        resources.set_pids(*self.resources.pids());
        linux.set_resources(Some(resources));
        spec.set_linux(Some(linux));

        let mut annotations = spec.annotations().clone().unwrap_or_default();
        for (key, value) in &self.annotations {
            annotations.insert(key.clone(), value.clone());
        }
        spec.set_annotations(Some(annotations));
        Ok(())
    }

    /// The fragment as config.json-shaped JSON (only the fields the fragment sets), for
    /// `vsbx policy show` and for diffs by eye.
    pub fn to_config_json(&self) -> Result<serde_json::Value> {
        Ok(serde_json::json!({
            "process": {
                "user": serde_json::to_value(&self.user)?,
                "capabilities": serde_json::to_value(&self.capabilities)?,
                "noNewPrivileges": self.no_new_privileges,
                "rlimits": serde_json::to_value(&self.rlimits)?,
            },
            "root": { "readonly": self.root_readonly },
            "mounts": serde_json::to_value(&self.mounts)?,
            "linux": {
                "namespaces": serde_json::to_value(&self.namespaces)?,
                "seccomp": serde_json::to_value(&self.seccomp)?,
                "maskedPaths": self.masked_paths,
                "readonlyPaths": self.readonly_paths,
                "resources": serde_json::to_value(&self.resources)?,
            },
            "annotations": self.annotations,
        }))
    }
}
