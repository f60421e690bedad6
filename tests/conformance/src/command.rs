//! Running commands with a timeout, stdout/stderr in files, and what they did ([`Outcome`]).

use crate::{POLL, TIMEOUT};
use std::fs::{self, File};
use std::io;
use std::os::unix::io::{AsRawFd, RawFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// What a finished command did.
pub struct Outcome {
    /// The command line, for messages.
    pub cmd: String,
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
    stdout_path: PathBuf,
    stderr_path: PathBuf,
}

impl Outcome {
    pub fn ok(&self) -> bool {
        self.status.success()
    }

    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }

    /// The stdout file read again: a container started by `create`/`run -d` inherited it and may
    /// have written to it after the runtime exited.
    pub fn stdout_now(&self) -> String {
        fs::read_to_string(&self.stdout_path).unwrap_or_default()
    }

    pub fn stderr_now(&self) -> String {
        fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    #[track_caller]
    pub fn assert_ok(&self) -> &Self {
        assert!(self.ok(), "expected success: {self}");
        self
    }

    /// The command exited (not killed by a signal) with a non-zero code.
    #[track_caller]
    pub fn assert_failed(&self) -> &Self {
        match self.code() {
            Some(c) if c != 0 => self,
            _ => panic!("expected a non-zero exit: {self}"),
        }
    }

    /// Failed with exit code 1 (runc's code for every command error) and one line of error
    /// on stderr that contains `needle` (case-insensitive).
    #[track_caller]
    pub fn assert_error(&self, needle: &str) -> &Self {
        assert_eq!(self.code(), Some(1), "expected exit 1: {self}");
        self.assert_one_line_error();
        assert!(
            self.stderr.to_lowercase().contains(&needle.to_lowercase()),
            "stderr should mention {needle:?}: {self}"
        );
        self
    }

    /// stderr holds exactly one non-empty line.
    #[track_caller]
    pub fn assert_one_line_error(&self) -> &Self {
        let lines: Vec<&str> = self
            .stderr
            .lines()
            .filter(|l| !l.trim().is_empty())
            .collect();
        assert_eq!(lines.len(), 1, "expected a one-line error: {self}");
        self
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "`{}` -> {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.cmd, self.status, self.stdout, self.stderr
        )
    }
}

impl std::fmt::Debug for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

/// A command running in the background; its stdout/stderr go to files.
pub struct Spawned {
    pub(crate) child: Child,
    cmd: String,
    stdout_path: PathBuf,
    stderr_path: PathBuf,
}

impl Spawned {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for the command to exit; kills it and fails the test after `timeout`.
    #[track_caller]
    pub fn wait(mut self, timeout: Duration) -> Outcome {
        let deadline = Instant::now() + timeout;
        let status = loop {
            match self.child.try_wait().expect("wait for child") {
                Some(status) => break status,
                None if Instant::now() >= deadline => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    panic!(
                        "`{}` did not finish within {timeout:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
                        self.cmd,
                        fs::read_to_string(&self.stdout_path).unwrap_or_default(),
                        fs::read_to_string(&self.stderr_path).unwrap_or_default()
                    );
                }
                None => std::thread::sleep(POLL),
            }
        };
        Outcome {
            cmd: self.cmd.clone(),
            status,
            stdout: fs::read_to_string(&self.stdout_path).unwrap_or_default(),
            stderr: fs::read_to_string(&self.stderr_path).unwrap_or_default(),
            stdout_path: self.stdout_path.clone(),
            stderr_path: self.stderr_path.clone(),
        }
    }
}

fn describe(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

/// Starts `cmd` with stdin from /dev/null and stdout/stderr to fresh files in `io_dir`.
pub fn spawn_logged(cmd: &mut Command, io_dir: &Path, label: &str) -> Spawned {
    static N: AtomicU32 = AtomicU32::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let stdout_path = io_dir.join(format!("{label}-{n}.out"));
    let stderr_path = io_dir.join(format!("{label}-{n}.err"));
    cmd.stdin(Stdio::null())
        .stdout(File::create(&stdout_path).expect("create stdout file"))
        .stderr(File::create(&stderr_path).expect("create stderr file"));
    let desc = describe(cmd);
    let child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("spawn `{desc}`: {e}"));
    Spawned {
        child,
        cmd: desc,
        stdout_path,
        stderr_path,
    }
}

/// Runs `cmd` to completion (see [`spawn_logged`]) with [`TIMEOUT`].
#[track_caller]
pub fn run_with_timeout(cmd: &mut Command, io_dir: &Path, label: &str) -> Outcome {
    spawn_logged(cmd, io_dir, label).wait(TIMEOUT)
}

/// Gives the runtime process `file` as fd `target` (for --preserve-fds): dup2 in the child
/// clears close-on-exec on the target.
pub fn pass_fd(cmd: &mut Command, file: File, target: RawFd) {
    let fd = file.as_raw_fd();
    // Keep the file open until the command is spawned: leak it into the closure.
    let file = std::sync::Mutex::new(Some(file));
    // SAFETY: dup2 is async-signal-safe; the closure touches nothing else.
    unsafe {
        cmd.pre_exec(move || {
            let _keep = &file;
            let r = if fd == target {
                // dup2 onto itself is a no-op that keeps FD_CLOEXEC: clear it by hand.
                libc::fcntl(fd, libc::F_SETFD, 0)
            } else {
                libc::dup2(fd, target)
            };
            if r < 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
}
