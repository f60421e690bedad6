//! Runs one OCI bundle through the runtime library in this process: the container's
//! stdout and stderr come back on pipes (streamed live, counted, capped), the wall
//! clock is enforced by killing the whole cgroup, and usage is read from the cgroup
//! before it is removed. The process must be single-threaded (the runtime clones).

use std::fs::File;
use std::io::Write;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use nix::sys::wait::WaitStatus;
use vsbx_runtime::container::CreateOptions;
use vsbx_runtime::state::Root;
use vsbx_runtime::Container;

use crate::escape::EscapeFilter;
use crate::outdir::check_container_dir;
use crate::report::{LimitHit, Outcome, Report, StreamStats};
use crate::usage::Sampler;
use crate::Error;

/// How to run a bundle.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub bundle: PathBuf,
    pub id: String,
    /// Runtime state directory.
    pub root: PathBuf,
    pub timeout: Option<Duration>,
    /// File to feed on stdin (default: /dev/null).
    pub stdin: Option<PathBuf>,
    /// Bytes kept per stream; the rest is counted and dropped.
    pub output_cap: u64,
    /// Copy the program's output to our stdout/stderr as it comes.
    pub stream: bool,
    /// Sample the cgroup this often (peak pids, monitor file).
    pub sample_every: Duration,
    /// A signalfd for the signals that stop the whole run (see `interrupts`); when it
    /// becomes readable the container is killed and the run ends as `Interrupted`.
    pub interrupt: Option<RawFd>,
    /// Echo the program's output as it is, even to a terminal (see `escape`).
    pub raw_output: bool,
    /// A directory of the container (e.g. "/output") to keep an fd of, taken before the
    /// program starts; returned in `RunResult::kept_dir`, valid after the container is gone.
    pub keep_dir: Option<String>,
}

/// The result of a run: the report, the kept output, and the usage samples.
pub struct RunResult {
    pub report: Report,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub samples: Vec<crate::usage::Sample>,
    /// See `RunOptions::keep_dir`.
    pub kept_dir: Option<OwnedFd>,
}

fn pipe() -> Result<(OwnedFd, OwnedFd), Error> {
    let mut fds = [0 as RawFd; 2];
    // SAFETY: fds is a valid array for pipe2 to fill.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(Error::Io("pipe".into(), std::io::Error::last_os_error()));
    }
    // SAFETY: fresh descriptors owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// One output stream being collected.
struct Collector {
    fd: Option<OwnedFd>,
    kept: Vec<u8>,
    stats: StreamStats,
    cap: u64,
    echo: Option<RawFd>,
    /// Set when `echo` is a terminal: escape sequences are shown, not sent.
    filter: Option<EscapeFilter>,
}

impl Collector {
    /// Reads what is available; false once the stream is closed.
    fn pump(&mut self) -> bool {
        let Some(fd) = &self.fd else { return false };
        let mut buf = [0u8; 16384];
        // SAFETY: reads into a live buffer of buf.len() bytes.
        let n = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        if n < 0 {
            let e = std::io::Error::last_os_error();
            if matches!(e.raw_os_error(), Some(libc::EAGAIN) | Some(libc::EINTR)) {
                return true;
            }
        }
        if n <= 0 {
            self.fd = None;
            return false;
        }
        let chunk = &buf[..n as usize];
        self.stats.bytes += chunk.len() as u64;
        let room = self.cap.saturating_sub(self.kept.len() as u64) as usize;
        let take = room.min(chunk.len());
        if take < chunk.len() {
            self.stats.truncated = true;
        }
        self.kept.extend_from_slice(&chunk[..take]);
        if take > 0 {
            let shown = match &mut self.filter {
                Some(f) => f.push(&chunk[..take]),
                None => chunk[..take].to_vec(),
            };
            self.echo_bytes(&shown);
        }
        true
    }

    fn echo_bytes(&self, bytes: &[u8]) {
        if let (Some(out), false) = (self.echo, bytes.is_empty()) {
            // SAFETY: borrowing our own stdout/stderr for one write.
            let mut f = std::mem::ManuallyDrop::new(unsafe { File::from_raw_fd(out) });
            let _ = f.write_all(bytes);
        }
    }

    /// Echoes what the filter still holds back (the stream has ended).
    fn finish(&mut self) {
        if let Some(mut f) = self.filter.take() {
            let rest = f.finish();
            self.echo_bytes(&rest);
        }
    }

