//! `vsbx`: run a program you do not trust under a policy profile with limits, and get
//! back its output and an honest report of what it did.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use std::os::fd::AsRawFd;

use clap::Parser;
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use vsbx_sandbox::{plot, Sandbox};

mod cli;

/// The same allocator as vsbx-runtime's, for the same reason (see its main.rs): musl's
/// malloc unmaps freed pages at once.
#[global_allocator]
static ALLOC: dlmalloc::GlobalDlmalloc = dlmalloc::GlobalDlmalloc;

use cli::{Cli, Command, RunnerAction};

/// Exit status for bad input and sandbox failures (the program's own code otherwise).
const EXIT_ERROR: u8 = 2;

fn fail(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("vsbx: error: {}", msg.to_string().replace('\n', " "));
    ExitCode::from(EXIT_ERROR)
}

fn main() -> ExitCode {
    // `vsbx run` clones the sandbox's processes from this one: run from a copy of the binary
    // that no sandbox can write (CVE-2019-5736 class). Re-executes once if needed.
    if let Err(e) = vsbx_sandbox::protect_binary() {
        return fail(e);
    }
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) if !e.use_stderr() => e.exit(),
        Err(e) => {
            let text = e.render().to_string();
            // clap puts what is missing on the line after "...not provided:"; keep both.
            let mut lines = text
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with("Usage:"));
            let first = lines
                .next()
                .unwrap_or("invalid arguments")
                .trim_start_matches("error: ")
                .to_owned();
            let line = match (first.ends_with(':'), lines.next()) {
                (true, Some(next)) => format!("{first} {next}"),
                _ => first,
            };
            return fail(format!("{line} (see --help)"));
        }
    };
    match cli.command {
        Command::Runner { action, runners } => match runner_command(action, runners) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => fail(e),
        },
        Command::Plot { input, output } => match plot::plot(&input, &output) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => fail(e),
        },
        Command::Run {
            request,
            stdin,
            report,
            monitor,
            monitor_interval,
            audit,
            output_cap,
            raw_output,
            quiet,
            files,
        } => {
            let (cap, every) = match cli::run_settings(&output_cap, &monitor_interval) {
                Ok(s) => s,
                Err(e) => return fail(e),
            };
            if let Some(r) = report.as_deref().filter(|r| !is_stdout(r)) {
                if let Err(e) = check_writable(r) {
                    return fail(format!("--report {}: {e}", r.display()));
                }
            }
            // SIGINT, SIGTERM and SIGHUP end the run cleanly (container killed and removed)
            // instead of killing vsbx and leaving the sandbox behind.
            let interrupts = match interrupts() {
                Ok(fd) => fd,
                Err(e) => return fail(e),
            };
            let mut sandbox = Sandbox {
                request,
                stdin,
                output_cap: cap,
                stream: true,
                sample_every: every,
                interrupt: Some(interrupts.as_raw_fd()),
                raw_output,
                ..Sandbox::default()
            };
            sandbox.audit.path =
                audit.or_else(|| std::env::var_os("VSBX_AUDIT_LOG").map(PathBuf::from));
            if monitor.is_none() {
                sandbox.sample_every = every.max(Duration::from_millis(100));
            }
            let result = match sandbox.run_files(files) {
                Ok(r) => r,
                Err(e) => return fail(e),
            };
            if let Some(m) = &monitor {
                if let Err(e) = plot::write_monitor(
                    m,
                    &result.report.id,
                    every.as_millis() as u64,
                    &result.samples,
                ) {
                    return fail(e);
                }
            }
            if let Some(r) = &report {
                let mut text = serde_json::to_vec_pretty(&result.report).unwrap_or_default();
                text.push(b'\n');
                // `-` appends to stdout as it is; opening /dev/stdout instead would truncate
                // a file that stdout is redirected to, losing the program's output.
                let written = if is_stdout(r) {
                    use std::io::Write;
                    let mut out = std::io::stdout().lock();
                    out.write_all(&text).and_then(|()| out.flush())
                } else {
                    std::fs::write(r, text)
                };
                if let Err(e) = written {
                    return fail(format!("--report {}: {e}", r.display()));
                }
            }
            if !quiet {
                eprintln!("{}", result.report.summary());
            }
            if result.report.status == vsbx_sandbox::Outcome::Interrupted {
                // Exit as if the signal had killed us, as shells expect.
                let sig = interrupts
                    .read_signal()
                    .ok()
                    .flatten()
                    .map(|s| s.ssi_signo as i32)
                    .unwrap_or(libc::SIGTERM);
                return ExitCode::from((128 + sig) as u8);
            }
            ExitCode::from(result.report.exit_code_for_shell().clamp(0, 255) as u8)
        }
    }
}

