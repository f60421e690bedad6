//! linux.sysctl: only keys that belong to a namespace the container has of its own
//! (runc's rule); anything else would change the host and is refused.

use std::collections::HashMap;
use std::path::PathBuf;

use nix::sched::CloneFlags;

use crate::error::{Error, Result};

const IPC_KEYS: &[&str] = &[
    "kernel.msgmax",
    "kernel.msgmnb",
    "kernel.msgmni",
    "kernel.sem",
    "kernel.shmall",
    "kernel.shmmax",
    "kernel.shmmni",
    "kernel.shm_rmid_forced",
];

/// The namespace a key belongs to, or None if it is host-wide.
fn namespace_of(key: &str) -> Option<(CloneFlags, &'static str)> {
    if IPC_KEYS.contains(&key) || key.starts_with("fs.mqueue.") {
        Some((CloneFlags::CLONE_NEWIPC, "ipc"))
    } else if key.starts_with("net.") {
        Some((CloneFlags::CLONE_NEWNET, "network"))
    } else if key == "kernel.hostname" || key == "kernel.domainname" {
        Some((CloneFlags::CLONE_NEWUTS, "uts"))
    } else {
        None
    }
}

/// Checks every key against the namespaces the container has of its own (new, or joined
/// by path and not the host's: see `Namespaces::own`); run before clone.
pub fn check(sysctl: &HashMap<String, String>, own_namespaces: CloneFlags) -> Result<()> {
    for key in sysctl.keys() {
        if key.contains('/') || key.contains("..") || key.is_empty() {
            return Err(Error::invalid(format!("linux.sysctl: invalid key {key:?}")));
        }
        match namespace_of(key) {
            None => {
                return Err(Error::invalid(format!(
                    "linux.sysctl: {key} is not namespaced; setting it would change the host"
                )))
            }
            Some((flag, name)) if !own_namespaces.contains(flag) => {
                return Err(Error::invalid(format!(
                    "linux.sysctl: {key} needs a {name} namespace of the container's own \
                     (new, or joined by path), not the host's"
                )))
            }
            Some(_) => {}
        }
    }
    Ok(())
}

/// Writes the values through the container's /proc/sys (after pivot_root), each file
/// reached inside procfs without crossing a mount or a symlink (see `procfs`).
/// `proc` is the root of the container's procfs kept from when it was mounted, if any.
pub fn apply<S: super::sys::Syscall>(
    sys: &S,
    sysctl: &HashMap<String, String>,
    proc: Option<&std::os::fd::OwnedFd>,
) -> Result<()> {
    if sysctl.is_empty() {
        return Ok(());
    }
    let proc = match proc {
        Some(fd) => super::procfs::ProcRoot::at(fd),
        None => super::procfs::ProcRoot::open(),
    }
    .map_err(|e| Error::other(format!("linux.sysctl: {e}")))?;
    for (key, value) in sysctl {
        let path = PathBuf::from("sys").join(key.replace('.', "/"));
        sys.write_proc(&proc, &path, value.as_bytes())
            .map_err(|e| Error::os(format!("linux.sysctl: setting {key} = {value:?}"), e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_namespaced_keys_pass() {
        let m = |k: &str| HashMap::from([(k.to_string(), "1".to_string())]);
        let all = CloneFlags::CLONE_NEWIPC | CloneFlags::CLONE_NEWNET | CloneFlags::CLONE_NEWUTS;
        assert!(check(&m("net.ipv4.ip_forward"), all).is_ok());
        assert!(check(&m("kernel.shmmax"), all).is_ok());
        assert!(check(&m("fs.mqueue.msg_max"), all).is_ok());
        assert!(check(&m("vm.swappiness"), all)
            .unwrap_err()
            .to_string()
            .contains("not namespaced"));
        assert!(check(&m("net.ipv4.ip_forward"), CloneFlags::CLONE_NEWIPC)
            .unwrap_err()
            .to_string()
            .contains("network"));
        assert!(check(&m("net/../../x"), all).is_err());
    }
}
