//! Drives the `vsbx` binary as a subprocess and checks what it leaves on the host.
//!
//! Every run gets its own temporary directory (cwd, `--report`, `--audit`), and after every
//! run `Run::finish` asserts that nothing of it is left: the ids of a run are
//! `vsbx-<vsbx pid>-<unique>`, so cgroups, state, temp dirs, mounts and processes are looked
//! up by the pid of the `vsbx` process, which keeps the check exact with tests in parallel.

use std::ffi::OsString;
use std::fs;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;

/// How long a test waits for `vsbx` before killing it and failing (a hang is a bug).
const HANG_LIMIT: Duration = Duration::from_secs(120);

pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("workspace root")
}

/// The binary under test: `$VSBX_BIN`, else the workspace's target/debug/vsbx (built with
/// a plain `cargo build -p vsbx-sandbox`), else the one cargo built for this test run.
pub fn vsbx_bin() -> PathBuf {
    let bin = std::env::var_os("VSBX_BIN")
        .map(PathBuf::from)
        .or_else(|| Some(workspace().join("target/debug/vsbx")).filter(|p| p.is_file()))
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_vsbx")));
    assert!(
        bin.is_file(),
        "{} is missing: run `cargo build -p vsbx-sandbox` first (or set VSBX_BIN)",
        bin.display()
    );
    bin
}

/// A test program under tests/programs/, as an absolute path string.
pub fn program(name: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/programs")
        .join(name);
    assert!(p.is_file(), "missing test program {}", p.display());
    p.to_string_lossy().into_owned()
}

/// Makes the shell runner's busybox rootfs if it is missing: once per process, under an
/// flock shared with other test processes, built beside the final place and renamed in, so
/// nobody ever sees a half-made rootfs.
pub fn ensure_shell_rootfs() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        let runner = workspace().join("examples/bundles/runners/shell");
        let rootfs = runner.join("rootfs");
        let ready = |p: &Path| p.join("bin/busybox").is_file() && p.join("bin/sh").exists();
        if ready(&rootfs) {
            return;
        }
        let lock_path = std::env::temp_dir().join("vsbx-tests-shell-rootfs.lock");
        let lock = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .expect("open the rootfs lock file");
        // SAFETY: flock on a descriptor we own; released when `lock` is closed.
        let rc = unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) };
        assert_eq!(rc, 0, "flock {}", lock_path.display());
        if ready(&rootfs) {
            return;
        }
        let partial = runner.join(format!("rootfs.partial-{}", std::process::id()));
        let _ = fs::remove_dir_all(&partial);
        let st = Command::new("sh")
            .arg(workspace().join("examples/bundles/mkrootfs.sh"))
            .arg(&partial)
            .status()
            .expect("run mkrootfs.sh");
        assert!(
            st.success(),
            "mkrootfs.sh {} failed: {st}",
            partial.display()
        );
        if rootfs.exists() {
            // Incomplete leftovers of an interrupted manual run.
            fs::remove_dir_all(&rootfs).expect("remove the incomplete shell rootfs");
        }
        fs::rename(&partial, &rootfs).expect("move the shell rootfs in place");
    });
}

/// The result of one `vsbx` invocation.
pub struct Run {
    pub pid: u32,
    /// `vsbx`'s exit status (None: killed by a signal).
    pub code: Option<i32>,
    pub stdout: Vec<u8>,
    pub stderr: String,
    /// The --report file, parsed (None when vsbx did not write it).
    pub report: Option<Value>,
    /// The --audit file, one value per line.
    pub audit: Vec<Value>,
    pub wall: Duration,
    /// The run's directory (cwd; holds report.json and audit.jsonl), removed on drop.
    _dir: tempfile::TempDir,
}