    fn new(fd: OwnedFd, cap: u64, echo: Option<RawFd>, raw: bool) -> Collector {
        // SAFETY: isatty only inspects the descriptor.
        let tty = echo.is_some_and(|e| unsafe { libc::isatty(e) } == 1);
        Collector {
            fd: Some(fd),
            kept: Vec::new(),
            stats: StreamStats::default(),
            cap,
            echo,
            filter: (tty && !raw).then(EscapeFilter::default),
        }
    }
}

fn set_nonblocking(fd: &OwnedFd) {
    // SAFETY: fcntl on an fd we own.
    unsafe {
        let fl = libc::fcntl(fd.as_raw_fd(), libc::F_GETFL);
        libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, fl | libc::O_NONBLOCK);
    }
}

/// The program's stdin for `--stdin FILE`: a copy of the file in a memfd, never the file
/// itself. A program can reopen its stdin through /proc/self/fd/0 (and chmod or chown it
/// there), with its own rights on the inode, not those of the read-only descriptor; for an
/// ordinary user without subordinate ranges the sandbox user is the caller on the host,
/// the owner of the file, and could rewrite it. The copy is sealed against writes.
fn private_copy(mut file: File) -> Result<File, Error> {
    use nix::fcntl::{fcntl, FcntlArg, SealFlag};
    use nix::sys::memfd::{memfd_create, MemFdCreateFlag};
    let io = |e| Error::Io("copying --stdin".into(), e);
    let fd = memfd_create(
        c"vsbx-stdin",
        MemFdCreateFlag::MFD_CLOEXEC | MemFdCreateFlag::MFD_ALLOW_SEALING,
    )
    .map_err(|e| io(e.into()))?;
    let mut copy = File::from(fd);
    std::io::copy(&mut file, &mut copy).map_err(io)?;
    std::io::Seek::rewind(&mut copy).map_err(io)?;
    // Sealed: a program that reopens it writable can neither change it nor grow it (memory
    // no cgroup would count when the run has none).
    let seals = SealFlag::F_SEAL_SEAL
        | SealFlag::F_SEAL_GROW
        | SealFlag::F_SEAL_SHRINK
        | SealFlag::F_SEAL_FUTURE_WRITE;
    fcntl(copy.as_raw_fd(), FcntlArg::F_ADD_SEALS(seals)).map_err(|e| io(e.into()))?;
    Ok(copy)
}

