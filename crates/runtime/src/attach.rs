//! The attached `run`: the runtime stays the init's parent, forwards signals to it,
//! proxies the terminal when it owns one, and returns the exit code.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use crate::error::{Context, Error, Result};

/// Signals the runtime passes on to the container (as runc does), plus SIGCHLD.
const FORWARDED: &[Signal] = &[
    Signal::SIGHUP,
    Signal::SIGINT,
    Signal::SIGQUIT,
    Signal::SIGTERM,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
    Signal::SIGWINCH,
    Signal::SIGPIPE,
    Signal::SIGALRM,
    Signal::SIGCONT,
    Signal::SIGTSTP,
    Signal::SIGTTIN,
    Signal::SIGTTOU,
];

/// Blocks the forwarded signals (the init resets its own mask) so they queue for the
/// signalfd instead of killing the runtime.
pub fn block_signals() -> Result<SigSet> {
    let mut set = SigSet::empty();
    for s in FORWARDED {
        set.add(*s);
    }
    set.add(Signal::SIGCHLD);
    set.thread_block().ctx(|| "blocking signals".into())?;
    Ok(set)
}

/// Puts the caller's terminal (stdin) in raw mode while alive; restores it on drop.
struct RawMode {
    saved: Option<nix::sys::termios::Termios>,
}

impl RawMode {
    fn enter() -> RawMode {
        let stdin = rustix::stdio::stdin();
        let saved = nix::sys::termios::tcgetattr(stdin).ok();
        if let Some(t) = &saved {
            let mut raw = t.clone();
            nix::sys::termios::cfmakeraw(&mut raw);
            let _ = nix::sys::termios::tcsetattr(stdin, nix::sys::termios::SetArg::TCSANOW, &raw);
        }
        RawMode { saved }
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        if let Some(t) = &self.saved {
            let stdin = rustix::stdio::stdin();
            let _ = nix::sys::termios::tcsetattr(stdin, nix::sys::termios::SetArg::TCSANOW, t);
        }
    }
}

/// Copies what one read of `from` gives to `to`; false at EOF or on an error.
fn copy_once(from: BorrowedFd<'_>, to: BorrowedFd<'_>) -> bool {
    let mut buf = [0u8; 8192];
    let n = match rustix::io::read(from, &mut buf) {
        Ok(n) if n > 0 => n,
        _ => return false,
    };
    let mut off = 0usize;
    while off < n {
        match rustix::io::write(to, &buf[off..n]) {
            Ok(w) if w > 0 => off += w,
            _ => return false,
        }
    }
    true
}

/// The caller's terminal size (rows, columns), if stdin is a terminal.
fn window_size() -> Option<(u16, u16)> {
    rustix::termios::tcgetwinsize(rustix::stdio::stdin())
        .ok()
        .map(|ws| (ws.ws_row, ws.ws_col))
}

/// What a pollfd past the signalfd watches.
#[derive(Clone, Copy)]
enum Source {
    Stdin,
    Master,
}

/// Waits for `pid`, forwarding signals; with `master`, copies stdin -> pty and
/// pty -> stdout. Returns the exit code (128+N when killed by signal N).
pub fn supervise(pid: i32, master: Option<&OwnedFd>, mask: &SigSet) -> Result<i32> {
    let sfd = SignalFd::with_flags(mask, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)
        .ctx(|| "signalfd".into())?;
    let _raw = master.map(|_| RawMode::enter());
    if let (Some(m), Some((rows, cols))) = (master, window_size()) {
        let _ = crate::linux::console::set_size(m, rows, cols);
    }
    let child = Pid::from_raw(pid);
    let (stdin, stdout) = (rustix::stdio::stdin(), rustix::stdio::stdout());
    let mut stdin_open = master.is_some();
    let mut master_open = master.is_some();
    loop {
        // [signalfd, stdin?, pty master?]
        let mut fds = vec![PollFd::new(sfd.as_fd(), PollFlags::POLLIN)];
        let mut kinds = Vec::new();
        if let Some(m) = master {
            if stdin_open {
                fds.push(PollFd::new(stdin, PollFlags::POLLIN));
                kinds.push(Source::Stdin);
            }
            if master_open {
                fds.push(PollFd::new(m.as_fd(), PollFlags::POLLIN));
                kinds.push(Source::Master);
            }
        }
        match poll(&mut fds, PollTimeout::NONE) {
            Ok(_) => {}
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(Error::errno("poll", e)),
        }
        let ready: Vec<Source> = fds[1..]
            .iter()
            .zip(&kinds)
            .filter(|(p, _)| p.revents().is_some_and(|r| !r.is_empty()))
            .map(|(_, k)| *k)
            .collect();
        let signalled = fds[0].revents().is_some_and(|r| !r.is_empty());
        drop(fds);
        if let Some(m) = master {
            for k in ready {
                match k {
                    Source::Stdin if !copy_once(stdin, m.as_fd()) => stdin_open = false,
                    Source::Master if !copy_once(m.as_fd(), stdout) => master_open = false,
                    _ => {}
                }
            }
        }
        if !signalled {
            continue;
        }
        while let Ok(Some(info)) = sfd.read_signal() {
            let signo = info.ssi_signo as i32;
            if signo == libc::SIGCHLD {
                continue;
            }
            if signo == libc::SIGWINCH {
                if let (Some(m), Some((rows, cols))) = (master, window_size()) {
                    let _ = crate::linux::console::set_size(m, rows, cols);
                }
                continue;
            }
            if let Ok(sig) = Signal::try_from(signo) {
                let _ = nix::sys::signal::kill(child, sig);
            }
        }
        match waitpid(child, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(_, code)) => {
                if let Some(m) = master {
                    // Drain what the container wrote last, without blocking on a pty
                    // that a leftover process still holds open.
                    let _ = nix::fcntl::fcntl(
                        m.as_raw_fd(),
                        nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK),
                    );
                    while master_open && copy_once(m.as_fd(), stdout) {}
                }
                return Ok(code);
            }
            Ok(WaitStatus::Signaled(_, sig, _)) => return Ok(128 + sig as i32),
            Ok(_) => {}
            Err(nix::errno::Errno::ECHILD) => {
                return Err(Error::other("lost track of the container init"))
            }
            Err(e) => return Err(Error::errno("waitpid", e)),
        }
    }
}
