//! `update`: resources from flags (runc's names and units) or a resources.json.

use std::path::PathBuf;

use clap::Args;

use vsbx_runtime::{Error, Result};

#[derive(Args, Debug)]
pub struct UpdateArgs {
    pub id: String,
    /// A JSON file with linux.resources ("-" for stdin); the flags below override it.
    #[arg(short = 'r', long)]
    pub resources: Option<PathBuf>,
    /// Memory limit: bytes, or a number with a k, m, g or t suffix (1.5g); -1 for unlimited.
    #[arg(long = "memory", allow_hyphen_values = true)]
    pub memory: Option<String>,
    #[arg(long = "memory-reservation", allow_hyphen_values = true)]
    pub memory_reservation: Option<String>,
    #[arg(long = "memory-swap", allow_hyphen_values = true)]
    pub memory_swap: Option<String>,
    #[arg(long = "kernel-memory", allow_hyphen_values = true)]
    pub kernel_memory: Option<String>,
    #[arg(long = "kernel-memory-tcp", allow_hyphen_values = true)]
    pub kernel_memory_tcp: Option<String>,
    #[arg(long = "cpu-shares", alias = "cpu-share")]
    pub cpu_shares: Option<u64>,
    #[arg(long = "cpu-quota", allow_hyphen_values = true)]
    pub cpu_quota: Option<i64>,
    #[arg(long = "cpu-period")]
    pub cpu_period: Option<u64>,
    #[arg(long = "cpu-rt-period")]
    pub cpu_rt_period: Option<u64>,
    #[arg(long = "cpu-rt-runtime", allow_hyphen_values = true)]
    pub cpu_rt_runtime: Option<i64>,
    #[arg(long = "cpuset-cpus")]
    pub cpuset_cpus: Option<String>,
    #[arg(long = "cpuset-mems")]
    pub cpuset_mems: Option<String>,
    #[arg(long = "pids-limit", allow_hyphen_values = true)]
    pub pids_limit: Option<i64>,
    #[arg(long = "blkio-weight")]
    pub blkio_weight: Option<u16>,
    /// Intel RDT/CAT L3 cache schema: refused (no Intel RDT support, as linux.intelRdt).
    #[arg(long = "l3-cache-schema")]
    pub l3_cache_schema: Option<String>,
    /// Intel RDT/MBA memory bandwidth schema: refused, as --l3-cache-schema.
    #[arg(long = "mem-bw-schema")]
    pub mem_bw_schema: Option<String>,
}

impl UpdateArgs {
    pub fn resources(&self) -> Result<oci_spec::runtime::LinuxResources> {
        use oci_spec::runtime::{LinuxPids, LinuxResources};
        // Refused before anything is read or written, so the container stays as it was. An
        // empty value counts as not given, as in runc.
        for (flag, value) in [
            ("l3-cache-schema", &self.l3_cache_schema),
            ("mem-bw-schema", &self.mem_bw_schema),
        ] {
            if value.as_deref().is_some_and(|v| !v.is_empty()) {
                return Err(Error::invalid(format!(
                    "update --{flag}: Intel RDT is not supported by this vsbx-runtime build"
                )));
            }
        }
        let mut r: LinuxResources = match &self.resources {
            Some(p) => {
                let text = if p.as_os_str() == "-" {
                    let mut s = String::new();
                    std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)
                        .map_err(|e| Error::os("reading stdin", e))?;
                    s
                } else {
                    std::fs::read_to_string(p)
                        .map_err(|e| Error::path("--resources: cannot read", p, e))?
                };
                let de = &mut serde_json::Deserializer::from_str(&text);
                serde_path_to_error::deserialize(de).map_err(|e| {
                    Error::invalid(format!("--resources: field {}: {}", e.path(), e.inner()))
                })?
            }
            None => LinuxResources::default(),
        };
        // runc's forms: bytes, a K/M/G/T suffix (binary, fractions allowed), -1 = unlimited.
        let bytes = |flag: &str, v: &Option<String>| -> Result<Option<i64>> {
            v.as_deref()
                .map(|s| {
                    vsbx_size::parse_limit(s)
                        .map_err(|e| Error::invalid(format!("--{flag} {s:?}: {e}")))
                })
                .transpose()
        };
        let (limit, reservation, swap, kernel, kernel_tcp) = (
            bytes("memory", &self.memory)?,
            bytes("memory-reservation", &self.memory_reservation)?,
            bytes("memory-swap", &self.memory_swap)?,
            bytes("kernel-memory", &self.kernel_memory)?,
            bytes("kernel-memory-tcp", &self.kernel_memory_tcp)?,
        );
        if limit.is_some()
            || reservation.is_some()
            || swap.is_some()
            || kernel.is_some()
            || kernel_tcp.is_some()
        {
            let mut m = (*r.memory()).unwrap_or_default();
            if limit.is_some() {
                m.set_limit(limit);
            }
            if reservation.is_some() {
                m.set_reservation(reservation);
            }
            if swap.is_some() {
                m.set_swap(swap);
            }
            if kernel.is_some() {
                m.set_kernel(kernel);
            }
            if kernel_tcp.is_some() {
                m.set_kernel_tcp(kernel_tcp);
            }
            r.set_memory(Some(m));
        }
        let cpu_set = self.cpu_shares.is_some()
            || self.cpu_quota.is_some()
            || self.cpu_period.is_some()
            || self.cpu_rt_period.is_some()
            || self.cpu_rt_runtime.is_some()
            || self.cpuset_cpus.is_some()
            || self.cpuset_mems.is_some();
        if cpu_set {
            let mut c = r.cpu().clone().unwrap_or_default();
            if self.cpu_shares.is_some() {
                c.set_shares(self.cpu_shares);
            }
            if self.cpu_quota.is_some() {
                c.set_quota(self.cpu_quota);
            }
            if self.cpu_period.is_some() {
                c.set_period(self.cpu_period);
            }
            if self.cpu_rt_period.is_some() {
                c.set_realtime_period(self.cpu_rt_period);
            }
            if self.cpu_rt_runtime.is_some() {
                c.set_realtime_runtime(self.cpu_rt_runtime);
            }
            if self.cpuset_cpus.is_some() {
                c.set_cpus(self.cpuset_cpus.clone());
            }
            if self.cpuset_mems.is_some() {
                c.set_mems(self.cpuset_mems.clone());
            }
            r.set_cpu(Some(c));
        }
        if let Some(p) = self.pids_limit {
            let mut pids = LinuxPids::default();
            pids.set_limit(p);
            r.set_pids(Some(pids));
        }
        if let Some(w) = self.blkio_weight {
            let mut b = r.block_io().clone().unwrap_or_default();
            b.set_weight(Some(w));
            r.set_block_io(Some(b));
        }
        Ok(r)
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use crate::cli::{Cli, Command};

