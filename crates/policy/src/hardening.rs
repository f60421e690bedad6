//! The baseline every profile gets, fixed in code rather than in profile files, so no user file
//! can weaken it: the sandbox user, the namespaces, and the /proc and /sys paths that are
//! masked or made read-only.

use oci_spec::runtime::LinuxNamespaceType;

/// The sandbox runs as nobody:nogroup.
pub const SANDBOX_UID: u32 = 65534;
pub const SANDBOX_GID: u32 = 65534;
/// Files the sandbox creates are readable by others, writable only by it.
pub const SANDBOX_UMASK: u32 = 0o022;

/// Paths hidden from the sandbox (a /dev/null bind for files, an empty read-only tmpfs for
/// directories): runc's defaults plus the RAPL power meter.
pub const MASKED_PATHS: &[(&str, &str)] = &[
    ("/proc/acpi", "ACPI tables and events of the host"),
    ("/proc/asound", "the host's sound cards"),
    ("/proc/kcore", "an ELF image of the host's physical memory"),
    ("/proc/keys", "the kernel keyrings visible to the user"),
    (
        "/proc/latency_stats",
        "kernel latency statistics of the host",
    ),
    (
        "/proc/timer_list",
        "the host's pending timers, with task names and addresses",
    ),
    ("/proc/timer_stats", "timer statistics of the host"),
    (
        "/proc/sched_debug",
        "scheduler state of every task on the host",
    ),
    (
        "/proc/scsi",
        "the host's SCSI devices (and a write interface)",
    ),
    (
        "/sys/firmware",
        "firmware tables (ACPI, DMI, EFI variables)",
    ),
    (
        "/sys/devices/virtual/powercap",
        "RAPL energy counters: a power side channel (PLATYPUS)",
    ),
];

/// Paths kept visible but read-only: runc's defaults.
pub const READONLY_PATHS: &[(&str, &str)] = &[
    ("/proc/bus", "PCI and USB configuration of the host"),
    ("/proc/fs", "filesystem driver settings"),
    ("/proc/irq", "interrupt affinities of the host"),
    (
        "/proc/sys",
        "kernel tunables (sysctl); the namespaced ones are set by the runtime",
    ),
    (
        "/proc/sysrq-trigger",
        "magic SysRq: reboot, crash or sync the host",
    ),
];

/// The namespaces every sandbox gets. The network namespace is left out only when the caller
/// asks for the host's network explicitly; the user namespace only when asked for (it needs uid
/// and gid mappings, which the bundle generator writes).
pub fn namespaces(host_network: bool, user_namespace: bool) -> Vec<LinuxNamespaceType> {
    let mut types = vec![
        LinuxNamespaceType::Pid,
        LinuxNamespaceType::Ipc,
        LinuxNamespaceType::Uts,
        LinuxNamespaceType::Mount,
        LinuxNamespaceType::Cgroup,
    ];
    if !host_network {
        types.insert(1, LinuxNamespaceType::Network);
    }
    if user_namespace {
        types.push(LinuxNamespaceType::User);
    }
    types
}
