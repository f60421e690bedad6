//! podman 4.3 with `--runtime PATH` (and by name through containers.conf), every scenario run
//! with runc and with vsbx-runtime; vsbx must see what runc sees. All scenarios but the last are
//! the ones Docker runs too (src/scenarios.rs).

use std::fs;
use vsbx_engines::podman::Podman;
use vsbx_engines::{differential, run, scenarios, want, DockerCli, Obs, IMAGE};

#[test]
fn run_rm_output_and_exit_codes() {
    scenarios::run_rm_output_and_exit_codes(&Podman::new());
}

#[test]
fn detached_exec_logs_stop_rm() {
    scenarios::detached_exec_logs_stop_rm(&Podman::new());
}

#[test]
fn interactive_tty() {
    scenarios::interactive_tty(&Podman::new());
}

#[test]
fn memory_limit() {
    scenarios::memory_limit(&Podman::new());
}

#[test]
fn pids_limit() {
    scenarios::pids_limit(&Podman::new());
}

#[test]
fn cpus() {
    scenarios::cpus(&Podman::new());
}

#[test]
fn network_none() {
    scenarios::network_none(&Podman::new());
}

#[test]
fn ps_and_top() {
    scenarios::ps_and_top(&Podman::new());
}

#[test]
fn pause_unpause() {
    scenarios::pause_unpause(&Podman::new());
}

#[test]
fn kill_signals_and_exit_codes() {
    scenarios::kill_signals_and_exit_codes(&Podman::new());
}

#[test]
fn device() {
    scenarios::device(&Podman::new());
}

#[test]
fn runtime_by_name_from_containers_conf() {
    let p = Podman::new();
    let conf = fs::read_to_string(p.conf()).expect("read containers.conf");
    assert!(
        conf.contains("[engine.runtimes]") && conf.contains("vsbx = ["),
        "podman-conf.sh wrote no vsbx entry:\n{conf}"
    );
    differential("podman --runtime NAME", &[("stdout", "by-name")], |rt| {
        let c = rt.ctr_name("byname");
        let mut o = Obs::new();
        let mut cmd = p.cmd();
        cmd.args([
            "--runtime",
            rt.name,
            "run",
            "--network",
            "none",
            "--name",
            &c,
            IMAGE,
            "echo",
            "by-name",
        ]);
        let r = want(run(&mut cmd), 0)?;
        o.put("stdout", r.text());
        let runtime = p.inspect(rt, &c, "{{.OCIRuntime}}")?;
        if runtime != rt.name {
            return Err(format!(
                "podman inspect says OCIRuntime={runtime}, expected {}",
                rt.name
            ));
        }
        p.rm(rt, &c)?;
        Ok(o)
    });
}
