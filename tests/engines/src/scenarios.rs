//! The scenarios podman and Docker share, written once against [`DockerCli`]. Each one runs with
//! every runtime through [`differential`] and fails on any difference from runc or from the
//! expected values. tests/podman.rs and tests/docker.rs call them from their #[test] functions
//! (one engine per test); what only one engine does stays in that engine's test file.
//!
//! The shell scripts the containers run are constants here, shared with tests/containerd.rs.

use crate::command::{run, run_tty, want, want_all};
use crate::compare::{differential, Obs};
use crate::docker_cli::DockerCli;
use crate::host::cgroup_v1_file;
use crate::IMAGE;
use std::path::Path;
use std::thread::sleep;
use std::time::Duration;

/// Prints "started", then loops until SIGTERM, on which it prints "term" and exits 0.
pub const LOOP: &str =
    "echo started; trap 'echo term; exit 0' TERM; while true; do sleep 0.1; done";

/// Loops until SIGTERM, on which it exits 42.
pub const TRAP_TERM_EXIT_42: &str = "trap 'exit 42' TERM; while true; do sleep 0.1; done";

/// Writes "out" to stdout and "err" to stderr, exits 3.
pub const OUT_ERR_EXIT_3: &str = "echo out; echo err >&2; exit 3";

/// The shell reports a child killed by SIGKILL as 128 + 9, and exits with that: 137.
pub const CHILD_KILLED: &str = "sleep 1000 & kill -9 $!; wait $!";

/// Allocates 64 MiB (`tail` keeps the last lines, and there are no line ends): over a 16 MiB
/// limit the OOM killer ends the container, 137.
pub const OVER_16M: &str = "head -c 64m /dev/zero | tail > /dev/null";

/// Names the terminal and says which of stdin and stdout are terminals, exits 4.
pub const TTY_SCRIPT: &str = "tty; [ -t 0 ] && echo stdin-tty; [ -t 1 ] && echo stdout-tty; exit 4";

/// What [`TTY_SCRIPT`] prints in a container given a terminal.
pub const TTY_SEEN: &str = "/dev/pts/0\nstdin-tty\nstdout-tty";

/// The scenario's name as the engine's command line would start it: `podman run --rm`.
fn title(e: &impl DockerCli, what: &str) -> String {
    format!("{} {what}", e.engine())
}

/// run --rm: stdout, stderr, exit codes (0, 3, 137, 127, 126), env, cwd, user, hostname.
pub fn run_rm_output_and_exit_codes(e: &impl DockerCli) {
    differential(
        &title(e, "run --rm"),
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
            e.run_rm(rt, &[], &["true"], 0)?;
            let r = e.run_rm(rt, &[], &["sh", "-c", OUT_ERR_EXIT_3], 3)?;
            o.put("stdout", r.text()).put("stderr", r.stderr.trim());
            e.run_rm(rt, &[], &["sh", "-c", CHILD_KILLED], 137)?;
            // The environment, cwd, user and hostname as the container sees them.
            let r = e.run_rm(
                rt,
                &["--hostname", "box", "-w", "/tmp", "-e", "FOO=bar"],
                &["sh", "-c", "echo $FOO $(pwd) $(id -u) $(hostname)"],
                0,
            )?;
            o.put("env cwd uid hostname", r.text());
            let r = e.run_rm(rt, &["--user", "65534:65534"], &["id"], 0)?;
            o.put("id as nobody", r.text());
            // The engine maps the runtime's error for a missing executable to 127, and for a
            // file that is not executable to 126: it reads the runtime's error message for that.
            want_all(vec![
                (run(e.run(rt).args(["--rm", IMAGE, "/no/such/binary"])), 127),
                (run(e.run(rt).args(["--rm", IMAGE, "/etc/passwd"])), 126),
            ])?;
            Ok(o)
        },
    );
}