    fn update(flags: &[&str]) -> Result<oci_spec::runtime::LinuxResources, String> {
        let mut argv = vec!["vsbx-runtime", "update"];
        argv.extend_from_slice(flags);
        argv.push("some-id");
        match Cli::try_parse_from(argv)
            .map_err(|e| e.to_string())?
            .command
        {
            Some(Command::Update(a)) => a.resources().map_err(|e| e.to_string()),
            other => panic!("parsed as {other:?}"),
        }
    }

    #[test]
    fn memory_flags_take_runcs_sizes() {
        for (text, bytes) in [
            ("1024", 1024),
            ("64m", 64 << 20),
            ("64M", 64 << 20),
            ("1G", 1 << 30),
            ("1.5G", 3 << 29),
            ("512k", 512 << 10),
            ("512KiB", 512 << 10),
            ("-1", -1),
        ] {
            let r = update(&["--memory", text, "--memory-swap", text]).unwrap();
            let m = r.memory().unwrap();
            assert_eq!(m.limit(), Some(bytes), "{text}");
            assert_eq!(m.swap(), Some(bytes), "{text}");
        }
        let r = update(&["--memory-reservation", "32m", "--kernel-memory-tcp", "1m"]).unwrap();
        let m = r.memory().unwrap();
        assert_eq!(m.reservation(), Some(32 << 20));
        assert_eq!(m.kernel_tcp(), Some(1 << 20));
        assert_eq!(m.limit(), None);
    }

    #[test]
    fn intel_rdt_schemas_are_refused_by_name() {
        for flag in ["--l3-cache-schema", "--mem-bw-schema"] {
            let e = update(&[flag, "L3:0=ff", "--pids-limit", "20"]).expect_err(flag);
            assert_eq!(
                e,
                format!("update {flag}: Intel RDT is not supported by this vsbx-runtime build")
            );
            // Empty: not given, as in runc.
            let r = update(&[flag, "", "--pids-limit", "20"]).unwrap();
            assert_eq!(r.pids().unwrap().limit(), 20);
        }
    }

    #[test]
    fn bad_sizes_fail_naming_the_flag() {
        for (flag, text) in [
            ("--memory", "lots"),
            ("--memory", "5x"),
            ("--memory", "-2"),
            ("--memory", "1..5G"),
            ("--memory-swap", ""),
            ("--memory-reservation", "64MM"),
            ("--kernel-memory", "-1M"),
            ("--kernel-memory-tcp", "16E"),
        ] {
            let e = update(&[flag, text]).expect_err(text);
            assert!(
                e.starts_with(&format!("{flag} {text:?}: not a size")),
                "{e}"
            );
            assert!(!e.contains('\n'), "one line: {e}");
        }
    }
}
