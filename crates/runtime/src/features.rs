//! `features`: what this runtime implements, in the runtime-spec features.md format.
//! Only what is really honoured is listed; it grows as support lands.

use serde_json::{json, Value};

use crate::spec::{OCI_VERSION_MAX, OCI_VERSION_MIN};

/// Mount options the runtime understands (see linux::mount_opts).
const MOUNT_OPTIONS: &[&str] = &[
    "async",
    "atime",
    "bind",
    "defaults",
    "dev",
    "diratime",
    "dirsync",
    "exec",
    "loud",
    "mand",
    "noatime",
    "nodev",
    "nodiratime",
    "noexec",
    "nomand",
    "norelatime",
    "nostrictatime",
    "nosuid",
    "private",
    "rbind",
    "relatime",
    "remount",
    "ro",
    "rprivate",
    "rshared",
    "rslave",
    "runbindable",
    "rw",
    "shared",
    "silent",
    "slave",
    "strictatime",
    "suid",
    "sync",
    "unbindable",
];

pub fn features() -> Value {
    let caps: Vec<String> = caps::all()
        .iter()
        .map(|c| c.to_string())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    json!({
        "ociVersionMin": OCI_VERSION_MIN,
        "ociVersionMax": OCI_VERSION_MAX,
        "hooks": [],
        "mountOptions": MOUNT_OPTIONS,
        "linux": {
            "namespaces": ["cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts"],
            "capabilities": caps,
            "cgroup": {"v1": true, "v2": true, "systemd": true, "systemdUser": true},
            "seccomp": {
                "enabled": true,
                "actions": crate::linux::seccomp::ACTIONS,
                "operators": crate::linux::seccomp::OPERATORS,
                "archs": ["SCMP_ARCH_X86_64"],
                "knownFlags": crate::linux::seccomp::FLAGS,
                "supportedFlags": crate::linux::seccomp::FLAGS
            },
            "apparmor": {"enabled": true},
            "selinux": {"enabled": false}
        },
        "annotations": {
            "org.opencontainers.runtime.name": "vsbx-runtime",
            "org.opencontainers.runtime.version": env!("CARGO_PKG_VERSION")
        }
    })
}
