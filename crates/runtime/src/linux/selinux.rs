//! SELinux: `process.selinuxLabel` and `linux.mountLabel`, applied as runc applies them.
//!
//! Where SELinux is enabled, the process label becomes the task's `exec` attribute (the
//! user's program runs with it from its execve on) and its `keycreate` attribute before the
//! session keyring is made (so the keyring carries the container's label too); the mount
//! label becomes the `context="..."` option of the container's fresh mounts that take one
//! (tmpfs, devpts and the like: not proc, sysfs, cgroup, mqueue or binds, as runc). Engines
//! set both only where SELinux is on (podman on Fedora and RHEL). Where it is not enabled,
//! either label is refused before anything exists, naming its field: a label asked for and
//! not applied would be confinement silently dropped. runc 1.1.5 refuses the process label
//! ("selinux label is specified in config, but selinux is disabled or not supported") and
//! fails on the mount label later, at its first tmpfs (`mount ... context=...: invalid
//! argument`).
//!
//! Like the AppArmor attribute, the file is opened while /proc is still the host's and
//! written late, after the container's mounts and before the seccomp filter.

use std::fs::File;
use std::io::Write;

use crate::error::{Error, Result};

/// The magic number of selinuxfs (statfs f_type: signed on glibc, unsigned on musl).
const SELINUX_MAGIC: u64 = 0xf97c_ff8c;

/// Whether SELinux is enabled on this host: selinuxfs is mounted at /sys/fs/selinux and
/// this process has a context of its own (go-selinux's test, which runc uses).
pub fn enabled() -> bool {
    let mounted =
        rustix::fs::statfs("/sys/fs/selinux").is_ok_and(|s| s.f_type as u64 == SELINUX_MAGIC);
    mounted
        && std::fs::read_to_string("/proc/thread-self/attr/current")
            .is_ok_and(|c| !c.trim_end_matches(['\0', '\n']).is_empty() && c.trim() != "kernel")
}

/// The labels of a container, as the host will apply them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Labels {
    pub process: Option<String>,
    pub mount: Option<String>,
}

impl Labels {
    /// The labels to apply, given whether SELinux is `on` (off, asking for one is an error).
    /// `on` is asked only when a label is (no lookup on the create path otherwise).
    pub fn resolve(
        process: Option<&str>,
        mount: Option<&str>,
        on: impl FnOnce() -> bool,
    ) -> Result<Labels> {
        let process = process.filter(|s| !s.is_empty());
        let mount = mount.filter(|s| !s.is_empty());
        if process.is_none() && mount.is_none() {
            return Ok(Labels::default());
        }
        check("process.selinuxLabel", process)?;
        check("linux.mountLabel", mount)?;
        if !on() {
            for (field, l) in [
                ("process.selinuxLabel", process),
                ("linux.mountLabel", mount),
            ] {
                if let Some(l) = l {
                    return Err(Error::invalid(format!(
                        "{field}: {l:?} asked for, but SELinux is not enabled on this host"
                    )));
                }
            }
            return Ok(Labels::default());
        }
        Ok(Labels {
            process: process.map(str::to_owned),
            mount: mount.map(str::to_owned),
        })
    }
}

/// A label is `user:role:type[:level]`; it goes into a mount option (quoted: an MCS level
/// such as `s0:c1,c2` holds a comma) and a /proc attribute, so quotes, whitespace and
/// control characters are refused.
pub fn check(field: &str, label: Option<&str>) -> Result<()> {
    let Some(label) = label.filter(|l| !l.is_empty()) else {
        return Ok(());
    };
    let bad = label
        .chars()
        .any(|c| c == '"' || c.is_whitespace() || c.is_control());
    if bad || label.split(':').count() < 3 {
        return Err(Error::invalid(format!(
            "{field}: {label:?} is not an SELinux context (user:role:type[:level])"
        )));
    }
    Ok(())
}

