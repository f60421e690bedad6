//! containerd 1.6 through `ctr run --runc-binary PATH` (the io.containerd.runc.v2 shim driving
//! vsbx-runtime instead of runc), on an image imported with `ctr image import`.

use std::fs;
use std::thread::sleep;
use std::time::{Duration, Instant};
use vsbx_engines::containerd::{Ctr, NAMESPACE};
use vsbx_engines::host::cgroup_v1_file;
use vsbx_engines::scenarios::{CHILD_KILLED, OUT_ERR_EXIT_3, OVER_16M, TTY_SCRIPT, TTY_SEEN};
use vsbx_engines::{differential, run, run_tty, want, Obs, IMAGE};

/// The STATUS column of `ctr task ls` for `task`.
fn task_status(c: &Ctr, task: &str) -> Result<String, String> {
    let r = want(run(c.ctr().args(["task", "ls"])), 0)?;
    Ok(r.stdout
        .lines()
        .find(|l| l.split_whitespace().next() == Some(task))
        .and_then(|l| l.split_whitespace().nth(2))
        .unwrap_or("")
        .to_string())
}

/// Waits until `task` is STOPPED, deletes it and returns its exit code (ctr warns
/// "exit with non-zero exit code N" on delete; no warning means 0).
fn wait_and_delete(c: &Ctr, task: &str) -> Result<i32, String> {
    let start = Instant::now();
    while task_status(c, task)? != "STOPPED" {
        if start.elapsed() > Duration::from_secs(20) {
            return Err(format!("task {task} did not stop within 20s"));
        }
        sleep(Duration::from_millis(50));
    }
    let r = want(run(c.ctr().args(["task", "delete", task])), 0)?;
    let code = match r.stderr.split("exit code ").nth(1) {
        Some(rest) => rest
            .trim_matches(|ch: char| !ch.is_ascii_digit())
            .parse()
            .map_err(|e| format!("exit code in {:?}: {e}", r.stderr))?,
        None => 0,
    };
    want(run(c.ctr().args(["container", "delete", task])), 0)?;
    Ok(code)
}

/// A file of `task`'s cgroup in the v1 hierarchy `controller`, read on the host.
fn cgroup_file(c: &Ctr, task: &str, controller: &str, file: &str) -> Result<String, String> {
    let r = want(run(c.ctr().args(["task", "ls"])), 0)?;
    let pid = r
        .stdout
        .lines()
        .find(|l| l.split_whitespace().next() == Some(task))
        .and_then(|l| l.split_whitespace().nth(1))
        .ok_or_else(|| format!("task {task} not in `ctr task ls`:\n{}", r.stdout))?
        .to_string();
    cgroup_v1_file(&pid, controller, file)
}

#[test]
fn run_rm_output_and_exit_codes() {
    let c = Ctr::start();
    differential(
        "ctr run --rm",
        &[
            ("stdout", "out"),
            ("stderr", "err"),
            ("cgroup", format!("/{NAMESPACE}/cgroup-runc").as_str()),
            ("env cwd", "bar /tmp"),
        ],
        |rt| {
            let mut o = Obs::new();
            want(
                run(c
                    .run(rt)
                    .args(["--rm", IMAGE, &rt.ctr_name("true"), "true"])),
                0,
            )?;
            let r = want(
                run(c.run(rt).args([
                    "--rm",
                    IMAGE,
                    &rt.ctr_name("exit3"),
                    "sh",
                    "-c",
                    OUT_ERR_EXIT_3,
                ])),
                3,
            )?;
            o.put("stdout", r.text()).put("stderr", r.stderr.trim());
            want(
                run(c.run(rt).args([
                    "--rm",
                    IMAGE,
                    &rt.ctr_name("kill9"),
                    "sh",
                    "-c",
                    CHILD_KILLED,
                ])),
                137,
            )?;
            // The task cannot start: ctr reports the runtime's error and exits 1.
            let r = want(
                run(c
                    .run(rt)
                    .args(["--rm", IMAGE, &rt.ctr_name("missing"), "/no/such/binary"])),
                1,
            )?;
            o.put(
                "missing binary error names the file",
                r.stderr.contains("/no/such/binary"),
            );
            // The container's own cgroup, as /proc/self/cgroup shows it, in the freezer
            // hierarchy: both runtimes put every container there (runc joins every v1
            // hierarchy; vsbx joins devices, freezer and those the spec's resources use,
            // and this container has no memory limit).
            let cg = rt.ctr_name("cgroup");
            let r = want(
                run(c
                    .run(rt)
                    .args(["--rm", IMAGE, &cg, "cat", "/proc/self/cgroup"])),
                0,
            )?;
            let freezer = r
                .stdout
                .lines()
                .find(|l| l.contains(":freezer:"))
                .and_then(|l| l.rsplit(':').next())
                .unwrap_or("");
            // Same path for both runtimes once the id's runtime suffix is made the same.
            o.put(
                "cgroup",
                freezer
                    .strip_suffix(rt.name)
                    .map(|p| format!("{p}runc"))
                    .unwrap_or_else(|| freezer.to_string()),
            );
            let r = want(
                run(c.run(rt).args([
                    "--rm",
                    "--env",
                    "FOO=bar",
                    "--cwd",
                    "/tmp",
                    IMAGE,
                    &rt.ctr_name("env"),
                    "sh",
                    "-c",
                    "echo $FOO $(pwd)",
                ])),
                0,
            )?;
            o.put("env cwd", r.text());
            Ok(o)
        },
    );
}

