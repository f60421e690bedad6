//! Terminals: the init opens a pty inside the container's devpts, sends the master to
//! the engine over --console-socket (SCM_RIGHTS, with the pty's name as the payload,
//! as runc does) and makes the slave its controlling terminal and stdio.

use std::io::IoSlice;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use nix::sys::socket::{recvmsg, sendmsg, ControlMessage, ControlMessageOwned, MsgFlags};

use crate::error::{Context, Error, Result};

pub struct Pty {
    pub master: OwnedFd,
    pub slave: OwnedFd,
    pub name: String,
}

/// Opens a new pty pair from /dev/ptmx (the container's, after pivot_root).
pub fn open_pty(rows: u16, cols: u16) -> Result<Pty> {
    // SAFETY: a plain open(2) of a constant path.
    let m = unsafe {
        libc::open(
            c"/dev/ptmx".as_ptr(),
            libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
        )
    };
    if m < 0 {
        return Err(Error::os(
            "opening /dev/ptmx",
            std::io::Error::last_os_error(),
        ));
    }
    // SAFETY: m is a fresh fd we own.
    let master = unsafe { OwnedFd::from_raw_fd(m) };
    let unlock: libc::c_int = 0;
    let mut n: libc::c_uint = 0;
    // SAFETY: TIOCSPTLCK reads an int, TIOCGPTN writes one; both point at live locals.
    unsafe {
        if libc::ioctl(m, libc::TIOCSPTLCK, &unlock) != 0
            || libc::ioctl(m, libc::TIOCGPTN, &mut n) != 0
        {
            return Err(Error::os(
                "unlocking the pty",
                std::io::Error::last_os_error(),
            ));
        }
    }
    // SAFETY: TIOCGPTPEER opens the peer without a path lookup; returns a new fd.
    let s = unsafe {
        libc::ioctl(
            m,
            libc::TIOCGPTPEER,
            libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
        )
    };
    if s < 0 {
        return Err(Error::os(
            "opening the pty slave",
            std::io::Error::last_os_error(),
        ));
    }
    // SAFETY: s is a fresh fd we own.
    let slave = unsafe { OwnedFd::from_raw_fd(s) };
    if rows > 0 || cols > 0 {
        set_size(&master, rows, cols)?;
    }
    Ok(Pty {
        master,
        slave,
        name: format!("/dev/pts/{n}"),
    })
}

pub fn set_size(fd: &OwnedFd, rows: u16, cols: u16) -> Result<()> {
    let ws = libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ reads a winsize from a live local.
    if unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCSWINSZ, &ws) } != 0 {
        return Err(Error::os(
            "setting the console size",
            std::io::Error::last_os_error(),
        ));
    }
    Ok(())
}

/// Sends `fd` over the unix socket `sock` with `name` as the message body.
pub fn send_fd(sock: RawFd, fd: RawFd, name: &str) -> Result<()> {
    let iov = [IoSlice::new(name.as_bytes())];
    let fds = [fd];
    let cmsg = [ControlMessage::ScmRights(&fds)];
    sendmsg::<()>(sock, &iov, &cmsg, MsgFlags::empty(), None)
        .ctx(|| "sending the pty master to the console socket".into())?;
    Ok(())
}

/// Receives one fd sent with `send_fd`.
pub fn recv_fd(sock: RawFd) -> Result<OwnedFd> {
    let mut buf = [0u8; 4096];
    let mut iov = [std::io::IoSliceMut::new(&mut buf)];
    let mut space = nix::cmsg_space!([RawFd; 1]);
    let msg = recvmsg::<()>(sock, &mut iov, Some(&mut space), MsgFlags::MSG_CMSG_CLOEXEC)
        .ctx(|| "receiving the pty master".into())?;
    for c in msg
        .cmsgs()
        .map_err(|e| Error::errno("reading the control message", e))?
    {
        if let ControlMessageOwned::ScmRights(fds) = c {
            if let Some(fd) = fds.first() {
                // SAFETY: the kernel installed this fd in our table for us.
                return Ok(unsafe { OwnedFd::from_raw_fd(*fd) });
            }
        }
    }
    Err(Error::other("console socket: no file descriptor received"))
}

/// Makes `slave` the controlling terminal and stdin/stdout/stderr of this process.
pub fn become_session_leader_on(slave: &OwnedFd) -> Result<()> {
    nix::unistd::setsid().ctx(|| "setsid".into())?;
    // SAFETY: TIOCSCTTY takes an int argument; 0 means don't steal.
    if unsafe { libc::ioctl(slave.as_raw_fd(), libc::TIOCSCTTY, 0) } != 0 {
        return Err(Error::os(
            "making the pty the controlling terminal",
            std::io::Error::last_os_error(),
        ));
    }
    for target in 0..3 {
        // SAFETY: dup2 onto the standard descriptors.
        if unsafe { libc::dup2(slave.as_raw_fd(), target) } < 0 {
            return Err(Error::os(
                "dup2 of the pty slave",
                std::io::Error::last_os_error(),
            ));
        }
    }
    Ok(())
}

/// Gives this process a new pty as its controlling terminal and stdio, and sends the
/// master to the engine over `sock`. Returns the pty's name (/dev/pts/N).
pub fn attach_new_pty(sock: RawFd, size: Option<&oci_spec::runtime::Box>) -> Result<String> {
    let (rows, cols) = size
        .map(|b| (b.height() as u16, b.width() as u16))
        .unwrap_or((0, 0));
    let pty = open_pty(rows, cols)?;
    send_fd(sock, pty.master.as_raw_fd(), &pty.name)?;
    drop(pty.master);
    become_session_leader_on(&pty.slave)?;
    Ok(pty.name)
}
