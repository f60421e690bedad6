//! CVE-2019-5736: a container overwrites the host's runtime binary.
//!
//! The attack (`exploits/cve_2019_5736.c`): make the runtime execve `/proc/self/exe` inside the
//! container, so that a process of the container's pid namespace runs the HOST's runtime image;
//! a freshly exec'd image is dumpable, so the container's root may open `/proc/PID/exe` of it
//! with O_PATH. It holds that fd; once the runtime has exited the file is no longer busy
//! (ETXTBSY only while it runs) and reopening `/proc/self/fd/N` with O_WRONLY gives write access
//! to the host's binary. Every door by which a container gets the runtime to execve
//! `/proc/self/exe` is one test: (a) `exec` of a symlink to it, (b) `exec` of a
//! `#!/proc/self/exe` script, (c) `exec /proc/self/exe`, (d) `process.args[0] =
//! "/proc/self/exe"` for the init via `run` and via `create`+`start`, (e) `/proc/PID/exe` of the
//! runtime while it sets a container up (a second container in the first's pid namespace while
//! the first is `created`, and during `exec`), (f) `vsbx run`.
//!
//! The attack only ever runs against a COPY of the runtime under test ([`RuntimeCopy`]) made in
//! a temp dir by the test; after each door the test checks that the copy's content is unchanged
//! and that the attacker never opened it for writing. The containers that execute the runtime
//! image get the host's glibc in their rootfs (as any glibc-based image has): without an ELF
//! interpreter the execve would fail and the door would be closed by accident.
//!
//! runc 1.1.5 (Debian) protects itself in cloned_binary.c: here its image inside the container
//! is the binary behind a detached read-only bind mount (the attack holds the same inode and
//! gets EROFS; a sealed memfd where that fails), so every door must hold for runc too. vsbx
//! before its fix: doors (a)-(d) lost on the first round (`opened-for-write`, `wrote 48
//! bytes`, then "Exec format error" running the copy); (e) held. With the fix (re-exec from a
//! read-only copy) the attack holds the same inode through a mount of its own device number and
//! gets EROFS.
//!
//! Why `conformance/tests/security.rs` (runtime_binary_is_out_of_reach_of_containers) missed
//! the finding: it checked `/proc/PID/exe` only while the process was still the runtime
//! itself, which vsbx makes non-dumpable (PR_SET_DUMPABLE 0) for exactly that reason, and while
//! `exec` ran `true`. It never made the runtime execve `/proc/self/exe`: execve of a readable,
//! non-setuid file resets the dumpable flag to 1, so the runtime's own image, now a plain
//! container process, is open to ptrace-mode access from the container's root and "not
//! dumpable" protects nothing. It also wrote with `echo >>` (O_APPEND at once, never an O_PATH
//! fd held across the runtime's exit, which is how the real attack waits out ETXTBSY).

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;
use vsbx_security::*;

/// How long an attack program may run at most (the test stops it earlier through LOG.stop).
const ATTACK_SECONDS: &str = "300";
/// How many times a door is opened (each time the attacker races the runtime's exit). The
/// attacker wins against an unprotected runtime in the first few.
const ROUNDS: usize = 12;
/// Rounds of the create+start door, where each round makes three containers (it won in the
/// first round against an unprotected vsbx).
const START_ROUNDS: usize = 4;

/// A bundle whose rootfs has the attack program at /attack, the host's libraries for the
/// runtime copy (so its image can run inside), a writable root and /out.
fn attack_bundle(name: &str, copy: &RuntimeCopy) -> Bundle {
    let mut b = Bundle::new(name);
    b.out_dir();
    b.set_readonly_root(false);
    install_libs(&b.rootfs(), copy.path());
    fs::copy(exploit("cve_2019_5736"), b.rootfs().join("attack")).expect("copy the attack");
    b
}

/// The log an attack program writes under a host directory bound at /out.
struct AttackLog {
    path: PathBuf,
}

impl AttackLog {
    fn new(out_dir: &Path, name: &str) -> AttackLog {
        AttackLog {
            path: out_dir.join(name),
        }
    }

    fn with_suffix(&self, suffix: &str) -> PathBuf {
        PathBuf::from(format!("{}.{suffix}", self.path.display()))
    }

    fn text(&self) -> String {
        fs::read_to_string(&self.path).unwrap_or_default()
    }

    #[track_caller]
    fn wait_ready(&self) {
        let ready = self.with_suffix("ready");
        assert!(
            wait_until(|| ready.exists()),
            "the attack program never started: {}",
            self.text()
        );
    }