/// run -d, then exec (exit code, env, cwd, user), logs, stop (TERM), inspect, rm, ps -a.
pub fn detached_exec_logs_stop_rm(e: &impl DockerCli) {
    differential(
        &title(e, "run -d, exec, logs, stop, rm"),
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
            let c = rt.ctr_name("detached");
            let mut o = Obs::new();
            e.start(rt, &c, &["sh", "-c", LOOP])?;
            let r = e.cli(rt, &["exec", &c, "sh", "-c", "echo exec-ok; exit 5"], 5)?;
            o.put("exec stdout", r.text());
            let r = e.cli(
                rt,
                &[
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
                ],
                0,
            )?;
            o.put("exec env cwd user", r.text());
            // The container's pid 1 is the shell the engine started.
            let r = e.cli(rt, &["exec", &c, "cat", "/proc/1/comm"], 0)?;
            o.put("pid 1", r.text());
            // Logs are written asynchronously; "started" is printed first thing, give it a
            // moment.
            sleep(Duration::from_millis(200));
            o.put("logs before stop", e.cli(rt, &["logs", &c], 0)?.text());
            e.cli(rt, &["stop", "--time", "10", &c], 0)?;
            o.put(
                "exit code after stop",
                e.inspect(rt, &c, "{{.State.ExitCode}}")?,
            );
            o.put("status after stop", e.status(rt, &c)?);
            o.put("logs after stop", e.cli(rt, &["logs", &c], 0)?.text());
            e.rm(rt, &c)?;
            o.put("ps -a after rm", e.ps_one(rt, &c, true, "{{.Names}}")?);
            Ok(o)
        },
    );
}

/// run -it under a terminal: the container's stdin and stdout are that terminal.
pub fn interactive_tty(e: &impl DockerCli) {
    differential(&title(e, "run -it"), &[("terminal", TTY_SEEN)], |rt| {
        let r = want(
            run_tty(
                e.run(rt)
                    .args(["--rm", "-it", IMAGE, "sh", "-c", TTY_SCRIPT]),
            ),
            4,
        )?;
        let mut o = Obs::new();
        o.put("terminal", r.text());
        Ok(o)
    });
}

/// --memory: the limit the container sees, and going over it gets the container OOM-killed.
pub fn memory_limit(e: &impl DockerCli) {
    differential(
        &title(e, "run --memory"),
        &[("memory.limit_in_bytes", "67108864")],
        |rt| {
            let r = e.run_rm(
                rt,
                &["--memory", "64m"],
                &["cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes"],
                0,
            )?;
            let mut o = Obs::new();
            o.put("memory.limit_in_bytes", r.text());
            e.run_rm(
                rt,
                &["--memory", "16m", "--memory-swap", "16m"],
                &["sh", "-c", OVER_16M],
                137,
            )?;
            Ok(o)
        },
    );
}

/// A scenario of one `run --rm OPTIONS IMAGE COMMAND` that exits 0: the lines of its output are
/// the values of `expect`'s keys, in order (the last key takes all the lines that remain).
fn output_lines(
    e: &impl DockerCli,
    what: &str,
    expect: &[(&str, &str)],
    opts: &[&str],
    cmd: &[&str],
) {
    differential(&title(e, what), expect, |rt| {
        let text = e.run_rm(rt, opts, cmd, 0)?.text();
        let lines: Vec<&str> = text.lines().collect();
        let mut o = Obs::new();
        for (i, (key, _)) in expect.iter().enumerate() {
            let value = if i + 1 == expect.len() {
                lines.get(i..).unwrap_or_default().join("\n")
            } else {
                lines.get(i).copied().unwrap_or_default().to_string()
            };
            o.put(key, value);
        }
        Ok(o)
    });
}

/// --pids-limit: the limit the container sees.
pub fn pids_limit(e: &impl DockerCli) {
    output_lines(
        e,
        "run --pids-limit",
        &[("pids.max", "42")],
        &["--pids-limit", "42"],
        &["cat", "/sys/fs/cgroup/pids/pids.max"],
    );
}

