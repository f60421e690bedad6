//! The container plan: config.json and the command line, parsed and checked once, before
//! anything exists.
//!
//! `create` builds a [`ContainerPlan`] and then only carries it out; the init gets the same
//! plan (its copy of the runtime's memory after clone) and re-checks nothing. Two stages:
//!
//! - [`Checked::of`] holds every check of the config itself, each error naming its field:
//!   the spec's rules (`spec::validate`, hooks, what `unsupported` refuses), mount options
//!   (parsed once per mount, here) and bind sources, the process (rlimits, scheduler,
//!   personality), capabilities, seccomp (compiled), propagation, memory policy, time
//!   offsets, linux.devices, device rules, NUL bytes in args and env (which execve, after
//!   `start`, would be the first to notice), SELinux label syntax. It reads nothing of
//!   the host but the bundle (the fuzz targets run it).
//! - [`ContainerPlan::build`] adds what the host says, still without making anything:
//!   namespaces to join (opened), the sysctls those allow, the AppArmor profile (loaded?),
//!   the cgroup layout and the container's place in it (cgroupfs directories, or the
//!   systemd unit), a rootless caller's fallback, the console socket, and linux.resources'
//!   values for the host's cgroup version where the container gets a cgroup (a dry run of
//!   that version's writer, so `swappiness: 101` fails before a cgroup is made; without
//!   one, rootless without a delegated subtree, they are not applied, only warned about).
//!
//! What the state keeps of the plan: config.json as create read it (`state::CONFIG`: exec
//! and update never reread the bundle) and the record's resolved parts: cgroup
//! directories, cgroupsPath, systemd unit, host bind, hooks.

use std::os::fd::{OwnedFd, RawFd};
use std::path::{Path, PathBuf};

use nix::mount::MsFlags;
use nix::sched::CloneFlags;
use oci_spec::runtime::{LinuxIdMapping, LinuxResources, Spec};

use crate::cgroups::{self, devices, systemd, Layout};
use crate::container::CreateOptions;
use crate::error::{Error, Result};
use crate::linux::mempolicy::MemPolicy;
use crate::linux::mount_opts::{self, PlannedMount};
use crate::linux::namespaces::{self, Namespaces};
use crate::linux::process::{self, CapSets};
use crate::linux::seccomp::Filters;
use crate::linux::selinux;
use crate::spec::Bundle;

/// What [`Checked::of`] parsed of a config.
pub(crate) struct Checked {
    /// The bundle's rootfs, absolute.
    pub rootfs: PathBuf,
    pub mounts: Vec<PlannedMount>,
    /// No process.capabilities means none (never the root user's full set).
    pub caps: Option<CapSets>,
    /// linux.seccomp, compiled; installed last.
    pub seccomp: Option<Filters>,
    pub root_propagation: Option<MsFlags>,
    /// linux.memoryPolicy; set just before the process is confined.
    pub mempolicy: Option<MemPolicy>,
    /// linux.timeOffsets: (clock, seconds, nanoseconds).
    pub time_offsets: Vec<(String, i64, u32)>,
    /// linux.resources.devices, then the defaults every container gets.
    pub device_rules: Vec<devices::Rule>,
    pub terminal: bool,
}