impl Run {
    pub fn stdout_str(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    pub fn report(&self) -> &Value {
        self.report
            .as_ref()
            .unwrap_or_else(|| panic!("no report written; stderr:\n{}", self.stderr))
    }

    pub fn status(&self) -> &str {
        self.report()["status"].as_str().unwrap_or("<none>")
    }

    pub fn u64(&self, field: &str) -> u64 {
        self.report()[field]
            .as_u64()
            .unwrap_or_else(|| panic!("report.{field} is not a number: {}", self.report()))
    }

    /// Everything about the run, for assertion messages.
    pub fn context(&self) -> String {
        format!(
            "exit {:?}\n--- stdout ({} B) ---\n{}\n--- stderr ---\n{}\n--- report ---\n{}",
            self.code,
            self.stdout.len(),
            String::from_utf8_lossy(&self.stdout[..self.stdout.len().min(4000)]),
            self.stderr,
            self.report
                .as_ref()
                .map(|r| serde_json::to_string_pretty(r).unwrap_or_default())
                .unwrap_or_else(|| "(none)".into())
        )
    }

    /// The last line on stderr: `vsbx run`'s one-line summary.
    pub fn summary(&self) -> &str {
        self.stderr.lines().last().unwrap_or("")
    }

    /// The summary of a run whose program should hit no limit, where the host may still throttle
    /// it: on a slow host (the TCG guest) even a hello's interpreter threads can use up a
    /// period's CPU quota, and the report then rightly says `cpu`. Asserts that `cpu` is the only
    /// limit hit, and returns the summary without it.
    pub fn summary_unthrottled(&self) -> String {
        let hits = self.report()["limits_hit"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert!(
            hits.iter().all(|h| h == "cpu"),
            "a limit other than CPU throttling was hit: {hits:?}\n{}",
            self.context()
        );
        self.summary().replacen(" (limits hit: cpu)", "", 1)
    }
}

/// Options of one invocation beyond its arguments.
#[derive(Default)]
pub struct Opts<'a> {
    /// Do not add `--report`/`--audit` (tests of those flags or of `vsbx plot`).
    pub bare: bool,
    /// Run `vsbx` as this ordinary user (setpriv, which execs: the pid stays vsbx's).
    pub user: Option<&'a TestUser>,
    /// With `user`: start `vsbx` inside this delegated cgroup subtree.
    pub cgroup: Option<&'a Delegated>,
    /// With `user`: the session's XDG_RUNTIME_DIR (else the variable is removed).
    pub runtime_dir: Option<&'a Path>,
    /// With `user`: its supplementary groups, as setpriv's --groups (else none).
    pub groups: Option<&'a str>,
}

/// `vsbx run --report R --audit A ARGS...`, then the leftover checks.
pub fn vsbx_run(args: &[&str]) -> Run {
    vsbx_with(&["run"], args, Opts::default())
}

/// `vsbx run ARGS...` as `user` (None: as root), without a cgroup for the user.
pub fn vsbx_run_as(user: Option<&TestUser>, args: &[&str]) -> Run {
    vsbx_with(
        &["run"],
        args,
        Opts {
            user,
            ..Opts::default()
        },
    )
}

/// The test user with subordinate ranges, and the first id of its ranges.
pub const SUB_USER: &str = "vsbxsub";
pub const SUB_START: u32 = 1_900_000_000;
/// The test user without subordinate ranges.
pub const PLAIN_USER: &str = "vsbxplain";

pub fn sub_user() -> &'static TestUser {
    test_user(SUB_USER, Some(SUB_START))
}

pub fn plain_user() -> &'static TestUser {
    test_user(PLAIN_USER, None)
}

/// Who runs `vsbx` in a test that holds for everyone: root, then both test users.
pub fn everyone() -> [Option<&'static TestUser>; 3] {
    [None, Some(sub_user()), Some(plain_user())]
}

/// "root" or the user's name, for assertion messages.
pub fn who_name(user: Option<&TestUser>) -> &'static str {
    user.map_or("root", |u| u.name)
}