/// Whether a mount of `typ` takes the mount label as its `context=` option.
pub fn takes_mount_label(typ: Option<&str>, is_bind: bool) -> bool {
    !is_bind
        && !matches!(
            typ,
            Some("proc" | "sysfs" | "cgroup" | "cgroup2" | "mqueue" | "bind" | "none") | None
        )
}

/// The mount option for `label`.
pub fn context_option(label: &str) -> String {
    format!("context=\"{label}\"")
}

/// One of the task's attributes (`exec`, `keycreate`), open, with the label to write.
pub struct TaskAttr {
    file: File,
    label: String,
    what: &'static str,
}

impl TaskAttr {
    /// Opens this task's attribute `what` through the host's /proc (before pivot_root).
    pub fn open(what: &'static str, label: String) -> Result<TaskAttr> {
        let path = format!("/proc/thread-self/attr/{what}");
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .map_err(|e| Error::os(format!("process.selinuxLabel: opening {path}"), e))?;
        Ok(TaskAttr { file, label, what })
    }

    /// Writes the label: for `exec`, the context of the next execve; for `keycreate`, of
    /// the keyrings this task makes from now on.
    pub fn apply(mut self) -> Result<()> {
        let label = &self.label;
        self.file.write_all(label.as_bytes()).map_err(|e| {
            Error::os(
                format!(
                    "process.selinuxLabel: setting {label:?} as the {} context",
                    self.what
                ),
                e,
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const L: &str = "system_u:system_r:container_t:s0:c1,c2";

    #[test]
    fn off_a_label_is_refused_on_it_is_kept() {
        assert_eq!(
            Labels::resolve(None, Some(""), || false).unwrap(),
            Labels::default()
        );
        let e = Labels::resolve(None, Some("a:b:c"), || false)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("linux.mountLabel: ") && e.contains("not enabled"),
            "{e}"
        );
        let e = Labels::resolve(Some("a:b:c"), None, || false)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("process.selinuxLabel: ") && e.contains("not enabled"),
            "{e}"
        );
        let on =
            Labels::resolve(Some("system_u:system_r:container_t:s0"), Some(""), || true).unwrap();
        assert_eq!(
            on.process.as_deref(),
            Some("system_u:system_r:container_t:s0")
        );
        assert_eq!(on.mount, None);
        assert_eq!(
            Labels::resolve(None, None, || true).unwrap(),
            Labels::default()
        );
    }

    #[test]
    fn a_label_that_would_break_out_of_its_option_is_refused_even_where_selinux_is_off() {
        // The option is quoted, so a quote inside is what could break out of it.
        for bad in ["a:b:c\",uid=0", "a:b:c d", "a:b", "a:b:c\n", "a:b:c\0"] {
            let e = Labels::resolve(None, Some(bad), || false)
                .unwrap_err()
                .to_string();
            assert!(e.starts_with("linux.mountLabel: "), "{bad:?}: {e}");
        }
        let e = Labels::resolve(Some("x"), None, || true)
            .unwrap_err()
            .to_string();
        assert!(e.contains("not an SELinux context"), "{e}");
        assert!(e.starts_with("process.selinuxLabel: "), "{e}");
    }

    #[test]
    fn the_mount_label_goes_to_fresh_filesystems_only() {
        assert!(takes_mount_label(Some("tmpfs"), false));
        assert!(takes_mount_label(Some("devpts"), false));
        for t in ["proc", "sysfs", "cgroup", "cgroup2", "mqueue", "bind"] {
            assert!(!takes_mount_label(Some(t), false), "{t}");
        }
        assert!(!takes_mount_label(Some("tmpfs"), true));
        assert_eq!(context_option("a:b:c"), "context=\"a:b:c\"");
    }

    #[test]
    fn an_mcs_level_with_a_comma_is_a_label() {
        let on = Labels::resolve(Some(L), Some(L), || true).unwrap();
        assert_eq!(on.mount.as_deref(), Some(L));
        assert_eq!(context_option(L), format!("context=\"{L}\""));
    }
}