impl Checked {
    /// Every check of `spec` (read from the bundle `dir`) that needs no host fact.
    pub fn of(dir: &Path, spec: &Spec) -> Result<Checked> {
        let rootfs = crate::spec::validate(spec, dir)?;
        let process = spec
            .process()
            .as_ref()
            .ok_or_else(|| Error::invalid("process: missing"))?;
        let linux = spec.linux().as_ref();
        let mut mounts = Vec::new();
        for (i, m) in spec.mounts().iter().flatten().enumerate() {
            let opts = mount_opts::parse(m.typ().as_deref(), m.options().as_deref().unwrap_or(&[]))
                .map_err(|e| Error::invalid(format!("mounts[{i}]: {e}")))?;
            if opts.is_bind() {
                mount_opts::bind_source(dir, m.source().as_ref()).map_err(|e| {
                    Error::invalid(format!("mounts[{i}] ({}): {e}", m.destination().display()))
                })?;
            } else if m.typ().as_deref().is_none_or(str::is_empty) {
                return Err(Error::invalid(format!(
                    "mounts[{i}].type: missing (needed for a non-bind mount)"
                )));
            }
            mounts.push(PlannedMount {
                mount: m.clone(),
                opts,
            });
        }
        process::check(process, linux.and_then(|l| l.personality().as_ref()))?;
        for (field, list) in [
            ("process.args", process.args()),
            ("process.env", process.env()),
        ] {
            if let Some(i) = list.iter().flatten().position(|s| s.contains('\0')) {
                return Err(Error::invalid(format!("{field}[{i}]: contains a NUL byte")));
            }
        }
        let devices_to_make = linux.and_then(|l| l.devices().as_ref());
        for (i, d) in devices_to_make.into_iter().flatten().enumerate() {
            if d.typ() == oci_spec::runtime::LinuxDeviceType::A {
                return Err(Error::invalid(format!(
                    "linux.devices[{i}].type: 'a' is a cgroup rule, not a device to make"
                )));
            }
            if d.path().file_name().is_none() || !d.path().is_absolute() {
                return Err(Error::invalid(format!(
                    "linux.devices[{i}].path: {} is not an absolute path with a name",
                    d.path().display()
                )));
            }
        }
        let caps = Some(CapSets::of(process)?);
        let seccomp = linux
            .and_then(|l| l.seccomp().as_ref())
            .map(crate::linux::seccomp::compile)
            .transpose()?;
        let root_propagation = linux
            .and_then(|l| l.rootfs_propagation().as_deref())
            .filter(|s| !s.is_empty())
            .map(mount_opts::propagation)
            .transpose()?;
        let mempolicy = linux
            .and_then(|l| l.memory_policy().as_ref())
            .map(crate::linux::mempolicy::compile)
            .transpose()?;
        let time_offsets: Vec<(String, i64, u32)> = linux
            .and_then(|l| l.time_offsets().as_ref())
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v.secs().unwrap_or(0), v.nanosecs().unwrap_or(0)))
                    .collect()
            })
            .unwrap_or_default();
        let new_time = linux
            .and_then(|l| l.namespaces().as_ref())
            .into_iter()
            .flatten()
            .any(|n| n.typ() == oci_spec::runtime::LinuxNamespaceType::Time && n.path().is_none());
        if !time_offsets.is_empty() && !new_time {
            return Err(Error::invalid(
                "linux.timeOffsets: needs a new time namespace",
            ));
        }
        // The labels' form (the host decides in build whether they apply).
        for (field, l) in [
            ("process.selinuxLabel", process.selinux_label().as_deref()),
            (
                "linux.mountLabel",
                linux.and_then(|l| l.mount_label().as_deref()),
            ),
        ] {
            selinux::check(field, l)?;
        }
        let resources = linux.and_then(|l| l.resources().as_ref());
        let device_rules = devices::container_rules(
            resources
                .and_then(|r| r.devices().as_deref())
                .unwrap_or_default(),
        )?;
        Ok(Checked {
            rootfs,
            mounts,
            caps,
            seccomp,
            root_propagation,
            mempolicy,
            time_offsets,
            device_rules,
            terminal: process.terminal().unwrap_or(false),
        })
    }
}

/// Where the container's cgroup goes and what is put in force there.
pub(crate) struct CgroupPlan {
    pub layout: Layout,
    /// The container's directories (for systemd: the one its scope will have). Empty: no
    /// cgroup (rootless without a delegated subtree).
    pub dirs: Vec<PathBuf>,
    /// --systemd-cgroup: the transient unit systemd makes once the init exists.
    pub unit: Option<systemd::Unit>,
    /// linux.cgroupsPath as given.
    pub path: Option<PathBuf>,
    pub resources: Option<LinuxResources>,
    /// Whether device rules are programmed: not for a real rootless caller, which
    /// cannot (`--rootless false` makes them, and their failure, count again).
    pub device_rules_apply: bool,
}

