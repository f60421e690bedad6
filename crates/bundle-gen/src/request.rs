//! What the caller asks for (`BundleRequest`) and the parsers of its textual forms: sizes,
//! CPU counts, durations, `K=V` environment entries, `SRC:DST[:ro]` mounts and network modes.
//! The CLI and the sandbox crate both build requests through these, so they reject the same
//! inputs with the same messages.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use vsbx_policy::{Enforcement, Limits, Profile};

use crate::{BundleError, Result};

/// Which policy profile to use: a built-in name or a user profile file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PolicySource {
    Builtin(String),
    File(PathBuf),
}

impl PolicySource {
    /// `compute` is a built-in; anything with a `/` or ending in `.toml` is a file.
    pub fn parse(text: &str) -> PolicySource {
        if text.contains('/') || text.ends_with(".toml") {
            PolicySource::File(PathBuf::from(text))
        } else {
            PolicySource::Builtin(text.to_string())
        }
    }

    pub fn load(&self) -> Result<Profile> {
        Ok(match self {
            PolicySource::Builtin(name) => Profile::builtin(name)?,
            PolicySource::File(path) => Profile::from_file(path)?,
        })
    }
}

/// The network the sandbox sees. It must match the profile: `none` for profiles that cannot
/// create IP sockets, `loopback` or `host` for those that can.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NetworkMode {
    /// Own network namespace; the profile has no IP sockets.
    None,
    /// Own network namespace with loopback only.
    Loopback,
    /// The host's network namespace (also exposes the host's abstract Unix sockets).
    Host,
}

impl FromStr for NetworkMode {
    type Err = BundleError;

    fn from_str(text: &str) -> Result<NetworkMode> {
        match text {
            "none" => Ok(NetworkMode::None),
            "loopback" => Ok(NetworkMode::Loopback),
            "host" => Ok(NetworkMode::Host),
            _ => Err(BundleError::flag(
                "--net",
                text,
                "expected none, loopback or host",
            )),
        }
    }
}

impl NetworkMode {
    pub fn as_str(self) -> &'static str {
        match self {
            NetworkMode::None => "none",
            NetworkMode::Loopback => "loopback",
            NetworkMode::Host => "host",
        }
    }
}

/// One environment variable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvVar {
    pub key: String,
    pub value: String,
}

impl EnvVar {
    /// The `K=V` form of config.json.
    pub fn entry(&self) -> String {
        format!("{}={}", self.key, self.value)
    }
}

/// Parses `K=V`; the key is non-empty and has no `=` or NUL.
pub fn parse_env(text: &str) -> Result<EnvVar> {
    let invalid = |message: &str| BundleError::flag("--env", text, message);
    let (key, value) = text
        .split_once('=')
        .ok_or_else(|| invalid("expected KEY=VALUE"))?;
    if key.is_empty() || key.contains('\0') || value.contains('\0') {
        return Err(invalid(
            "the key must be non-empty and neither part may contain NUL",
        ));
    }
    Ok(EnvVar {
        key: key.to_string(),
        value: value.to_string(),
    })
}

/// A host path bound into the sandbox (`--mount SRC:DST[:ro|:rw]`, read-write by default).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserMount {
    /// Absolute host path (made absolute against the current directory when parsed).
    pub source: PathBuf,
    pub destination: String,
    pub read_only: bool,
}

/// Container paths a user mount may not cover: the runtime's own mounts and the bundle's.
const RESERVED_DESTINATIONS: &[&str] = &["/proc", "/sys", "/dev", "/work", "/tmp", "/build"];

