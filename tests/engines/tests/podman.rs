//! podman 4.3 with `--runtime PATH` (and by name through containers.conf), every scenario run
//! with runc and with vsbx-runtime; vsbx must see what runc sees.

use std::fs;
use vsbx_engines::host::cgroup_v1_dir;
use vsbx_engines::podman::Podman;
use vsbx_engines::{differential, run, run_tty, want, want_all, Obs, Runtime, IMAGE};

/// A container name unique to the runtime, so leftovers of one run never clash with the next.
fn name(what: &str, rt: &Runtime) -> String {
    format!("{what}-{}", rt.name)
}

/// `podman inspect --format FORMAT NAME`, trimmed.
fn inspect(p: &Podman, rt: &Runtime, format: &str, ctr: &str) -> Result<String, String> {
    Ok(want(
        run(p.with(rt).args(["inspect", "--format", format, ctr])),
        0,
    )?
    .text())
}

/// The host path of `ctr`'s cgroup in the v1 hierarchy `controller`.
fn cgroup_dir(p: &Podman, rt: &Runtime, ctr: &str, controller: &str) -> Result<String, String> {
    cgroup_v1_dir(&inspect(p, rt, "{{.State.Pid}}", ctr)?, controller)
}

const LOOP: &str = "echo started; trap 'echo term; exit 0' TERM; while true; do sleep 0.1; done";

#[test]
fn run_rm_output_and_exit_codes() {
    let p = Podman::new();
    differential(
        "podman run --rm",
        &[("stdout", "out"), ("stderr", "err")],
        |rt| {
            let mut o = Obs::new();
            want(run(p.run(rt).args(["--rm", IMAGE, "true"])), 0)?;
            let r = want(
                run(p
                    .run(rt)
                    .args(["--rm", IMAGE, "sh", "-c", "echo out; echo err >&2; exit 3"])),
                3,
            )?;
            o.put("stdout", r.text()).put("stderr", r.stderr.trim());
            // The shell reports a child killed by SIGKILL as 128 + 9, and exits with that.
            want(
                run(p.run(rt).args([
                    "--rm",
                    IMAGE,
                    "sh",
                    "-c",
                    "sleep 1000 & kill -9 $!; wait $!",
                ])),
                137,
            )?;
            // The image's environment, cwd, user and hostname as the container sees them.
            let r = want(
                run(p.run(rt).args([
                    "--rm",
                    "--hostname",
                    "box",
                    "-w",
                    "/tmp",
                    "-e",
                    "FOO=bar",
                    IMAGE,
                    "sh",
                    "-c",
                    "echo $FOO $(pwd) $(id -u) $(hostname)",
                ])),
                0,
            )?;
            o.put("env cwd uid hostname", r.text());
            let r = want(
                run(p
                    .run(rt)
                    .args(["--rm", "--user", "65534:65534", IMAGE, "id"])),
                0,
            )?;
            o.put("id as nobody", r.text());
            // podman maps the runtime's error for a missing executable to 127, and for a file that
            // is not executable to 126: it reads the runtime's error message for that.
            want_all(vec![
                (run(p.run(rt).args(["--rm", IMAGE, "/no/such/binary"])), 127),
                (run(p.run(rt).args(["--rm", IMAGE, "/etc/passwd"])), 126),
            ])?;
            Ok(o)
        },
    );
}