/// `vsbx SUBCOMMAND... [--report R --audit A] ARGS...` (report/audit only for `run`).
pub fn vsbx_with(sub: &[&str], args: &[&str], opts: Opts) -> Run {
    ensure_shell_rootfs();
    let dir = tempfile::Builder::new()
        .prefix("vsbx-clitest-")
        .tempdir()
        .expect("tempdir");
    let report = dir.path().join("report.json");
    let audit = dir.path().join("audit.jsonl");
    let mut argv: Vec<OsString> = sub.iter().map(OsString::from).collect();
    if sub == ["run"] && !opts.bare {
        argv.push("--report".into());
        argv.push(report.clone().into());
        argv.push("--audit".into());
        argv.push(audit.clone().into());
    }
    argv.extend(args.iter().map(OsString::from));
    let started = Instant::now();
    let mut cmd = match opts.user {
        None => Command::new(vsbx_bin()),
        Some(user) => {
            // The user writes the report and audit files into the run's directory.
            fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o777)).unwrap();
            let enter = opts.cgroup.map(Delegated::enter_script).unwrap_or_default();
            let groups = opts
                .groups
                .map_or("--clear-groups".to_string(), |g| format!("--groups={g}"));
            let mut c = Command::new("sh");
            c.arg("-c")
                .arg(format!(
                    "{enter}exec setpriv --reuid={} --regid={} {groups} -- \"$0\" \"$@\"",
                    user.uid, user.gid
                ))
                .arg(vsbx_bin())
                .env_remove("XDG_RUNTIME_DIR");
            if let Some(dir) = opts.runtime_dir {
                c.env("XDG_RUNTIME_DIR", dir);
            }
            c
        }
    };
    let mut child = cmd
        .args(&argv)
        .current_dir(dir.path())
        .env_remove("VSBX_AUDIT_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn vsbx");
    let pid = child.id();
    let mut out = child.stdout.take().expect("stdout pipe");
    let mut err = child.stderr.take().expect("stderr pipe");
    let out_t = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out.read_to_end(&mut v);
        v
    });
    let err_t = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err.read_to_end(&mut v);
        v
    });
    let status = loop {
        if let Some(st) = child.try_wait().expect("wait for vsbx") {
            break st;
        }
        if started.elapsed() > HANG_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("vsbx {argv:?} still running after {HANG_LIMIT:?}: killed");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let wall = started.elapsed();
    let stdout = out_t.join().expect("stdout reader");
    let stderr = String::from_utf8_lossy(&err_t.join().expect("stderr reader")).into_owned();
    let report_v = fs::read(&report)
        .ok()
        .filter(|b| !b.is_empty())
        .map(|b| serde_json::from_slice(&b).expect("--report is JSON"));
    let audit_v = fs::read_to_string(&audit)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("audit line {l:?}: {e}")))
        .collect();
    let run = Run {
        pid,
        code: status.code(),
        stdout,
        stderr,
        report: report_v,
        audit: audit_v,
        wall,
        _dir: dir,
    };
    let left = leftovers(pid);
    assert!(
        left.is_empty(),
        "vsbx {argv:?} left behind:\n  {}\n{}",
        left.join("\n  "),
        run.context()
    );
    run
}

/// The id prefix of every container of the vsbx process `pid`.
pub fn id_prefix(pid: u32) -> String {
    format!("vsbx-{pid}-")
}

/// Directories under `root` (to `depth` levels) whose name starts with `prefix`.
fn find_dirs(root: &Path, prefix: &str, depth: usize, found: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(root) else {
        return;
    };
    for e in entries.flatten() {
        let Ok(ft) = e.file_type() else { continue };
        if !ft.is_dir() {
            continue;
        }
        let path = e.path();
        if e.file_name().to_string_lossy().starts_with(prefix) {
            found.push(path.clone());
        }
        if depth > 1 {
            find_dirs(&path, prefix, depth - 1, found);
        }
    }
}