/// Parses `SRC:DST[:ro|:rw]`. SRC must exist; DST must be absolute and not one of the
/// reserved places (/, /proc, /sys, /dev, /work, /tmp, /build and below).
pub fn parse_mount(text: &str) -> Result<UserMount> {
    let invalid = |message: String| BundleError::flag("--mount", text, message);
    let parts: Vec<&str> = text.split(':').collect();
    let (source, destination, read_only) = match parts.as_slice() {
        [source, destination] => (*source, *destination, false),
        [source, destination, "ro"] => (*source, *destination, true),
        [source, destination, "rw"] => (*source, *destination, false),
        [_, _, mode] => {
            return Err(invalid(format!(
                "unknown mode `{mode}` (expected ro or rw)"
            )))
        }
        _ => return Err(invalid("expected SRC:DST[:ro]".to_string())),
    };
    if source.is_empty() {
        return Err(invalid("the source is empty".to_string()));
    }
    let destination = normalize_container_path(destination).ok_or_else(|| {
        invalid(format!(
            "`{destination}` is not an absolute path below / without `..`"
        ))
    })?;
    if let Some(reserved) = RESERVED_DESTINATIONS
        .iter()
        .find(|r| destination == **r || destination.starts_with(&format!("{r}/")))
    {
        return Err(invalid(format!(
            "{reserved} is managed by the bundle and cannot be mounted over"
        )));
    }
    let source = absolute(Path::new(source)).map_err(|e| invalid(e.to_string()))?;
    if std::fs::symlink_metadata(&source).is_err() {
        return Err(invalid(format!(
            "the source {} does not exist",
            source.display()
        )));
    }
    Ok(UserMount {
        source,
        destination,
        read_only,
    })
}

/// `/a//b/` -> `/a/b`; None for relative paths, `/` itself and paths with `.` or `..`.
pub(crate) fn normalize_container_path(path: &str) -> Option<String> {
    if !path.starts_with('/') {
        return None;
    }
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    if parts.is_empty() || parts.iter().any(|p| *p == "." || *p == "..") {
        return None;
    }
    Some(format!("/{}", parts.join("/")))
}

fn absolute(path: &Path) -> std::io::Result<PathBuf> {
    if path.is_absolute() {
        Ok(path.to_path_buf())
    } else {
        Ok(std::env::current_dir()?.join(path))
    }
}

/// Parses a size (`64M`, `1.5G`, `512K`, bytes; binary suffixes) with `vsbx_size`, the one
/// size parser of vsbx. Zero is refused: no limit of this crate means "nothing".
pub fn parse_size(flag: &'static str, text: &str) -> Result<u64> {
    match vsbx_size::parse(text) {
        Ok(0) => Err(BundleError::flag(flag, text, "must be greater than zero")),
        Ok(bytes) => Ok(bytes),
        Err(e) => Err(BundleError::flag(flag, text, e.to_string())),
    }
}

/// Most CPUs a limit may ask for; guards against typos such as `--cpus 500`.
const MAX_CPUS: f64 = 1024.0;

/// Parses a CPU count (`0.5`, `2`) into thousandths of a CPU (at least 0.001).
pub fn parse_cpus(text: &str) -> Result<u64> {
    let invalid = |message: &str| BundleError::flag("--cpus", text, message);
    let cpus: f64 = text
        .trim()
        .parse()
        .map_err(|_| invalid("not a number of CPUs (e.g. 0.5 or 2)"))?;
    if !cpus.is_finite() || cpus <= 0.0 || cpus > MAX_CPUS {
        return Err(invalid("must be greater than 0 and at most 1024"));
    }
    let millis = (cpus * 1000.0).round();
    if millis < 1.0 {
        return Err(invalid("must be at least 0.001"));
    }
    // millis is finite and within 1..=1_024_000 here, so the cast is exact.
    Ok(millis as u64)
}

/// Parses a pids limit (a positive integer).
pub fn parse_pids(text: &str) -> Result<u64> {
    match text.trim().parse::<u64>() {
        Ok(0) => Err(BundleError::flag(
            "--pids",
            text,
            "must be greater than zero",
        )),
        Ok(pids) => Ok(pids),
        Err(_) => Err(BundleError::flag("--pids", text, "not a positive integer")),
    }
}

/// Parses a duration (`5s`, `1m 30s`, `250ms`); zero is refused.
pub fn parse_duration(flag: &'static str, text: &str) -> Result<Duration> {
    match humantime::parse_duration(text.trim()) {
        Ok(duration) if duration.is_zero() => {
            Err(BundleError::flag(flag, text, "must be greater than zero"))
        }
        Ok(duration) => Ok(duration),
        Err(e) => Err(BundleError::flag(
            flag,
            text,
            format!("not a duration ({e}; e.g. 5s, 250ms, 1m)"),
        )),
    }
}

