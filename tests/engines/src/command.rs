//! Running engine commands with a timeout; stdout/stderr go to files (a daemonized grandchild
//! such as conmon or a shim may keep a pipe open long after the command itself exits).

use crate::TIMEOUT;
use std::ffi::OsStr;
use std::fmt;
use std::fs::{self, File};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread::sleep;
use std::time::{Duration, Instant};

/// What a finished command did.
#[derive(Clone)]
pub struct Out {
    /// The command line, for messages (and for the bug reports about vsbx failures).
    pub cmd: String,
    /// Exit code; 128+N when killed by signal N; -1 when it timed out.
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    pub fn ok(&self) -> bool {
        self.code == 0
    }

    /// `Ok(self)` when the command exited 0, else an error naming the command and its output.
    pub fn check(self) -> Result<Out, String> {
        if self.ok() {
            Ok(self)
        } else {
            Err(format!("command failed: {self}"))
        }
    }

    /// stdout with `\r` removed (tty output) and surrounding whitespace trimmed.
    pub fn text(&self) -> String {
        self.stdout.replace('\r', "").trim().to_string()
    }
}

impl fmt::Display for Out {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` exited {}\n--- stdout\n{}\n--- stderr\n{}",
            self.cmd,
            self.code,
            self.stdout.trim_end(),
            self.stderr.trim_end()
        )
    }
}

/// The command line of `cmd`, shell-quoted where needed, with its environment overrides.
pub fn cmdline(cmd: &Command) -> String {
    let mut parts: Vec<String> = cmd
        .get_envs()
        .filter_map(|(k, v)| v.map(|v| format!("{}={}", k.to_string_lossy(), quote(v))))
        .collect();
    parts.push(quote(cmd.get_program()));
    parts.extend(cmd.get_args().map(quote));
    parts.join(" ")
}

fn quote(s: &OsStr) -> String {
    let s = s.to_string_lossy();
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c))
    {
        s.into_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

fn out_path(kind: &str) -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let n = N.fetch_add(1, Ordering::SeqCst);
    std::env::temp_dir().join(format!("vsbx-eng-out-{}-{n}.{kind}", std::process::id()))
}

/// Runs `cmd` to completion (stdin /dev/null), killing it after [`TIMEOUT`].
pub fn run(cmd: &mut Command) -> Out {
    run_with_timeout(cmd, TIMEOUT)
}

pub fn run_with_timeout(cmd: &mut Command, timeout: Duration) -> Out {
    spawn_and_wait(cmd, timeout, Stdio::null())
}

fn spawn_and_wait(cmd: &mut Command, timeout: Duration, stdin: Stdio) -> Out {
    let line = cmdline(cmd);
    let (op, ep) = (out_path("out"), out_path("err"));
    let stdout = File::create(&op).expect("create stdout file");
    let stderr = File::create(&ep).expect("create stderr file");
    cmd.stdin(stdin).stdout(stdout).stderr(stderr);
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            return Out {
                cmd: line,
                code: 127,
                stdout: String::new(),
                stderr: format!("spawn: {e}"),
            }
        }
    };
    let start = Instant::now();
    let code = loop {
        match child.try_wait() {
            Ok(Some(status)) => {
                use std::os::unix::process::ExitStatusExt;
                break status
                    .code()
                    .unwrap_or_else(|| 128 + status.signal().unwrap_or(0));
            }
            Ok(None) if start.elapsed() > timeout => {
                let _ = child.kill();
                let _ = child.wait();
                break -1;
            }
            Ok(None) => sleep(Duration::from_millis(10)),
            Err(e) => panic!("wait for `{line}`: {e}"),
        }
    };
    let read = |p: &PathBuf| {
        let s = String::from_utf8_lossy(&fs::read(p).unwrap_or_default()).into_owned();
        let _ = fs::remove_file(p);
        s
    };
    let mut out = Out {
        cmd: line,
        code,
        stdout: read(&op),
        stderr: read(&ep),
    };
    if code == -1 {
        out.stderr
            .push_str(&format!("\n(timed out after {timeout:?})"));
    }
    out
}

/// Runs `cmd` with a pseudo-terminal as its stdin/stdout/stderr, through util-linux
/// `script -qec CMD /dev/null` (which exits with the command's exit code). The output is what
/// the terminal showed (with `\r\n` line ends).
pub fn run_tty(cmd: &Command) -> Out {
    let line = cmdline(cmd);
    let mut script = Command::new("script");
    script.args(["-qec", &line, "/dev/null"]);
    // stdin is a pipe held open (and never written) until script exits: at EOF on its stdin,
    // script would type ^D into the terminal.
    let mut out = spawn_and_wait(&mut script, TIMEOUT, Stdio::piped());
    out.cmd = format!("script -qec {} /dev/null", quote(OsStr::new(&line)));
    out
}

/// `Ok(out)` when the command exited `code`, else an error naming the command and its output.
pub fn want(out: Out, code: i32) -> Result<Out, String> {
    if out.code == code {
        Ok(out)
    } else {
        Err(format!("expected exit {code}: {out}"))
    }
}

/// Like [`want`] for several independent commands: every mismatch is reported, not the first.
pub fn want_all(outs: Vec<(Out, i32)>) -> Result<(), String> {
    let errors: Vec<String> = outs
        .into_iter()
        .filter(|(out, code)| out.code != *code)
        .map(|(out, code)| format!("expected exit {code}: {out}"))
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.join("\n"))
    }
}
