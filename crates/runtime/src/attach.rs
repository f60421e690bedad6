//! The attached `run`: the runtime stays the init's parent, forwards signals to it,
//! proxies the terminal when it owns one, and returns the exit code.

use std::os::fd::{AsRawFd, OwnedFd};

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

/// Puts the caller's terminal in raw mode while alive; restores it on drop.
struct RawMode {
    fd: i32,
    saved: Option<nix::sys::termios::Termios>,
}

impl RawMode {
    fn enter(fd: i32) -> RawMode {
        // SAFETY: borrowing stdin's fd for the duration of these calls only.
        let bfd = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
        let saved = nix::sys::termios::tcgetattr(bfd).ok();
        if let Some(t) = &saved {
            let mut raw = t.clone();
            nix::sys::termios::cfmakeraw(&mut raw);
            let _ = nix::sys::termios::tcsetattr(bfd, nix::sys::termios::SetArg::TCSANOW, &raw);
        }
        RawMode { fd, saved }
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        if let Some(t) = &self.saved {
            // SAFETY: as in enter.
            let bfd = unsafe { std::os::fd::BorrowedFd::borrow_raw(self.fd) };
            let _ = nix::sys::termios::tcsetattr(bfd, nix::sys::termios::SetArg::TCSANOW, t);
        }
    }
}

fn copy_once(from: i32, to: i32) -> bool {
    let mut buf = [0u8; 8192];
    // SAFETY: reads into and writes from a live local buffer.
    let n = unsafe { libc::read(from, buf.as_mut_ptr().cast(), buf.len()) };
    if n <= 0 {
        return false;
    }
    let mut off = 0usize;
    while off < n as usize {
        // SAFETY: as above.
        let w = unsafe { libc::write(to, buf[off..].as_ptr().cast(), n as usize - off) };
        if w <= 0 {
            return false;
        }
        off += w as usize;
    }
    true
}

fn window_size(fd: i32) -> Option<(u16, u16)> {
    let mut ws: libc::winsize = unsafe {
        // SAFETY: plain data, filled by the ioctl below.
        std::mem::zeroed()
    };
    // SAFETY: TIOCGWINSZ writes a winsize into a live local.
    (unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, &mut ws) } == 0).then_some((ws.ws_row, ws.ws_col))
}

/// Waits for `pid`, forwarding signals; with `master`, copies stdin -> pty and
/// pty -> stdout. Returns the exit code (128+N when killed by signal N).
pub fn supervise(pid: i32, master: Option<&OwnedFd>, mask: &SigSet) -> Result<i32> {
    let sfd = SignalFd::with_flags(mask, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)
        .ctx(|| "signalfd".into())?;
    let _raw = master.map(|_| RawMode::enter(0));
    if let (Some(m), Some((rows, cols))) = (master, window_size(0)) {
        let _ = crate::linux::console::set_size(m, rows, cols);
    }
    let child = Pid::from_raw(pid);
    let mut stdin_open = master.is_some();
    let mut master_open = master.is_some();
    loop {
        let mut fds = vec![libc::pollfd {
            fd: sfd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        }];
        if let Some(m) = master {
            if stdin_open {
                fds.push(libc::pollfd {
                    fd: 0,
                    events: libc::POLLIN,
                    revents: 0,
                });
            }
            if master_open {
                fds.push(libc::pollfd {
                    fd: m.as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                });
            }
        }
        // SAFETY: fds is a live array of fds.len() pollfds.
        let rc = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, -1) };
        if rc < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return Err(Error::os("poll", e));
        }
        for p in &fds[1..] {
            if p.revents == 0 {
                continue;
            }
            let Some(m) = master else { continue };
            if p.fd == 0 && !copy_once(0, m.as_raw_fd()) {
                stdin_open = false;
            } else if p.fd == m.as_raw_fd() && !copy_once(m.as_raw_fd(), 1) {
                master_open = false;
            }
        }
        if fds[0].revents == 0 {
            continue;
        }
        while let Ok(Some(info)) = sfd.read_signal() {
            let signo = info.ssi_signo as i32;
            if signo == libc::SIGCHLD {
                continue;
            }
            if signo == libc::SIGWINCH {
                if let (Some(m), Some((rows, cols))) = (master, window_size(0)) {
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
                    // SAFETY: fcntl on an fd we own.
                    unsafe { libc::fcntl(m.as_raw_fd(), libc::F_SETFL, libc::O_NONBLOCK) };
                    while master_open && copy_once(m.as_raw_fd(), 1) {}
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
