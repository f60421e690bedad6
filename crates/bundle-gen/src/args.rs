//! The command-line flags that describe a sandboxed run, shared by `vsbx-bundle-gen`
//! and `vsbx run` (flatten `RequestArgs` into a clap parser).

use std::path::PathBuf;

use clap::Args;

use crate::error::{BundleError, Result};
use crate::request::{
    parse_cpus, parse_duration, parse_env, parse_mount, parse_pids, parse_size, BundleRequest,
    LimitOverrides, NetworkMode, PolicySource, UserNamespace,
};
use crate::runner::RunnerCatalog;

#[derive(Args, Clone, Debug, Default)]
pub struct RequestArgs {
    /// Runner name (default: chosen from the first file's extension).
    #[arg(long)]
    pub runner: Option<String>,
    /// Policy profile: a built-in name or a profile file (default: the runner's).
    #[arg(long)]
    pub policy: Option<String>,
    /// Memory limit, e.g. 64M (swap is set to the same value: no swap).
    #[arg(long, value_name = "SIZE", allow_hyphen_values = true)]
    pub memory: Option<String>,
    /// CPU limit in CPUs, e.g. 0.5.
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub cpus: Option<String>,
    /// Maximum number of processes and threads.
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub pids: Option<String>,
    /// Size of the /tmp tmpfs, e.g. 16M.
    #[arg(long = "tmp-size", value_name = "SIZE", allow_hyphen_values = true)]
    pub tmp_size: Option<String>,
    /// Network: none, loopback or host (must match the profile).
    #[arg(long, value_name = "MODE")]
    pub net: Option<String>,
    /// Bind a host path: SRC:DST[:ro] (read-write unless :ro).
    #[arg(long = "mount", value_name = "SRC:DST[:ro]")]
    pub mounts: Vec<String>,
    /// Environment variable K=V.
    #[arg(long = "env", value_name = "K=V")]
    pub env: Vec<String>,
    /// Directory that receives what the program leaves in /output (io profile and up).
    /// `vsbx run` copies the /output tmpfs there after the run; `vsbx-bundle-gen` binds it
    /// at /output instead (a bind has no size limit).
    #[arg(long, value_name = "DIR")]
    pub output: Option<PathBuf>,
    /// Size of the /output tmpfs, e.g. 64M (default: the profile's, 64M).
    #[arg(long = "output-size", value_name = "SIZE", allow_hyphen_values = true)]
    pub output_size: Option<String>,
    /// Wall-clock limit, e.g. 5s.
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true)]
    pub timeout: Option<String>,
    /// Add a user namespace mapping container ids 0..65536 to host ids from HOST_ID.
    #[arg(long, value_name = "HOST_ID")]
    pub userns: Option<String>,
    /// Directory of runners (default: $VSBX_RUNNERS, else PREFIX/share/vsbx/runners beside the
    /// installed binary, else the source tree's examples/bundles/runners).
    #[arg(long, value_name = "DIR")]
    pub runners: Option<PathBuf>,
}

impl RequestArgs {
    /// The request for a bundle at `bundle_dir` running `files`.
    pub fn to_request(&self, bundle_dir: PathBuf, files: Vec<PathBuf>) -> Result<BundleRequest> {
        let mut request = BundleRequest::new(bundle_dir, files);
        request.runner = self.runner.clone();
        request.policy = self.policy.as_deref().map(PolicySource::parse);
        request.limits = LimitOverrides {
            memory_bytes: self
                .memory
                .as_deref()
                .map(|s| parse_size("--memory", s))
                .transpose()?,
            cpu_millis: self.cpus.as_deref().map(parse_cpus).transpose()?,
            pids: self.pids.as_deref().map(parse_pids).transpose()?,
            tmp_bytes: self
                .tmp_size
                .as_deref()
                .map(|s| parse_size("--tmp-size", s))
                .transpose()?,
            output_bytes: self
                .output_size
                .as_deref()
                .map(|s| parse_size("--output-size", s))
                .transpose()?,
        };
        request.network = self
            .net
            .as_deref()
            .map(str::parse::<NetworkMode>)
            .transpose()?;
        request.mounts = self
            .mounts
            .iter()
            .map(|s| parse_mount(s))
            .collect::<Result<_>>()?;
        request.env = self
            .env
            .iter()
            .map(|s| parse_env(s))
            .collect::<Result<_>>()?;
        request.output = self.output.clone();
        request.timeout = self
            .timeout
            .as_deref()
            .map(|s| parse_duration("--timeout", s))
            .transpose()?;
        request.user_namespace = self
            .userns
            .as_deref()
            .map(|s| {
                s.trim()
                    .parse::<u32>()
                    .map(UserNamespace::with_host_base)
                    .map_err(|_| BundleError::flag("--userns", s, "not a host uid"))
            })
            .transpose()?;
        Ok(request)
    }

    /// The runner catalog these flags name (or the default one).
    pub fn catalog(&self) -> Result<RunnerCatalog> {
        self.catalog_of(std::env::current_exe().ok().as_deref())
    }

    /// The runner catalog these flags name, else the one of the program installed as `exe`
    /// ([`RunnerCatalog::find_dir`]).
    pub fn catalog_of(&self, exe: Option<&std::path::Path>) -> Result<RunnerCatalog> {
        match &self.runners {
            Some(dir) => RunnerCatalog::load_dir(dir),
            None => RunnerCatalog::load_dir(RunnerCatalog::find_dir(exe)?),
        }
    }
}