/// --cpus and --cpu-shares: the CFS quota, period and shares the container sees.
pub fn cpus(e: &impl DockerCli) {
    output_lines(
        e,
        "run --cpus --cpu-shares",
        &[
            ("cpu.cfs_quota_us", "50000"),
            ("cpu.cfs_period_us", "100000"),
            ("cpu.shares", "512"),
        ],
        &["--cpus", "0.5", "--cpu-shares", "512"],
        &[
            "sh",
            "-c",
            "cd /sys/fs/cgroup/cpu && cat cpu.cfs_quota_us cpu.cfs_period_us cpu.shares",
        ],
    );
}

/// --network none: loopback is the only interface.
pub fn network_none(e: &impl DockerCli) {
    output_lines(
        e,
        "run --network none",
        &[("interfaces", "lo")],
        &[],
        &["ls", "/sys/class/net"],
    );
}

/// ps and top of a running container, ps -a of it once killed.
pub fn ps_and_top(e: &impl DockerCli) {
    differential(
        &title(e, "ps, top"),
        &[
            ("ps lists it", "true"),
            ("ps status", "Up"),
            ("top shows the shell", "true"),
            ("ps -a status after kill", "Exited (137)"),
        ],
        |rt| {
            let c = rt.ctr_name("pstop");
            let mut o = Obs::new();
            e.start(rt, &c, &["sh", "-c", LOOP])?;
            let r = e.cli(rt, &["ps", "--format", "{{.Names}}"], 0)?;
            o.put("ps lists it", r.stdout.lines().any(|l| l.trim() == c));
            // "Up 2 seconds": the first word.
            let status = e.ps_one(rt, &c, false, "{{.Status}}")?;
            o.put("ps status", status.split_whitespace().next().unwrap_or(""));
            let r = want(run(e.with(rt).args(["top", &c]).args(e.top_pid_args())), 0)?;
            o.put(
                "top shows the shell",
                r.stdout.lines().any(|l| l.contains("sh -c")),
            );
            e.kill_and_wait(rt, &c, None)?;
            // "Exited (137) 1 second ago": up to the exit code.
            let status = e.ps_one(rt, &c, true, "{{.Status}}")?;
            o.put(
                "ps -a status after kill",
                status
                    .split(')')
                    .next()
                    .map(|s| format!("{s})"))
                    .unwrap_or_default(),
            );
            e.rm(rt, &c)?;
            Ok(o)
        },
    );
}

/// pause and unpause: the state the engine reports and the freezer state the host sees.
pub fn pause_unpause(e: &impl DockerCli) {
    differential(
        &title(e, "pause, unpause"),
        &[
            ("status paused", "paused"),
            ("freezer paused", "FROZEN"),
            ("status unpaused", "running"),
            ("freezer unpaused", "THAWED"),
            ("exec after unpause", "alive"),
        ],
        |rt| {
            let c = rt.ctr_name("pause");
            let mut o = Obs::new();
            e.start(rt, &c, &["sh", "-c", LOOP])?;
            let pid = e.inspect(rt, &c, "{{.State.Pid}}")?;
            let freezer = || cgroup_v1_file(&pid, "freezer", "freezer.state");
            e.cli(rt, &["pause", &c], 0)?;
            o.put("status paused", e.status(rt, &c)?);
            o.put("freezer paused", freezer()?);
            e.cli(rt, &["unpause", &c], 0)?;
            o.put("status unpaused", e.status(rt, &c)?);
            o.put("freezer unpaused", freezer()?);
            let r = e.cli(rt, &["exec", &c, "echo", "alive"], 0)?;
            o.put("exec after unpause", r.text());
            e.rm_now(rt, &c)?;
            Ok(o)
        },
    );
}