#[test]
fn detached_exec_logs_stop_rm() {
    let p = Podman::new();
    differential(
        "podman run -d, exec, logs, stop, rm",
        &[
            ("exec stdout", "exec-ok"),
            ("exec env cwd user", "bar /tmp 65534"),
            ("logs before stop", "started"),
            ("logs after stop", "started\nterm"),
            ("exit code after stop", "0"),
            ("status after stop", "exited"),
            ("ps -a after rm", ""),
        ],
        |rt| {
            let c = name("detached", rt);
            let mut o = Obs::new();
            want(
                run(p
                    .run(rt)
                    .args(["-d", "--name", &c, IMAGE, "sh", "-c", LOOP])),
                0,
            )?;
            let r = want(
                run(p
                    .with(rt)
                    .args(["exec", &c, "sh", "-c", "echo exec-ok; exit 5"])),
                5,
            )?;
            o.put("exec stdout", r.text());
            let r = want(
                run(p.with(rt).args([
                    "exec",
                    "-e",
                    "FOO=bar",
                    "-w",
                    "/tmp",
                    "--user",
                    "65534",
                    &c,
                    "sh",
                    "-c",
                    "echo $FOO $(pwd) $(id -u)",
                ])),
                0,
            )?;
            o.put("exec env cwd user", r.text());
            // The container's pid 1 is the shell podman started.
            let r = want(run(p.with(rt).args(["exec", &c, "cat", "/proc/1/comm"])), 0)?;
            o.put("pid 1", r.text());
            let r = want(run(p.with(rt).args(["logs", &c])), 0)?;
            o.put("logs before stop", r.text());
            want(run(p.with(rt).args(["stop", "--time", "10", &c])), 0)?;
            o.put(
                "exit code after stop",
                inspect(&p, rt, "{{.State.ExitCode}}", &c)?,
            );
            o.put(
                "status after stop",
                inspect(&p, rt, "{{.State.Status}}", &c)?,
            );
            let r = want(run(p.with(rt).args(["logs", &c])), 0)?;
            o.put("logs after stop", r.text());
            want(run(p.with(rt).args(["rm", &c])), 0)?;
            let r = want(
                run(p.with(rt).args([
                    "ps",
                    "-a",
                    "--filter",
                    &format!("name=^{c}$"),
                    "--format",
                    "{{.Names}}",
                ])),
                0,
            )?;
            o.put("ps -a after rm", r.text());
            Ok(o)
        },
    );
}

#[test]
fn interactive_tty() {
    let p = Podman::new();
    differential(
        "podman run -it",
        &[("terminal", "/dev/pts/0\nstdin-tty\nstdout-tty")],
        |rt| {
            let mut o = Obs::new();
            let r = want(
                run_tty(p.run(rt).args([
                    "--rm",
                    "-it",
                    IMAGE,
                    "sh",
                    "-c",
                    "tty; [ -t 0 ] && echo stdin-tty; [ -t 1 ] && echo stdout-tty; exit 4",
                ])),
                4,
            )?;
            o.put("terminal", r.text());
            Ok(o)
        },
    );
}

#[test]
fn memory_limit() {
    let p = Podman::new();
    differential(
        "podman run --memory",
        &[("memory.limit_in_bytes", "67108864")],
        |rt| {
            let r = want(
                run(p.run(rt).args([
                    "--rm",
                    "--memory",
                    "64m",
                    IMAGE,
                    "cat",
                    "/sys/fs/cgroup/memory/memory.limit_in_bytes",
                ])),
                0,
            )?;
            let mut o = Obs::new();
            o.put("memory.limit_in_bytes", r.text());
            // Going over the limit gets the container OOM-killed: 137.
            want(
                run(p.run(rt).args([
                    "--rm",
                    "--memory",
                    "16m",
                    "--memory-swap",
                    "16m",
                    IMAGE,
                    "sh",
                    "-c",
                    "head -c 64m /dev/zero | tail > /dev/null",
                ])),
                137,
            )?;
            Ok(o)
        },
    );
}

#[test]
fn pids_limit() {
    let p = Podman::new();
    differential("podman run --pids-limit", &[("pids.max", "42")], |rt| {
        let r = want(
            run(p.run(rt).args([
                "--rm",
                "--pids-limit",
                "42",
                IMAGE,
                "cat",
                "/sys/fs/cgroup/pids/pids.max",
            ])),
            0,
        )?;
        let mut o = Obs::new();
        o.put("pids.max", r.text());
        Ok(o)
    });
}