/// One container as `create` will make it: its config checked ([`Checked`]), the host's
/// answers, and the command line.
pub(crate) struct ContainerPlan {
    pub id: String,
    pub bundle: Bundle,
    pub checked: Checked,
    pub namespaces: Namespaces,
    /// The flags of the init's clone (the namespaces it makes later are left out).
    pub clone_flags: CloneFlags,
    pub uid_maps: Vec<LinuxIdMapping>,
    pub gid_maps: Vec<LinuxIdMapping>,
    pub oom_score_adj: Option<i32>,
    /// process.apparmorProfile, when AppArmor is enabled (checked loaded).
    pub apparmor: Option<String>,
    /// process.selinuxLabel and linux.mountLabel, when SELinux is enabled (the mount
    /// label is in the mounts' options already).
    pub selinux: selinux::Labels,
    pub cgroups: CgroupPlan,
    /// A container without a mount namespace: its bind of the rootfs in the host's.
    pub host_bind: Option<crate::linux::host_mounts::HostBind>,
    /// The socket to send the terminal's master to (--console-socket, or attached run's).
    pub console: Option<OwnedFd>,
    pub no_pivot: bool,
    /// The session keyring to join ("_ses.<id>"), unless --no-new-keyring.
    pub new_keyring: Option<String>,
    pub preserve_fds: u32,
    pub stdio: Option<[RawFd; 3]>,
    pub keep_dirs: Vec<PathBuf>,
    /// --pid-file.
    pub pid_file: Option<PathBuf>,
}

impl ContainerPlan {
    /// Loads the bundle of `o` and plans its container.
    pub fn load(o: &CreateOptions, console: Option<OwnedFd>) -> Result<ContainerPlan> {
        ContainerPlan::build(Bundle::read(&o.bundle)?, o, console)
    }

    /// Plans the container of `bundle` as `o` asks; `console` replaces --console-socket
    /// (attached run). Makes nothing; opens the namespaces to join and the console socket.
    pub fn build(
        bundle: Bundle,
        o: &CreateOptions,
        console: Option<OwnedFd>,
    ) -> Result<ContainerPlan> {
        let mut checked = Checked::of(&bundle.dir, &bundle.spec)?;
        let layout = Layout::detect()?;
        let unified = matches!(layout, Layout::Unified { .. });
        let spec = &bundle.spec;
        let process = spec
            .process()
            .as_ref()
            .ok_or_else(|| Error::invalid("process: missing"))?;
        let linux = spec.linux().as_ref();
        let apparmor =
            crate::linux::apparmor::profile_to_apply(process.apparmor_profile().as_deref())?;
        let labels = selinux::Labels::resolve(
            process.selinux_label().as_deref(),
            linux.and_then(|l| l.mount_label().as_deref()),
            selinux::enabled,
        )?;
        if let Some(label) = &labels.mount {
            label_mounts(&mut checked.mounts, label);
        }
        if checked.terminal && o.console_socket.is_none() && console.is_none() {
            return Err(Error::invalid(
                "process.terminal is true: --console-socket is required",
            ));
        }
        if !checked.terminal && o.console_socket.is_some() {
            return Err(Error::invalid(
                "--console-socket was given but process.terminal is false",
            ));
        }
        let ns = Namespaces::resolve(linux)?;
        if let Some(sysctl) = linux.and_then(|l| l.sysctl().as_ref()) {
            crate::linux::sysctl::check(sysctl, ns.own())?;
        }
        let cgroups = plan_cgroups(layout, linux, o)?;
        if let Some(r) = cgroups
            .resources
            .as_ref()
            .filter(|_| !cgroups.dirs.is_empty())
        {
            cgroups::check_resources(unified, r)?;
        }
        let host_bind = if ns.creates(CloneFlags::CLONE_NEWNS) || ns.joins(CloneFlags::CLONE_NEWNS)
        {
            None
        } else {
            Some(crate::linux::host_mounts::HostBind::plan(&checked.rootfs)?)
        };
        let clone_flags = if ns.joins(CloneFlags::CLONE_NEWUSER) {
            CloneFlags::empty()
        } else {
            // cgroup and time namespaces are made by the init itself (see linux::init), and
            // so is the network namespace: its creation is the slowest step of clone, and
            // done by the init it overlaps with the runtime's own work (id maps, cgroup join).
            ns.new & !(CloneFlags::CLONE_NEWCGROUP | namespaces::NEWTIME | CloneFlags::CLONE_NEWNET)
        };
        let console = match (console, &o.console_socket) {
            (Some(fd), _) => Some(fd),
            (None, Some(path)) => Some(connect_console(path)?),
            (None, None) => None,
        };
        Ok(ContainerPlan {
            id: o.id.clone(),
            uid_maps: linux
                .and_then(|l| l.uid_mappings().clone())
                .unwrap_or_default(),
            gid_maps: linux
                .and_then(|l| l.gid_mappings().clone())
                .unwrap_or_default(),
            oom_score_adj: process.oom_score_adj(),
            namespaces: ns,
            clone_flags,
            apparmor,
            selinux: labels,
            cgroups,
            host_bind,
            console,
            no_pivot: o.no_pivot,
            new_keyring: (!o.no_new_keyring).then(|| format!("_ses.{}", o.id)),
            preserve_fds: o.preserve_fds,
            stdio: o.stdio,
            keep_dirs: o.keep_dirs.clone(),
            pid_file: o.pid_file.clone(),
            checked,
            bundle,
        })
    }