/// kill with SIGKILL, a trapped TERM and HUP; the exit codes wait reports.
pub fn kill_signals_and_exit_codes(e: &impl DockerCli) {
    differential(
        &title(e, "kill, wait"),
        &[
            ("exit after kill (SIGKILL)", "137"),
            ("OOMKilled after kill", "false"),
            ("exit after kill -s TERM (trapped)", "42"),
            ("pid 1 survives HUP", "true"),
            ("exit after kill -s HUP (untrapped)", "129"),
        ],
        |rt| {
            let mut o = Obs::new();
            let c = rt.ctr_name("kill9");
            e.start(rt, &c, &["sh", "-c", LOOP])?;
            o.put("exit after kill (SIGKILL)", e.kill_and_wait(rt, &c, None)?);
            o.put(
                "OOMKilled after kill",
                e.inspect(rt, &c, "{{.State.OOMKilled}}")?,
            );
            e.rm(rt, &c)?;

            let c = rt.ctr_name("killterm");
            e.start(rt, &c, &["sh", "-c", TRAP_TERM_EXIT_42])?;
            o.put(
                "exit after kill -s TERM (trapped)",
                e.kill_and_wait(rt, &c, Some("TERM"))?,
            );
            e.rm(rt, &c)?;

            // pid 1 of a pid namespace gets no signal it has no handler for: `sleep` survives HUP.
            let c = rt.ctr_name("killhup");
            e.start(rt, &c, &["sleep", "1000"])?;
            e.cli(rt, &["kill", "--signal", "HUP", &c], 0)?;
            sleep(Duration::from_millis(300));
            let state = e.status(rt, &c)?;
            o.put("pid 1 survives HUP", state == "running");
            e.rm_now(rt, &c)?;
            // A process that is not pid 1 dies of HUP: 128 + 1.
            let r = e.run_rm(
                rt,
                &[],
                &["sh", "-c", "sleep 1000 & kill -HUP $!; wait $!"],
                129,
            )?;
            o.put("exit after kill -s HUP (untrapped)", r.code);
            Ok(o)
        },
    );
}

/// The host device the tests pass with `--device`: /dev/loop-control, c 10:237.
const HOST_DEVICE: &str = "/dev/loop-control";

/// --device HOST:CONTAINER: the node is there, with the host's numbers, and opens; without it,
/// a node of the same numbers made in the container (the engines grant CAP_MKNOD, and their
/// device cgroup allows mknod of any node) is refused at open by the device cgroup.
pub fn device(e: &impl DockerCli) {
    assert!(
        Path::new(HOST_DEVICE).exists(),
        "this host has no {HOST_DEVICE} (c 10:237) to pass with --device"
    );
    differential(
        &title(e, "run --device"),
        &[
            ("node with --device", "character special file a:ed"),
            ("open with --device", "opened"),
            ("mknod without --device", "made"),
            (
                "open without --device",
                "sh: can't open /tmp/ctl: Operation not permitted",
            ),
            ("exit without --device", "1"),
        ],
        |rt| {
            let mut o = Obs::new();
            let mapping = format!("{HOST_DEVICE}:/dev/myctl");
            // %t:%T: major and minor in hex.
            let r = e.run_rm(
                rt,
                &["--device", &mapping],
                &[
                    "sh",
                    "-c",
                    "stat -c '%F %t:%T' /dev/myctl && exec 3< /dev/myctl && echo opened",
                ],
                0,
            )?;
            let text = r.text();
            let (node, open) = text.split_once('\n').unwrap_or((&text, ""));
            o.put("node with --device", node)
                .put("open with --device", open);
            let r = run(e.run(rt).args([
                "--rm",
                IMAGE,
                "sh",
                "-c",
                "mknod /tmp/ctl c 10 237 && echo made && exec 3< /tmp/ctl && echo opened",
            ]));
            o.put("mknod without --device", r.text())
                .put("open without --device", r.stderr.trim())
                .put("exit without --device", r.code);
            Ok(o)
        },
    );
}