#[test]
fn cpus() {
    let p = Podman::new();
    differential(
        "podman run --cpus --cpu-shares",
        &[
            ("cpu.cfs_quota_us", "50000"),
            ("cpu.cfs_period_us", "100000"),
            ("cpu.shares", "512"),
        ],
        |rt| {
            let r = want(
                run(p.run(rt).args([
                    "--rm",
                    "--cpus",
                    "0.5",
                    "--cpu-shares",
                    "512",
                    IMAGE,
                    "sh",
                    "-c",
                    "cd /sys/fs/cgroup/cpu && cat cpu.cfs_quota_us cpu.cfs_period_us cpu.shares",
                ])),
                0,
            )?;
            let v: Vec<String> = r.text().lines().map(str::to_string).collect();
            let mut o = Obs::new();
            o.put("cpu.cfs_quota_us", v.first().cloned().unwrap_or_default())
                .put("cpu.cfs_period_us", v.get(1).cloned().unwrap_or_default())
                .put("cpu.shares", v.get(2).cloned().unwrap_or_default());
            Ok(o)
        },
    );
}

#[test]
fn network_none() {
    let p = Podman::new();
    differential("podman run --network none", &[("interfaces", "lo")], |rt| {
        let r = want(
            run(p.run(rt).args(["--rm", IMAGE, "ls", "/sys/class/net"])),
            0,
        )?;
        let mut o = Obs::new();
        o.put("interfaces", r.text());
        Ok(o)
    });
}

#[test]
fn ps_and_top() {
    let p = Podman::new();
    differential(
        "podman ps, top",
        &[
            ("ps lists it", "true"),
            ("ps status", "Up"),
            ("top shows the shell", "true"),
            ("ps -a status after kill", "Exited (137)"),
        ],
        |rt| {
            let c = name("pstop", rt);
            let mut o = Obs::new();
            want(
                run(p
                    .run(rt)
                    .args(["-d", "--name", &c, IMAGE, "sh", "-c", LOOP])),
                0,
            )?;
            let r = want(run(p.with(rt).args(["ps", "--format", "{{.Names}}"])), 0)?;
            o.put("ps lists it", r.stdout.lines().any(|l| l.trim() == c));
            let r = want(
                run(p.with(rt).args([
                    "ps",
                    "--filter",
                    &format!("name=^{c}$"),
                    "--format",
                    "{{.Status}}",
                ])),
                0,
            )?;
            o.put(
                "ps status",
                r.text().split_whitespace().next().unwrap_or(""),
            );
            let r = want(run(p.with(rt).args(["top", &c, "pid", "args"])), 0)?;
            o.put(
                "top shows the shell",
                r.stdout.lines().any(|l| l.contains("sh -c")),
            );
            want(run(p.with(rt).args(["kill", &c])), 0)?;
            want(run(p.with(rt).args(["wait", &c])), 0)?;
            let r = want(
                run(p.with(rt).args([
                    "ps",
                    "-a",
                    "--filter",
                    &format!("name=^{c}$"),
                    "--format",
                    "{{.Status}}",
                ])),
                0,
            )?;
            let status = r.text();
            o.put(
                "ps -a status after kill",
                status
                    .split(')')
                    .next()
                    .map(|s| format!("{s})"))
                    .unwrap_or_default(),
            );
            want(run(p.with(rt).args(["rm", &c])), 0)?;
            Ok(o)
        },
    );
}

