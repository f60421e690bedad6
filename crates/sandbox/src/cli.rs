//! `vsbx`'s command line, apart from `main` so that the fuzz target (fuzz/) parses
//! arguments with the same definitions.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand};
use vsbx_bundle_gen::RequestArgs;

#[derive(Parser)]
#[command(
    name = "vsbx",
    version,
    about = "Run untrusted code in a sandbox and report what it did"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
#[allow(clippy::large_enum_variant)] // parsed once; boxing buys nothing
pub enum Command {
    /// Run FILE (its extension picks the runner) and report.
    Run {
        #[command(flatten)]
        request: RequestArgs,
        /// Feed this file on stdin (default: /dev/null).
        #[arg(long)]
        stdin: Option<PathBuf>,
        /// Write the report as JSON here.
        #[arg(long)]
        report: Option<PathBuf>,
        /// Sample memory and CPU into this JSON file (see `vsbx plot`).
        #[arg(long)]
        monitor: Option<PathBuf>,
        /// Sampling interval for --monitor, e.g. 50ms.
        #[arg(long = "monitor-interval", default_value = "100ms")]
        monitor_interval: String,
        /// Append audit events (JSON lines) here; default $VSBX_AUDIT_LOG if set.
        #[arg(long)]
        audit: Option<PathBuf>,
        /// Bytes kept of each of stdout and stderr, e.g. 1M.
        #[arg(long = "output-cap", default_value = "1M")]
        output_cap: String,
        /// Echo the program's output as it is even to a terminal (by default, escape
        /// sequences and other control characters are shown as \xNN there).
        #[arg(long = "raw-output")]
        raw_output: bool,
        /// Do not print the one-line summary on stderr.
        #[arg(short, long)]
        quiet: bool,
        /// The program and any files it needs.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
    /// Draw a --monitor file as an SVG chart.
    Plot {
        input: PathBuf,
        #[arg(short, long)]
        output: PathBuf,
    },
}

/// `run`'s own settings from their flags: the output cap in bytes and the sampling interval.
pub fn run_settings(output_cap: &str, monitor_interval: &str) -> Result<(u64, Duration), String> {
    let cap = vsbx_bundle_gen::parse_size("--output-cap", output_cap).map_err(|e| e.to_string())?;
    let every = match humantime::parse_duration(monitor_interval) {
        Ok(d) if !d.is_zero() => d,
        _ => {
            return Err(format!(
                "--monitor-interval {monitor_interval:?}: not a positive duration"
            ))
        }
    };
    Ok((cap, every))
}
