//! Pieces shared by the attack tests of the mount/procfs CVE family: a host kernel knob that an
//! attack tries to write (saved, locked and restored), installing an exploit into a rootfs, a
//! container's mount table as the host reads it, and a bounded race loop.

use crate::exploit;
use std::fs::{self, File};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A harmless, host-wide (not namespaced) sysctl that stands in for `core_pattern` in the
/// published attacks: how many more hung-task warnings the kernel will log. Nothing on this
/// machine depends on it, and [`HostKnob`] puts the value back. (Not fs.lease-break-time, which
/// other suites of this crate use: two suites racing on one knob would see each other's writes.)
pub const HOST_KNOB: &str = "/proc/sys/kernel/hung_task_warnings";

/// [`HOST_KNOB`] relative to a procfs mount point.
pub const HOST_KNOB_IN_PROC: &str = "sys/kernel/hung_task_warnings";

/// A host knob held for the length of a test: an exclusive lock (a file lock, so that test
/// binaries running at the same time take turns), the value it had, and a value the attack
/// writes that differs from it. Dropping it restores the saved value.
pub struct HostKnob {
    path: PathBuf,
    saved: String,
    _lock: File,
}

impl HostKnob {
    #[track_caller]
    pub fn hold(path: &str) -> HostKnob {
        let lock = File::create("/run/vsbx-security-knob.lock").expect("create the knob lock");
        // SAFETY: flock on a file we own; blocks until other test processes release it.
        let rc = unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) };
        assert_eq!(rc, 0, "flock the knob lock");
        let saved = fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("read {path}: {e}"))
            .trim()
            .to_string();
        HostKnob {
            path: PathBuf::from(path),
            saved,
            _lock: lock,
        }
    }

    /// The value the host had before the test.
    pub fn saved(&self) -> &str {
        &self.saved
    }

    /// A value for the attack to write: an integer the knob does not hold now.
    pub fn attack_value(&self) -> String {
        let cur: i64 = self.saved.parse().unwrap_or(45);
        (cur + 1000 + i64::from(std::process::id() % 1000) + 1).to_string()
    }

    /// The value the host has now.
    pub fn now(&self) -> String {
        fs::read_to_string(&self.path)
            .unwrap_or_default()
            .trim()
            .to_string()
    }
}

impl Drop for HostKnob {
    fn drop(&mut self) {
        if self.now() != self.saved {
            let _ = fs::write(&self.path, &self.saved);
        }
    }
}

/// Copies the built exploit `name` into `rootfs` as `/<name>` (mode 0755); returns the path
/// inside the container.
pub fn install(rootfs: &Path, name: &str) -> String {
    let bin = exploit(name);
    let dst = rootfs.join(name);
    fs::copy(&bin, &dst).unwrap_or_else(|e| panic!("copy {name} into the rootfs: {e}"));
    fs::set_permissions(&dst, fs::Permissions::from_mode(0o755)).expect("chmod the exploit");
    format!("/{name}")
}

/// The mount table of process `pid` as the host reads it (`/proc/PID/mountinfo`); mount points
/// are relative to that process's root. Empty when the process is gone.
pub fn mounts_of(pid: i32) -> Vec<crate::MountInfo> {
    fs::read_to_string(format!("/proc/{pid}/mountinfo"))
        .map(|t| crate::parse_mountinfo(&t))
        .unwrap_or_default()
}

/// A bound for race loops: at most `max` rounds and at most `limit` of wall time.
pub struct Rounds {
    left: u32,
    deadline: Instant,
}

impl Rounds {
    pub fn new(max: u32, limit: Duration) -> Rounds {
        Rounds {
            left: max,
            deadline: Instant::now() + limit,
        }
    }
}

impl Iterator for Rounds {
    type Item = u32;
    fn next(&mut self) -> Option<u32> {
        if self.left == 0 || Instant::now() >= self.deadline {
            return None;
        }
        self.left -= 1;
        Some(self.left)
    }
}

/// Lines of `text` that start with `prefix`, without it.
pub fn lines_with<'a>(text: &'a str, prefix: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    text.lines().filter_map(move |l| l.strip_prefix(prefix))
}

/// What a run of the `cve_2019_16884` procfs probe showed (see that file): the container's
/// stdout and the lines that count as a successful attack.
pub struct ProcProbe {
    pub out: crate::Outcome,
    /// What the probe printed.
    pub stdout: String,
    /// `unmasked ...` and `wrote ...` lines.
    pub breaches: Vec<String>,
    /// Whether the container saw a real procfs on a real directory at /proc.
    pub proc_is_real: bool,
}

/// Runs `bundle` (whose process is set here to the procfs probe over `candidates`) attached
/// and reads what the probe reported. The probe tries to write `value` into
/// [`HOST_KNOB`] through every procfs it finds.
#[track_caller]
pub fn run_proc_probe(
    rt: &crate::Runtime,
    id: &str,
    bundle: &mut crate::Bundle,
    value: &str,
    candidates: &[&str],
) -> ProcProbe {
    let probe = install(&bundle.rootfs(), "cve_2019_16884");
    let mut args = vec![probe.as_str(), value, HOST_KNOB_IN_PROC];
    args.extend_from_slice(candidates);
    let (out, stdout) = run_logged(rt, id, bundle, &args);
    let breaches = stdout
        .lines()
        .filter(|l| l.starts_with("unmasked ") || l.starts_with("wrote "))
        .map(str::to_string)
        .collect();
    let proc_is_real = stdout.lines().any(|l| l == "path /proc kind=dir procfs=1");
    ProcProbe {
        out,
        stdout,
        breaches,
        proc_is_real,
    }
}

/// Runs `bundle` attached with `args` as the process, its stdout and stderr sent to a file in
/// the bundle's `/out` volume (some attacks leave the runtime's stdio plumbing broken, e.g. a
/// /dev/null that is a symlink); returns the outcome and what the program wrote ("" when it
/// never ran).
#[track_caller]
pub fn run_logged(
    rt: &crate::Runtime,
    id: &str,
    bundle: &mut crate::Bundle,
    args: &[&str],
) -> (crate::Outcome, String) {
    let out = bundle.out_dir();
    let log = out.join("log");
    let _ = fs::remove_file(&log);
    let quoted: Vec<String> = args.iter().map(|a| format!("'{a}'")).collect();
    bundle.sh(&format!("exec {} > /out/log 2>&1", quoted.join(" ")));
    let outcome = rt.run(id, bundle, &[]);
    let text = fs::read_to_string(&log).unwrap_or_default();
    (outcome, text)
}

#[track_caller]
/// What an image whose /proc is a symlink may lead to: a clean refusal (the attack program
/// never ran), or a container whose /proc is the real, protected procfs; never a changed host
/// knob.
pub fn assert_refused_or_harmless(knob: &HostKnob, probe: &ProcProbe) {
    assert_eq!(
        knob.now(),
        knob.saved(),
        "the container changed the host's {HOST_KNOB}: {}",
        probe.out
    );
    if !probe.out.ok() {
        assert!(
            !probe.stdout.contains("path "),
            "the runtime failed but the attack program ran: {}",
            probe.out
        );
        return;
    }
    assert!(
        probe.breaches.is_empty(),
        "the container got around the procfs protections: {:?}\n{}",
        probe.breaches,
        probe.stdout
    );
    assert!(
        probe.proc_is_real,
        "the runtime accepted an image whose /proc is a symlink: {}\n{}",
        probe.out, probe.stdout
    );
}
