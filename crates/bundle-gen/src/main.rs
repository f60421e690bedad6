//! `vsbx-bundle-gen`: writes an OCI bundle for the user's files (`-o BUNDLE FILE...`), lists the
//! policy profiles (`profiles`) and explains them (`explain PROFILE [--diff OTHER]`).
//! Every error is one line on stderr and exit status 2.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use vsbx_bundle_gen::{
    generate, parse_cpus, parse_duration, parse_env, parse_mount, parse_pids, parse_size,
    BundleRequest, LimitOverrides, NetworkMode, PolicySource, RunnerCatalog, UserNamespace,
};
use vsbx_policy::Profile;

const PROGRAM: &str = "vsbx-bundle-gen";
/// Exit status for every error: bad input, and the rare I/O failure while writing.
const EXIT_ERROR: u8 = 2;

#[derive(Parser)]
#[command(
    name = PROGRAM,
    version,
    about = "Generate an OCI bundle: language runner + policy profile + limits + files",
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    generate: GenerateArgs,
}

#[derive(Subcommand)]
enum Command {
    /// List the built-in policy profiles, one line each.
    Profiles,
    /// Explain what a profile allows and why (a built-in name or a profile file).
    Explain {
        profile: String,
        /// Show what changes from PROFILE to OTHER instead.
        #[arg(long, value_name = "OTHER")]
        diff: Option<String>,
    },
}

#[derive(Args)]
struct GenerateArgs {
    /// Runner name (default: chosen from the first file's extension).
    #[arg(long)]
    runner: Option<String>,
    /// Policy profile: a built-in name or a profile file (default: the runner's).
    #[arg(long)]
    policy: Option<String>,
    /// Memory limit, e.g. 64M (swap is set to the same value: no swap).
    #[arg(long, value_name = "SIZE", allow_hyphen_values = true)]
    memory: Option<String>,
    /// CPU limit in CPUs, e.g. 0.5.
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    cpus: Option<String>,
    /// Maximum number of processes and threads.
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pids: Option<String>,
    /// Size of the /tmp tmpfs, e.g. 16M.
    #[arg(long = "tmp-size", value_name = "SIZE", allow_hyphen_values = true)]
    tmp_size: Option<String>,
    /// Network: none, loopback or host (must match the profile).
    #[arg(long, value_name = "MODE")]
    net: Option<String>,
    /// Bind a host path: SRC:DST[:ro] (read-write unless :ro).
    #[arg(long = "mount", value_name = "SRC:DST[:ro]")]
    mounts: Vec<String>,
    /// Environment variable K=V.
    #[arg(long = "env", value_name = "K=V")]
    env: Vec<String>,
    /// Host directory bound read-write at /output (io profile and up).
    #[arg(long, value_name = "DIR")]
    output: Option<PathBuf>,
    /// Wall-clock limit recorded in the bundle for the orchestrator, e.g. 5s.
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true)]
    timeout: Option<String>,
    /// Add a user namespace mapping container ids 0..65536 to host ids from HOST_ID.
    #[arg(long, value_name = "HOST_ID")]
    userns: Option<String>,
    /// Directory of runners (default: $VSBX_RUNNERS, else the workspace's examples/bundles/runners).
    #[arg(long, value_name = "DIR")]
    runners: Option<PathBuf>,
    /// The bundle directory to write (created; must be empty if it exists).
    #[arg(short = 'o', long = "bundle", value_name = "BUNDLE", required = true)]
    bundle: Option<PathBuf>,
    /// The user's files, copied read-only to /work.
    #[arg(value_name = "FILE", required = true)]
    files: Vec<PathBuf>,
}

fn parse_request(args: GenerateArgs) -> Result<BundleRequest> {
    let bundle_dir = args.bundle.context("-o BUNDLE is required")?;
    let mut request = BundleRequest::new(bundle_dir, args.files);
    request.runner = args.runner;
    request.policy = args.policy.as_deref().map(PolicySource::parse);
    request.limits = LimitOverrides {
        memory_bytes: args
            .memory
            .map(|s| parse_size("--memory", &s))
            .transpose()?,
        cpu_millis: args.cpus.map(|s| parse_cpus(&s)).transpose()?,
        pids: args.pids.map(|s| parse_pids(&s)).transpose()?,
        tmp_bytes: args
            .tmp_size
            .map(|s| parse_size("--tmp-size", &s))
            .transpose()?,
    };
    request.network = args.net.map(|s| s.parse::<NetworkMode>()).transpose()?;
    request.mounts = args
        .mounts
        .iter()
        .map(|s| parse_mount(s))
        .collect::<Result<_, _>>()?;
    request.env = args
        .env
        .iter()
        .map(|s| parse_env(s))
        .collect::<Result<_, _>>()?;
    request.output = args.output;
    request.timeout = args
        .timeout
        .map(|s| parse_duration("--timeout", &s))
        .transpose()?;
    request.user_namespace = args
        .userns
        .map(|s| {
            s.trim()
                .parse::<u32>()
                .map(UserNamespace::with_host_base)
                .with_context(|| format!("--userns {s}: not a host uid"))
        })
        .transpose()?;
    Ok(request)
}

fn run_generate(args: GenerateArgs) -> Result<()> {
    let runners_dir = args
        .runners
        .clone()
        .unwrap_or_else(RunnerCatalog::default_dir);
    let request = parse_request(args)?;
    let catalog = RunnerCatalog::load_dir(&runners_dir)?;
    let bundle = generate(&request, &catalog)?;
    match &bundle.build {
        Some(build) => println!(
            "{} (runner {}, profile {}; build first: {})",
            bundle.dir.display(),
            bundle.runner,
            bundle.profile.name,
            build.dir.display()
        ),
        None => println!(
            "{} (runner {}, profile {})",
            bundle.dir.display(),
            bundle.runner,
            bundle.profile.name
        ),
    }
    Ok(())
}

fn run_profiles() -> Result<()> {
    for name in Profile::names() {
        let profile = Profile::builtin(name)?;
        println!("{:<14}{}", profile.name(), profile.description());
    }
    Ok(())
}

fn run_explain(profile: &str, other: Option<&str>) -> Result<()> {
    let profile = PolicySource::parse(profile).load()?;
    match other {
        Some(other) => {
            let other = PolicySource::parse(other).load()?;
            print!("{}", vsbx_policy::diff(&profile, &other));
        }
        None => print!("{}", vsbx_policy::explain(&profile)),
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            // --help and --version: clap prints them and exits 0.
            e.exit();
        }
        Err(e) => {
            let text = e.render().to_string();
            let line = text
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("invalid arguments")
                .trim_start_matches("error: ");
            eprintln!("{PROGRAM}: error: {line} (see --help)");
            return ExitCode::from(EXIT_ERROR);
        }
    };
    let result = match cli.command {
        Some(Command::Profiles) => run_profiles(),
        Some(Command::Explain { profile, diff }) => run_explain(&profile, diff.as_deref()),
        None => run_generate(cli.generate),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{PROGRAM}: error: {}", e.to_string().replace('\n', " "));
            ExitCode::from(EXIT_ERROR)
        }
    }
}
