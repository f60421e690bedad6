//! Command lines: `vsbx-runtime`'s clap definitions (the binary's own `cli` module)
//! and what the runtime makes of the parsed flags (create options, signals, the events
//! interval, update's resources, exec's process), and `vsbx`'s (its `run` request,
//! output cap and monitor interval). The input is argv: arguments split at NUL bytes;
//! an input starting with `v` is a `vsbx` command line, any other a runtime one.
#![no_main]

use std::sync::OnceLock;

use clap::Parser;
use libfuzzer_sys::fuzz_target;

#[allow(dead_code)]
#[path = "../../crates/runtime/src/cli/mod.rs"]
mod cli;

#[allow(dead_code)]
#[path = "../../crates/sandbox/src/cli.rs"]
mod sandbox_cli;

use cli::{Cli, Command};

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let args: Vec<String> = rest
        .split(|b| *b == 0)
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    if first == b'v' {
        vsbx(args);
    } else {
        runtime(args);
    }
});

fn runtime(args: Vec<String>) {
    let argv = std::iter::once("vsbx-runtime".to_string()).chain(args);
    let cli = match Cli::try_parse_from(argv) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.render().to_string();
            return;
        }
    };
    let Some(command) = cli.command else {
        return;
    };
    match command {
        Command::Create(a) | Command::Run { create: a, .. } => {
            let _ = a.options(cli.systemd_cgroup, None);
        }
        Command::Kill { signal, .. } => {
            let _ = vsbx_runtime::container::parse_signal(&signal);
        }
        Command::Events { interval, .. } => {
            let _ = humantime::parse_duration(&interval);
        }
        // --resources is a file (or stdin) to read: only the flags are fuzzed.
        Command::Update(a) if a.resources.is_none() => {
            let _ = a.resources();
        }
        // --process is a file to read: only the flags are fuzzed.
        Command::Exec(a) if a.process.is_none() => {
            let o = a.into_options();
            if let Some(config) = default_config() {
                let _ = vsbx_runtime::fuzz_api::exec_process(&o, config);
            }
        }
        _ => {}
    }
}

/// The config.json of `vsbx-runtime spec`, as exec would find it in the bundle.
fn default_config() -> Option<&'static oci_spec::runtime::Spec> {
    static SPEC: OnceLock<Option<oci_spec::runtime::Spec>> = OnceLock::new();
    SPEC.get_or_init(|| {
        serde_json::from_value(vsbx_runtime::specgen::default_spec(false, 0, 0)).ok()
    })
    .as_ref()
}

fn vsbx(args: Vec<String>) {
    let argv = std::iter::once("vsbx".to_string()).chain(args);
    let cli = match sandbox_cli::Cli::try_parse_from(argv) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.render().to_string();
            return;
        }
    };
    if let sandbox_cli::Command::Run {
        request,
        monitor_interval,
        output_cap,
        files,
        ..
    } = cli.command
    {
        let _ = sandbox_cli::run_settings(&output_cap, &monitor_interval);
        let _ = request.to_request("/nonexistent/bundle".into(), files);
    }
}
