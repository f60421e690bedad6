//! AppArmor: `process.apparmorProfile`, applied as runc applies it.
//!
//! A profile asked for must be applied: where AppArmor is not enabled, or the profile is not
//! loaded, `create` (and `exec`) fail before anything exists, naming the field. runc 1.1.5
//! (`write /proc/self/attr/exec: invalid argument`), crun 1.8.1 ("AppArmor is not initialized
//! correctly") and youki refuse a profile on a host without AppArmor too; engines set the
//! field only where AppArmor is on (podman: `containers-default-0.x`). The container's process asks the
//! kernel to switch to the profile at its next execve (the `exec` attribute of the task),
//! which is the user's program: the attribute file is opened while `/proc` is still the
//! host's, and written late, after the container's mounts and before the seccomp filter.

use std::fs::File;
use std::io::Write;

use crate::error::{Error, Result};

const ENABLED: &str = "/sys/module/apparmor/parameters/enabled";
const PROFILES: &str = "/sys/kernel/security/apparmor/profiles";

/// Whether AppArmor is enabled on this host (runc's test).
pub fn enabled() -> bool {
    std::fs::read_to_string(ENABLED).is_ok_and(|s| s.trim() == "Y")
}

/// The profile to apply (None when none is asked for). Fails, naming the field, where
/// AppArmor is not enabled or the profile is not loaded.
pub fn profile_to_apply(profile: Option<&str>) -> Result<Option<String>> {
    let Some(name) = profile.filter(|p| !p.is_empty()) else {
        return Ok(None);
    };
    if !enabled() {
        return Err(Error::invalid(format!(
            "process.apparmorProfile: {name:?} asked for, but AppArmor is not enabled on this host"
        )));
    }
    if name != "unconfined" {
        let loaded = std::fs::read_to_string(PROFILES).map_err(|e| {
            Error::os(
                format!("process.apparmorProfile: cannot list loaded profiles ({PROFILES})"),
                e,
            )
        })?;
        if !is_loaded(&loaded, name) {
            return Err(Error::invalid(format!(
                "process.apparmorProfile: profile {name:?} is not loaded (apparmor_parser -r it first)"
            )));
        }
    }
    Ok(Some(name.to_string()))
}

/// Whether `name` is in the kernel's list of loaded profiles (`NAME (MODE)` per line).
fn is_loaded(list: &str, name: &str) -> bool {
    list.lines()
        .filter_map(|l| l.rsplit_once(" ("))
        .any(|(n, _)| n == name)
}

/// The task's on-exec attribute, open, with the profile to write into it.
pub struct OnExec {
    file: File,
    profile: String,
}

impl OnExec {
    /// Opens this task's `exec` attribute through the host's /proc (call before pivot_root).
    pub fn open(profile: String) -> Result<OnExec> {
        let open = |p: &str| std::fs::OpenOptions::new().write(true).open(p);
        let file = open("/proc/thread-self/attr/apparmor/exec")
            .or_else(|_| open("/proc/thread-self/attr/exec"))
            .map_err(|e| {
                Error::os(
                    "process.apparmorProfile: opening the task's AppArmor exec attribute",
                    e,
                )
            })?;
        Ok(OnExec { file, profile })
    }

    /// Asks for the profile at the next execve.
    pub fn apply(mut self) -> Result<()> {
        let profile = &self.profile;
        self.file
            .write_all(format!("exec {profile}").as_bytes())
            .map_err(|e| {
                Error::os(
                    format!("process.apparmorProfile: switching to {profile:?} on exec"),
                    e,
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loaded_profiles_are_matched_by_whole_name() {
        let list =
            "containers-default-0.50.1 (enforce)\n/usr/bin/man (enforce)\nlsb_release (complain)\n";
        assert!(is_loaded(list, "containers-default-0.50.1"));
        assert!(is_loaded(list, "/usr/bin/man"));
        assert!(!is_loaded(list, "containers-default"));
        assert!(!is_loaded(list, "enforce"));
    }

    #[test]
    fn no_profile_means_nothing_to_apply_and_a_missing_one_is_refused() {
        assert_eq!(profile_to_apply(None).unwrap(), None);
        assert_eq!(profile_to_apply(Some("")).unwrap(), None);
        let err = profile_to_apply(Some("not-loaded-anywhere"))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("process.apparmorProfile: "), "{err}");
    }
}
