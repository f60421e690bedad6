//! `features`: what this runtime implements, in the runtime-spec features.md format.
//! Only what is really honoured is listed; it grows as support lands.

use serde_json::{json, Value};

use crate::spec::{OCI_VERSION_MAX, OCI_VERSION_MIN};

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
        "hooks": crate::hooks::Kind::ALL.map(crate::hooks::Kind::name),
        "mountOptions": crate::linux::mount_opts::known_names(),
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
            "selinux": {"enabled": true}
        },
        "annotations": {
            "org.opencontainers.runtime.name": "vsbx-runtime",
            "org.opencontainers.runtime.version": env!("CARGO_PKG_VERSION")
        }
    })
}