/// Limits the caller sets on top of the profile's defaults (`None` = the profile's value).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LimitOverrides {
    pub memory_bytes: Option<u64>,
    pub cpu_millis: Option<u64>,
    pub pids: Option<u64>,
    pub tmp_bytes: Option<u64>,
    /// Size of /output; only for profiles that have one.
    pub output_bytes: Option<u64>,
}

impl LimitOverrides {
    /// `limits` with every set field replaced.
    pub fn applied_to(&self, limits: Limits) -> Limits {
        Limits {
            memory_bytes: self.memory_bytes.unwrap_or(limits.memory_bytes),
            cpu_millis: self.cpu_millis.unwrap_or(limits.cpu_millis),
            pids: self.pids.unwrap_or(limits.pids),
            tmp_bytes: self.tmp_bytes.unwrap_or(limits.tmp_bytes),
            output_bytes: limits
                .output_bytes
                .map(|bytes| self.output_bytes.unwrap_or(bytes)),
            ..limits
        }
    }
}

/// A user namespace: container ids `container_id..container_id+size` map to host ids
/// starting at `host_uid` / `host_gid`; with `root`, container id 0 is that host uid/gid
/// besides (rootless podman's layout: the caller's own files stay root's inside).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UserNamespace {
    pub root: Option<(u32, u32)>,
    pub container_id: u32,
    pub host_uid: u32,
    pub host_gid: u32,
    pub size: u32,
}

impl UserNamespace {
    /// Container ids 0..65536 (root to nobody) map to `host_base..host_base+65536`.
    pub fn with_host_base(host_base: u32) -> UserNamespace {
        UserNamespace {
            root: None,
            container_id: 0,
            host_uid: host_base,
            host_gid: host_base,
            size: 65536,
        }
    }

    /// Container root is the caller (`uid`/`gid`); container ids 1..65537 map to the
    /// subordinate ranges starting at `sub_uid` and `sub_gid`.
    pub fn caller_and_ranges(uid: u32, gid: u32, sub_uid: u32, sub_gid: u32) -> UserNamespace {
        UserNamespace {
            root: Some((uid, gid)),
            container_id: 1,
            host_uid: sub_uid,
            host_gid: sub_gid,
            size: 65536,
        }
    }

    /// One id only: container id `container_id` is the host's `uid`/`gid` (what a user
    /// without subordinate ranges may map).
    pub fn single(container_id: u32, uid: u32, gid: u32) -> UserNamespace {
        UserNamespace {
            root: None,
            container_id,
            host_uid: uid,
            host_gid: gid,
            size: 1,
        }
    }

    /// The host uid and gid of container ids `uid`/`gid`, if the map covers them.
    pub fn host_ids(&self, uid: u32, gid: u32) -> Option<(u32, u32)> {
        if let (Some((ru, rg)), 0, 0) = (self.root, uid, gid) {
            return Some((ru, rg));
        }
        let one = |id: u32, host: u32| {
            let off = id
                .checked_sub(self.container_id)
                .filter(|o| *o < self.size)?;
            // The whole range must fit in the host's ids, not only this one id.
            host.checked_add(self.size.checked_sub(1)?)?;
            Some(host + off)
        };
        Some((one(uid, self.host_uid)?, one(gid, self.host_gid)?))
    }

    /// The uid_map and gid_map lines: (container id, host id, count) each.
    pub fn maps(&self) -> [Vec<(u32, u32, u32)>; 2] {
        let mut uids = Vec::new();
        let mut gids = Vec::new();
        if let Some((u, g)) = self.root {
            uids.push((0, u, 1));
            gids.push((0, g, 1));
        }
        uids.push((self.container_id, self.host_uid, self.size));
        gids.push((self.container_id, self.host_gid, self.size));
        [uids, gids]
    }
}