    /// Whether the attacker holds an fd of the inode (see [`RuntimeCopy::ino_pattern`]).
    fn holds(&self, ino_pattern: &str) -> bool {
        self.text().lines().any(|l| {
            (l.starts_with("held ") || l.starts_with("received ")) && l.contains(ino_pattern)
        })
    }

    /// Tells the program to stop (it makes one last round of write attempts first) and
    /// returns its log once it is done.
    #[track_caller]
    fn stop(&self) -> String {
        fs::write(self.with_suffix("stop"), "").expect("write the stop file");
        let done = self.with_suffix("done");
        assert!(
            wait_until(|| done.exists()),
            "the attack program never finished: {}",
            self.text()
        );
        self.text()
    }
}

/// What the host must keep: the attacker never opened the runtime copy for writing and its
/// content is what was copied.
#[track_caller]
fn assert_binary_kept(copy: &RuntimeCopy, door: &str, log: &str, notes: &str) {
    let target = copy.dev_ino();
    let ino = copy.ino_pattern();
    // Checked (and the copy restored when it changed) first, so that the containers can still
    // be deleted with a working binary when an assertion below fails.
    let unchanged = copy.unchanged();
    eprintln!("{door}: runtime copy {target}; attack log:\n{log}");
    let opened: Vec<&str> = log
        .lines()
        .filter(|l| l.starts_with("opened-for-write ") && l.contains(&ino))
        .collect();
    assert!(
        opened.is_empty(),
        "{door}: the container opened the host's runtime binary ({} = {target}) for writing \
         (content changed: {}): {opened:?}\n--- attack log ---\n{log}\n{notes}",
        copy.path().display(),
        !unchanged
    );
    assert!(
        unchanged,
        "{door}: the host's runtime binary {} was overwritten from the container\n--- attack log \
         ---\n{log}\n{notes}",
        copy.path().display()
    );
}

/// Runs `RUNTIME --root ROOT ARGS...` like [`Runtime::exec`], but an attack that won may have
/// overwritten the binary (ENOEXEC) or hold it open for writing (ETXTBSY): then this returns
/// Err instead of panicking, and the test judges what happened. Ok holds the exit status and
/// output, for the failure message.
fn try_run(rt: &Runtime, args: &[&str]) -> Result<(bool, String), String> {
    static N: AtomicU32 = AtomicU32::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let out_path = rt.scratch().join(format!("try-{n}.out"));
    let err_path = rt.scratch().join(format!("try-{n}.err"));
    let mut cmd = rt.command(args);
    cmd.stdin(Stdio::null())
        .stdout(File::create(&out_path).expect("create stdout file"))
        .stderr(File::create(&err_path).expect("create stderr file"));
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("`{args:?}` could not start the runtime copy: {e}"))?;
    let deadline = Instant::now() + TIMEOUT;
    let status = loop {
        match child.try_wait().expect("wait for the runtime") {
            Some(status) => break status,
            None if Instant::now() > deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("`{args:?}` did not finish within {TIMEOUT:?}"));
            }
            None => std::thread::sleep(Duration::from_millis(10)),
        }
    };
    let text = format!(
        "`{args:?}` -> {status}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        fs::read_to_string(&out_path).unwrap_or_default(),
        fs::read_to_string(&err_path).unwrap_or_default()
    );
    Ok((status.success(), text))
}

/// The rounds of one door: `round` opens the door once (returns Err when the runtime copy can
/// no longer run); the race ends when `won` says the attacker holds the binary, when the copy
/// was overwritten, or after `rounds`. Returns notes for the failure message.
fn race(
    copy: &RuntimeCopy,
    rounds: usize,
    mut round: impl FnMut(usize) -> Result<String, String>,
    won: impl Fn() -> bool,
) -> String {
    let mut notes = String::new();
    for n in 0..rounds {
        match round(n) {
            Ok(text) if n == 0 => notes = format!("first round: {text}"),
            Ok(_) => {}
            Err(e) => {
                notes.push_str(&format!("\nround {n}: {e}"));
                break;
            }
        }
        if !copy.unchanged() || won() {
            break;
        }
    }
    notes
}