#[test]
fn detached_exec_ps_kill_delete() {
    let c = Ctr::start();
    differential(
        "ctr run -d, task exec, ps, kill, delete",
        &[
            ("status", "RUNNING"),
            ("exec stdout", "exec-ok"),
            ("task ps lists init and exec", "true"),
            ("exec as nobody in /tmp", "65534 /tmp"),
            ("exit code after SIGTERM", "42"),
            ("log", "started\nterm"),
            ("exit code after SIGKILL", "137"),
        ],
        |rt| {
            let mut o = Obs::new();
            let t = rt.ctr_name("detached");
            let (log, uri) = c.log_uri(&format!("{t}.log"));
            want(
                run(c.run(rt).args([
                    "-d",
                    "--log-uri",
                    &uri,
                    IMAGE,
                    &t,
                    "sh",
                    "-c",
                    "echo started; trap 'echo term; exit 42' TERM; while true; do sleep 0.1; done",
                ])),
                0,
            )?;
            o.put("status", task_status(&c, &t)?);
            let r = want(
                run(c.ctr().args([
                    "task",
                    "exec",
                    "--exec-id",
                    "e1",
                    &t,
                    "sh",
                    "-c",
                    "echo exec-ok; exit 5",
                ])),
                5,
            )?;
            o.put("exec stdout", r.text());
            // pid 1 and a long-lived exec.
            want(
                run(c
                    .ctr()
                    .args(["task", "exec", "-d", "--exec-id", "e2", &t, "sleep", "1000"])),
                0,
            )?;
            let r = want(run(c.ctr().args(["task", "ps", &t])), 0)?;
            // pid 1, the exec'd sleep, and maybe the loop's short-lived sleep.
            o.put(
                "task ps lists init and exec",
                r.stdout
                    .lines()
                    .skip(1)
                    .filter(|l| !l.trim().is_empty())
                    .count()
                    >= 2,
            );
            let r = want(
                run(c.ctr().args([
                    "task",
                    "exec",
                    "--exec-id",
                    "e3",
                    "--user",
                    "65534",
                    "--cwd",
                    "/tmp",
                    &t,
                    "sh",
                    "-c",
                    "echo $(id -u) $(pwd)",
                ])),
                0,
            )?;
            o.put("exec as nobody in /tmp", r.text());
            want(
                run(c.ctr().args(["task", "kill", "--signal", "SIGTERM", &t])),
                0,
            )?;
            o.put("exit code after SIGTERM", wait_and_delete(&c, &t)?);
            o.put("log", fs::read_to_string(&log).unwrap_or_default().trim());

            let t = rt.ctr_name("killed");
            want(
                run(c
                    .run(rt)
                    .args(["-d", "--null-io", IMAGE, &t, "sleep", "1000"])),
                0,
            )?;
            want(
                run(c.ctr().args(["task", "kill", "--signal", "SIGKILL", &t])),
                0,
            )?;
            o.put("exit code after SIGKILL", wait_and_delete(&c, &t)?);
            Ok(o)
        },
    );
}

#[test]
fn interactive_tty() {
    let c = Ctr::start();
    differential("ctr run -t", &[("terminal", TTY_SEEN)], |rt| {
        let mut o = Obs::new();
        let r = want(
            run_tty(c.run(rt).args([
                "--rm",
                "-t",
                IMAGE,
                &rt.ctr_name("tty"),
                "sh",
                "-c",
                TTY_SCRIPT,
            ])),
            4,
        )?;
        o.put("terminal", r.text());
        Ok(o)
    });
}

#[test]
fn memory_and_cpu_limits_pause_resume() {
    let c = Ctr::start();
    differential(
        "ctr run --memory-limit --cpus, pause, resume",
        &[
            ("memory.limit_in_bytes", "67108864"),
            ("cpu.cfs_quota_us", "50000"),
            ("cpu.cfs_period_us", "100000"),
            ("status paused", "PAUSED"),
            ("freezer paused", "FROZEN"),
            ("status resumed", "RUNNING"),
            ("exec after resume", "alive"),
        ],
        |rt| {
            let mut o = Obs::new();
            let t = rt.ctr_name("limits");
            want(
                run(c.run(rt).args([
                    "-d",
                    "--null-io",
                    "--memory-limit",
                    "67108864",
                    "--cpus",
                    "0.5",
                    IMAGE,
                    &t,
                    "sleep",
                    "1000",
                ])),
                0,
            )?;
            o.put(
                "memory.limit_in_bytes",
                cgroup_file(&c, &t, "memory", "memory.limit_in_bytes")?,
            );
            o.put(
                "cpu.cfs_quota_us",
                cgroup_file(&c, &t, "cpu", "cpu.cfs_quota_us")?,
            );
            o.put(
                "cpu.cfs_period_us",
                cgroup_file(&c, &t, "cpu", "cpu.cfs_period_us")?,
            );
            want(run(c.ctr().args(["task", "pause", &t])), 0)?;
            o.put("status paused", task_status(&c, &t)?);
            o.put(
                "freezer paused",
                cgroup_file(&c, &t, "freezer", "freezer.state")?,
            );
            want(run(c.ctr().args(["task", "resume", &t])), 0)?;
            o.put("status resumed", task_status(&c, &t)?);
            let r = want(
                run(c
                    .ctr()
                    .args(["task", "exec", "--exec-id", "e1", &t, "echo", "alive"])),
                0,
            )?;
            o.put("exec after resume", r.text());
            want(
                run(c.ctr().args(["task", "kill", "--signal", "SIGKILL", &t])),
                0,
            )?;
            wait_and_delete(&c, &t)?;
            // Over the memory limit: the OOM killer ends the task, 137.
            let r = run(c.run(rt).args([
                "--rm",
                "--memory-limit",
                "16777216",
                IMAGE,
                &rt.ctr_name("oom"),
                "sh",
                "-c",
                OVER_16M,
            ]));
            o.put("exit over memory limit", want(r, 137)?.code);
            Ok(o)
        },
    );
}