#[test]
fn pause_unpause() {
    let p = Podman::new();
    differential(
        "podman pause, unpause",
        &[
            ("status paused", "paused"),
            ("freezer paused", "FROZEN"),
            ("status unpaused", "running"),
            ("freezer unpaused", "THAWED"),
            ("exec after unpause", "alive"),
        ],
        |rt| {
            let c = name("pause", rt);
            let mut o = Obs::new();
            want(
                run(p
                    .run(rt)
                    .args(["-d", "--name", &c, IMAGE, "sh", "-c", LOOP])),
                0,
            )?;
            let freezer = format!("{}/freezer.state", cgroup_dir(&p, rt, &c, "freezer")?);
            let read = || {
                fs::read_to_string(&freezer)
                    .map(|s| s.trim().to_string())
                    .map_err(|e| format!("{freezer}: {e}"))
            };
            want(run(p.with(rt).args(["pause", &c])), 0)?;
            o.put("status paused", inspect(&p, rt, "{{.State.Status}}", &c)?);
            o.put("freezer paused", read()?);
            want(run(p.with(rt).args(["unpause", &c])), 0)?;
            o.put("status unpaused", inspect(&p, rt, "{{.State.Status}}", &c)?);
            o.put("freezer unpaused", read()?);
            let r = want(run(p.with(rt).args(["exec", &c, "echo", "alive"])), 0)?;
            o.put("exec after unpause", r.text());
            want(
                run(p.with(rt).args(["rm", "--force", "--time", "0", &c])),
                0,
            )?;
            Ok(o)
        },
    );
}

#[test]
fn kill_signals_and_exit_codes() {
    let p = Podman::new();
    differential(
        "podman kill",
        &[
            ("exit after kill (SIGKILL)", "137"),
            ("exit after kill -s TERM (trapped)", "42"),
            ("exit after kill -s HUP (untrapped)", "129"),
        ],
        |rt| {
            let mut o = Obs::new();
            let c = name("kill9", rt);
            want(
                run(p
                    .run(rt)
                    .args(["-d", "--name", &c, IMAGE, "sh", "-c", LOOP])),
                0,
            )?;
            want(run(p.with(rt).args(["kill", &c])), 0)?;
            o.put(
                "exit after kill (SIGKILL)",
                want(run(p.with(rt).args(["wait", &c])), 0)?.text(),
            );
            want(run(p.with(rt).args(["rm", &c])), 0)?;

            let c = name("killterm", rt);
            want(
                run(p.run(rt).args([
                    "-d",
                    "--name",
                    &c,
                    IMAGE,
                    "sh",
                    "-c",
                    "trap 'exit 42' TERM; while true; do sleep 0.1; done",
                ])),
                0,
            )?;
            want(run(p.with(rt).args(["kill", "--signal", "TERM", &c])), 0)?;
            o.put(
                "exit after kill -s TERM (trapped)",
                want(run(p.with(rt).args(["wait", &c])), 0)?.text(),
            );
            want(run(p.with(rt).args(["rm", &c])), 0)?;

            // pid 1 of a pid namespace gets no signal it has no handler for: `sleep` survives HUP.
            let c = name("killhup", rt);
            want(
                run(p.run(rt).args(["-d", "--name", &c, IMAGE, "sleep", "1000"])),
                0,
            )?;
            want(run(p.with(rt).args(["kill", "--signal", "HUP", &c])), 0)?;
            std::thread::sleep(std::time::Duration::from_millis(300));
            let state = inspect(&p, rt, "{{.State.Status}}", &c)?;
            o.put("pid 1 survives HUP", state == "running");
            want(
                run(p.with(rt).args(["rm", "--force", "--time", "0", &c])),
                0,
            )?;
            // A process that is not pid 1 dies of HUP: 128 + 1.
            let r = want(
                run(p.run(rt).args([
                    "--rm",
                    IMAGE,
                    "sh",
                    "-c",
                    "sleep 1000 & kill -HUP $!; wait $!",
                ])),
                129,
            )?;
            o.put("exit after kill -s HUP (untrapped)", r.code);
            Ok(o)
        },
    );
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
        let c = name("byname", rt);
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
        let runtime = inspect(&p, rt, "{{.OCIRuntime}}", &c)?;
        if runtime != rt.name {
            return Err(format!(
                "podman inspect says OCIRuntime={runtime}, expected {}",
                rt.name
            ));
        }
        want(run(p.with(rt).args(["rm", &c])), 0)?;
        Ok(o)
    });
}