    pub fn spec(&self) -> &Spec {
        &self.bundle.spec
    }

    pub fn rootfs(&self) -> &Path {
        &self.checked.rootfs
    }
}

/// linux.mountLabel as the context of the mounts that take one (see linux::selinux).
fn label_mounts(mounts: &mut [PlannedMount], label: &str) {
    for m in mounts {
        if selinux::takes_mount_label(m.mount.typ().as_deref(), m.opts.is_bind()) {
            m.opts.data.push(selinux::context_option(label));
        }
    }
}

/// The container's place in the host's cgroups: read-only work.
fn plan_cgroups(
    layout: Layout,
    linux: Option<&oci_spec::runtime::Linux>,
    o: &CreateOptions,
) -> Result<CgroupPlan> {
    let path = linux.and_then(|l| l.cgroups_path().clone());
    let resources = linux.and_then(|l| l.resources().clone());
    // Only cgroups follow --rootless (as in runc); state root, id maps and device nodes
    // go by what this process really is.
    let rootless = o
        .rootless_cgroups
        .unwrap_or_else(crate::rootless::is_rootless);
    let device_rules_apply = !(rootless && crate::rootless::is_rootless());
    // --systemd-cgroup: systemd makes the cgroup (a scope, once the init exists); here only
    // its name and where it will be.
    let (unit, mut dirs) = if o.systemd_cgroup {
        let (unit, dir) = systemd_unit(&layout, path.as_deref(), &o.id, rootless)?;
        if let Some(r) = &resources {
            systemd::properties(r)?;
        }
        (Some(unit), vec![dir])
    } else {
        let dirs = layout.dirs_for(
            path.as_deref(),
            &o.id,
            &cgroups::v1_extra_controllers(resources.as_ref()),
        )?;
        (None, dirs)
    };
    if rootless && unit.is_none() && !all_creatable(&dirs) {
        // No delegated subtree to write in: run without cgroups, as runc does.
        if resources.as_ref().is_some_and(asks_for_limits) {
            crate::log::warn(&format!(
                "linux.resources: not applied: running rootless without a cgroup this user may \
                 write ({} is not writable)",
                dirs.first()
                    .map(|d| d.display().to_string())
                    .unwrap_or_default()
            ));
        }
        dirs.clear();
    }
    Ok(CgroupPlan {
        layout,
        dirs,
        unit,
        path,
        resources,
        device_rules_apply,
    })
}

/// The systemd unit for the container and the cgroup directory systemd will give it.
fn systemd_unit(
    layout: &Layout,
    cgroups_path: Option<&Path>,
    id: &str,
    rootless: bool,
) -> Result<(systemd::Unit, PathBuf)> {
    let Layout::Unified { root, .. } = layout else {
        return Err(Error::invalid(
            "--systemd-cgroup: only the unified cgroup hierarchy (cgroup v2) is supported; \
             this host has cgroup v1",
        ));
    };
    if !Path::new("/run/systemd/system").exists() {
        return Err(Error::invalid(
            "--systemd-cgroup: systemd is not running on this host; drop the flag",
        ));
    }
    let unit = systemd::Unit::parse(cgroups_path, id, rootless)?;
    // The user's manager keeps its units below its own service's cgroup.
    let base = if unit.user {
        let uid = systemd::host_uid();
        root.join(format!("user.slice/user-{uid}.slice/user@{uid}.service"))
    } else {
        root.clone()
    };
    let dir = base.join(unit.relative_dir());
    Ok((unit, dir))
}

