//! Docker (docker.io 20.10) with `--runtime vsbx` (dockerd `--add-runtime vsbx=PATH`) against
//! its built-in runc. Each test starts its own containerd + dockerd and stops them at the end,
//! also when it fails.

use vsbx_engines::docker::Docker;
use vsbx_engines::{differential, run, run_tty, want, want_all, Obs, Runtime, IMAGE};

fn name(what: &str, rt: &Runtime) -> String {
    format!("{what}-{}", rt.name)
}

fn inspect(d: &Docker, format: &str, ctr: &str) -> Result<String, String> {
    Ok(want(run(d.cmd().args(["inspect", "--format", format, ctr])), 0)?.text())
}

const LOOP: &str = "echo started; trap 'echo term; exit 0' TERM; while true; do sleep 0.1; done";

#[test]
fn run_rm_output_and_exit_codes() {
    let d = Docker::start();
    differential(
        "docker run --rm",
        &[
            ("stdout", "out"),
            ("stderr", "err"),
            ("env cwd uid hostname", "bar /tmp 0 box"),
            (
                "id as nobody",
                "uid=65534(nobody) gid=65534(nogroup) groups=65534(nogroup)",
            ),
        ],
        |rt| {
            let mut o = Obs::new();
            want(run(d.run(rt).args(["--rm", IMAGE, "true"])), 0)?;
            let r = want(
                run(d
                    .run(rt)
                    .args(["--rm", IMAGE, "sh", "-c", "echo out; echo err >&2; exit 3"])),
                3,
            )?;
            o.put("stdout", r.text()).put("stderr", r.stderr.trim());
            want(
                run(d.run(rt).args([
                    "--rm",
                    IMAGE,
                    "sh",
                    "-c",
                    "sleep 1000 & kill -9 $!; wait $!",
                ])),
                137,
            )?;
            let r = want(
                run(d.run(rt).args([
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
                run(d
                    .run(rt)
                    .args(["--rm", "--user", "65534:65534", IMAGE, "id"])),
                0,
            )?;
            o.put("id as nobody", r.text());
            // dockerd maps the runtime's error for a missing executable to 127 and for a file
            // that is not executable to 126, by reading the runtime's error message.
            want_all(vec![
                (run(d.run(rt).args(["--rm", IMAGE, "/no/such/binary"])), 127),
                (run(d.run(rt).args(["--rm", IMAGE, "/etc/passwd"])), 126),
            ])?;
            Ok(o)
        },
    );
}

#[test]
fn detached_exec_logs_stop_rm() {
    let d = Docker::start();
    differential(
        "docker run -d, exec, logs, stop, rm",
        &[
            ("exec stdout", "exec-ok"),
            ("exec env cwd user", "bar /tmp 65534"),
            ("pid 1", "sh"),
            ("logs before stop", "started"),
            ("exit code after stop", "0"),
            ("status after stop", "exited"),
            ("logs after stop", "started\nterm"),
            ("ps -a after rm", ""),
        ],
        |rt| {
            let c = name("detached", rt);
            let mut o = Obs::new();
            want(
                run(d
                    .run(rt)
                    .args(["-d", "--name", &c, IMAGE, "sh", "-c", LOOP])),
                0,
            )?;
            let r = want(
                run(d
                    .cmd()
                    .args(["exec", &c, "sh", "-c", "echo exec-ok; exit 5"])),
                5,
            )?;
            o.put("exec stdout", r.text());
            let r = want(
                run(d.cmd().args([
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
            let r = want(run(d.cmd().args(["exec", &c, "cat", "/proc/1/comm"])), 0)?;
            o.put("pid 1", r.text());
            // logs are written asynchronously; "started" is printed first thing, give it a moment.
            std::thread::sleep(std::time::Duration::from_millis(200));
            let r = want(run(d.cmd().args(["logs", &c])), 0)?;
            o.put("logs before stop", r.text());
            want(run(d.cmd().args(["stop", "--time", "10", &c])), 0)?;
            o.put(
                "exit code after stop",
                inspect(&d, "{{.State.ExitCode}}", &c)?,
            );
            o.put("status after stop", inspect(&d, "{{.State.Status}}", &c)?);
            let r = want(run(d.cmd().args(["logs", &c])), 0)?;
            o.put("logs after stop", r.text());
            want(run(d.cmd().args(["rm", &c])), 0)?;
            let r = want(
                run(d.cmd().args([
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
    let d = Docker::start();
    differential(
        "docker run -it",
        &[("terminal", "/dev/pts/0\nstdin-tty\nstdout-tty")],
        |rt| {
            let mut o = Obs::new();
            let r = want(
                run_tty(d.run(rt).args([
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
fn memory_and_pids_limits() {
    let d = Docker::start();
    differential(
        "docker run --memory --pids-limit --cpus",
        &[
            ("memory.limit_in_bytes", "67108864"),
            ("pids.max", "42"),
            ("cpu.cfs_quota_us", "50000"),
            ("cpu.cfs_period_us", "100000"),
        ],
        |rt| {
            let mut o = Obs::new();
            let r = want(
                run(d.run(rt).args([
                    "--rm",
                    "--memory",
                    "64m",
                    IMAGE,
                    "cat",
                    "/sys/fs/cgroup/memory/memory.limit_in_bytes",
                ])),
                0,
            )?;
            o.put("memory.limit_in_bytes", r.text());
            let r = want(
                run(d.run(rt).args([
                    "--rm",
                    "--pids-limit",
                    "42",
                    IMAGE,
                    "cat",
                    "/sys/fs/cgroup/pids/pids.max",
                ])),
                0,
            )?;
            o.put("pids.max", r.text());
            let r = want(
                run(d.run(rt).args([
                    "--rm",
                    "--cpus",
                    "0.5",
                    IMAGE,
                    "sh",
                    "-c",
                    "cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.cfs_period_us",
                ])),
                0,
            )?;
            let v: Vec<&str> = r.stdout.lines().collect();
            o.put("cpu.cfs_quota_us", v.first().unwrap_or(&""))
                .put("cpu.cfs_period_us", v.get(1).unwrap_or(&""));
            // Over the memory limit: OOM-killed, 137.
            want(
                run(d.run(rt).args([
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
fn kill_and_exit_codes() {
    let d = Docker::start();
    differential(
        "docker kill, wait",
        &[
            ("exit after kill (SIGKILL)", "137"),
            ("exit after kill -s TERM (trapped)", "42"),
            ("OOMKilled after kill", "false"),
        ],
        |rt| {
            let mut o = Obs::new();
            let c = name("kill9", rt);
            want(
                run(d
                    .run(rt)
                    .args(["-d", "--name", &c, IMAGE, "sh", "-c", LOOP])),
                0,
            )?;
            want(run(d.cmd().args(["kill", &c])), 0)?;
            o.put(
                "exit after kill (SIGKILL)",
                want(run(d.cmd().args(["wait", &c])), 0)?.text(),
            );
            o.put(
                "OOMKilled after kill",
                inspect(&d, "{{.State.OOMKilled}}", &c)?,
            );
            want(run(d.cmd().args(["rm", &c])), 0)?;
            let c = name("killterm", rt);
            want(
                run(d.run(rt).args([
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
            want(run(d.cmd().args(["kill", "--signal", "TERM", &c])), 0)?;
            o.put(
                "exit after kill -s TERM (trapped)",
                want(run(d.cmd().args(["wait", &c])), 0)?.text(),
            );
            want(run(d.cmd().args(["rm", &c])), 0)?;
            Ok(o)
        },
    );
}

#[test]
fn pause_unpause() {
    let d = Docker::start();
    differential(
        "docker pause, unpause",
        &[
            ("status paused", "paused"),
            ("status unpaused", "running"),
            ("exec after unpause", "alive"),
        ],
        |rt| {
            let c = name("pause", rt);
            let mut o = Obs::new();
            want(
                run(d
                    .run(rt)
                    .args(["-d", "--name", &c, IMAGE, "sh", "-c", LOOP])),
                0,
            )?;
            want(run(d.cmd().args(["pause", &c])), 0)?;
            o.put("status paused", inspect(&d, "{{.State.Status}}", &c)?);
            want(run(d.cmd().args(["unpause", &c])), 0)?;
            o.put("status unpaused", inspect(&d, "{{.State.Status}}", &c)?);
            o.put(
                "exec after unpause",
                want(run(d.cmd().args(["exec", &c, "echo", "alive"])), 0)?.text(),
            );
            want(run(d.cmd().args(["rm", "-f", &c])), 0)?;
            Ok(o)
        },
    );
}
