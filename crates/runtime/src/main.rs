//! vsbx-runtime: command line compatible with runc.

use std::process::ExitCode;

use clap::Parser;

use vsbx_runtime::container;
use vsbx_runtime::exec;
use vsbx_runtime::log::{Format, Logger};
use vsbx_runtime::state::Root;
use vsbx_runtime::{control, features, Error, Result};

mod cli;

/// dlmalloc instead of musl's malloc (mallocng), which maps and unmaps a page or two for
/// nearly every small allocation it frees: ~160 mmap/munmap pairs in one `vsbx run`, about
/// a quarter of its system time. dlmalloc keeps freed memory for reuse (up to a 2 MiB trim
/// threshold). Measured in docs/BENCHMARKS.md ("The allocator").
#[global_allocator]
static ALLOC: dlmalloc::GlobalDlmalloc = dlmalloc::GlobalDlmalloc;

use cli::output::{list, print_json_pretty, write_spec};
use cli::{Cli, Command, ListFormat, LogFormat, VERSION};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let logger = vsbx_runtime::log::install(Logger {
        file: cli.log.clone(),
        format: match cli.log_format {
            LogFormat::Text => Format::Text,
            LogFormat::Json => Format::Json,
        },
        debug: cli.debug,
    });
    // runc's exec exits 255 on its own errors, so that they cannot be mistaken for the
    // process exiting 1; engines rely on that. Every other command error exits 1.
    let error_code = if matches!(cli.command, Some(Command::Exec(_))) {
        255
    } else {
        1
    };
    match dispatch(cli, logger) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            logger.error(&e.to_string());
            ExitCode::from(error_code)
        }
    }
}

fn dispatch(cli: Cli, logger: &Logger) -> Result<u8> {
    if cli.version {
        println!("vsbx-runtime version {VERSION}");
        return Ok(0);
    }
    let Some(command) = cli.command else {
        return Err(Error::invalid("no command given (see --help)"));
    };
    let systemd_cgroup = cli.systemd_cgroup;
    // Checked for every command, so that a typo never waits for the next create to show.
    let rootless_cgroups = cli::parse_rootless(cli.rootless.as_deref()).map_err(Error::invalid)?;
    // --criu names runc's checkpoint/restore helper; vsbx has neither command.
    let _ = &cli.criu;
    // Before the runtime opens anything: the preserved fds must all have been passed.
    let preserved = match &command {
        Command::Create(a) | Command::Run { create: a, .. } => a.preserve_fds,
        Command::Exec(a) => a.preserve_fds,
        _ => 0,
    };
    vsbx_runtime::check_preserved_fds(preserved)?;
    // Commands that put a process into a container run from a copy of the binary that no
    // container can write (CVE-2019-5736 class); this re-executes the runtime once if needed.
    if matches!(
        command,
        Command::Create(_) | Command::Run { .. } | Command::Exec(_)
    ) {
        vsbx_runtime::sealed_exe::ensure()?;
    }
    let root = Root::new(match &cli.root {
        Some(dir) => dir.clone(),
        None => vsbx_runtime::rootless::default_state_root()?,
    });
    if !matches!(command, Command::Spec { .. } | Command::Features) {
        // runc makes --root (and its parents) for every container command.
        root.ensure()?;
    }
    logger.debug(&format!("command: {command:?}"));
    match command {
        Command::Create(a) => {
            container::create(&root, &a.options(systemd_cgroup, rootless_cgroups))?;
        }
        Command::Start { id } => container::start(&root, &id)?,
        Command::State { id } => {
            let (rec, status) = container::state(&root, &id)?;
            print_json_pretty(&rec.public(status))?;
        }
        Command::Kill { id, signal, all } => {
            let sig = container::parse_signal(&signal)?;
            container::kill(&root, &id, sig, all)?;
        }
        Command::Delete { id, force } => container::delete(&root, &id, force)?,
        Command::Run {
            create,
            detach,
            keep: _,
            no_subreaper: _,
        } => {
            let o = create.options(systemd_cgroup, rootless_cgroups);
            if detach {
                vsbx_runtime::run::run_detached(&root, &o)?;
            } else {
                let code = vsbx_runtime::run::run_attached(&root, &o)?;
                return Ok(code.clamp(0, 255) as u8);
            }
        }
        Command::List { format, quiet } => list(&root, format, quiet)?,
        Command::Spec { bundle, rootless } => write_spec(&bundle, rootless)?,
        Command::Features => print_json_pretty(&features::features())?,
        Command::Exec(a) => {
            let o = a.into_options();
            let code = exec::exec(&root, &o)?;
            return Ok(code.clamp(0, 255) as u8);
        }
        Command::Ps { format, args } => {
            let (id, ps_args) = cli::ps_split(args).map_err(Error::invalid)?;
            let pids = control::pids(&root, &id)?;
            match format {
                ListFormat::Json => println!(
                    "{}",
                    serde_json::to_string(&pids).unwrap_or_else(|_| "[]".into())
                ),
                ListFormat::Table => print!("{}", control::ps_table(&pids, &ps_args)?),
            }
        }
        Command::Pause { id } => control::pause(&root, &id)?,
        Command::Resume { id } => control::resume(&root, &id)?,
        Command::Events {
            id,
            stats,
            interval,
        } => {
            let every = humantime::parse_duration(&interval)
                .map_err(|e| Error::invalid(format!("--interval {interval:?}: {e}")))?;
            if every.is_zero() {
                return Err(Error::invalid("--interval must be above zero"));
            }
            vsbx_runtime::events::events(&root, &id, every, stats)?;
        }
        Command::Update(a) => {
            for w in control::update(&root, &a.id, &a.resources()?)? {
                logger.warn(&w);
            }
        }
    }
    Ok(0)
}