/// Doors (a)-(c): the attacker runs as the container's init; the host runs
/// `RUNTIME exec ID DOOR...` until the attacker holds the runtime's binary or ROUNDS are done.
fn exec_door(name: &str, door: &[&str]) {
    let copy = RuntimeCopy::new(name);
    let rt = Runtime::with_binary(name, copy.path());
    let _restore = copy.restore_on_drop();
    let mut b = attack_bundle(name, &copy);
    b.sh(&format!(
        "/attack doors / && exec /attack attack /out/log {ATTACK_SECONDS}"
    ));
    let id = unique_id(name);
    rt.create_and_start(&id, &b);
    let log = AttackLog::new(&b.path().join("out"), "log");
    log.wait_ready();
    let mut args = vec!["exec", id.as_str()];
    args.extend_from_slice(door);
    let notes = race(
        &copy,
        ROUNDS,
        |_| try_run(&rt, &args).map(|(_, text)| text),
        || log.holds(&copy.ino_pattern()),
    );
    let text = log.stop();
    assert_binary_kept(&copy, &format!("exec {door:?}"), &text, &notes);
}

#[test]
fn a_exec_of_a_symlink_to_proc_self_exe() {
    exec_door("5736-symlink", &["/evil"]);
}

#[test]
fn b_exec_of_a_script_with_proc_self_exe_as_interpreter() {
    exec_door("5736-shebang", &["/evil.sh"]);
}

#[test]
fn c_exec_of_proc_self_exe_itself() {
    exec_door("5736-direct", &["/proc/self/exe", "cve-2019-5736"]);
}

/// `create --bundle B ID` through [`try_run`] (the binary may be gone by now).
fn try_create(rt: &Runtime, id: &str, b: &Bundle) -> Result<String, String> {
    b.save();
    rt.track(id);
    let path = b.path().display().to_string();
    match try_run(rt, &["create", "--bundle", &path, id])? {
        (true, text) => Ok(text),
        (false, text) => Err(format!("create failed: {text}")),
    }
}

/// The host pid of a container's init, through [`try_run`].
fn try_pid(rt: &Runtime, id: &str) -> Result<i32, String> {
    let out = rt.scratch().join("state.json");
    let mut cmd = rt.command(&["state", id]);
    let state = cmd
        .stdout(File::create(&out).expect("create the state file"))
        .output()
        .map_err(|e| format!("state {id}: {e}"))?;
    let text = fs::read_to_string(&out).unwrap_or_default();
    let v: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| format!("state {id} ({}): {e}: {text}", state.status))?;
    v["pid"]
        .as_i64()
        .map(|p| p as i32)
        .ok_or_else(|| format!("state {id} has no pid: {text}"))
}

/// Door (d) via `run`: the init of container A is `/proc/self/exe`. A joins the pid namespace
/// of the attacker's container B (in a namespace of its own, A's init would be pid 1 of a
/// namespace that dies with it, killing any watcher; the create+start test covers that case).
#[test]
fn d_init_args_proc_self_exe_via_run() {
    let name = "5736-run";
    let copy = RuntimeCopy::new(name);
    let rt = Runtime::with_binary(name, copy.path());
    let _restore = copy.restore_on_drop();
    let mut b = attack_bundle("5736-run-attacker", &copy);
    b.sh(&format!("exec /attack attack /out/log {ATTACK_SECONDS}"));
    let id_b = unique_id("5736-run-b");
    let pid_b = rt.create_and_start(&id_b, &b);
    let log = AttackLog::new(&b.path().join("out"), "log");
    log.wait_ready();

    let mut a = attack_bundle("5736-run-init", &copy);
    a.args(&["/proc/self/exe", "cve-2019-5736"]);
    a.set_namespace(json!({"type": "pid", "path": format!("/proc/{pid_b}/ns/pid")}));
    let path_a = a.path().display().to_string();
    a.save();
    let notes = race(
        &copy,
        ROUNDS,
        |_| {
            let id_a = unique_id("5736-run-a");
            rt.track(&id_a);
            try_run(&rt, &["run", "--bundle", &path_a, &id_a]).map(|(_, text)| text)
        },
        || log.holds(&copy.ino_pattern()),
    );
    let text = log.stop();
    assert_binary_kept(&copy, "run with args /proc/self/exe", &text, &notes);
}

