//! The docker-compatible command line podman and Docker share. The scenarios both engines run
//! ([`crate::scenarios`]) are written once against [`DockerCli`]; the engines differ only in the
//! few required methods. The provided methods are the steps those scenarios repeat (start a
//! detached container, inspect it, find it in `ps`, kill it and wait, remove it).

use crate::command::{run, want, Out};
use crate::runtime::Runtime;
use crate::IMAGE;
use std::process::Command;

pub trait DockerCli {
    /// The engine's name, the first word of every scenario name: "podman" or "docker".
    fn engine(&self) -> &'static str;

    /// `ENGINE run` with the runtime `rt` and `--network none`: options, image and command
    /// follow.
    fn run(&self, rt: &Runtime) -> Command;

    /// The engine command for containers created by [`DockerCli::run`] with `rt` (exec, logs,
    /// inspect, kill, rm, ...): the subcommand and its arguments follow.
    fn with(&self, rt: &Runtime) -> Command;

    /// The arguments after `top NAME` that list each process's pid and command line.
    fn top_pid_args(&self) -> &'static [&'static str];

    /// The `rm` options that remove a running container at once (SIGKILL, no grace period).
    fn rm_now_opts(&self) -> &'static [&'static str];

    /// `ENGINE ARGS...` for `rt`'s containers, which must exit `code`.
    fn cli(&self, rt: &Runtime, args: &[&str], code: i32) -> Result<Out, String> {
        want(run(self.with(rt).args(args)), code)
    }

    /// `ENGINE run --rm OPTIONS IMAGE COMMAND...`, which must exit `code`.
    fn run_rm(&self, rt: &Runtime, opts: &[&str], cmd: &[&str], code: i32) -> Result<Out, String> {
        want(
            run(self.run(rt).arg("--rm").args(opts).arg(IMAGE).args(cmd)),
            code,
        )
    }

    /// `ENGINE run -d --name NAME IMAGE COMMAND...`: a running container named `ctr`.
    fn start(&self, rt: &Runtime, ctr: &str, cmd: &[&str]) -> Result<(), String> {
        want(
            run(self.run(rt).args(["-d", "--name", ctr, IMAGE]).args(cmd)),
            0,
        )
        .map(drop)
    }

    /// `ENGINE inspect --format FORMAT NAME`, trimmed.
    fn inspect(&self, rt: &Runtime, ctr: &str, format: &str) -> Result<String, String> {
        Ok(self
            .cli(rt, &["inspect", "--format", format, ctr], 0)?
            .text())
    }

    /// The container's state as the engine reports it: `running`, `paused`, `exited`, ...
    fn status(&self, rt: &Runtime, ctr: &str) -> Result<String, String> {
        self.inspect(rt, ctr, "{{.State.Status}}")
    }

    /// `ENGINE ps [-a] --filter name=^NAME$ --format FORMAT`: the line of that one container
    /// (empty when there is none), trimmed.
    fn ps_one(&self, rt: &Runtime, ctr: &str, all: bool, format: &str) -> Result<String, String> {
        let filter = format!("name=^{ctr}$");
        let all: &[&str] = if all { &["-a"] } else { &[] };
        let r = want(
            run(self
                .with(rt)
                .arg("ps")
                .args(all)
                .args(["--filter", &filter, "--format", format])),
            0,
        )?;
        Ok(r.text())
    }

    /// `ENGINE kill [--signal SIG] NAME`, then `ENGINE wait NAME`: the exit code it prints.
    fn kill_and_wait(
        &self,
        rt: &Runtime,
        ctr: &str,
        signal: Option<&str>,
    ) -> Result<String, String> {
        match signal {
            Some(sig) => self.cli(rt, &["kill", "--signal", sig, ctr], 0)?,
            None => self.cli(rt, &["kill", ctr], 0)?,
        };
        Ok(self.cli(rt, &["wait", ctr], 0)?.text())
    }

    /// `ENGINE rm NAME` of a stopped container.
    fn rm(&self, rt: &Runtime, ctr: &str) -> Result<(), String> {
        self.cli(rt, &["rm", ctr], 0).map(drop)
    }

    /// Removes a running container at once ([`DockerCli::rm_now_opts`]).
    fn rm_now(&self, rt: &Runtime, ctr: &str) -> Result<(), String> {
        want(
            run(self.with(rt).arg("rm").args(self.rm_now_opts()).arg(ctr)),
            0,
        )
        .map(drop)
    }
}
