//! Reading a bundle's config.json and the spec's own rules for it.
//!
//! [`validate`] is the first of the plan's checks (`plan::Checked::of` runs it, and then
//! the rest, before anything is created): every error names the field at fault. Fields
//! this runtime cannot honour yet are refused (fail closed, `unsupported`), except where
//! the runtime-spec says to ignore them.

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};

use oci_spec::runtime::{LinuxNamespaceType, Spec};

use crate::error::{Error, Result};

/// The runtime-spec versions we implement.
pub const OCI_VERSION: &str = "1.2.0";
pub const OCI_VERSION_MIN: &str = "1.0.0";
pub const OCI_VERSION_MAX: &str = "1.3.0";

/// A bundle: its directory (absolute) and its parsed config, not yet checked (that is
/// `plan::Checked::of`, which calls [`validate`]).
#[derive(Debug, Clone)]
pub struct Bundle {
    pub dir: PathBuf,
    pub spec: Spec,
    /// config.json as read: kept in the container's state directory by create, so that
    /// later commands use what create used, whatever happens to the bundle.
    pub text: Vec<u8>,
}

impl Bundle {
    /// Reads and parses `<dir>/config.json`.
    pub fn read(dir: &Path) -> Result<Bundle> {
        let dir = fs::canonicalize(dir).map_err(|e| Error::path("bundle: cannot open", dir, e))?;
        let path = dir.join("config.json");
        let text = fs::read(&path).map_err(|e| Error::path("cannot read", &path, e))?;
        let spec = parse(&text).map_err(|e| Error::invalid(format!("{}: {e}", path.display())))?;
        Ok(Bundle { dir, spec, text })
    }
}

/// Parses config.json text; the error names the JSON path of the bad field.
pub fn parse(text: &[u8]) -> std::result::Result<Spec, String> {
    let de = &mut serde_json::Deserializer::from_slice(text);
    serde_path_to_error::deserialize::<_, Spec>(de).map_err(|e| {
        let field = e.path().to_string();
        let inner = e.into_inner();
        if field == "." || inner.is_syntax() || inner.is_eof() {
            format!("invalid JSON: {inner}")
        } else {
            format!("field {field}: {inner}")
        }
    })
}

/// Checks that `v` is a 1.x version string ("1.0.2-dev" is fine).
pub fn check_version(v: &str) -> Result<()> {
    let core = v.split(['-', '+']).next().unwrap_or("");
    let parts: Vec<&str> = core.split('.').collect();
    let numeric = parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    if !numeric {
        return Err(Error::invalid(format!(
            "ociVersion: {v:?} is not a semantic version"
        )));
    }
    if parts[0] != "1" {
        return Err(Error::invalid(format!(
            "ociVersion: {v} is not supported (this runtime implements {OCI_VERSION_MIN} to {OCI_VERSION_MAX})"
        )));
    }
    Ok(())
}