/// Runs the bundle to completion (or timeout) and removes the container.
pub fn run_bundle(o: &RunOptions) -> Result<RunResult, Error> {
    let root = Root::new(o.root.clone());
    root.ensure().map_err(Error::Runtime)?;
    let stdin = match &o.stdin {
        Some(p) => private_copy(
            vsbx_bundle_gen::open_input(p).map_err(|e| Error::Invalid(format!("--stdin: {e}")))?,
        )?,
        None => File::open("/dev/null").map_err(|e| Error::Io("/dev/null".into(), e))?,
    };
    let (out_r, out_w) = pipe()?;
    let (err_r, err_w) = pipe()?;
    let opts = CreateOptions {
        id: o.id.clone(),
        bundle: o.bundle.clone(),
        no_new_keyring: false,
        stdio: Some([stdin.as_raw_fd(), out_w.as_raw_fd(), err_w.as_raw_fd()]),
        keep_dirs: o.keep_dir.iter().map(PathBuf::from).collect(),
        ..Default::default()
    };
    let started = Instant::now();
    // Dropped on any early return: that destroys the container.
    let mut c = Container::create(&root, &opts).map_err(Error::Runtime)?;
    drop((stdin, out_w, err_w));
    // The init opened it in the container (a caller without root may not look it up
    // through /proc/PID/root); it must be the run's own size-limited tmpfs.
    let kept_dir = match c.take_kept().pop() {
        Some(fd) => Some(check_container_dir(
            fd,
            o.keep_dir.as_deref().unwrap_or_default(),
        )?),
        None => None,
    };
    c.start().map_err(Error::Runtime)?;
    let pidfd = c.take_pidfd();
    let mut sampler = Sampler::new();

    set_nonblocking(&out_r);
    set_nonblocking(&err_r);
    let mut out = Collector::new(out_r, o.output_cap, o.stream.then_some(1), o.raw_output);
    let mut err = Collector::new(err_r, o.output_cap, o.stream.then_some(2), o.raw_output);

    let deadline = o.timeout.map(|t| started + t);
    let mut timed_out = false;
    let mut interrupted = false;
    let mut next_sample = Instant::now();
    let exit = loop {
        if Instant::now() >= next_sample {
            sampler.sample(&c, started.elapsed());
            next_sample = Instant::now() + o.sample_every;
        }
        if let Some(d) = deadline {
            if !timed_out && Instant::now() >= d {
                timed_out = true;
                c.kill_all();
            }
        }
        let mut fds: Vec<libc::pollfd> = Vec::with_capacity(3);
        for c in [&out, &err] {
            if let Some(fd) = &c.fd {
                fds.push(libc::pollfd {
                    fd: fd.as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                });
            }
        }
        if let Some(p) = &pidfd {
            fds.push(libc::pollfd {
                fd: p.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            });
        }
        if let Some(fd) = o.interrupt.filter(|_| !interrupted) {
            fds.push(libc::pollfd {
                fd,
                events: libc::POLLIN,
                revents: 0,
            });
        }
        let mut wait_ms = o.sample_every.as_millis().clamp(1, 1000) as i32;
        if let Some(d) = deadline.filter(|_| !timed_out) {
            wait_ms =
                wait_ms.min(d.saturating_duration_since(Instant::now()).as_millis() as i32 + 1);
        }
        // SAFETY: fds is a live array of fds.len() pollfds.
        unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, wait_ms) };
        if fds
            .iter()
            .any(|p| Some(p.fd) == o.interrupt && p.revents != 0)
        {
            interrupted = true;
            c.kill_all();
        }
        out.pump();
        err.pump();
        if let Some(exit) = c.try_wait().map_err(Error::Runtime)? {
            break exit;
        }
    };
    let wall = started.elapsed();
    // The init is gone, so is its pid namespace; drain what is left in the pipes.
    let drain_until = Instant::now() + Duration::from_millis(200);
    while (out.fd.is_some() || err.fd.is_some()) && Instant::now() < drain_until {
        let a = out.pump();
        let b = err.pump();
        if a || b {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    out.finish();
    err.finish();
    sampler.sample(&c, wall);
    let mut usage = c.usage();
    if !c.has_cgroup() {
        // No cgroup: what the kernel kept for the init, which as pid 1 of its namespace
        // reaped every other process of the run. Peak memory is then that of the largest
        // single process, not of all of them together.
        usage.cpu_user_ms = exit.user_ms;
        usage.cpu_system_ms = exit.system_ms;
        usage.peak_memory_bytes = exit.max_rss_bytes;
    }
    let ooms = c.oom_kills();
    let cgroup_hits = c.limits_hit();
    c.destroy().map_err(Error::Runtime)?;

    let (exit_code, signal) = match exit.status {
        WaitStatus::Exited(_, code) => (Some(code), None),
        WaitStatus::Signaled(_, s, _) => (None, Some(s as i32)),
        _ => (None, None),
    };
    let outcome = if interrupted {
        Outcome::Interrupted
    } else if timed_out {
        Outcome::Timeout
    } else if signal == Some(libc::SIGSYS) {
        Outcome::PolicyViolation
    } else if ooms > 0 && (signal == Some(libc::SIGKILL) || exit_code == Some(137)) {
        Outcome::OomKilled
    } else if signal.is_some() {
        Outcome::KilledBySignal
    } else if exit_code == Some(0) {
        Outcome::Ok
    } else if ooms > 0 {
        Outcome::OomKilled
    } else {
        Outcome::ExitNonzero
    };
    let mut report = Report {
        id: o.id.clone(),
        status: outcome,
        exit_code,
        signal,
        wall_ms: wall.as_millis() as u64,
        cpu_user_ms: usage.cpu_user_ms,
        cpu_system_ms: usage.cpu_system_ms,
        peak_memory_bytes: usage.peak_memory_bytes,
        peak_pids: sampler.peak_pids().max(1),
        stdout: out.stats,
        stderr: err.stats,
        timeout_ms: o.timeout.map(|t| t.as_millis() as u64),
        host_uid: None,
        output: None,
        limits_hit: Vec::new(),
        enforcement: Vec::new(),
    };
    for (hit, reached) in [
        (LimitHit::Timeout, timed_out && !interrupted),
        (LimitHit::Memory, cgroup_hits.memory || ooms > 0),
        (LimitHit::Pids, cgroup_hits.pids),
        (
            LimitHit::Cpu,
            cgroup_hits.cpu || signal == Some(libc::SIGXCPU),
        ),
        (LimitHit::FileSize, signal == Some(libc::SIGXFSZ)),
        (LimitHit::StdoutCap, report.stdout.truncated),
        (LimitHit::StderrCap, report.stderr.truncated),
    ] {
        if reached {
            report.add_limit_hit(hit);
        }
    }
    Ok(RunResult {
        report,
        stdout: out.kept,
        stderr: err.kept,
        samples: sampler.into_samples(),
        kept_dir,
    })
}