/// Cgroup directories of the vsbx process `pid`, in every hierarchy.
/// The host mounts the pure cgroup v2 hierarchy at /sys/fs/cgroup (not v1 or a hybrid).
pub fn cgroup_v2_only() -> bool {
    fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .any(|l| l.split_whitespace().nth(4) == Some("/sys/fs/cgroup") && l.contains(" - cgroup2 "))
}

pub fn cgroup_dirs(pid: u32) -> Vec<PathBuf> {
    let mut found = Vec::new();
    find_dirs(Path::new("/sys/fs/cgroup"), &id_prefix(pid), 7, &mut found);
    found
}

/// State directories of the vsbx process `pid` under the sandbox's state roots (root's,
/// and each ordinary user's `vsbx-sandbox-<uid>`).
pub fn state_dirs(pid: u32) -> Vec<PathBuf> {
    let mut roots = Vec::new();
    find_dirs(
        &vsbx_sandbox::sandbox::scratch_base(),
        vsbx_sandbox::sandbox::STATE_DIR_NAME,
        1,
        &mut roots,
    );
    let mut found = Vec::new();
    for root in roots {
        find_dirs(&root, &id_prefix(pid), 1, &mut found);
    }
    found
}

/// Everything of the vsbx process `pid` still on the host: cgroups, state, temp dirs
/// (`vsbx-bundle-<pid>-*`, `vsbx-cmd-<pid>-*`), mounts, processes in its cgroups.
pub fn leftovers(pid: u32) -> Vec<String> {
    let mut left = Vec::new();
    for d in cgroup_dirs(pid) {
        left.push(format!("cgroup {}", d.display()));
    }
    for d in state_dirs(pid) {
        left.push(format!("state {}", d.display()));
    }
    let tmp = vsbx_sandbox::sandbox::scratch_base();
    for what in ["bundle", "cmd"] {
        let mut found = Vec::new();
        find_dirs(&tmp, &format!("vsbx-{what}-{pid}-"), 1, &mut found);
        for d in found {
            left.push(format!("temp dir {}", d.display()));
        }
    }
    let ids = id_prefix(pid);
    let bundle = format!("vsbx-bundle-{pid}-");
    for table in ["/proc/self/mountinfo", "/proc/1/mountinfo"] {
        for line in fs::read_to_string(table).unwrap_or_default().lines() {
            if line.contains(&bundle) || line.contains(&ids) {
                left.push(format!("mount in {table}: {line}"));
            }
        }
    }
    if let Ok(procs) = fs::read_dir("/proc") {
        for p in procs.flatten() {
            let name = p.file_name().to_string_lossy().into_owned();
            if !name.bytes().all(|b| b.is_ascii_digit()) {
                continue;
            }
            let cg = fs::read_to_string(p.path().join("cgroup")).unwrap_or_default();
            if cg.contains(&format!("/{ids}")) {
                let cmd = fs::read(p.path().join("cmdline")).unwrap_or_default();
                left.push(format!(
                    "process {name} ({}) in {}",
                    String::from_utf8_lossy(&cmd).replace('\0', " ").trim(),
                    cg.lines().find(|l| l.contains(&ids)).unwrap_or("")
                ));
            }
        }
    }
    left
}

