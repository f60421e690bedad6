//! `vsbx-bundle-gen`: writes an OCI bundle for the user's files (`-o BUNDLE FILE...`), lists the
//! policy profiles (`profiles`) and explains them (`explain PROFILE [--diff OTHER]`).
//! Every error is one line on stderr and exit status 2.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use vsbx_bundle_gen::{generate, PolicySource, RequestArgs};
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
    #[command(flatten)]
    request: RequestArgs,
    /// The bundle directory to write (created; must be empty if it exists).
    #[arg(short = 'o', long = "bundle", value_name = "BUNDLE", required = true)]
    bundle: Option<PathBuf>,
    /// The user's files, copied read-only to /work.
    #[arg(value_name = "FILE", required = true)]
    files: Vec<PathBuf>,
}

fn run_generate(args: GenerateArgs) -> Result<()> {
    let bundle_dir = args.bundle.context("-o BUNDLE is required")?;
    let request = args.request.to_request(bundle_dir, args.files)?;
    let catalog = args.request.catalog()?;
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