/// Door (d) via `create`+`start`, the init as pid 1 of its own namespace: a spy container S
/// joins A's pid namespace while A is `created` and watches /proc/1/exe; every fd it gets it
/// passes over a unix socket (in a shared host directory) to a holder container H outside that
/// namespace, because when A's init exits the kernel kills everything in A's namespace, S too.
/// H keeps trying to open the fds for writing after the runtime has exited.
#[test]
fn d_init_args_proc_self_exe_via_create_start() {
    let name = "5736-start";
    let copy = RuntimeCopy::new(name);
    let rt = Runtime::with_binary(name, copy.path());
    let _restore = copy.restore_on_drop();
    let shared = TempDir::new("5736-start-shared");
    fs::set_permissions(
        shared.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o777),
    )
    .unwrap();
    let bind_shared = |bundle: &mut Bundle| {
        fs::create_dir_all(bundle.rootfs().join("shared")).unwrap();
        bundle.add_mount(json!({
            "destination": "/shared", "type": "bind", "source": shared.path(),
            "options": ["rbind", "rw"],
        }));
    };

    let mut h = attack_bundle("5736-start-holder", &copy);
    bind_shared(&mut h);
    h.sh(&format!(
        "exec /attack holder /shared/hlog {ATTACK_SECONDS} /shared/sock"
    ));
    let id_h = unique_id("5736-start-h");
    rt.create_and_start(&id_h, &h);
    let hlog = AttackLog::new(shared.path(), "hlog");
    hlog.wait_ready();

    let notes = race(
        &copy,
        START_ROUNDS,
        |round| {
            let mut a = attack_bundle("5736-start-init", &copy);
            a.args(&["/proc/self/exe", "cve-2019-5736"]);
            let id_a = unique_id("5736-start-a");
            try_create(&rt, &id_a, &a)?;
            let pid_a = try_pid(&rt, &id_a)?;

            let mut s = attack_bundle("5736-start-spy", &copy);
            bind_shared(&mut s);
            s.set_namespace(json!({"type": "pid", "path": format!("/proc/{pid_a}/ns/pid")}));
            let slog_name = format!("slog{round}");
            s.sh(&format!(
                "exec /attack attack /shared/{slog_name} {ATTACK_SECONDS} /shared/sock"
            ));
            let id_s = unique_id("5736-start-s");
            try_create(&rt, &id_s, &s)?;
            try_run(&rt, &["start", &id_s])?;
            let slog = AttackLog::new(shared.path(), &slog_name);
            slog.wait_ready();

            let (_, out) = try_run(&rt, &["start", &id_a])?;
            // A's init is gone once the runtime image it exec'd has exited (and S with it).
            assert!(
                wait_until(|| !process_alive(pid_a)),
                "A's init (the runtime image) never exited"
            );
            Ok(format!("{out}\n--- spy log ---\n{}", slog.text()))
        },
        || hlog.holds(&copy.ino_pattern()),
    );
    let text = hlog.stop();
    assert_binary_kept(
        &copy,
        "create+start with args /proc/self/exe",
        &text,
        &notes,
    );
}

/// Door (e): the runtime's own process while it sets up. B joins A's pid namespace while A is
/// `created` (A's init is still the runtime, or for runc its copy) and keeps every exe it can
/// open; A is started, then `exec` runs in A eight times while B watches. B retries writes on
/// all it holds after the runtime has exited.
#[test]
fn e_runtime_process_while_it_sets_up() {
    let name = "5736-setup";
    let copy = RuntimeCopy::new(name);
    let rt = Runtime::with_binary(name, copy.path());
    let _restore = copy.restore_on_drop();
    let mut a = attack_bundle("5736-setup-a", &copy);
    a.args(&["sleep", "1000"]);
    let id_a = unique_id("5736-setup-a");
    rt.create(&id_a, &a).assert_ok();
    let pid_a = rt.pid(&id_a);

    let mut b = attack_bundle("5736-setup-b", &copy);
    b.set_namespace(json!({"type": "pid", "path": format!("/proc/{pid_a}/ns/pid")}));
    b.sh(&format!("exec /attack attack /out/log {ATTACK_SECONDS}"));
    let id_b = unique_id("5736-setup-b");
    rt.create_and_start(&id_b, &b);
    let log = AttackLog::new(&b.path().join("out"), "log");
    log.wait_ready();
    // B has probed pid 1 (A's waiting init) at least once.
    assert!(
        wait_until(|| {
            log.text()
                .lines()
                .any(|l| l.starts_with("held 1 ") || l.starts_with("exe-denied 1 "))
        }),
        "B never probed A's init: {}",
        log.text()
    );

    let mut notes = String::new();
    let started = try_run(&rt, &["start", &id_a]);
    if started.is_ok() {
        assert!(
            wait_until(|| fs::read_link(format!("/proc/{pid_a}/exe"))
                .is_ok_and(|l| l == Path::new("/bin/busybox"))),
            "A's init exec'd its program"
        );
        notes = race(
            &copy,
            ROUNDS,
            |_| try_run(&rt, &["exec", &id_a, "true"]).map(|(_, text)| text),
            || false,
        );
    }
    let text = log.stop();
    assert_binary_kept(
        &copy,
        "runtime process while it sets up",
        &text,
        &format!("start: {started:?}\n{notes}"),
    );
}