#[cfg(test)]
mod userns_tests {
    use super::UserNamespace;

    #[test]
    fn host_ids_of_ranges_and_single_maps() {
        let r = UserNamespace::caller_and_ranges(1000, 1001, 100_000, 200_000);
        assert_eq!(r.host_ids(65534, 65534), Some((165_533, 265_533)));
        assert_eq!(r.host_ids(0, 0), Some((1000, 1001)));
        assert_eq!(r.host_ids(65537, 1), None);
        assert_eq!(r.maps()[0], vec![(0, 1000, 1), (1, 100_000, 65536)]);
        let one = UserNamespace::single(65534, 1000, 1001);
        assert_eq!(one.host_ids(65534, 65534), Some((1000, 1001)));
        assert_eq!(one.host_ids(0, 65534), None);
        assert_eq!(
            UserNamespace::with_host_base(u32::MAX - 10).host_ids(0, 0),
            None
        );
    }
}

/// Everything the caller asks of one bundle.
#[derive(Clone, Debug, PartialEq)]
pub struct BundleRequest {
    /// Where to write config.json and rootfs/; created if missing, must be empty if present.
    pub bundle_dir: PathBuf,
    /// The user's files, copied read-only to /work/<file name>. The first is `{file}`.
    pub files: Vec<PathBuf>,
    /// Runner name; `None` = chosen from the first file's extension.
    pub runner: Option<String>,
    /// Policy; `None` = the runner's default profile.
    pub policy: Option<PolicySource>,
    pub limits: LimitOverrides,
    /// `None` = `loopback` for profiles with IP sockets, `none` for the others.
    pub network: Option<NetworkMode>,
    pub mounts: Vec<UserMount>,
    pub env: Vec<EnvVar>,
    /// Host directory bound read-write at /output (io profile and up).
    pub output: Option<PathBuf>,
    /// Wall-clock limit, recorded in the bundle for the orchestrator to enforce.
    pub timeout: Option<Duration>,
    pub user_namespace: Option<UserNamespace>,
    /// Host uid and gid of the sandbox user instead of 65534 (no user namespace): `vsbx
    /// run` gives every run its own.
    pub run_as: Option<(u32, u32)>,
    /// Cgroup limits, or rlimits where no cgroup can be had.
    pub enforcement: Enforcement,
}