/// The audit events of the run, as (event, id) pairs.
pub fn audit_events(run: &Run) -> Vec<(String, String)> {
    run.audit
        .iter()
        .map(|e| {
            (
                e["event"].as_str().unwrap_or("").to_owned(),
                e["id"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

/// Parses `NAME: RESULT` lines of the probe programs.
pub fn probe_results(out: &str) -> Vec<(String, String)> {
    out.lines()
        .filter_map(|l| l.split_once(": "))
        .map(|(a, b)| (a.trim().to_owned(), b.trim().to_owned()))
        .collect()
}

/// Checks a probe program's results against `expected` (name -> accepted results) and
/// lists every mismatch at once.
pub fn check_probes(run: &Run, expected: &[(&str, &[&str])]) {
    assert_eq!(
        run.code,
        Some(0),
        "the probe program failed\n{}",
        run.context()
    );
    let got = probe_results(&run.stdout_str());
    assert!(
        got.iter().any(|(n, r)| n == "probe" && r == "done"),
        "the probe program did not finish\n{}",
        run.context()
    );
    let mut wrong = Vec::new();
    for (name, accepted) in expected {
        match got.iter().find(|(n, _)| n == name) {
            Some((_, r)) if accepted.contains(&r.as_str()) => {}
            Some((_, r)) => wrong.push(format!("{name}: got {r}, expected one of {accepted:?}")),
            None => wrong.push(format!("{name}: not reported")),
        }
    }
    assert!(
        wrong.is_empty(),
        "probe results differ:\n  {}\n{}",
        wrong.join("\n  "),
        run.context()
    );
}

/// Writes `text` to `name` in a fresh temp dir that outlives the call (returned with it).
pub fn temp_file(name: &str, text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::Builder::new()
        .prefix("vsbx-clitest-in-")
        .tempdir()
        .expect("tempdir");
    let p = dir.path().join(name);
    fs::write(&p, text).expect("write temp file");
    (dir, p)
}

/// Removes what a failed run of the vsbx process `pid` left (so one failing test does not
/// leave the machine dirty): kills its processes, removes its cgroups (deepest first),
/// state dirs and temp dirs.
pub fn force_cleanup(pid: u32) {
    let ids = format!("/{}", id_prefix(pid));
    for _ in 0..50 {
        let mut alive = false;
        for p in fs::read_dir("/proc").into_iter().flatten().flatten() {
            let name = p.file_name().to_string_lossy().into_owned();
            let Ok(n) = name.parse::<i32>() else { continue };
            if fs::read_to_string(p.path().join("cgroup"))
                .unwrap_or_default()
                .contains(&ids)
            {
                alive = true;
                // SAFETY: kill has no memory arguments.
                unsafe { libc::kill(n, libc::SIGKILL) };
            }
        }
        if !alive {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut dirs = cgroup_dirs(pid);
    dirs.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
    for d in dirs {
        let _ = fs::remove_dir(&d);
    }
    for d in state_dirs(pid) {
        let _ = fs::remove_dir_all(&d);
    }
    let tmp = vsbx_sandbox::sandbox::scratch_base();
    for what in ["bundle", "cmd"] {
        let mut found = Vec::new();
        find_dirs(&tmp, &format!("vsbx-{what}-{pid}-"), 1, &mut found);
        for d in found {
            let _ = fs::remove_dir_all(&d);
        }
    }
}

/// An ordinary user the tests make (`useradd`), to run `vsbx` without root; with
/// `subordinate`, the user gets subordinate uid and gid ranges of 65536 ids from there.
pub struct TestUser {
    pub name: &'static str,
    pub uid: u32,
    pub gid: u32,
}

fn id_of(flag: &str, user: &str) -> Option<u32> {
    let out = Command::new("id").arg(flag).arg(user).output().ok()?;
    String::from_utf8_lossy(&out.stdout).trim().parse().ok()
}

/// Makes (once per test process) the user `name`, with exactly the subordinate ranges asked
/// for: its lines in /etc/subuid and /etc/subgid are rewritten.
pub fn test_user(name: &'static str, subordinate: Option<u32>) -> &'static TestUser {
    static USERS: std::sync::Mutex<Vec<&'static TestUser>> = std::sync::Mutex::new(Vec::new());
    let mut users = USERS.lock().unwrap();
    if let Some(u) = users.iter().find(|u| u.name == name) {
        return u;
    }
    if id_of("-u", name).is_none() {
        let st = Command::new("useradd")
            .args([
                "-M",
                "-s",
                "/bin/sh",
                "-K",
                "SUB_UID_COUNT=0",
                "-K",
                "SUB_GID_COUNT=0",
                name,
            ])
            .status()
            .expect("useradd");
        // Another test process may have made it meanwhile.
        assert!(
            st.success() || id_of("-u", name).is_some(),
            "useradd {name}"
        );
    }
    for file in ["/etc/subuid", "/etc/subgid"] {
        let text = fs::read_to_string(file).unwrap_or_default();
        let mut lines: Vec<String> = text
            .lines()
            .filter(|l| l.split(':').next() != Some(name))
            .map(str::to_string)
            .collect();
        if let Some(start) = subordinate {
            lines.push(format!("{name}:{start}:65536"));
        }
        let mut new = lines.join("\n");
        new.push('\n');
        if new != text {
            fs::write(file, new).unwrap_or_else(|e| panic!("writing {file}: {e}"));
        }
    }
    let user: &'static TestUser = Box::leak(Box::new(TestUser {
        name,
        uid: id_of("-u", name).expect("uid"),
        gid: id_of("-g", name).expect("gid"),
    }));
    users.push(user);
    user
}

/// A cgroup subtree delegated to a test user as systemd delegates one to each user's
/// services: made by root and chowned to the user; removed on drop. On cgroup v1 the
/// user's process sits in the delegated directory of each hierarchy (a container goes
/// below it); on v2 in its `leaf`, and containers go beside that, in the delegated parent.
pub struct Delegated {
    /// The delegated directories, one per hierarchy (v2: one).
    dirs: Vec<PathBuf>,
    /// The cgroup.procs files the process enters.
    procs: Vec<PathBuf>,
}

impl Delegated {
    pub fn new(user: &TestUser, tag: &str) -> Delegated {
        let name = format!("vsbx-deleg-{}-{tag}", std::process::id());
        let chown = |p: &Path, recursive: bool| {
            let mut c = Command::new("chown");
            if recursive {
                c.arg("-R");
            }
            let st = c
                .arg(format!("{}:{}", user.uid, user.gid))
                .arg(p)
                .status()
                .unwrap();
            assert!(st.success(), "chown {}", p.display());
        };
        let own = fs::read_to_string("/proc/self/cgroup").unwrap();
        let unified = cgroup_v2_only();
        let mut dirs = Vec::new();
        let mut procs = Vec::new();
        if unified {
            let root = Path::new("/sys/fs/cgroup");
            let _ = fs::write(root.join("cgroup.subtree_control"), "+memory +pids +cpu");
            let dir = root.join(&name);
            let leaf = dir.join("leaf");
            fs::create_dir_all(&leaf).unwrap();
            for p in [&dir, &leaf] {
                chown(p, false);
                for f in ["cgroup.procs", "cgroup.subtree_control", "cgroup.threads"] {
                    chown(&p.join(f), false);
                }
            }
            procs.push(leaf.join("cgroup.procs"));
            dirs.push(dir);
        } else {
            // Every v1 hierarchy a container with memory, pids and CPU limits uses.
            for line in own.lines() {
                let mut f = line.splitn(3, ':');
                let (_, controllers, path) =
                    (f.next(), f.next().unwrap_or(""), f.next().unwrap_or(""));
                let wanted = ["memory", "pids", "cpu", "cpuacct", "devices", "freezer"];
                let Some(c) = controllers.split(',').find(|c| wanted.contains(c)) else {
                    continue;
                };
                let mount = Path::new("/sys/fs/cgroup").join(c);
                let dir = mount.join(path.trim_start_matches('/')).join(&name);
                fs::create_dir_all(&dir).unwrap();
                chown(&dir, true);
                procs.push(dir.join("cgroup.procs"));
                dirs.push(dir);
            }
        }
        Delegated { dirs, procs }
    }

    /// Shell commands that move the shell running them into the subtree.
    fn enter_script(&self) -> String {
        self.procs
            .iter()
            .map(|p| format!("echo $$ > '{}' || exit 99; ", p.display()))
            .collect()
    }
}

impl Drop for Delegated {
    fn drop(&mut self) {
        for dir in &self.dirs {
            let _ = fs::remove_dir(dir.join("leaf"));
            let _ = fs::remove_dir(dir);
        }
    }
}