/// `vsbx runner add|list|rm`.
fn runner_command(action: RunnerAction, dir: Option<PathBuf>) -> Result<(), String> {
    use vsbx_bundle_gen::{Rootfs, RunnerCatalog};
    let dir = vsbx_sandbox::runners_dir(dir).map_err(|e| e.to_string())?;
    match action {
        RunnerAction::Add {
            name,
            image,
            tag,
            extensions,
            command,
            profile,
            env,
        } => {
            vsbx_policy::Profile::builtin(&profile).map_err(|e| format!("--profile: {e}"))?;
            for entry in &env {
                vsbx_bundle_gen::parse_env(entry).map_err(|e| e.to_string())?;
            }
            let request = vsbx_bundle_gen::ImageRunnerRequest {
                name,
                source: image,
                tag,
                extensions,
                command: command
                    .map(|c| c.split_whitespace().map(str::to_owned).collect())
                    .unwrap_or_default(),
                profile,
                env,
            };
            let (runner, image) =
                vsbx_bundle_gen::add_image_runner(&dir, &request).map_err(|e| e.to_string())?;
            println!(
                "added runner {} ({} {}, {}{}): {}",
                runner.name,
                image.format.as_str(),
                image.digest,
                if image.unpacked_now {
                    "unpacked into "
                } else {
                    "already unpacked in "
                },
                image.tree.display(),
                runner.run_args(&["{file}".into()]).join(" ")
            );
            Ok(())
        }
        RunnerAction::List => {
            let catalog = RunnerCatalog::load_dir(&dir).map_err(|e| e.to_string())?;
            // The NAME column as wide as the longest name (runner names have no limit).
            let width = catalog
                .runners()
                .map(|r| r.name.len())
                .max()
                .unwrap_or(0)
                .max(12);
            println!(
                "{:<width$} {:<11} {:<20} {:>10}  EXTENSIONS",
                "NAME", "SOURCE", "DIGEST", "SIZE"
            );
            for runner in catalog.runners() {
                let (digest, size) = match &runner.rootfs {
                    Rootfs::Image { tree, image } => (
                        image.digest.chars().take(19).collect::<String>(),
                        vsbx_bundle_gen::tree_size(tree).to_string(),
                    ),
                    _ => ("-".to_string(), "-".to_string()),
                };
                println!(
                    "{:<width$} {:<11} {:<20} {:>10}  {}",
                    runner.name,
                    vsbx_bundle_gen::source_kind(runner),
                    digest,
                    size,
                    runner.extensions.join(",")
                );
            }
            Ok(())
        }
        RunnerAction::Rm { name } => {
            let removed = vsbx_bundle_gen::remove_runner(&dir, &name).map_err(|e| e.to_string())?;
            match removed.tree {
                Some(tree) => println!("removed runner {name} and {}", tree.display()),
                None => {
                    println!("removed runner {name} (its image is still used by another runner)")
                }
            }
            Ok(())
        }
    }
}

/// Blocks SIGINT, SIGTERM and SIGHUP and returns a signalfd that reports them. The
/// container init resets its signal mask, so the program is unaffected.
fn interrupts() -> Result<SignalFd, String> {
    let mut set = SigSet::empty();
    for s in [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP] {
        set.add(s);
    }
    set.thread_block()
        .map_err(|e| format!("blocking signals: {e}"))?;
    SignalFd::with_flags(&set, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)
        .map_err(|e| format!("signalfd: {e}"))
}

/// `--report -`: the report goes to stdout.
fn is_stdout(path: &std::path::Path) -> bool {
    path.as_os_str() == "-"
}

/// A report path must be writable without creating anything now: an existing file we
/// may write, or a missing file in a directory we may write.
fn check_writable(path: &std::path::Path) -> std::io::Result<()> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    if path.is_dir() {
        return Err(std::io::Error::from_raw_os_error(libc::EISDIR));
    }
    let target = if path.exists() {
        path.to_path_buf()
    } else {
        match path.parent().filter(|p| !p.as_os_str().is_empty()) {
            Some(p) => p.to_path_buf(),
            None => PathBuf::from("."),
        }
    };
    let c = CString::new(target.as_os_str().as_bytes())
        .map_err(|_| std::io::Error::from_raw_os_error(libc::EINVAL))?;
    // SAFETY: access(2) reads a valid C string.
    if unsafe { libc::access(c.as_ptr(), libc::W_OK) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}
