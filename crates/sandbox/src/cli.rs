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
        /// Write the report as JSON here; `-` prints it on stdout after the program's output.
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
        #[arg(long = "output-cap", default_value = "1M", allow_hyphen_values = true)]
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
    /// Manage the runner catalog: add runners from OCI images, list, remove.
    Runner {
        #[command(subcommand)]
        action: RunnerAction,
        /// Runner directory (default: $VSBX_RUNNERS, else PREFIX/share/vsbx/runners beside the
        /// installed vsbx, else the source tree's examples/bundles/runners).
        #[arg(long, global = true)]
        runners: Option<PathBuf>,
    },
    /// Draw a --monitor file as an SVG chart.
    Plot {
        input: PathBuf,
        #[arg(short, long)]
        output: PathBuf,
    },
}

#[derive(Subcommand)]
pub enum RunnerAction {
    /// Add runner NAME from an image: an OCI layout directory, an oci-archive or a
    /// docker-archive tar (`podman save`, `docker save`). Unpacked once into the catalog's
    /// .images cache, keyed by the image's config digest.
    Add {
        name: String,
        /// The image: an OCI layout directory, an oci-archive or a docker-archive tar.
        #[arg(long)]
        image: PathBuf,
        /// Which image of a source that holds several (its tag, e.g. `python:3.12` or `3.12`).
        #[arg(long)]
        tag: Option<String>,
        /// A file extension it runs (repeatable), e.g. `--ext py`.
        #[arg(long = "ext", required = true)]
        extensions: Vec<String>,
        /// Command template, split at spaces, e.g. `python3 {file}` (default: the image's
        /// Entrypoint and Cmd followed by {file}).
        #[arg(long)]
        command: Option<String>,
        /// Profile of its runs when the caller names none.
        #[arg(long, default_value = "compute")]
        profile: String,
        /// Extra environment K=V for its runs (repeatable), on top of the image's Env.
        #[arg(long)]
        env: Vec<String>,
    },
    /// List the runners: name, source kind (builtin, host-binds, image), digest, size.
    List,
    /// Remove image runner NAME (and its cached tree when no other runner uses it).
    Rm { name: String },
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

#[cfg(test)]
mod tests {
    use super::*;

    /// `vsbx run FLAGS prog.py`: the request's limits and run's own settings, or the error.
    fn run_flags(flags: &[&str]) -> Result<(vsbx_bundle_gen::LimitOverrides, u64), String> {
        let mut argv = vec!["vsbx", "run"];
        argv.extend_from_slice(flags);
        argv.push("prog.py");
        let cli = Cli::try_parse_from(argv).map_err(|e| e.to_string())?;
        let Command::Run {
            request,
            output_cap,
            monitor_interval,
            files,
            ..
        } = cli.command
        else {
            panic!("not run");
        };
        let limits = request
            .to_request(PathBuf::from("/nonexistent"), files)
            .map_err(|e| e.to_string())?
            .limits;
        let (cap, _) = run_settings(&output_cap, &monitor_interval)?;
        Ok((limits, cap))
    }

    #[test]
    fn size_flags_share_one_syntax() {
        let (limits, cap) = run_flags(&[
            "--memory",
            "1.5G",
            "--tmp-size",
            "0.5M",
            "--output-size",
            "64m",
            "--output-cap",
            "1.5K",
        ])
        .unwrap();
        assert_eq!(limits.memory_bytes, Some(3 << 29));
        assert_eq!(limits.tmp_bytes, Some(512 << 10));
        assert_eq!(limits.output_bytes, Some(64 << 20));
        assert_eq!(cap, 1536);
        let (limits, cap) = run_flags(&["--memory", "512MiB", "--output-size", "4096"]).unwrap();
        assert_eq!(limits.memory_bytes, Some(512 << 20));
        assert_eq!(limits.output_bytes, Some(4096));
        assert_eq!(cap, 1 << 20, "--output-cap's default");
    }

    #[test]
    fn bad_sizes_fail_naming_the_flag() {
        for (flag, text) in [
            ("--memory", "lots"),
            ("--memory", "1..5G"),
            ("--memory", "-1"),
            ("--memory", "0"),
            ("--tmp-size", "5x"),
            ("--output-size", "64MM"),
            ("--output-cap", "-1M"),
            ("--output-cap", ""),
        ] {
            let e = run_flags(&[flag, text]).expect_err(text);
            assert!(e.starts_with(&format!("{flag} {text}:")), "{e}");
            assert!(!e.contains('\n'), "one line: {e}");
        }
    }
}