impl BundleRequest {
    /// A request with the runner's defaults for everything but the files.
    pub fn new(bundle_dir: impl Into<PathBuf>, files: Vec<PathBuf>) -> BundleRequest {
        BundleRequest {
            bundle_dir: bundle_dir.into(),
            files,
            runner: None,
            policy: None,
            limits: LimitOverrides::default(),
            network: None,
            mounts: Vec::new(),
            env: Vec::new(),
            output: None,
            timeout: None,
            user_namespace: None,
            run_as: None,
            enforcement: Enforcement::Cgroup,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_binary_suffixes() {
        assert_eq!(parse_size("--memory", "64M").ok(), Some(64 << 20));
        assert_eq!(parse_size("--memory", "1g").ok(), Some(1 << 30));
        assert_eq!(parse_size("--memory", "512K").ok(), Some(512 << 10));
        assert_eq!(parse_size("--memory", "4096").ok(), Some(4096));
        assert_eq!(parse_size("--memory", "1.5G").ok(), Some(3 << 29));
        for bad in [
            "",
            "M",
            "64X",
            "-1M",
            "-1",
            "1..5G",
            "0",
            "0M",
            "99999999999999999999G",
        ] {
            let err = parse_size("--memory", bad).expect_err(bad).to_string();
            assert!(err.starts_with(&format!("--memory {bad}:")), "{err}");
        }
    }

    #[test]
    fn cpus_become_thousandths() {
        assert_eq!(parse_cpus("0.5").ok(), Some(500));
        assert_eq!(parse_cpus("2").ok(), Some(2000));
        assert_eq!(parse_cpus("0.001").ok(), Some(1));
        for bad in ["", "abc", "0", "-1", "0.0001", "inf", "NaN", "5000"] {
            assert!(parse_cpus(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn pids_are_positive_integers() {
        assert_eq!(parse_pids("64").ok(), Some(64));
        for bad in ["0", "-3", "1.5", "many", ""] {
            assert!(parse_pids(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn durations_use_humantime() {
        assert_eq!(
            parse_duration("--timeout", "5s").ok(),
            Some(Duration::from_secs(5))
        );
        assert_eq!(
            parse_duration("--timeout", "250ms").ok(),
            Some(Duration::from_millis(250))
        );
        assert_eq!(
            parse_duration("--timeout", "1m 30s").ok(),
            Some(Duration::from_secs(90))
        );
        for bad in ["", "5", "5 parsecs", "0s", "-1s"] {
            let err = parse_duration("--timeout", bad).expect_err(bad).to_string();
            assert!(err.starts_with("--timeout"), "{err}");
        }
    }

    #[test]
    fn env_entries_split_at_the_first_equals() {
        let var = parse_env("A=b=c").expect("valid");
        assert_eq!((var.key.as_str(), var.value.as_str()), ("A", "b=c"));
        assert_eq!(parse_env("EMPTY=").expect("valid").value, "");
        assert!(parse_env("NOVALUE").is_err());
        assert!(parse_env("=x").is_err());
    }

    #[test]
    fn mounts_parse_modes_and_refuse_reserved_places() {
        let mount = parse_mount("/usr/share:/data:ro").expect("valid");
        assert_eq!(mount.source, PathBuf::from("/usr/share"));
        assert_eq!(mount.destination, "/data");
        assert!(mount.read_only);
        assert!(!parse_mount("/usr/share:/data").expect("valid").read_only);
        assert!(
            !parse_mount("/usr/share:/data/:rw")
                .expect("valid")
                .read_only
        );
        assert_eq!(
            parse_mount("/usr//share:/a//b/")
                .expect("valid")
                .destination,
            "/a/b"
        );
        for bad in [
            "/usr/share",
            "/usr/share:relative",
            "/usr/share:/",
            "/usr/share:/proc",
            "/usr/share:/dev/x",
            "/usr/share:/work",
            "/usr/share:/tmp/x",
            "/usr/share:/a/../proc",
            "/usr/share:/data:rx",
            "/no/such/vsbx/path:/data",
            ":/data",
            "/a:/b:ro:extra",
        ] {
            let err = parse_mount(bad).expect_err(bad).to_string();
            assert!(err.starts_with(&format!("--mount {bad}:")), "{err}");
        }
    }

    #[test]
    fn network_modes_parse() {
        assert_eq!("none".parse::<NetworkMode>().ok(), Some(NetworkMode::None));
        assert_eq!(
            "loopback".parse::<NetworkMode>().ok(),
            Some(NetworkMode::Loopback)
        );
        assert_eq!("host".parse::<NetworkMode>().ok(), Some(NetworkMode::Host));
        assert!("bridge".parse::<NetworkMode>().is_err());
    }

    #[test]
    fn policy_source_tells_names_from_files() {
        assert_eq!(
            PolicySource::parse("compute"),
            PolicySource::Builtin("compute".into())
        );
        assert_eq!(
            PolicySource::parse("my.toml"),
            PolicySource::File("my.toml".into())
        );
        assert_eq!(PolicySource::parse("./p"), PolicySource::File("./p".into()));
    }

    #[test]
    fn overrides_replace_only_what_is_set() {
        let base = Limits::default();
        let limits = LimitOverrides {
            memory_bytes: Some(1),
            ..LimitOverrides::default()
        }
        .applied_to(base);
        assert_eq!(limits.memory_bytes, 1);
        assert_eq!(limits.pids, base.pids);
        assert_eq!(limits.output_bytes, None, "no /output appears by a size");
        let io = Limits {
            output_bytes: Some(64 << 20),
            ..base
        };
        let sized = LimitOverrides {
            output_bytes: Some(1 << 20),
            ..LimitOverrides::default()
        };
        assert_eq!(sized.applied_to(io).output_bytes, Some(1 << 20));
    }
}