/// Door (f): `vsbx run`, the sandbox. Its container init is a clone of the `vsbx` process that
/// execve()s the runner's command (`/bin/sh FILE` here); the user's files land read-only (0444)
/// in /work and are never executed directly by a shipped runner, so the user's file cannot make
/// the init execve `/proc/self/exe` (a `#!/proc/self/exe` first line is only a comment to the
/// shell), and inside the sandbox `/proc/self/exe` of every process the user runs is the
/// interpreter (busybox) or the user's own program. No process of the sandbox ever runs the
/// `vsbx` image after the init's execve, and there is no `exec` into a sandbox. So no door
/// exists for `vsbx run`: this test runs the attack's attempts anyway (the doors from inside:
/// exec of a symlink to /proc/self/exe, of a `#!/proc/self/exe` script, and of /proc/self/exe,
/// then the attack program scanning /proc for any foreign exe to hold and write), against a
/// copy of `vsbx`, and checks that the doors lead only to the interpreter, that nothing of the
/// host was held or written, and that the copy is unchanged. It runs the same whichever runtime
/// VSBX_TEST_RUNTIME names (the sandbox links vsbx's runtime library).
#[test]
fn f_vsbx_run_sandbox() {
    let vsbx = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/debug/vsbx");
    assert!(
        vsbx.is_file(),
        "build the sandbox first: cargo build -p vsbx-sandbox ({})",
        vsbx.display()
    );
    let copy = RuntimeCopy::of(&vsbx, "5736-sandbox");
    let work = TempDir::new("5736-sandbox");
    // A runner catalog of one: the shell runner on a busybox rootfs (the shipped one wants a
    // prepared rootfs directory), with the host's libraries so that the vsbx image could run in
    // it if a door existed.
    let rootfs_src = Bundle::new("5736-sandbox-rootfs");
    install_libs(&rootfs_src.rootfs(), copy.path());
    let runner_dir = work.path().join("runners/shell");
    fs::create_dir_all(&runner_dir).unwrap();
    fs::write(
        runner_dir.join("runner.toml"),
        format!(
            "name = \"shell\"\ndescription = \"busybox sh (5736 test)\"\nextensions = [\"sh\"]\n\
             profile = \"compute\"\ncommand = [\"/bin/sh\", \"{{file}}\"]\n\n[rootfs]\n\
             directory = \"{}\"\n",
            rootfs_src.rootfs().display()
        ),
    )
    .unwrap();
    let script = work.path().join("attack.sh");
    fs::write(
        &script,
        "#!/proc/self/exe\n\
         echo \"sh-exe $(readlink /proc/self/exe)\"\n\
         echo \"init-exe $(readlink /proc/1/exe)\"\n\
         ln -s /proc/self/exe /tmp/evil && echo \"door-symlink $(/tmp/evil 2>&1)\"\n\
         printf '#!/proc/self/exe\\n' > /tmp/evil.sh && chmod +x /tmp/evil.sh && \
         echo \"door-shebang $(/tmp/evil.sh 2>&1 | head -1)\"\n\
         echo \"door-direct $(/proc/self/exe 2>&1)\"\n\
         cp /work/cve_2019_5736 /tmp/attack && chmod +x /tmp/attack && \
         /tmp/attack attack /tmp/log 2 && cat /tmp/log\n",
    )
    .unwrap();
    let out = std::process::Command::new(copy.path())
        .arg("run")
        .arg("--runners")
        .arg(work.path().join("runners"))
        .arg("--quiet")
        .arg("--timeout")
        .arg("20s")
        .arg(&script)
        .arg(exploit("cve_2019_5736"))
        .output()
        .expect("run the vsbx copy");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let text = format!(
        "vsbx run -> {}\n--- stdout ---\n{stdout}\n--- stderr ---\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("summary held="),
        "the attack program did not run in the sandbox: {text}"
    );
    // Each door ran busybox (the shell's image), which answers for an unknown applet name.
    for door in ["door-symlink ", "door-shebang ", "door-direct "] {
        assert!(
            stdout
                .lines()
                .any(|l| l.starts_with(door) && l.contains("applet not found")),
            "{door}: the door should lead to the interpreter (busybox): {text}"
        );
    }
    assert_binary_kept(&copy, "vsbx run", &stdout, &text);
    assert!(
        !stdout.lines().any(|l| l.starts_with("held ")),
        "the sandboxed program held a foreign exe: {text}"
    );
}