/// Whether a container created now as `id` (no cgroupsPath, the cgroupfs driver) with
/// memory, CPU and pids limits gets cgroups: always as root; rootless only where this user
/// may make them (a delegated subtree). Without them `create` runs the container anyway,
/// and its linux.resources are not applied.
pub fn cgroups_available(id: &str) -> bool {
    if !crate::rootless::is_rootless() {
        return true;
    }
    let controllers = ["memory", "pids", "cpu", "cpuacct"];
    Layout::detect()
        .and_then(|layout| layout.dirs_for(None, id, &controllers))
        .is_ok_and(|dirs| !dirs.is_empty() && all_creatable(&dirs))
}

fn all_creatable(dirs: &[PathBuf]) -> bool {
    dirs.iter().all(|d| may_create(d))
}

/// Whether this process may make the cgroup directory `dir`: its nearest existing
/// ancestor is writable to us.
fn may_create(dir: &Path) -> bool {
    let Some(existing) = dir.ancestors().find(|a| a.exists()) else {
        return false;
    };
    rustix::fs::access(existing, rustix::fs::Access::WRITE_OK).is_ok()
}

/// Whether linux.resources asks for any limit (device rules aside).
fn asks_for_limits(r: &LinuxResources) -> bool {
    r.memory().is_some()
        || r.cpu().is_some()
        || r.pids().is_some()
        || r.block_io().is_some()
        || r.hugepage_limits().as_ref().is_some_and(|h| !h.is_empty())
        || r.network().is_some()
        || r.unified().as_ref().is_some_and(|u| !u.is_empty())
}

