//! Docker (docker.io 20.10) with `--runtime vsbx` (dockerd `--add-runtime vsbx=PATH`) against
//! its built-in runc. Each test starts its own containerd + dockerd and stops them at the end,
//! also when it fails. The scenarios are the ones podman runs too (src/scenarios.rs).

use vsbx_engines::docker::Docker;
use vsbx_engines::scenarios;

#[test]
fn run_rm_output_and_exit_codes() {
    scenarios::run_rm_output_and_exit_codes(&Docker::start());
}

#[test]
fn detached_exec_logs_stop_rm() {
    scenarios::detached_exec_logs_stop_rm(&Docker::start());
}

#[test]
fn interactive_tty() {
    scenarios::interactive_tty(&Docker::start());
}

#[test]
fn memory_limit() {
    scenarios::memory_limit(&Docker::start());
}

#[test]
fn pids_limit() {
    scenarios::pids_limit(&Docker::start());
}

#[test]
fn cpus() {
    scenarios::cpus(&Docker::start());
}

#[test]
fn network_none() {
    scenarios::network_none(&Docker::start());
}

#[test]
fn ps_and_top() {
    scenarios::ps_and_top(&Docker::start());
}

#[test]
fn pause_unpause() {
    scenarios::pause_unpause(&Docker::start());
}

#[test]
fn kill_signals_and_exit_codes() {
    scenarios::kill_signals_and_exit_codes(&Docker::start());
}

#[test]
fn device() {
    scenarios::device(&Docker::start());
}