pub(crate) fn validate(spec: &Spec, dir: &Path) -> Result<PathBuf> {
    check_version(spec.version())?;

    let root = spec
        .root()
        .as_ref()
        .ok_or_else(|| Error::invalid("root: missing (root.path is required)"))?;
    let rootfs = if root.path().is_absolute() {
        root.path().clone()
    } else {
        dir.join(root.path())
    };
    let rootfs =
        fs::canonicalize(&rootfs).map_err(|e| Error::path("root.path: cannot open", &rootfs, e))?;
    if !rootfs.is_dir() {
        return Err(Error::invalid(format!(
            "root.path: {} is not a directory",
            rootfs.display()
        )));
    }

    let process = spec
        .process()
        .as_ref()
        .ok_or_else(|| Error::invalid("process: missing (required to start a container)"))?;
    match process.args() {
        Some(a) if !a.is_empty() => {}
        _ => {
            return Err(Error::invalid(
                "process.args: must contain at least one element",
            ))
        }
    }
    if !process.cwd().is_absolute() {
        return Err(Error::invalid(format!(
            "process.cwd: {} is not an absolute path",
            process.cwd().display()
        )));
    }
    if let Some(env) = process.env() {
        if let Some(bad) = env.iter().find(|e| !e.contains('=')) {
            return Err(Error::invalid(format!(
                "process.env: {bad:?} is not of the form KEY=VALUE"
            )));
        }
    }

    // Stricter than runc 1.1.5, which checks no hook and runs a relative path from the bundle
    // directory: the spec requires absolute paths and timeouts above zero.
    crate::hooks::check(spec.hooks().as_ref())?;

    for (i, m) in spec.mounts().iter().flatten().enumerate() {
        if m.destination().as_os_str().is_empty() {
            return Err(Error::invalid(format!("mounts[{i}].destination: empty")));
        }
    }

    let linux = spec.linux().as_ref();
    let namespaces = linux.and_then(|l| l.namespaces().as_ref());
    let mut seen = HashSet::new();
    for ns in namespaces.into_iter().flatten() {
        if !seen.insert(ns.typ()) {
            return Err(Error::invalid(format!(
                "linux.namespaces: {:?} is listed twice",
                ns.typ()
            )));
        }
    }
    let has = |t: LinuxNamespaceType| seen.contains(&t);
    if !has(LinuxNamespaceType::Mount) {
        // As runc: without a mount namespace the container's mounts are made in the host's
        // (inside a bind of the rootfs that delete takes back, see linux/host_mounts.rs), but
        // masking and read-only paths, which would change the host's own /proc and /sys, are
        // refused, and so is a propagation for the host's mounts.
        let l = linux;
        if l.and_then(|l| l.masked_paths().as_ref())
            .is_some_and(|v| !v.is_empty())
            || l.and_then(|l| l.readonly_paths().as_ref())
                .is_some_and(|v| !v.is_empty())
        {
            return Err(Error::invalid(
                "linux.maskedPaths, linux.readonlyPaths: need a mount namespace (linux.namespaces has none)",
            ));
        }
        if l.and_then(|l| l.rootfs_propagation().as_deref()).is_some() {
            return Err(Error::invalid(
                "linux.rootfsPropagation: needs a mount namespace (linux.namespaces has none)",
            ));
        }
    }
    if spec.hostname().as_deref().is_some_and(|h| !h.is_empty()) && !has(LinuxNamespaceType::Uts) {
        return Err(Error::invalid("hostname: setting it needs a uts namespace"));
    }
    if spec.domainname().as_deref().is_some_and(|h| !h.is_empty()) && !has(LinuxNamespaceType::Uts)
    {
        return Err(Error::invalid(
            "domainname: setting it needs a uts namespace",
        ));
    }
    if let Some(l) = linux {
        let userns = has(LinuxNamespaceType::User);
        let maps = l.uid_mappings().as_ref().is_some_and(|m| !m.is_empty())
            || l.gid_mappings().as_ref().is_some_and(|m| !m.is_empty());
        if maps && !userns {
            return Err(Error::invalid(
                "linux.uidMappings: mappings need a user namespace",
            ));
        }
        let user_path = namespaces
            .into_iter()
            .flatten()
            .any(|n| n.typ() == LinuxNamespaceType::User && n.path().is_some());
        if userns && !user_path && !maps {
            return Err(Error::invalid(
                "linux.uidMappings: a new user namespace needs uidMappings and gidMappings",
            ));
        }
    }
    crate::unsupported::check(spec)?;
    Ok(rootfs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert!(check_version("1.0.2-dev").is_ok());
        assert!(check_version("1.3.0").is_ok());
        assert!(check_version("1.0.0+meta").is_ok());
        let e = check_version("2.0.0").unwrap_err().to_string();
        assert!(e.contains("ociVersion") && e.contains("2.0.0"), "{e}");
        assert!(check_version("one").is_err());
        assert!(check_version("1.0").is_err());
    }

    #[test]
    fn parse_names_the_field() {
        let e = parse(br#"{"ociVersion":"1.0.0","process":{"args":"sh"}}"#).unwrap_err();
        assert!(e.contains("process.args"), "{e}");
        let e = parse(b"{not json").unwrap_err();
        assert!(e.contains("invalid JSON"), "{e}");
    }
}
