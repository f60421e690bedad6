//! Resource limits a profile sets by default (memory, CPU, pids, open files, tmpfs sizes). Sizes
//! in profile files ("64M", "1.5G") are parsed by `vsbx_size`, as every flag of vsbx.

/// Concrete limits for one sandbox. A profile provides defaults ([`crate::Profile::limits`]);
/// callers (`vsbx run --memory 64M`) override fields before calling `to_oci`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Memory cgroup limit in bytes (tmpfs pages written by the sandbox count against it too).
    pub memory_bytes: u64,
    /// CPU bandwidth in thousandths of a CPU (1000 = one full core).
    pub cpu_millis: u64,
    /// Maximum number of tasks (processes and threads) in the pids cgroup.
    pub pids: u64,
    /// RLIMIT_NOFILE, soft and hard.
    pub open_files: u64,
    /// Size of the /tmp tmpfs.
    pub tmp_bytes: u64,
    /// Size of the /dev/shm tmpfs.
    pub shm_bytes: u64,
    /// Size of the /output tmpfs; `None` = no /output mount (minimal).
    pub output_bytes: Option<u64>,
}

/// The CFS period used to express `cpu_millis` as a quota, in microseconds.
pub const CPU_PERIOD_US: u64 = 100_000;

impl Limits {
    /// The CFS quota for `cpu_millis` over [`CPU_PERIOD_US`].
    pub fn cpu_quota_us(&self) -> u64 {
        self.cpu_millis * CPU_PERIOD_US / 1000
    }
}

impl Default for Limits {
    /// Used only as the starting point before the `minimal` profile's `[limits]` apply.
    fn default() -> Self {
        Limits {
            memory_bytes: 128 << 20,
            cpu_millis: 500,
            pids: 8,
            open_files: 64,
            tmp_bytes: 16 << 20,
            shm_bytes: 1 << 20,
            output_bytes: None,
        }
    }
}

/// Formats bytes the way profile files write them (`64M`), for explain and diff.
pub fn format_size(bytes: u64) -> String {
    const UNITS: [(u64, &str); 3] = [(1 << 30, "G"), (1 << 20, "M"), (1 << 10, "K")];
    for (unit, suffix) in UNITS {
        if bytes >= unit && bytes % unit == 0 {
            return format!("{}{suffix}", bytes / unit);
        }
    }
    format!("{bytes}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_format() {
        assert_eq!(format_size(64 << 20), "64M");
        assert_eq!(format_size(1000), "1000");
    }

    #[test]
    fn cpu_quota_follows_millis() {
        let limits = Limits {
            cpu_millis: 1500,
            ..Limits::default()
        };
        assert_eq!(limits.cpu_quota_us(), 150_000);
    }
}