fn connect_console(path: &Path) -> Result<OwnedFd> {
    let s = std::os::unix::net::UnixStream::connect(path)
        .map_err(|e| Error::path("--console-socket: cannot connect to", path, e))?;
    Ok(s.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A bundle directory with a rootfs and the config `json` (merged over a minimal one).
    fn check(extra: serde_json::Value, unified: bool) -> Result<Checked> {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir(tmp.path().join("rootfs")).unwrap();
        let mut config = serde_json::json!({
            "ociVersion": "1.0.2",
            "root": {"path": "rootfs"},
            "process": {"user": {"uid": 0, "gid": 0}, "args": ["/bin/true"], "cwd": "/"},
            "linux": {"namespaces": [{"type": "mount"}]}
        });
        merge(&mut config, extra);
        // As create reads it: a value of the wrong type fails in the parser, naming the field.
        let spec = crate::spec::parse(config.to_string().as_bytes()).map_err(Error::invalid)?;
        // As build does where the container gets a cgroup.
        let c = Checked::of(tmp.path(), &spec)?;
        if let Some(r) = spec.linux().as_ref().and_then(|l| l.resources().as_ref()) {
            cgroups::check_resources(unified, r)?;
        }
        Ok(c)
    }

    fn merge(a: &mut serde_json::Value, b: serde_json::Value) {
        match (a, b) {
            (serde_json::Value::Object(a), serde_json::Value::Object(b)) => {
                for (k, v) in b {
                    merge(a.entry(k).or_insert(serde_json::Value::Null), v);
                }
            }
            (a, b) => *a = b,
        }
    }

    fn err(extra: serde_json::Value, unified: bool) -> String {
        match check(extra, unified) {
            Ok(_) => panic!("accepted"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn mounts_are_parsed_once_into_the_plan() {
        let c = check(
            serde_json::json!({"mounts": [
                {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "ro", "mode=755"]},
                {"destination": "/data", "type": "bind", "source": "rootfs", "options": ["rbind", "ro"]}
            ]}),
            true,
        )
        .unwrap();
        assert_eq!(c.mounts.len(), 2);
        assert!(c.mounts[0]
            .opts
            .flags
            .contains(MsFlags::MS_RDONLY | MsFlags::MS_NOSUID));
        assert_eq!(c.mounts[0].opts.data, vec!["mode=755".to_string()]);
        assert!(c.mounts[1].opts.is_bind());
        assert!(c.caps.is_some() && c.seccomp.is_none() && !c.terminal);
    }

    #[test]
    fn every_error_names_its_field_before_anything_exists() {
        let cases = [
            (
                serde_json::json!({"mounts": [{"destination": "/x", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "tmpcopyup"]}]}),
                "mounts[0]: mount option \"tmpcopyup\"",
            ),
            (
                serde_json::json!({"mounts": [{"destination": "/x", "type": "bind", "source": "nope", "options": ["bind"]}]}),
                "mounts[0] (/x)",
            ),
            (
                serde_json::json!({"linux": {"resources": {"memory": {"swappiness": 101}}}}),
                "linux.resources.memory.swappiness: 101",
            ),
            (
                serde_json::json!({"linux": {"resources": {"memory": {"limit": 2000, "swap": 1000}}}}),
                "linux.resources.memory.swap",
            ),
            (
                serde_json::json!({"linux": {"resources": {"devices": [{"allow": true, "type": "q"}]}}}),
                "linux.resources.devices",
            ),
            (
                serde_json::json!({"linux": {"timeOffsets": {"monotonic": {"secs": 1}}}}),
                "linux.timeOffsets",
            ),
            (
                serde_json::json!({"linux": {"rootfsPropagation": "sideways"}}),
                "linux.rootfsPropagation",
            ),
            (
                serde_json::json!({"process": {"rlimits": [{"type": "RLIMIT_NOPE", "hard": 1, "soft": 1}]}}),
                "process.rlimits",
            ),
            (
                serde_json::json!({"process": {"capabilities": {"bounding": ["CAP_NOPE"]}}}),
                "CAP_NOPE",
            ),
            (
                serde_json::json!({"hooks": {"prestart": [{"path": "relative"}]}}),
                "hooks.prestart[0].path",
            ),
            (
                serde_json::json!({"linux": {"intelRdt": {}}}),
                "linux.intelRdt",
            ),
            (
                serde_json::json!({"process": {"cwd": "rel"}}),
                "process.cwd",
            ),
            (
                serde_json::json!({"mounts": [{"destination": "/x", "source": "none"}]}),
                "mounts[0].type: missing",
            ),
            (
                serde_json::json!({"process": {"args": ["/bin/true", "a\0b"]}}),
                "process.args[1]: contains a NUL byte",
            ),
            (
                serde_json::json!({"process": {"env": ["A=1", "B=\0"]}}),
                "process.env[1]: contains a NUL byte",
            ),
            (
                serde_json::json!({"linux": {"devices": [{"path": "/dev/x", "type": "a", "major": 1, "minor": 3}]}}),
                "linux.devices[0].type",
            ),
            (
                serde_json::json!({"linux": {"devices": [{"path": "/", "type": "c", "major": 1, "minor": 3}]}}),
                "linux.devices[0].path",
            ),
        ];
        for (extra, field) in cases {
            let e = err(extra.clone(), true);
            assert!(e.contains(field), "{extra}: {e:?} does not name {field}");
        }
    }

    #[test]
    fn the_mount_label_goes_to_tmpfs_and_devpts_not_to_proc_sysfs_or_binds() {
        let mut c = check(
            serde_json::json!({"mounts": [
                {"destination": "/proc", "type": "proc", "source": "proc"},
                {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["mode=755"]},
                {"destination": "/dev/pts", "type": "devpts", "source": "devpts"},
                {"destination": "/sys", "type": "sysfs", "source": "sysfs"},
                {"destination": "/data", "type": "none", "source": "rootfs", "options": ["rbind"]}
            ]}),
            true,
        )
        .unwrap();
        label_mounts(&mut c.mounts, "u:r:t:s0:c1,c2");
        let ctx = "context=\"u:r:t:s0:c1,c2\"".to_string();
        let has: Vec<bool> = c
            .mounts
            .iter()
            .map(|m| m.opts.data.contains(&ctx))
            .collect();
        assert_eq!(has, [false, true, true, false, false]);
        assert_eq!(
            c.mounts[1].opts.data_string().as_deref(),
            Some("mode=755,context=\"u:r:t:s0:c1,c2\"")
        );
    }

    #[test]
    fn resources_are_checked_for_the_hosts_version() {
        let net = serde_json::json!({"linux": {"resources": {"network": {"classID": 1}}}});
        assert!(check(net.clone(), false).is_ok());
        assert!(err(net, true).contains("linux.resources.network"));
        let unified =
            serde_json::json!({"linux": {"resources": {"unified": {"memory.high": "1M"}}}});
        assert!(check(unified.clone(), true).is_ok());
        assert!(err(unified, false).contains("linux.resources.unified"));
    }
}
